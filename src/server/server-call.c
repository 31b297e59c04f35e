/* One call: its pipeline from accept to teardown.  See server.h for the
 * threads: made on the call's network loop, run and ended on the main
 * thread. */
#include "server.h"

#include "gtr-events.h"
#include "gtr-netloop.h"
#include "server-log.h"
#include "server-record.h"

struct _ServerCall {
  gint refs;                    /* atomic: the table's and the start job's */
  Server *server;
  guint id;
  GMainContext *loop;           /* its network loop (borrowed from the server) */
  ServerPipelineElements el;
  ServerRecord *record;         /* --record-dir, else NULL */
  char *remote;
  gboolean prestarted;          /* made at the webhook, waiting for its stream */
  GSource *prestart_timer;      /* its bound, on the main context */
  gboolean attached;            /* the stream came (under server lock) */

  /* Set on the network thread and posting threads (sync handler, pad
   * probe), 0 until then. */
  GMutex times_lock;
  gint64 opened_us;             /* the stream was accepted (monotonic) */
  gint64 session_us;
  gint64 first_audio_us;

  /* Main thread. */
  char *call_sid;               /* from twilio/start; read under server lock too */
  char *from, *to;
  const char *stop_reason;      /* why EOS came, learnt from the bus first */
  gboolean started;             /* twilio/start seen */
  gboolean session_logged;
  gboolean ending;              /* set under server lock */
  char *transfer_to;            /* openai-realtime/transfer's target */
};

static ServerCall *
call_ref (ServerCall *call)
{
  g_atomic_int_inc (&call->refs);
  return call;
}

static void
call_unref (ServerCall *call)
{
  if (!g_atomic_int_dec_and_test (&call->refs))
    return;
  g_free (call->remote);
  g_free (call->call_sid);
  g_free (call->transfer_to);
  g_free (call->from);
  g_free (call->to);
  server_record_free (call->record);
  g_mutex_clear (&call->times_lock);
  g_free (call);
}

static gdouble
seconds_since (gint64 from_us, gint64 to_us)
{
  return to_us > from_us ? (to_us - from_us) / (gdouble) G_USEC_PER_SEC : 0.0;
}

static ServerLogLine *
call_log_begin (ServerCall *call, const char *event)
{
  ServerLogLine *line = server_log_begin (event);

  server_log_str (line, "call_sid", call->call_sid);
  server_log_int (line, "call", call->id);
  return line;
}

/* ---- Measurements, on the threads that post (no hop) ---- */

static const char *
message_name (GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);

  return s ? gst_structure_get_name (s) : "";
}

/* Set `*field` to now if it is still 0; TRUE if it was. */
static gboolean
stamp_once (ServerCall *call, gint64 *field, gint64 now)
{
  gboolean first;

  g_mutex_lock (&call->times_lock);
  first = *field == 0;
  if (first)
    *field = now;
  g_mutex_unlock (&call->times_lock);
  return first;
}

static gint64
stamp_get (ServerCall *call, gint64 *field)
{
  gint64 value;

  g_mutex_lock (&call->times_lock);
  value = *field;
  g_mutex_unlock (&call->times_lock);
  return value;
}

/* Seconds from the stream's opening to `field`: 0 when the session was
 * ready before the stream came (pre-started). */
static gdouble
since_open (ServerCall *call, gint64 at)
{
  gint64 opened = stamp_get (call, &call->opened_us);

  return opened ? seconds_since (opened, at) : 0.0;
}

static void
note_session (ServerCall *call)
{
  gint64 now = g_get_monotonic_time ();

  if (stamp_once (call, &call->session_us, now))
    server_metrics_observe (call->server->metrics, SERVER_HIST_SESSION_SETUP,
        since_open (call, now));
}

static void
note_api_error (ServerCall *call, GstMessage *msg)
{
  const char *code = gst_structure_get_string (gst_message_get_structure (msg), "code");

  server_metrics_count (call->server->metrics, SERVER_COUNT_API_ERRORS,
      code && *code ? code : "unknown");
}

/* An error the API answered (a rejected session.update) carries its code
 * in the error's details. */
static void
note_fatal_api_error (ServerCall *call, GstMessage *msg)
{
  const GstStructure *details = NULL;
  const char *code;

  gst_message_parse_error_details (msg, &details);
  if (details && (code = gst_structure_get_string (details, "api-code")) && *code)
    server_metrics_count (call->server->metrics, SERVER_COUNT_API_ERRORS, code);
}

static void
note_response_latency (ServerCall *call, GstMessage *msg)
{
  guint ms;

  if (gst_structure_get_uint (gst_message_get_structure (msg), "latency-ms", &ms))
    server_metrics_observe (call->server->metrics, SERVER_HIST_RESPONSE_LATENCY,
        ms / 1000.0);
}

/* twiliosink's own EOS, forwarded by its bin (message-forward): the call is
 * over when the caller's side is, whatever other sinks (a recorder) do. */
static gboolean
is_sink_eos (ServerCall *call, GstMessage *msg)
{
  GstMessage *inner = NULL;
  gboolean yes;

  if (!gst_structure_get (gst_message_get_structure (msg), "message",
          GST_TYPE_MESSAGE, &inner, NULL))
    return FALSE;
  yes = GST_MESSAGE_TYPE (inner) == GST_MESSAGE_EOS
      && GST_MESSAGE_SRC (inner) == GST_OBJECT (call->el.sink);
  gst_message_unref (inner);
  return yes;
}

/* Which messages cross to the main thread: only what it acts on.  Marks,
 * transcripts (unless recorded) and state changes stay here (they are many,
 * and each would wake it). */
static GstBusSyncReply
sync_reply (ServerCall *call, GstMessage *msg)
{
  const char *name;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      note_fatal_api_error (call, msg);
      return GST_BUS_PASS;
    case GST_MESSAGE_EOS:
    case GST_MESSAGE_WARNING:
    case GST_MESSAGE_LATENCY:
      return GST_BUS_PASS;
    case GST_MESSAGE_ELEMENT:
      break;
    default:
      return GST_BUS_DROP;
  }
  name = message_name (msg);
  if (g_str_equal (name, "GstBinForwarded"))
    return is_sink_eos (call, msg) ? GST_BUS_PASS : GST_BUS_DROP;
  if (g_str_equal (name, "openai-realtime/transcript"))
    return call->record ? GST_BUS_PASS : GST_BUS_DROP;
  if (g_str_equal (name, "openai-realtime/session")) {
    note_session (call);
    return GST_BUS_PASS;
  }
  if (g_str_equal (name, "openai-realtime/error")) {
    note_api_error (call, msg);
    return GST_BUS_PASS;
  }
  if (g_str_equal (name, "openai-realtime/response-latency")) {
    note_response_latency (call, msg);
    return GST_BUS_DROP;
  }
  if (g_str_equal (name, GTR_MESSAGE_START) || g_str_equal (name, GTR_MESSAGE_STOP)
      || g_str_equal (name, "openai-realtime/closed")
      || g_str_equal (name, "openai-realtime/transfer")
      || g_str_equal (name, "openai-realtime/hang-up"))
    return GST_BUS_PASS;
  return GST_BUS_DROP;
}

/* On the posting thread. */
static GstBusSyncReply
on_sync_message (GstBus *bus, GstMessage *msg, gpointer data)
{
  GstBusSyncReply reply = sync_reply (data, msg);

  /* a sync handler that drops a message owns it */
  if (reply == GST_BUS_DROP)
    gst_message_unref (msg);
  return reply;
}

/* The first agent audio on its way to the caller (a one-shot probe). */
static GstPadProbeReturn
on_first_audio (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  ServerCall *call = data;
  gint64 now = g_get_monotonic_time ();

  if (stamp_once (call, &call->first_audio_us, now))
    server_metrics_observe (call->server->metrics, SERVER_HIST_FIRST_AUDIO,
        since_open (call, now));
  return GST_PAD_PROBE_REMOVE;
}

/* ---- Bus, main thread ---- */

static void
log_session (ServerCall *call)
{
  ServerLogLine *line;

  if (call->session_logged || !call->call_sid || !stamp_get (call, &call->session_us))
    return;
  call->session_logged = TRUE;
  line = call_log_begin (call, "call-session");
  server_log_double (line, "setup_s", since_open (call,
          stamp_get (call, &call->session_us)));
  server_log_end (line);
}

static void
on_start (ServerCall *call, const GstStructure *s)
{
  Server *server = call->server;
  const GstStructure *params = NULL;
  const GValue *v = gst_structure_get_value (s, "custom-parameters");
  ServerLogLine *line;
  gboolean duplicate = FALSE;

  if (call->started)
    return;
  call->started = TRUE;
  if (v && GST_VALUE_HOLDS_STRUCTURE (v))
    params = gst_value_get_structure (v);
  call->from = g_strdup (params ? gst_structure_get_string (params, "From") : NULL);
  call->to = g_strdup (params ? gst_structure_get_string (params, "To") : NULL);

  g_mutex_lock (&server->lock);
  /* a pre-started call has its CallSid from the webhook */
  if (!call->call_sid) {
    call->call_sid = g_strdup (gst_structure_get_string (s, "call-sid"));
    if (call->call_sid && g_hash_table_contains (server->by_sid, call->call_sid))
      duplicate = TRUE;
    else if (call->call_sid)
      g_hash_table_insert (server->by_sid, call->call_sid, call);
  }
  g_mutex_unlock (&server->lock);

  line = call_log_begin (call, "call-start");
  server_log_str (line, "stream_sid", gst_structure_get_string (s, "stream-sid"));
  server_log_str (line, "from", call->from);
  server_log_str (line, "to", call->to);
  server_log_str (line, "remote", call->remote);
  if (duplicate)
    server_log_str (line, "warning", "another active call has this CallSid");
  server_log_end (line);
  log_session (call);
}

static void
on_element_message (ServerCall *call, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  const char *name = gst_structure_get_name (s);

  if (g_str_equal (name, GTR_MESSAGE_START)) {
    on_start (call, s);
  } else if (g_str_equal (name, GTR_MESSAGE_STOP)) {
    const char *reason = gst_structure_get_string (s, "reason");

    /* twiliosrc's words: stop, closed, start-timeout, timeout */
    if (!call->stop_reason)
      call->stop_reason = g_intern_string (reason && *reason ? reason : "closed");
  } else if (g_str_equal (name, "openai-realtime/closed")) {
    ServerLogLine *line = call_log_begin (call, "call-api-closed");
    gint code = 0;

    gst_structure_get_int (s, "code", &code);
    server_log_int (line, "code", code);
    server_log_str (line, "reason", gst_structure_get_string (s, "reason"));
    server_log_end (line);
    if (!call->stop_reason)
      call->stop_reason = "api-closed";
  } else if (g_str_equal (name, "openai-realtime/transfer")
      || g_str_equal (name, "openai-realtime/hang-up")) {
    gboolean transfer = g_str_equal (name, "openai-realtime/transfer");
    ServerLogLine *line = call_log_begin (call, transfer ? "call-transfer" : "call-hang-up");

    if (transfer) {
      g_free (call->transfer_to);
      call->transfer_to = g_strdup (gst_structure_get_string (s, "target"));
      server_log_str (line, "target", call->transfer_to);
    }
    server_log_str (line, "reason", gst_structure_get_string (s, "reason"));
    server_log_end (line);
  } else if (g_str_equal (name, "openai-realtime/session")) {
    log_session (call);
  } else if (g_str_equal (name, "openai-realtime/transcript") && call->record) {
    server_record_transcript (call->record, call->el.pipeline, s);
  } else if (g_str_equal (name, "openai-realtime/error")) {
    ServerLogLine *line = call_log_begin (call, "call-api-error");

    server_log_str (line, "code", gst_structure_get_string (s, "code"));
    server_log_str (line, "message", gst_structure_get_string (s, "message"));
    server_log_end (line);
  }
}

static char *
error_text (GstMessage *msg)
{
  GError *error = NULL;
  char *text;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &error, NULL);
  else
    gst_message_parse_warning (msg, &error, NULL);
  text = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
      error ? error->message : "?");
  g_clear_error (&error);
  return text;
}

static gboolean
on_bus_message (GstBus *bus, GstMessage *msg, gpointer data)
{
  ServerCall *call = data;
  g_autofree char *text = NULL;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT
      && g_str_equal (message_name (msg), "GstBinForwarded")) {
    server_call_end (call, call->stop_reason ? call->stop_reason : "closed", NULL);
    return G_SOURCE_REMOVE;
  }
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_EOS:
      server_call_end (call, call->stop_reason ? call->stop_reason : "closed", NULL);
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_ERROR:
      text = error_text (msg);
      server_call_end (call, "error", text);
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_WARNING:{
      ServerLogLine *line = call_log_begin (call, "call-warning");

      text = error_text (msg);
      server_log_str (line, "message", text);
      server_log_end (line);
      break;
    }
    case GST_MESSAGE_LATENCY:
      gst_bin_recalculate_latency (GST_BIN (call->el.pipeline));
      break;
    case GST_MESSAGE_ELEMENT:
      on_element_message (call, msg);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* ---- Life ---- */

static gboolean
call_start (gpointer data)
{
  ServerCall *call = data;
  GstBus *bus = gst_element_get_bus (call->el.pipeline);

  if (!call->ending) {
    gst_bus_add_watch (bus, on_bus_message, call);
    if (gst_element_set_state (call->el.pipeline, GST_STATE_PLAYING)
        == GST_STATE_CHANGE_FAILURE) {
      /* the element's ERROR (pending on the bus) says why; without one: */
      GstMessage *error = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
      g_autofree char *text = error ? error_text (error)
          : g_strdup ("the pipeline could not start");

      gst_clear_message (&error);
      server_call_end (call, "error", text);
    }
  }
  gst_object_unref (bus);
  call_unref (call);
  return G_SOURCE_REMOVE;
}

/* A call with its pipeline made, not yet in the table.  On the call's loop:
 * the agent element takes the loop it is made on. */
static ServerCall *
call_new (Server *server)
{
  ServerCall *call = g_new0 (ServerCall, 1);
  g_autoptr (GError) error = NULL;
  GstBus *bus;
  GstPad *pad;

  call->refs = 1;
  g_mutex_init (&call->times_lock);
  call->server = server;
  call->loop = g_main_context_get_thread_default ();
  g_mutex_lock (&server->lock);
  call->id = ++server->next_id;
  g_mutex_unlock (&server->lock);
  if (!server_pipeline_make (server->pipeline, &call->el, &error)
      || (server->config->record_dir && !(call->record = server_record_add
              (&call->el, server->config->record_dir, call->id, &error)))) {
    ServerLogLine *line = server_log_begin ("call-failed");

    server_log_str (line, "message", error->message);
    server_log_end (line);
    gst_clear_object (&call->el.pipeline);
    call_unref (call);
    return NULL;
  }
  /* the call ends with twiliosink's EOS, not with every sink's */
  if (GST_IS_BIN (GST_OBJECT_PARENT (call->el.sink)))
    g_object_set (GST_OBJECT_PARENT (call->el.sink), "message-forward", TRUE, NULL);
  bus = gst_element_get_bus (call->el.pipeline);
  gst_bus_set_sync_handler (bus, on_sync_message, call, NULL);
  gst_object_unref (bus);
  pad = gst_element_get_static_pad (call->el.sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_first_audio, call, NULL);
  gst_object_unref (pad);
  return call;
}

/* Into the table (its CallSid, if known, too), then started on the main
 * thread.  FALSE (call freed) when another call has that CallSid. */
static gboolean
call_add (ServerCall *call)
{
  Server *server = call->server;
  g_autofree char *name = NULL;

  g_mutex_lock (&server->lock);
  if (call->call_sid && g_hash_table_contains (server->by_sid, call->call_sid)) {
    g_mutex_unlock (&server->lock);
    gst_object_unref (call->el.pipeline);
    call_unref (call);
    return FALSE;
  }
  g_hash_table_add (server->calls, call);
  if (call->call_sid)
    g_hash_table_insert (server->by_sid, call->call_sid, call);
  g_mutex_unlock (&server->lock);
  name = g_strdup_printf ("call-%u", call->id);
  gst_object_set_name (GST_OBJECT (call->el.pipeline), name);
  server_metrics_count (server->metrics, SERVER_COUNT_CALLS, NULL);
  g_main_context_invoke (server->main_context, call_start, call_ref (call));
  return TRUE;
}

/* The call's stream: from here on it is a call with a caller.  Network
 * thread, the connection's. */
static void
call_attach (ServerCall *call, SoupWebsocketConnection *connection,
    const char *remote)
{
  stamp_once (call, &call->opened_us, g_get_monotonic_time ());
  call->remote = g_strdup (remote);
  g_object_set (call->el.src, "connection", connection, NULL);
}

gboolean
server_call_accept (Server *server, SoupWebsocketConnection *connection,
    const char *remote)
{
  ServerCall *call;
  const char *refusal = server_refusal (server);

  /* two handshakes can pass the early check before either is a call */
  if (refusal && g_str_equal (refusal, "busy")) {
    server_metrics_count (server->metrics, SERVER_COUNT_REFUSED, "busy");
    soup_websocket_connection_close (connection, 1013 /* try again later */,
        "at capacity");
    return FALSE;
  }
  if (!(call = call_new (server))) {
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, NULL);
    return FALSE;
  }
  call->attached = TRUE;
  call_attach (call, connection, remote);
  return call_add (call);
}

/* Main thread: the pre-started call's stream never came. */
static gboolean
on_prestart_timeout (gpointer data)
{
  ServerCall *call = data;
  Server *server = call->server;
  gboolean abandoned;

  g_mutex_lock (&server->lock);
  abandoned = !call->attached && !call->ending;
  g_mutex_unlock (&server->lock);
  if (abandoned)
    server_call_end (call, "abandoned", "no Media Stream came after the webhook");
  return G_SOURCE_REMOVE;
}

typedef struct {
  Server *server;
  const char *call_sid;
  ServerCall *call;             /* made and in the table, else NULL */
} PrestartArgs;

/* On the call's loop. */
static gboolean
prestart_on_loop (gpointer data)
{
  PrestartArgs *args = data;
  ServerCall *call = call_new (args->server);

  if (!call)
    return G_SOURCE_REMOVE;
  call->prestarted = TRUE;
  call->call_sid = g_strdup (args->call_sid);
  /* the caller's: the main thread may end the call before it returns */
  call_ref (call);
  if (call_add (call))
    args->call = call;
  else
    call_unref (call);
  return G_SOURCE_REMOVE;
}

gboolean
server_call_prestart (Server *server, const char *call_sid)
{
  PrestartArgs args = { server, call_sid, NULL };
  ServerCall *call;
  GSource *timer;

  /* loop 0 waits for the call's loop, which never waits for loop 0 */
  gtr_netloop_run_sync (server_loop_for (server, NULL), prestart_on_loop, &args);
  if (!(call = args.call))
    return FALSE;
  timer = g_timeout_source_new (server->config->prestart_timeout_s * 1000);
  g_source_set_callback (timer, on_prestart_timeout, call_ref (call),
      (GDestroyNotify) call_unref);
  /* kept (and destroyed when the call ends) so that no timer outlives it */
  call->prestart_timer = timer;
  g_source_attach (timer, server->main_context);
  call_unref (call);
  return TRUE;
}

/* The pre-started call waiting for this CallSid's stream, claimed; NULL
 * when there is none (never started, abandoned, or already joined). */
static ServerCall *
claim_waiting (Server *server, const char *call_sid, gboolean claim)
{
  ServerCall *call;

  g_mutex_lock (&server->lock);
  call = g_hash_table_lookup (server->by_sid, call_sid);
  if (call && (!call->prestarted || call->attached || call->ending))
    call = NULL;
  if (call && claim)
    call->attached = TRUE;
  g_mutex_unlock (&server->lock);
  return call;
}

GMainContext *
server_loop_for (Server *server, const char *call_sid)
{
  ServerCall *call = NULL;
  GMainContext *loop;

  g_mutex_lock (&server->lock);
  if (call_sid)
    call = g_hash_table_lookup (server->by_sid, call_sid);
  if (call && call->prestarted && !call->attached && !call->ending)
    loop = call->loop;
  else
    loop = server->loops[server->next_loop++ % server->n_loops];
  g_mutex_unlock (&server->lock);
  return loop;
}

gboolean
server_call_is_waiting (Server *server, const char *call_sid)
{
  return claim_waiting (server, call_sid, FALSE) != NULL;
}

gboolean
server_call_join (Server *server, const char *call_sid,
    SoupWebsocketConnection *connection, const char *remote)
{
  ServerCall *call = claim_waiting (server, call_sid, TRUE);
  ServerLogLine *line;

  if (!call)
    return server_call_accept (server, connection, remote);
  /* claimed: the timeout leaves it alone, and the table holds it */
  call_attach (call, connection, remote);
  line = call_log_begin (call, "call-stream");
  server_log_str (line, "remote", remote);
  server_log_end (line);
  return TRUE;
}

static GstStructure *
element_stats (GstElement *element)
{
  GstStructure *stats = NULL;

  if (element && g_object_class_find_property (G_OBJECT_GET_CLASS (element), "stats"))
    g_object_get (element, "stats", &stats, NULL);
  return stats;
}

typedef void (*AddStats) (gpointer target, ServerStatsOrigin origin,
    const GstStructure *stats);

static void
add_to_sum (gpointer sum, ServerStatsOrigin origin, const GstStructure *stats)
{
  server_stats_sum_add (sum, origin, stats);
}

static void
add_to_totals (gpointer metrics, ServerStatsOrigin origin, const GstStructure *stats)
{
  server_metrics_add_stats (metrics, origin, stats);
}

/* Each element's stats into `add` (the live sum, or the totals). */
static void
collect_stats (ServerCall *call, AddStats add, gpointer target)
{
  const struct {
    GstElement *element;
    ServerStatsOrigin origin;
  } parts[] = {
    { call->el.src, SERVER_STATS_SRC },
    { call->el.sink, SERVER_STATS_SINK },
    { call->el.agent, SERVER_STATS_AGENT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++) {
    GstStructure *stats = element_stats (parts[i].element);

    if (stats) {
      add (target, parts[i].origin, stats);
      gst_structure_free (stats);
    }
  }
}

void
server_call_add_live_stats (ServerCall *call, ServerStatsSum *sum)
{
  collect_stats (call, add_to_sum, sum);
}

static void
log_end (ServerCall *call, const char *reason, const char *detail,
    const char *record)
{
  ServerLogLine *line = call_log_begin (call, "call-end");
  gint64 now = g_get_monotonic_time ();
  gint64 session = stamp_get (call, &call->session_us);
  gint64 first_audio = stamp_get (call, &call->first_audio_us);

  server_log_str (line, "reason", reason);
  server_log_double (line, "duration_s", since_open (call, now));
  if (call->prestarted)
    server_log_str (line, "prestarted", "yes");
  if (session)
    server_log_double (line, "setup_s", since_open (call, session));
  if (first_audio)
    server_log_double (line, "first_audio_s", since_open (call, first_audio));
  if (detail)
    server_log_str (line, "message", detail);
  if (record)
    server_log_str (line, "record", record);
  server_log_end (line);
}

void
server_call_end (ServerCall *call, const char *reason, const char *detail)
{
  Server *server = call->server;
  GstBus *bus;

  g_mutex_lock (&server->lock);
  if (call->ending) {
    g_mutex_unlock (&server->lock);
    return;
  }
  call->ending = TRUE;
  g_mutex_unlock (&server->lock);
  if (call->prestart_timer) {
    g_source_destroy (call->prestart_timer);
    g_clear_pointer (&call->prestart_timer, g_source_unref);
  }
  bus = gst_element_get_bus (call->el.pipeline);
  gst_bus_remove_watch (bus);
  if (call->record)
    server_record_finish (call->record);
  /* READY: the API session is closed and nothing streams, but the counters
   * are still there to be read */
  gst_element_set_state (call->el.pipeline, GST_STATE_READY);

  g_mutex_lock (&server->lock);
  collect_stats (call, add_to_totals, server->metrics);
  server_metrics_count (server->metrics, SERVER_COUNT_ENDED, reason);
  if (call->call_sid && g_hash_table_lookup (server->by_sid, call->call_sid) == call)
    g_hash_table_remove (server->by_sid, call->call_sid);
  /* Twilio goes on with the TwiML after the stream: its <Redirect> finds it */
  if (call->call_sid && call->transfer_to)
    server_transfer_add (server, call->call_sid, g_steal_pointer (&call->transfer_to));
  g_hash_table_steal (server->calls, call);
  g_mutex_unlock (&server->lock);

  /* NULL closes the Twilio WebSocket */
  gst_element_set_state (call->el.pipeline, GST_STATE_NULL);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  log_end (call, reason, detail, call->record ? server_record_close (call->record,
          call->call_sid) : NULL);
  gst_clear_object (&call->el.pipeline);
  call_unref (call);
  server_call_gone (server);
}
