/* twilio-call-sim: one phone call (see sim-call.h). */
#include "sim-call.h"
#include "sim-json.h"
#include "sim-sid.h"
#include "sim-twiml.h"
#include "sim-webhook.h"


/* A bound of ours on the documents one call may fetch, so a <Redirect> to
 * itself ends as an error instead of running forever. */
#define MAX_DOCUMENTS 64

/* Why a call ended, as the summary says it. */
#define END_CALLER   "caller-hung-up"   /* the caller's audio and linger were over, or a signal */
#define END_HANGUP   "hangup"           /* <Hangup/> */
#define END_TWIML    "end-of-twiml"     /* the document ran out of verbs */
#define END_DIAL     "dial"             /* transferred by <Dial> */
#define END_SERVER   "server-closed"    /* --url: the server closed the stream */
#define END_ERROR    "error"

typedef struct {
  char *url;
  char *method;
  guint status;   /* 0: no answer */
  gint64 ms;
} WebhookRecord;

struct _SimCall {
  const SimConfig *cfg;
  guint index;
  SoupSession *session;
  GBytes *caller;
  SimCallDone done;
  gpointer user_data;
  char *call_sid;
  char *log_prefix;

  SimStreamStats stats;
  SimStream *stream;
  GPtrArray *stream_sids;
  GCancellable *cancellable;   /* the webhook request in flight */
  guint pause_id;
  gboolean hung_up;            /* the caller hung up: what is in flight ends quietly */
  gboolean over;

  /* the TwiML being executed */
  GPtrArray *doc;              /* SimVerb* */
  guint pc;                    /* the next verb */
  char *doc_url;               /* where it came from: relative URLs resolve here */
  const SimVerb *connect;      /* the <Connect> whose stream runs */
  gint64 request_start_us;
  gint64 placed_us;            /* when sim_call_start() placed it */

  /* the summary */
  GArray *webhooks;            /* WebhookRecord */
  GPtrArray *verbs;
  GPtrArray *said;
  GPtrArray *redirects;
  char *dial;
  const char *end;
  char *error;
  int exit_code;
};

static void run_verbs (SimCall *call);
static void request_relative (SimCall *call, const char *method, const char *ref,
    gboolean redirect);

/* ---- ending ------------------------------------------------------------ */

static void
end_call (SimCall *call, const char *why)
{
  if (call->over)
    return;
  call->over = TRUE;
  call->end = why;
  call->done (call, call->user_data);
}

static void
fail (SimCall *call, int exit_code, const char *message)
{
  g_printerr ("%s%s\n", call->log_prefix, message);
  call->exit_code = exit_code;
  call->error = g_strdup (message);
  end_call (call, END_ERROR);
}

/* ---- the Media Stream ---------------------------------------------------- */

static void
on_stream_done (SimStream *stream, SimStreamEnd end, const char *error,
    gpointer user_data)
{
  SimCall *call = user_data;
  g_autofree char *message = g_strdup (error);
  const SimVerb *connect = call->connect;

  g_clear_pointer (&call->stream, sim_stream_free);
  call->connect = NULL;
  if (end == SIM_STREAM_CALLER_HUNG_UP || call->hung_up) {
    end_call (call, END_CALLER);
  } else if (end == SIM_STREAM_CONNECT_FAILED) {
    fail (call, SIM_EXIT_CONNECT, message);
  } else if (call->doc == NULL) {
    end_call (call, END_SERVER);   /* --url: nothing follows */
  } else if (connect->action != NULL) {
    /* Twilio asks the action URL for what follows instead */
    request_relative (call, connect->method, connect->action, FALSE);
  } else {
    run_verbs (call);   /* the verbs after <Connect> */
  }
}

static void
start_stream (SimCall *call, const char *url, const char *signature_url,
    const char *const *names, const char *const *values)
{
  g_autofree char *sid = sim_sid_derive (call->cfg->stream_sid,
      call->index + call->stream_sids->len * call->cfg->calls);
  SimStreamSpec spec = {
    .url = url,
    .signature_url = signature_url,
    .stream_sid = sid,
    .call_sid = call->call_sid,
    .param_names = names,
    .param_values = values,
    .log_prefix = call->log_prefix,
  };

  g_ptr_array_add (call->stream_sids, g_strdup (sid));
  call->stream = sim_stream_start (call->cfg, &spec, call->session, call->caller,
      &call->stats, on_stream_done, call);
}

/* ---- the voice webhook ------------------------------------------------------ */

static void
record_webhook (SimCall *call, const char *url, const char *method, guint status)
{
  WebhookRecord r = {
    g_strdup (url), g_strdup (method), status,
    (g_get_monotonic_time () - call->request_start_us) / G_TIME_SPAN_MILLISECOND,
  };

  g_array_append_val (call->webhooks, r);
}

static int
webhook_exit_code (const GError *error)
{
  if (g_error_matches (error, SIM_WEBHOOK_ERROR, SIM_WEBHOOK_ERROR_STATUS))
    return SIM_EXIT_WEBHOOK_STATUS;
  if (g_error_matches (error, SIM_WEBHOOK_ERROR, SIM_WEBHOOK_ERROR_TIMEOUT))
    return SIM_EXIT_WEBHOOK_TIMEOUT;
  return SIM_EXIT_CONNECT;
}

typedef struct {
  SimCall *call;
  char *url;
  char *method;
} Pending;

static void
on_webhook_answer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  SimCall *call = p->call;
  g_autoptr (GError) error = NULL;
  guint status = 0;
  g_autoptr (GBytes) body = sim_webhook_request_finish (result, &status, &error);
  GPtrArray *doc = NULL;

  record_webhook (call, p->url, p->method, status);
  g_clear_object (&call->cancellable);
  if (call->hung_up) {
    end_call (call, END_CALLER);   /* an answer that crossed the hang-up is not executed */
  } else if (body == NULL) {
    fail (call, webhook_exit_code (error), error->message);
  } else if ((doc = sim_twiml_parse (g_bytes_get_data (body, NULL),
              g_bytes_get_size (body), &error)) == NULL) {
    g_autofree char *msg = g_strdup_printf ("malformed TwiML from %s: %s",
        p->url, error->message);
    fail (call, SIM_EXIT_TWIML, msg);
  } else {
    g_clear_pointer (&call->doc, g_ptr_array_unref);
    call->doc = doc;
    call->pc = 0;
    g_free (call->doc_url);
    call->doc_url = g_strdup (p->url);
    run_verbs (call);
  }
  g_free (p->url);
  g_free (p->method);
  g_free (p);
}

/* Ask `url` for TwiML with the parameters Twilio sends for an incoming call
 * (ringing at first, in progress once TwiML has been executed).  Behind a
 * --public-url, sent to the local origin and signed over the public one. */
static void
request_twiml (SimCall *call, const char *method, const char *url)
{
  const SimConfig *cfg = call->cfg;
  const GtrTwilioParam params[] = {
    { "AccountSid", cfg->account_sid },
    { "ApiVersion", "2010-04-01" },
    { "CallSid", call->call_sid },
    { "CallStatus", call->webhooks->len == 0 ? "ringing" : "in-progress" },
    { "Direction", "inbound" },
    { "From", cfg->from },
    { "To", cfg->to },
    { "Caller", cfg->from },
    { "Called", cfg->to },
  };
  g_autofree char *signed_url = NULL;
  Pending *p;

  if (call->webhooks->len >= MAX_DOCUMENTS) {
    g_autofree char *msg = g_strdup_printf ("more than %d TwiML documents in "
        "one call (a <Redirect> loop?)", MAX_DOCUMENTS);
    fail (call, SIM_EXIT_TWIML, msg);
    return;
  }
  p = g_new0 (Pending, 1);
  p->call = call;
  p->url = sim_tunnel_to_local (cfg->tunnel, url);
  p->method = g_strdup (method);
  signed_url = sim_tunnel_to_public (cfg->tunnel, p->url);
  call->cancellable = g_cancellable_new ();
  call->request_start_us = g_get_monotonic_time ();
  sim_webhook_request_async (call->session, method, p->url, signed_url, params,
      G_N_ELEMENTS (params), cfg->auth_token, cfg->webhook_timeout_ms,
      call->cancellable, on_webhook_answer, p);
}

/* Ask for TwiML at `ref`, resolved against the current document's URL as
 * Twilio resolves it.  `redirect`: the summary lists it as a redirect. */
static void
request_relative (SimCall *call, const char *method, const char *ref,
    gboolean redirect)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *url = g_uri_resolve_relative (call->doc_url, ref,
      G_URI_FLAGS_NONE, &error);

  if (url == NULL) {
    g_autofree char *msg = g_strdup_printf ("bad TwiML URL '%s': %s", ref,
        error->message);
    fail (call, SIM_EXIT_TWIML, msg);
    return;
  }
  if (redirect)
    g_ptr_array_add (call->redirects, g_strdup (url));
  request_twiml (call, method, url);
}

/* ---- executing TwiML -------------------------------------------------------- */

static gboolean
on_pause_done (gpointer user_data)
{
  SimCall *call = user_data;

  call->pause_id = 0;
  run_verbs (call);
  return G_SOURCE_REMOVE;
}

static void
connect_stream (SimCall *call, const SimVerb *v)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;

  if (!sim_twiml_check_stream_url (v->text, &error)) {
    fail (call, SIM_EXIT_STREAM_URL, error->message);
    return;
  }
  call->connect = v;
  /* Twilio signs the handshake over the URL it connects to: the TwiML's,
   * public behind a tunnel */
  url = sim_tunnel_to_local (call->cfg->tunnel, v->text);
  start_stream (call, url, v->text,
      (const char *const *) v->param_names->pdata,
      (const char *const *) v->param_values->pdata);
}

/* Execute verbs until one waits (Pause, a request, a stream) or ends the
 * call.  Say takes no time: the sim has no speech synthesis. */
static void
run_verbs (SimCall *call)
{
  while (!call->over) {
    const SimVerb *v;

    if (call->pc >= call->doc->len) {
      end_call (call, END_TWIML);   /* Twilio hangs up at the end of the document */
      return;
    }
    v = g_ptr_array_index (call->doc, call->pc++);
    g_ptr_array_add (call->verbs, g_strdup (sim_verb_name (v)));
    switch (v->type) {
      case SIM_VERB_SAY:
        g_ptr_array_add (call->said, g_strdup (v->text));
        break;
      case SIM_VERB_PAUSE:
        call->pause_id = g_timeout_add (v->pause_ms, on_pause_done, call);
        return;
      case SIM_VERB_HANGUP:
        end_call (call, END_HANGUP);
        return;
      case SIM_VERB_REDIRECT:
        request_relative (call, v->method, v->text, TRUE);
        return;
      case SIM_VERB_DIAL:
        call->dial = g_strdup (v->text);
        end_call (call, END_DIAL);
        return;
      case SIM_VERB_CONNECT:
        connect_stream (call, v);
        return;
    }
  }
}

/* ---- the call ------------------------------------------------------------------ */

static void
webhook_record_clear (gpointer data)
{
  WebhookRecord *r = data;

  g_free (r->url);
  g_free (r->method);
}

SimCall *
sim_call_new (const SimConfig *config, guint index, SoupSession *session,
    GBytes *caller_audio, SimCallDone done, gpointer user_data)
{
  SimCall *call = g_new0 (SimCall, 1);

  call->cfg = config;
  call->index = index;
  call->session = g_object_ref (session);
  call->caller = g_bytes_ref (caller_audio);
  call->done = done;
  call->user_data = user_data;
  call->call_sid = sim_sid_derive (config->call_sid, index);
  call->log_prefix = config->calls > 1
      ? g_strdup_printf ("twilio-call-sim: call %u (%s): ", index + 1, call->call_sid)
      : g_strdup ("twilio-call-sim: ");
  sim_stream_stats_init (&call->stats);
  if (config->load_duration_ms > 0)   /* a frame every 20 ms */
    call->stats.load = sim_load_new (index, MAX (config->load_duration_ms / 20, 1));
  call->stream_sids = g_ptr_array_new_with_free_func (g_free);
  call->webhooks = g_array_new (FALSE, TRUE, sizeof (WebhookRecord));
  g_array_set_clear_func (call->webhooks, webhook_record_clear);
  call->verbs = g_ptr_array_new_with_free_func (g_free);
  call->said = g_ptr_array_new_with_free_func (g_free);
  call->redirects = g_ptr_array_new_with_free_func (g_free);
  return call;
}

void
sim_call_start (SimCall *call)
{
  const SimConfig *cfg = call->cfg;

  call->placed_us = g_get_monotonic_time ();
  if (call->stats.load != NULL)   /* set-up counts from here */
    call->stats.load->begin_us = call->placed_us;
  if (cfg->twiml_url != NULL)
    request_twiml (call, SOUP_METHOD_POST, cfg->twiml_url);
  else
    start_stream (call, cfg->url, cfg->signature_url,
        (const char *const *) cfg->param_names->pdata,
        (const char *const *) cfg->param_values->pdata);
}

void
sim_call_hang_up (SimCall *call)
{
  if (call->over || call->hung_up)
    return;
  call->hung_up = TRUE;
  if (call->stream != NULL) {
    sim_stream_hang_up (call->stream);
  } else if (call->cancellable != NULL) {
    g_cancellable_cancel (call->cancellable);
  } else {
    g_clear_handle_id (&call->pause_id, g_source_remove);
    end_call (call, END_CALLER);
  }
}

int
sim_call_exit_code (const SimCall *call)
{
  if (call->exit_code == SIM_EXIT_OK && call->stats.violations->len > 0)
    return SIM_EXIT_VIOLATIONS;
  return call->exit_code;
}

gint64
sim_call_placed_us (const SimCall *call)
{
  return call->placed_us;
}

const SimStreamStats *
sim_call_stats (const SimCall *call)
{
  return &call->stats;
}

void
sim_call_set_output_error (SimCall *call, const char *message)
{
  g_printerr ("%s%s\n", call->log_prefix, message);
  if (call->exit_code == SIM_EXIT_OK) {
    call->exit_code = SIM_EXIT_USAGE;
    g_free (call->error);
    call->error = g_strdup (message);
  }
}

/* ---- the summary ------------------------------------------------------------------ */

static void
add_webhooks (JsonBuilder *b, GArray *webhooks)
{
  json_builder_set_member_name (b, "webhook_status");
  if (webhooks->len > 0)
    json_builder_add_int_value (b, g_array_index (webhooks, WebhookRecord, 0).status);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "webhooks");
  json_builder_begin_array (b);
  for (guint i = 0; i < webhooks->len; i++) {
    const WebhookRecord *r = &g_array_index (webhooks, WebhookRecord, i);

    json_builder_begin_object (b);
    sim_json_add_string (b, "url", r->url);
    sim_json_add_string (b, "method", r->method);
    sim_json_add_int (b, "status", r->status);
    sim_json_add_int (b, "ms", r->ms);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

char *
sim_call_summary_json (const SimCall *call, const char *record, gint64 epoch_us)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  sim_json_add_string (b, "type", "call");
  sim_json_add_int (b, "call", call->index + 1);
  sim_json_add_double (b, "placed_ms", (call->placed_us - epoch_us) / 1000.0);
  sim_json_add_string (b, "call_sid", call->call_sid);
  sim_json_add_strings (b, "stream_sids", call->stream_sids);
  sim_json_add_int (b, "exit_code", sim_call_exit_code (call));
  sim_json_add_string (b, "end", call->end);
  sim_json_add_string (b, "error", call->error);
  add_webhooks (b, call->webhooks);
  sim_json_add_strings (b, "verbs", call->verbs);
  sim_json_add_strings (b, "said", call->said);
  sim_json_add_strings (b, "redirects", call->redirects);
  sim_json_add_string (b, "dial", call->dial);
  sim_json_add_string (b, "record", record);
  sim_stream_stats_to_json (&call->stats, b);
  json_builder_end_object (b);
  return sim_json_line (b);
}

void
sim_call_free (SimCall *call)
{
  g_clear_pointer (&call->stream, sim_stream_free);
  g_clear_handle_id (&call->pause_id, g_source_remove);
  if (call->cancellable != NULL)
    g_cancellable_cancel (call->cancellable);
  g_clear_object (&call->cancellable);
  g_clear_pointer (&call->doc, g_ptr_array_unref);
  g_free (call->doc_url);
  sim_stream_stats_clear (&call->stats);
  g_ptr_array_unref (call->stream_sids);
  g_array_unref (call->webhooks);
  g_ptr_array_unref (call->verbs);
  g_ptr_array_unref (call->said);
  g_ptr_array_unref (call->redirects);
  g_free (call->dial);
  g_free (call->error);
  g_free (call->call_sid);
  g_free (call->log_prefix);
  g_bytes_unref (call->caller);
  g_object_unref (call->session);
  g_free (call);
}
