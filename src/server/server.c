/* The routes of twilio-realtime-server and the server's life: see server.h
 * and docs/server.md ("Routes"). */
#include "server.h"

#include <string.h>

#include "gtr-http-guard.h"
#include "gtr-netloop.h"
#include "gtr-signature.h"
#include "server-log.h"

#define MAX_WEBHOOK_BODY (64 * 1024)
#define TWIML_TYPE "text/xml"
#define AFTER_PATH "/twiml/after"
#define APOLOGY "We are sorry, no one can take your call right now. Please call again later."

/* ---- Helpers ---- */

static void
respond_text (SoupServerMessage *msg, guint status, const char *type,
    const char *body)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, body, strlen (body));
}

static void
respond_status (SoupServerMessage *msg, guint status)
{
  g_autofree char *body = g_strdup_printf ("%u %s\n", status,
      soup_status_get_phrase (status));

  respond_text (msg, status, "text/plain", body);
}

static gboolean
method_is (SoupServerMessage *msg, const char *method)
{
  if (g_str_equal (soup_server_message_get_method (msg), method))
    return TRUE;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "Allow", method);
  respond_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED);
  return FALSE;
}

static const char *
remote_host (SoupServerMessage *msg)
{
  const char *host = soup_server_message_get_remote_host (msg);

  return host ? host : "";
}

static void
log_refusal (const char *event, SoupServerMessage *msg, guint status,
    const char *why)
{
  ServerLogLine *line = server_log_begin (event);

  server_log_str (line, "remote", remote_host (msg));
  server_log_str (line, "path", g_uri_get_path (soup_server_message_get_uri (msg)));
  server_log_int (line, "status", status);
  server_log_str (line, "why", why);
  server_log_end (line);
}

const char *
server_refusal (Server *self)
{
  const char *why = NULL;

  g_mutex_lock (&self->lock);
  if (self->draining)
    why = "draining";
  else if (g_hash_table_size (self->calls) >= self->config->max_calls)
    why = "busy";
  g_mutex_unlock (&self->lock);
  return why;
}

/* ---- POST /twiml ---- */

typedef struct {
  GPtrArray *names;
  GPtrArray *values;
} FormParams;

static void
form_params_init (FormParams *form)
{
  form->names = g_ptr_array_new_with_free_func (g_free);
  form->values = g_ptr_array_new_with_free_func (g_free);
}

static void
form_params_clear (FormParams *form)
{
  g_ptr_array_unref (form->names);
  g_ptr_array_unref (form->values);
}

static char *
form_unescape (const char *text, gsize len)
{
  g_autofree char *plus = g_strndup (text, len);

  g_strdelimit (plus, "+", ' ');
  return g_uri_unescape_string (plus, NULL);
}

/* application/x-www-form-urlencoded, every pair kept in order (Twilio signs
 * repeated names too).  FALSE on bad percent-encoding or non-UTF-8. */
static gboolean
form_params_parse (const char *body, gsize len, FormParams *form)
{
  const char *p = body, *end = body + len;

  while (p < end) {
    const char *amp = memchr (p, '&', end - p);
    const char *stop = amp ? amp : end;
    const char *eq = memchr (p, '=', stop - p);
    char *name, *value;

    if (stop > p) {
      name = form_unescape (p, (eq ? eq : stop) - p);
      value = eq ? form_unescape (eq + 1, stop - eq - 1) : g_strdup ("");
      if (!name || !value || !g_utf8_validate (name, -1, NULL)
          || !g_utf8_validate (value, -1, NULL)) {
        g_free (name);
        g_free (value);
        return FALSE;
      }
      g_ptr_array_add (form->names, name);
      g_ptr_array_add (form->values, value);
    }
    p = stop + 1;
  }
  return TRUE;
}

static const char *
form_get (const FormParams *form, const char *name)
{
  for (guint i = 0; i < form->names->len; i++)
    if (g_str_equal (g_ptr_array_index (form->names, i), name))
      return g_ptr_array_index (form->values, i);
  return NULL;
}

/* The URL Twilio requested, as it signs it: our public base, the path, and
 * the query exactly as sent. */
static char *
signed_url (Server *self, SoupServerMessage *msg)
{
  GUri *uri = soup_server_message_get_uri (msg);
  const char *query = g_uri_get_query (uri);

  return g_strconcat (self->public_base, g_uri_get_path (uri),
      query ? "?" : "", query ? query : "", NULL);
}

static gboolean
webhook_signed (Server *self, SoupServerMessage *msg, const FormParams *form)
{
  const char *signature = soup_message_headers_get_one
      (soup_server_message_get_request_headers (msg), "X-Twilio-Signature");
  g_autofree GtrTwilioParam *params = g_new0 (GtrTwilioParam, form->names->len + 1);
  g_autofree char *url = NULL;

  if (!self->config->auth_token)
    return TRUE;
  url = signed_url (self, msg);
  for (guint i = 0; i < form->names->len; i++) {
    params[i].name = g_ptr_array_index (form->names, i);
    params[i].value = g_ptr_array_index (form->values, i);
  }
  return gtr_twilio_signature_validate (self->config->auth_token, url, params,
      form->names->len, signature);
}

static void
append_escaped (GString *out, const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  g_string_append (out, escaped);
}

/* A CallSid fit to be a path segment (Twilio's are CA + 32 hex digits). */
static gboolean
call_sid_ok (const char *sid)
{
  gsize len = sid ? strlen (sid) : 0;

  if (len < 2 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (sid[i]))
      return FALSE;
  return TRUE;
}

/* <Connect><Stream> to our /media (/media/CALLSID for a pre-started call:
 * the handshake carries no parameters, so the path says which call it
 * joins), the call's identity as <Parameter>s: they reach the agent's
 * {placeholders} through start.customParameters. */
static char *
twiml_connect (Server *self, const FormParams *form, const char *prestarted)
{
  static const char *const carried[] = { "From", "To", "CallSid" };
  GString *out = g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Response><Connect><Stream url=\"");

  append_escaped (out, self->stream_url);
  if (prestarted) {
    g_string_append_c (out, '/');
    append_escaped (out, prestarted);
  }
  g_string_append (out, "\">");
  for (guint i = 0; i < G_N_ELEMENTS (carried); i++) {
    const char *value = form_get (form, carried[i]);

    if (!value)
      continue;
    g_string_append_printf (out, "<Parameter name=\"%s\" value=\"", carried[i]);
    append_escaped (out, value);
    g_string_append (out, "\"/>");
  }
  /* After the stream — when the server ends it, not when the caller hangs
   * up — Twilio goes on here: a transfer the agent asked for, or goodbye. */
  g_string_append (out, "</Stream></Connect><Redirect method=\"POST\">");
  append_escaped (out, self->public_base);
  g_string_append (out, AFTER_PATH "</Redirect></Response>\n");
  return g_string_free (out, FALSE);
}

/* ---- POST /twiml/after: where a call goes when its stream ends ---- */

void
server_transfer_free (gpointer data)
{
  ServerTransfer *transfer = data;

  g_free (transfer->target);
  g_free (transfer);
}

static gboolean
transfer_expired (gpointer key, gpointer value, gpointer now_us)
{
  return *(gint64 *) now_us - ((ServerTransfer *) value)->at_us
      > TRANSFER_KEEP_S * G_USEC_PER_SEC;
}

void
server_transfer_add (Server *self, const char *call_sid, char *target)
{
  ServerTransfer *transfer = g_new0 (ServerTransfer, 1);
  gint64 now = g_get_monotonic_time ();

  g_hash_table_foreach_remove (self->transfers, transfer_expired, &now);
  transfer->target = target;
  transfer->at_us = now;
  g_hash_table_replace (self->transfers, g_strdup (call_sid), transfer);
}

/* The call's transfer target, taken from the table; NULL when none. */
static char *
take_transfer (Server *self, const char *call_sid)
{
  ServerTransfer *transfer;
  char *target = NULL;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&self->lock);
  g_hash_table_foreach_remove (self->transfers, transfer_expired, &now);
  transfer = call_sid ? g_hash_table_lookup (self->transfers, call_sid) : NULL;
  if (transfer) {
    target = g_steal_pointer (&transfer->target);
    g_hash_table_remove (self->transfers, call_sid);
  }
  g_mutex_unlock (&self->lock);
  return target;
}

/* <Dial> the target (a SIP URI in <Sip>), or hang up. */
static char *
twiml_after (const char *target)
{
  GString *out = g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>");

  if (!target) {
    g_string_append (out, "<Hangup/></Response>\n");
    return g_string_free (out, FALSE);
  }
  g_string_append (out, "<Dial>");
  if (g_str_has_prefix (target, "sip:") || g_str_has_prefix (target, "sips:")) {
    g_string_append (out, "<Sip>");
    append_escaped (out, target);
    g_string_append (out, "</Sip>");
  } else {
    append_escaped (out, target);
  }
  g_string_append (out, "</Dial></Response>\n");
  return g_string_free (out, FALSE);
}

static const char twiml_apology[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Response><Say>" APOLOGY "</Say><Hangup/></Response>\n";

static gboolean
is_form (SoupServerMessage *msg)
{
  const char *type = soup_message_headers_get_content_type
      (soup_server_message_get_request_headers (msg), NULL);

  return type && g_ascii_strcasecmp (type, "application/x-www-form-urlencoded") == 0;
}

/* A webhook as Twilio sends it: POST, form-encoded, signed when a token is
 * configured.  TRUE with `form` filled (to clear); otherwise answered. */
static gboolean
read_webhook (Server *self, SoupServerMessage *msg, FormParams *form)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = NULL;
  const char *data_ptr;
  gsize len;

  if (!method_is (msg, SOUP_METHOD_POST))
    return FALSE;
  bytes = soup_message_body_flatten (body);
  data_ptr = g_bytes_get_data (bytes, &len);
  form_params_init (form);
  if (!is_form (msg) || !form_params_parse (data_ptr ? data_ptr : "", len, form)) {
    form_params_clear (form);
    server_metrics_count (self->metrics, SERVER_COUNT_WEBHOOKS, "bad-request");
    respond_status (msg, SOUP_STATUS_BAD_REQUEST);
    return FALSE;
  }
  if (!webhook_signed (self, msg, form)) {
    server_metrics_count (self->metrics, SERVER_COUNT_WEBHOOKS, "forbidden");
    log_refusal ("webhook-refused", msg, SOUP_STATUS_FORBIDDEN,
        soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
            "X-Twilio-Signature") ? "invalid X-Twilio-Signature"
        : "missing X-Twilio-Signature");
    respond_status (msg, SOUP_STATUS_FORBIDDEN);
    form_params_clear (form);
    return FALSE;
  }
  return TRUE;
}

/* Twilio's <Redirect> after a stream the server ended. */
static void
after_handler (SoupServer *soup, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  Server *self = data;
  g_autofree char *target = NULL;
  g_autofree char *twiml = NULL;
  ServerLogLine *line;
  FormParams form;

  if (!read_webhook (self, msg, &form))
    return;
  target = take_transfer (self, form_get (&form, "CallSid"));
  twiml = twiml_after (target);
  line = server_log_begin ("call-after");
  server_log_str (line, "call_sid", form_get (&form, "CallSid"));
  server_log_str (line, "twiml", target ? "dial" : "hangup");
  if (target)
    server_log_str (line, "target", target);
  server_log_end (line);
  server_metrics_count (self->metrics, SERVER_COUNT_WEBHOOKS, target ? "dial" : "hangup");
  respond_text (msg, SOUP_STATUS_OK, TWIML_TYPE, twiml);
  form_params_clear (&form);
}

static void
twiml_handler (SoupServer *soup, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  Server *self = data;
  FormParams form;
  const char *refusal;

  if (!read_webhook (self, msg, &form))
    return;
  if ((refusal = server_refusal (self))) {
    ServerLogLine *line = server_log_begin ("call-refused");

    server_log_str (line, "call_sid", form_get (&form, "CallSid"));
    server_log_str (line, "why", refusal);
    server_log_end (line);
    server_metrics_count (self->metrics, SERVER_COUNT_WEBHOOKS, refusal);
    respond_text (msg, SOUP_STATUS_OK, TWIML_TYPE, twiml_apology);
  } else {
    const char *sid = form_get (&form, "CallSid");
    gboolean prestart = self->config->prestart_timeout_s > 0 && call_sid_ok (sid)
        && server_call_prestart (self, sid);
    g_autofree char *twiml = twiml_connect (self, &form, prestart ? sid : NULL);

    server_metrics_count (self->metrics, SERVER_COUNT_WEBHOOKS, "connect");
    respond_text (msg, SOUP_STATUS_OK, TWIML_TYPE, twiml);
  }
  form_params_clear (&form);
}

/* Before the body is read: refuse what is too large to be a webhook.
 * libsoup 3.2 answers at once only a client that sent Expect: 100-continue;
 * for the others it still reads the body, which is then not kept. */
static void
twiml_early_handler (SoupServer *soup, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  goffset length = soup_message_headers_get_content_length
      (soup_server_message_get_request_headers (msg));

  if (length <= MAX_WEBHOOK_BODY)
    return;
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  respond_status (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE);
}

/* ---- GET /media ---- */

/* /media/CALLSID: the stream of a pre-started call; NULL for /media. */
static const char *
joined_call_sid (const char *path)
{
  const char *sid = g_str_has_prefix (path, "/media/") ? path + strlen ("/media/") : NULL;

  return sid && call_sid_ok (sid) ? sid : NULL;
}

/* Before the upgrade: a bad signature or a full house is refused here, so
 * no WebSocket and no pipeline ever exist for it. */
static void
media_early_handler (SoupServer *soup, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  Server *self = data;
  const char *signature = soup_message_headers_get_one
      (soup_server_message_get_request_headers (msg), "X-Twilio-Signature");
  const char *sid = joined_call_sid (path);
  g_autofree char *url = g_strconcat (self->ws_base, path, NULL);
  const char *refusal;

  if (!sid && !g_str_equal (path, "/media")) {
    respond_status (msg, SOUP_STATUS_NOT_FOUND);
    return;
  }
  /* Twilio signs the URL it connected to: the path is part of it */
  if (self->config->auth_token && !gtr_twilio_signature_validate
      (self->config->auth_token, url, NULL, 0, signature)) {
    server_metrics_count (self->metrics, SERVER_COUNT_REFUSED, "forbidden");
    log_refusal ("stream-refused", msg, SOUP_STATUS_FORBIDDEN,
        signature ? "invalid X-Twilio-Signature" : "missing X-Twilio-Signature");
    respond_status (msg, SOUP_STATUS_FORBIDDEN);
    return;
  }
  /* while draining, a stream is still a call whose webhook was answered
   * before: only capacity refuses it */
  refusal = server_refusal (self);
  /* a pre-started call already has its place */
  if (refusal && g_str_equal (refusal, "busy")
      && !(sid && server_call_is_waiting (self, sid))) {
    server_metrics_count (self->metrics, SERVER_COUNT_REFUSED, "busy");
    log_refusal ("stream-refused", msg, SOUP_STATUS_SERVICE_UNAVAILABLE, refusal);
    respond_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE);
  }
}

/* A handshake upgraded on loop 0, on its way to the call's loop. */
typedef struct {
  Server *server;
  GIOStream *stream;
  GUri *uri;
  char *origin, *protocol;
  char *remote;
} MediaHandOff;

static void
media_hand_off_free (gpointer data)
{
  MediaHandOff *h = data;

  g_clear_object (&h->stream);
  g_uri_unref (h->uri);
  g_free (h->origin);
  g_free (h->protocol);
  g_free (h->remote);
  g_free (h);
}

/* On the call's loop: the WebSocket opened here lives here (libsoup
 * attaches to the thread-default context), and so does its call. */
static gboolean
media_open (gpointer data)
{
  MediaHandOff *h = data;
  const char *sid = joined_call_sid (g_uri_get_path (h->uri));
  /* no extension was negotiated: permessage-deflate is off (docs/server.md) */
  g_autoptr (SoupWebsocketConnection) connection = soup_websocket_connection_new
      (h->stream, h->uri, SOUP_WEBSOCKET_CONNECTION_SERVER, h->origin, h->protocol, NULL);

  if (sid)
    server_call_join (h->server, sid, connection, h->remote);
  else
    server_call_accept (h->server, connection, h->remote);
  return G_SOURCE_REMOVE;
}

/* Loop 0, the 101 written: the connection leaves the SoupServer for the
 * call's loop (what libsoup's own WebSocket handler does, one thread
 * further). */
static void
media_upgraded (SoupServerMessage *msg, gpointer data)
{
  Server *self = data;
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  MediaHandOff *h = g_new0 (MediaHandOff, 1);
  GMainContext *loop;

  h->server = self;
  h->uri = g_uri_ref (soup_server_message_get_uri (msg));
  h->origin = g_strdup (soup_message_headers_get_one (req, "Origin"));
  h->protocol = g_strdup (soup_message_headers_get_one
      (soup_server_message_get_response_headers (msg), "Sec-WebSocket-Protocol"));
  h->remote = g_strdup (remote_host (msg));
  loop = server_loop_for (self, joined_call_sid (g_uri_get_path (h->uri)));
  g_object_ref (msg);
  h->stream = soup_server_message_steal_connection (msg);
  g_object_unref (msg);
  if (!h->stream) {
    media_hand_off_free (h);
    return;
  }
  g_main_context_invoke_full (loop, G_PRIORITY_DEFAULT, media_open, h,
      media_hand_off_free);
}

/* After the early handler let it through: the handshake is answered here,
 * with no extension offered (supported_extensions NULL). */
static void
media_handler (SoupServer *soup, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  if (!soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL))
    return;             /* answered 400 by libsoup, closed by the guard */
  g_signal_connect (msg, "wrote-informational", G_CALLBACK (media_upgraded), data);
}

/* ---- GET /metrics, /healthz, /readyz ---- */

static void
metrics_handler (SoupServer *soup, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  Server *self = data;
  ServerStatsSum *live;
  ServerGauges gauges = { 0 };
  GHashTableIter it;
  gpointer call;
  char *text;

  if (!method_is (msg, SOUP_METHOD_GET))
    return;
  live = server_stats_sum_new ();
  /* under `lock` throughout: a call ending now is either live or in the
   * totals, never both */
  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&it, self->calls);
  while (g_hash_table_iter_next (&it, &call, NULL))
    server_call_add_live_stats (call, live);
  gauges.active = g_hash_table_size (self->calls);
  gauges.max_calls = self->config->max_calls;
  gauges.draining = self->draining;
  gauges.have_guard = self->guard != NULL;
  if (self->guard) {
    gauges.handshake_timeouts = gtr_http_guard_get_handshake_timeouts (self->guard);
    gauges.idle_timeouts = gtr_http_guard_get_idle_timeouts (self->guard);
    gauges.guard_refused = gtr_http_guard_get_refused (self->guard);
    gauges.guard_released = gtr_http_guard_get_released (self->guard);
  }
  text = server_metrics_render (self->metrics, live, &gauges);
  g_mutex_unlock (&self->lock);
  server_stats_sum_free (live);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8",
      SOUP_MEMORY_TAKE, text, strlen (text));
}

static void
healthz_handler (SoupServer *soup, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  if (method_is (msg, SOUP_METHOD_GET))
    respond_text (msg, SOUP_STATUS_OK, "text/plain", "ok\n");
}

static void
readyz_handler (SoupServer *soup, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  const char *refusal;

  if (!method_is (msg, SOUP_METHOD_GET))
    return;
  if ((refusal = server_refusal (data))) {
    g_autofree char *body = g_strconcat (refusal, "\n", NULL);
    respond_text (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "text/plain", body);
  } else {
    respond_text (msg, SOUP_STATUS_OK, "text/plain", "ready\n");
  }
}

/* Everything else. */
static void
default_handler (SoupServer *soup, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  respond_status (msg, SOUP_STATUS_NOT_FOUND);
}

/* ---- Start and stop, on the network thread ---- */

/* https→wss, http→ws: the stream lives where the webhook does. */
static char *
ws_base_for (const char *base)
{
  if (g_str_has_prefix (base, "https://"))
    return g_strconcat ("wss://", base + strlen ("https://"), NULL);
  return g_strconcat ("ws://", base + strlen ("http://"), NULL);
}

static char *
local_base (GInetSocketAddress *listen, guint port)
{
  g_autofree char *host = g_inet_address_to_string
      (g_inet_socket_address_get_address (listen));

  if (strchr (host, ':'))
    return g_strdup_printf ("http://[%s]:%u", host, port);
  return g_strdup_printf ("http://%s:%u", host, port);
}

typedef struct {
  Server *server;
  GError *error;
} StartArgs;

static void
add_routes (Server *self)
{
  SoupServer *soup = self->soup;

  soup_server_add_handler (soup, NULL, default_handler, self, NULL);
  soup_server_add_early_handler (soup, "/twiml", twiml_early_handler, self, NULL);
  soup_server_add_handler (soup, "/twiml", twiml_handler, self, NULL);
  soup_server_add_handler (soup, AFTER_PATH, after_handler, self, NULL);
  soup_server_add_early_handler (soup, "/media", media_early_handler, self, NULL);
  soup_server_add_handler (soup, "/media", media_handler, self, NULL);
  soup_server_add_handler (soup, "/metrics", metrics_handler, self, NULL);
  soup_server_add_handler (soup, "/healthz", healthz_handler, self, NULL);
  soup_server_add_handler (soup, "/readyz", readyz_handler, self, NULL);
}

static gboolean
start_on_net (gpointer data)
{
  StartArgs *args = data;
  Server *self = args->server;
  GSList *uris;

  GtrHttpGuardLimits limits = { self->config->http_handshake_timeout_ms,
    self->config->http_idle_timeout_ms };

  self->soup = soup_server_new ("server-header", "twilio-realtime-server ", NULL);
  /* refusals close their connection; no connection that never finishes a
   * request, or idles, holds a descriptor (gtr-http-guard.h) */
  self->guard = gtr_http_guard_new (self->soup, &limits);
  add_routes (self);
  if (!soup_server_listen (self->soup, G_SOCKET_ADDRESS (self->config->listen), 0,
          &args->error))
    return G_SOURCE_REMOVE;
  uris = soup_server_get_uris (self->soup);
  self->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  self->public_base = self->config->public_url ? g_strdup (self->config->public_url)
      : local_base (self->config->listen, self->port);
  self->ws_base = ws_base_for (self->public_base);
  self->stream_url = g_strconcat (self->ws_base, "/media", NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_on_net (gpointer data)
{
  Server *self = data;

  g_clear_pointer (&self->guard, gtr_http_guard_free);
  if (self->soup) {
    soup_server_disconnect (self->soup);
    g_clear_object (&self->soup);
  }
  return G_SOURCE_REMOVE;
}

static gboolean
loop_barrier (gpointer unused)
{
  return G_SOURCE_REMOVE;
}

gboolean
server_start (Server *self, GError **error)
{
  StartArgs args = { self, NULL };
  g_autofree char *address = NULL;
  ServerLogLine *line;

  self->n_loops = self->config->network_threads;
  for (guint i = 0; i < self->n_loops; i++)
    self->loops[i] = gtr_netloop_ref_nth (i);
  gtr_netloop_run_sync (self->loops[0], start_on_net, &args);
  if (args.error) {
    g_propagate_error (error, args.error);
    gtr_netloop_run_sync (self->loops[0], stop_on_net, self);
    return FALSE;
  }
  address = local_base (self->config->listen, self->port);
  line = server_log_begin ("listening");
  server_log_str (line, "url", address);
  server_log_int (line, "port", self->port);
  server_log_str (line, "webhook", self->public_base);
  server_log_str (line, "stream", self->stream_url);
  server_log_str (line, "pipeline", self->pipeline->description);
  server_log_str (line, "signatures", self->config->auth_token ? "checked" : "off");
  server_log_int (line, "max_calls", self->config->max_calls);
  server_log_int (line, "network_threads", self->n_loops);
  server_log_int (line, "prestart_timeout_s", self->config->prestart_timeout_s);
  server_log_end (line);
  return TRUE;
}


/* ---- Drain ---- */

static void
quit_when_idle (Server *self)
{
  gboolean idle;

  g_mutex_lock (&self->lock);
  idle = self->draining && g_hash_table_size (self->calls) == 0;
  g_mutex_unlock (&self->lock);
  if (idle)
    g_main_loop_quit (self->loop);
}

/* Main thread: end every call still up. */
static void
end_all_calls (Server *self, const char *reason)
{
  for (;;) {
    GHashTableIter it;
    gpointer call = NULL;

    g_mutex_lock (&self->lock);
    g_hash_table_iter_init (&it, self->calls);
    if (!g_hash_table_iter_next (&it, &call, NULL))
      call = NULL;
    g_mutex_unlock (&self->lock);
    if (!call)
      break;
    server_call_end (call, reason, NULL);
  }
}

static gboolean
on_drain_timeout (gpointer data)
{
  Server *self = data;

  self->drain_timer = 0;
  end_all_calls (self, "drain-timeout");
  quit_when_idle (self);
  return G_SOURCE_REMOVE;
}

void
server_drain (Server *self)
{
  ServerLogLine *line;
  guint active;

  g_mutex_lock (&self->lock);
  if (self->draining) {
    g_mutex_unlock (&self->lock);
    /* asked twice: the operator wants out now */
    if (self->drain_timer) {
      g_source_remove (self->drain_timer);
      on_drain_timeout (self);
    }
    return;
  }
  self->draining = TRUE;
  active = g_hash_table_size (self->calls);
  g_mutex_unlock (&self->lock);

  line = server_log_begin ("draining");
  server_log_int (line, "active_calls", active);
  server_log_int (line, "timeout_s", self->config->drain_timeout_s);
  server_log_end (line);
  /* not g_timeout_add_seconds: it may fire up to a second early */
  self->drain_timer = g_timeout_add (self->config->drain_timeout_s * 1000,
      on_drain_timeout, self);
  quit_when_idle (self);
}

void
server_call_gone (Server *self)
{
  quit_when_idle (self);
}

void
server_finish (Server *self)
{
  if (self->drain_timer)
    g_source_remove (self->drain_timer);
  self->drain_timer = 0;
  gtr_netloop_run_sync (self->loops[0], stop_on_net, self);
  /* a stream upgraded just before is a call on its loop once this returns */
  for (guint i = 1; i < self->n_loops; i++)
    gtr_netloop_run_sync (self->loops[i], loop_barrier, NULL);
  /* a call accepted just before the server stopped listening */
  while (g_main_context_iteration (self->main_context, FALSE));
  end_all_calls (self, "drain-timeout");
  while (g_main_context_iteration (self->main_context, FALSE));
  g_free (self->public_base);
  g_free (self->stream_url);
  g_free (self->ws_base);
  for (guint i = 0; i < self->n_loops; i++)
    g_clear_pointer (&self->loops[i], g_main_context_unref);
}
