/* realtime-mock: a faithful local stand-in for the OpenAI Realtime API (GA)
 * and for GPT-Live.
 *
 * Serves /v1/realtime?model=M (Authorization: Bearer KEY) and
 * /openai/v1/realtime?model=M (Azure style, api-key: KEY) over ws or wss,
 * and GPT-Live on /v1/live/sessions and /openai/v1/live/sessions with the
 * same key check; anything else is 404, a wrong or missing key is 401
 * before the upgrade.  Every session is independent (mock-session.c,
 * mock-live.c).  Options and behaviour: docs/realtime-mock.md.
 */
#include "config.h"

#include "gtr-http-guard.h"
#include "gtr-tool-exit.h"
#include "mock-audio.h"
#include "mock-live.h"
#include "mock-log.h"
#include "mock-session.h"

#include <glib-unix.h>
#include <gst/gst.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define MAX_PAYLOAD (16 * 1024 * 1024)

static const char *const paths[] = { "/v1/realtime", "/openai/v1/realtime",
  "/v1/live/sessions", "/openai/v1/live/sessions", NULL };

static gboolean
is_live_path (const char *path)
{
  return g_str_has_suffix (path, "/live/sessions");
}

typedef struct {
  char *host;
  gint port;
  char *tls_cert;
  char *tls_key;
  char *api_key;
  char *mode;
  char *log_path;
  gint close_after, session_max, first_delta_delay, function_call_turn;
  gint handshake_timeout, idle_timeout;
  gint stall_after, stall_for, drop_response;
  gint end_call_turn, transfer_call_turn;
  MockConfig config;
} Options;

/* Everything parse_options() and load_mode() allocated. */
static void
options_clear (Options *opts)
{
  g_clear_pointer (&opts->host, g_free);
  g_clear_pointer (&opts->tls_cert, g_free);
  g_clear_pointer (&opts->tls_key, g_free);
  g_clear_pointer (&opts->api_key, g_free);
  g_clear_pointer (&opts->mode, g_free);
  g_clear_pointer (&opts->log_path, g_free);
  g_clear_pointer (&opts->config.file_name, g_free);
  g_clear_pointer (&opts->config.file_audio, g_bytes_unref);
  g_clear_pointer (&opts->config.function_name, g_free);
  g_clear_pointer (&opts->config.function_args, g_free);
  g_clear_pointer (&opts->config.transcript, g_free);
}

static gboolean
equal_secret (const char *a, const char *b)
{
  /* Constant time in the length of the expected key. */
  gsize la = strlen (a), lb = strlen (b);
  guint diff = la != lb;

  for (gsize i = 0; i < lb; i++)
    diff |= (guint) (i < la ? a[i] : 0) ^ (guint) b[i];
  return diff == 0;
}

static gboolean
authorized (SoupServerMessage *msg, const char *key)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *bearer = soup_message_headers_get_one (headers, "Authorization");
  const char *api_key = soup_message_headers_get_one (headers, "api-key");

  if (bearer && g_ascii_strncasecmp (bearer, "Bearer ", 7) == 0 && equal_secret (bearer + 7, key))
    return TRUE;
  return api_key && equal_secret (api_key, key);
}

static void
answer_401 (SoupServerMessage *msg, gboolean given)
{
  /* The API's shape; the key that was offered is never echoed. */
  const char *body = given
      ? "{\"error\":{\"message\":\"Incorrect API key provided. You can find your API key at "
        "https://platform.openai.com/account/api-keys.\",\"type\":\"invalid_request_error\","
        "\"param\":null,\"code\":\"invalid_api_key\"}}"
      : "{\"error\":{\"message\":\"You didn't provide an API key. You need to provide your API key "
        "in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).\","
        "\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}";

  soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, body, strlen (body));
}

static void
early_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer data)
{
  Options *opts = data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  if (!g_strv_contains (paths, path)) {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
    return;
  }
  if (!authorized (msg, opts->api_key)) {
    answer_401 (msg, soup_message_headers_get_one (headers, "Authorization")
        || soup_message_headers_get_one (headers, "api-key"));
    return;
  }
  if (is_live_path (path) && query && g_hash_table_contains (query, "model")) {
    /* GPT-Live takes the model in session.start, never in the URL. */
    static const char body[] = "{\"error\":{\"message\":\"Unknown parameter: 'model'. GPT-Live "
        "takes the model in session.start, not in the URL.\",\"type\":\"invalid_request_error\","
        "\"param\":\"model\",\"code\":\"unknown_parameter\"}}";

    soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
    soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, body,
        strlen (body));
  }
}

static void
websocket_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *ws, gpointer data)
{
  Options *opts = data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *beta = soup_message_headers_get_one (headers, "OpenAI-Beta");
  const char *query = g_uri_get_query (soup_server_message_get_uri (msg));
  g_autoptr (GHashTable) params = query ? g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, NULL) : NULL;
  const char *model = params ? g_hash_table_lookup (params, "model") : NULL;

  g_object_set (ws, "max-incoming-payload-size", (guint64) MAX_PAYLOAD, NULL);
  if (is_live_path (path)) {
    mock_live_start (&opts->config, ws, g_str_has_prefix (path, "/openai/"));
    return;
  }
  mock_session_start (&opts->config, ws, model ? model : "gpt-realtime-2.1",
      beta && strstr (beta, "realtime=v1") != NULL);
}

static gboolean
on_signal (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;   /* removed by main(), with the other one */
}

/* The liveness faults: --stall-after, --stall-for, --drop-mid-response. */
static gboolean
fault_options (Options *opts, GError **error)
{
  if (opts->stall_after < 0 || opts->stall_for < 0 || opts->drop_response < 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "negative or out-of-range number");
    return FALSE;
  }
  opts->config.stall_after_ms = opts->stall_after;
  opts->config.stall_for_ms = opts->stall_for ? opts->stall_for : 60000;
  opts->config.drop_response = opts->drop_response;
  return TRUE;
}

static gboolean
parse_options (Options *opts, int *argc, char ***argv, GError **error)
{
  GOptionEntry entries[] = {
    { "host", 0, 0, G_OPTION_ARG_STRING, &opts->host, "Address to listen on (default 127.0.0.1)", "ADDR" },
    { "port", 0, 0, G_OPTION_ARG_INT, &opts->port, "Port (0 = a free port)", "PORT" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &opts->tls_cert, "Serve wss with this certificate", "PEM" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &opts->tls_key, "The certificate's key", "PEM" },
    { "api-key", 0, 0, G_OPTION_ARG_STRING, &opts->api_key, "The key to accept (default test-key)", "KEY" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &opts->mode, "What the agent says: echo, tone, file or loopback", "MODE" },
    { "file", 0, 0, G_OPTION_ARG_FILENAME, &opts->config.file_name, "WAV file for --mode file", "WAV" },
    { "log", 0, 0, G_OPTION_ARG_FILENAME, &opts->log_path, "Event log (JSON lines)", "FILE" },
    { "reject-sessions", 0, 0, G_OPTION_ARG_NONE, &opts->config.reject_sessions, "Reject every session.update (GPT-Live: session.start)", NULL },
    { "live-wrong-format", 0, 0, G_OPTION_ARG_NONE, &opts->config.live_wrong_format,
      "GPT-Live: session.started confirms (and the session uses) another audio format than asked", NULL },
    { "live-burst", 0, 0, G_OPTION_ARG_NONE, &opts->config.live_burst,
      "GPT-Live: send each agent turn's audio at once (faster than real time); a caller who "
      "talks over it gets a first transcript fragment at once", NULL },
    { "close-after", 0, 0, G_OPTION_ARG_INT, &opts->close_after, "Close (1000) MS after session.created", "MS" },
    { "session-max", 0, 0, G_OPTION_ARG_INT, &opts->session_max, "session_expired, close 1001 after MS", "MS" },
    { "first-delta-delay-ms", 0, 0, G_OPTION_ARG_INT, &opts->first_delta_delay, "Delay each response's first audio delta", "MS" },
    { "malformed-frames", 0, 0, G_OPTION_ARG_NONE, &opts->config.malformed_frames, "Interleave bad frames", NULL },
    { "function-call-turn", 0, 0, G_OPTION_ARG_INT, &opts->function_call_turn, "Answer turn N with a function call", "N" },
    { "function-name", 0, 0, G_OPTION_ARG_STRING, &opts->config.function_name, "The function's name", "NAME" },
    { "function-args", 0, 0, G_OPTION_ARG_STRING, &opts->config.function_args, "Its arguments (JSON)", "JSON" },
    { "transcript", 0, 0, G_OPTION_ARG_STRING, &opts->config.transcript, "Caller transcription text", "TEXT" },
    { "handshake-timeout-ms", 0, 0, G_OPTION_ARG_INT, &opts->handshake_timeout,
      "Close a connection whose request headers are not complete within MS (default 5000, 0 = no bound)", "MS" },
    { "idle-timeout-ms", 0, 0, G_OPTION_ARG_INT, &opts->idle_timeout,
      "Close a kept-alive connection whose next request does not start within MS (default 5000, 0 = no bound)", "MS" },
    { "stall-after", 0, 0, G_OPTION_ARG_INT, &opts->stall_after, "Freeze MS after the first session.created (once)", "MS" },
    { "stall-for", 0, 0, G_OPTION_ARG_INT, &opts->stall_for, "How long --stall-after freezes (default 60000)", "MS" },
    { "drop-mid-response", 0, 0, G_OPTION_ARG_INT, &opts->drop_response, "Drop the socket (no close frame) in response N", "N" },
    { "end-call-turn", 0, 0, G_OPTION_ARG_INT, &opts->end_call_turn, "Turn N's answer ends with an end_call", "N" },
    { "transfer-call-turn", 0, 0, G_OPTION_ARG_INT, &opts->transfer_call_turn, "Turn N's answer ends with a transfer_call", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- a local OpenAI Realtime API (GA)");

  opts->handshake_timeout = opts->idle_timeout = 5000;
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (opts->close_after < 0 || opts->session_max < 0 || opts->first_delta_delay < 0
      || opts->function_call_turn < 0 || opts->port < 0 || opts->port > 65535
      || opts->handshake_timeout < 0 || opts->idle_timeout < 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "negative or out-of-range number");
    return FALSE;
  }
  opts->config.close_after_ms = opts->close_after;
  opts->config.session_max_ms = opts->session_max;
  opts->config.first_delta_delay_ms = opts->first_delta_delay;
  opts->config.function_call_turn = opts->function_call_turn;
  if (!fault_options (opts, error))
    return FALSE;
  if (opts->end_call_turn < 0 || opts->transfer_call_turn < 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--end-call-turn, --transfer-call-turn: a turn number, 1 or more");
    return FALSE;
  }
  opts->config.end_call_turn = opts->end_call_turn;
  opts->config.transfer_call_turn = opts->transfer_call_turn;
  if (opts->function_call_turn && !opts->config.function_name) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--function-call-turn needs --function-name");
    return FALSE;
  }
  if (!opts->tls_cert != !opts->tls_key) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--tls-cert and --tls-key go together");
    return FALSE;
  }
  return TRUE;
}

static gboolean
load_mode (Options *opts, GError **error)
{
  const char *mode = opts->mode ? opts->mode : "echo";

  if (g_str_equal (mode, "echo"))
    opts->config.mode = MOCK_MODE_ECHO;
  else if (g_str_equal (mode, "tone"))
    opts->config.mode = MOCK_MODE_TONE;
  else if (g_str_equal (mode, "file"))
    opts->config.mode = MOCK_MODE_FILE;
  else if (g_str_equal (mode, "loopback"))
    opts->config.mode = MOCK_MODE_LOOPBACK;
  else {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--mode: echo, tone, file or loopback, not \"%s\"", mode);
    return FALSE;
  }
  if (opts->config.mode != MOCK_MODE_FILE)
    return TRUE;
  if (!opts->config.file_name) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--mode file needs --file WAV");
    return FALSE;
  }
  opts->config.file_audio = mock_audio_load_wav (opts->config.file_name, error);
  if (!opts->config.file_audio)
    g_prefix_error (error, "--file %s: ", opts->config.file_name);
  return opts->config.file_audio != NULL;
}

static SoupServer *
start_server (Options *opts, GtrHttpGuard **guard, GError **error)
{
  GtrHttpGuardLimits limits = { .handshake_timeout_ms = opts->handshake_timeout,
    .idle_timeout_ms = opts->idle_timeout };
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (opts->host ? opts->host : "127.0.0.1");
  g_autoptr (GSocketAddress) sockaddr = NULL;
  SoupServer *server;

  if (!addr) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--host: not an IP address: %s", opts->host);
    return NULL;
  }
  if (opts->tls_cert && !(cert = g_tls_certificate_new_from_files (opts->tls_cert, opts->tls_key, error)))
    return NULL;
  server = soup_server_new ("tls-certificate", cert, NULL);
  /* Refusals (401, 404) close their connection; silent and slow clients
   * are bounded (docs/architecture.md, "HTTP servers"). */
  *guard = gtr_http_guard_new (server, &limits);
  /* libsoup runs the early handler of the most specific path only: each
   * path gets its own, "/" catches the rest (404). */
  soup_server_add_early_handler (server, NULL, early_handler, opts, NULL);
  for (guint i = 0; paths[i]; i++) {
    soup_server_add_early_handler (server, paths[i], early_handler, opts, NULL);
    soup_server_add_websocket_handler (server, paths[i], NULL, NULL, websocket_handler, opts, NULL);
  }
  sockaddr = g_inet_socket_address_new (addr, opts->port);
  if (!soup_server_listen (server, sockaddr, cert ? SOUP_SERVER_LISTEN_HTTPS : 0, error)) {
    g_clear_pointer (guard, gtr_http_guard_free);
    g_object_unref (server);
    return NULL;
  }
  return server;
}

static void
announce (SoupServer *server, gboolean tls)
{
  GSList *uris = soup_server_get_uris (server);
  GUri *uri = uris->data;

  printf ("realtime-mock listening on %s://%s:%d\n", tls ? "wss" : "ws", g_uri_get_host (uri),
      g_uri_get_port (uri));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

int
main (int argc, char **argv)
{
  Options opts = { 0 };
  g_autoptr (GError) error = NULL;
  GMainLoop *loop;
  SoupServer *server = NULL;
  GtrHttpGuard *guard = NULL;
  guint sigterm, sigint;
  gint64 deadline;

  if (!parse_options (&opts, &argc, &argv, &error)) {
    fprintf (stderr, "realtime-mock: %s\n", error->message);
    options_clear (&opts);
    return 2;
  }
  if (!opts.api_key)
    opts.api_key = g_strdup ("test-key");
  if (!load_mode (&opts, &error)
      || (opts.log_path && !mock_log_open (opts.log_path, &error))
      || !(server = start_server (&opts, &guard, &error))) {
    fprintf (stderr, "realtime-mock: %s\n", error->message);
    mock_log_close_file ();
    options_clear (&opts);
    return 2;
  }
  loop = g_main_loop_new (NULL, FALSE);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, loop);
  sigint = g_unix_signal_add (SIGINT, on_signal, loop);
  announce (server, opts.tls_cert != NULL);
  g_main_loop_run (loop);
  g_source_remove (sigterm);
  g_source_remove (sigint);

  /* A clean exit: no new connections, every session closed and freed (a
   * session frees itself when its socket has closed), then what the
   * sockets left on the main context dispatched. */
  gtr_http_guard_free (guard);
  soup_server_disconnect (server);
  g_object_unref (server);
  mock_session_close_all ();
  mock_live_close_all ();
  deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (mock_session_count () + mock_live_count () > 0 && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  mock_session_free_all ();   /* peers that never answered the close */
  mock_live_free_all ();
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_main_loop_unref (loop);
  mock_log_close_file ();
  options_clear (&opts);
  gst_deinit ();
  gtr_stop_idle_pool_threads ();
  return 0;
}
