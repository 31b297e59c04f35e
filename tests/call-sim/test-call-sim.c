/* twilio-call-sim against an in-process server on 127.0.0.1 playing the
 * voice webhook and the Media Stream WebSocket: what it sends (the webhook's
 * form and signature, envelopes, string fields, 20 ms pacing, dtmf, stop,
 * the handshake signature), the TwiML it executes, how it plays back (mark
 * echo timing, clear), what it counts as violations, its record WAV,
 * several calls at once, its exit codes. */
#include "gtr-protocol.h"
#include "gtr-tool-exit.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#define SID "MZ11111111111111111111111111111111"
#define TOKEN "test-auth-token-12345"
#define PUBLIC_URL "wss://example.ngrok.app/media"
#define MS G_TIME_SPAN_MILLISECOND

typedef struct _Fixture Fixture;
typedef void (*ScriptFunc) (Fixture *fx, JsonObject *frame);

typedef struct {
  gint64 t_us;
  JsonNode *json;   /* NULL if not JSON */
} Frame;

/* One voice-webhook request the server received. */
typedef struct {
  char *method;
  char *url;            /* as the server saw it: what the signature is over */
  GHashTable *form;     /* the decoded POST body, or the GET query */
  gboolean get;
  char *content_type;
  char *signature;
  gint64 t_us;
} Hook;

struct _Fixture {
  GMainLoop *loop;
  SoupServer *server;
  char *url;
  char *http;               /* http://127.0.0.1:PORT, the webhook's origin */
  GHashTable *answers;      /* webhook path → TwiML to answer */
  guint webhook_status;     /* answer this instead of 200 */
  GPtrArray *hooks;         /* Hook* */
  GPtrArray *conns;         /* every stream's connection */
  gint64 close_after_ms;    /* > 0: the server ends each stream this long after start */
  GSocketService *mute;     /* accepts connections and never answers */
  GPtrArray *mute_conns;
  char *env_token;          /* TWILIO_AUTH_TOKEN for the sim */
  SoupWebsocketConnection *conn;
  GPtrArray *frames;        /* Frame* the sim sent */
  char *signature;
  gboolean answer_403;
  gboolean tls;
  ScriptFunc on_start;      /* the scripted reply once start arrives */
  gboolean echo;            /* send every media payload back, as twiliosrc ! twiliosink */
  guint echo_drop_every;    /* > 0: except each stream's Nth, 2Nth, … */
  gsize echo_chunk;         /* > 0: the echoed bytes regrouped into media of this size */
  gint64 sent_us[8];        /* when the script sent things, for timing asserts */
  guint timer;
  char *tmpdir;
  GSubprocess *sim;         /* the running sim, from spawn_sim() */

  /* the sim's outcome */
  gint64 exit_us;
  int exit_status;
  char *out;
  char *err;
  JsonObject *summary;
  JsonNode *summary_node;
};

/* ---- the server ------------------------------------------------------ */

static void
frame_free (Frame *f)
{
  if (f->json)
    json_node_unref (f->json);
  g_free (f);
}

static const char *
str_member (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  g_assert_nonnull (n);
  g_assert_cmpint (json_node_get_value_type (n), ==, G_TYPE_STRING);
  return json_node_get_string (n);
}

static void
send_text_on (SoupWebsocketConnection *conn, char *text)
{
  soup_websocket_connection_send_text (conn, text);
  g_free (text);
}

static const char *
frame_event (const Frame *f)
{
  return f->json ? str_member (json_node_get_object (f->json), "event") : NULL;
}

/* The app ends the stream (as a server hands a call back to its TwiML). */
static gboolean
close_stream (gpointer user_data)
{
  SoupWebsocketConnection *conn = user_data;

  if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, "back to TwiML");
  return G_SOURCE_REMOVE;
}

/* An echoing app: the stream's media back, on the stream's own sid. */
static void
echo_media (Fixture *fx, SoupWebsocketConnection *conn, JsonObject *frame)
{
  const char *sid = g_object_get_data (G_OBJECT (conn), "sid");
  GByteArray *held = g_object_get_data (G_OBJECT (conn), "held");
  guint n = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (conn), "media")) + 1;
  const char *b64 = str_member (json_object_get_object_member (frame, "media"), "payload");
  gsize len;
  g_autofree guint8 *payload = g_base64_decode (b64, &len);

  g_object_set_data (G_OBJECT (conn), "media", GUINT_TO_POINTER (n));
  if (fx->echo_drop_every > 0 && n % fx->echo_drop_every == 0)
    return;
  if (fx->echo_chunk == 0) {
    send_text_on (conn, gtr_twilio_build_media (sid, payload, len));
    return;
  }
  g_byte_array_append (held, payload, len);
  while (held->len >= fx->echo_chunk) {
    send_text_on (conn, gtr_twilio_build_media (sid, held->data, fx->echo_chunk));
    g_byte_array_remove_range (held, 0, fx->echo_chunk);
  }
}

static void
on_server_message (SoupWebsocketConnection *conn, gint type, GBytes *bytes,
    gpointer user_data)
{
  Fixture *fx = user_data;
  Frame *f = g_new0 (Frame, 1);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autofree char *text = g_strndup (data, len);

  f->t_us = g_get_monotonic_time ();
  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  f->json = json_from_string (text, NULL);
  g_ptr_array_add (fx->frames, f);
  if (fx->echo && g_strcmp0 (frame_event (f), "media") == 0)
    echo_media (fx, conn, json_node_get_object (f->json));
  if (g_strcmp0 (frame_event (f), "start") != 0)
    return;
  g_object_set_data_full (G_OBJECT (conn), "sid", g_strdup (str_member (
          json_node_get_object (f->json), "streamSid")), g_free);
  g_object_set_data_full (G_OBJECT (conn), "held", g_byte_array_new (),
      (GDestroyNotify) g_byte_array_unref);
  if (fx->close_after_ms > 0)
    g_timeout_add_full (G_PRIORITY_DEFAULT, fx->close_after_ms, close_stream,
        g_object_ref (conn), g_object_unref);
  if (fx->on_start)
    fx->on_start (fx, json_node_get_object (f->json));
}

static void
on_websocket (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *conn, gpointer user_data)
{
  Fixture *fx = user_data;

  g_free (fx->signature);
  fx->signature = g_strdup (soup_message_headers_get_one (
          soup_server_message_get_request_headers (msg), "X-Twilio-Signature"));
  g_set_object (&fx->conn, conn);
  g_ptr_array_add (fx->conns, g_object_ref (conn));
  g_signal_connect (conn, "message", G_CALLBACK (on_server_message), fx);
}

static void
hook_free (Hook *h)
{
  g_free (h->method);
  g_free (h->url);
  g_clear_pointer (&h->form, g_hash_table_unref);
  g_free (h->content_type);
  g_free (h->signature);
  g_free (h);
}

/* The voice webhook: records the request, answers the TwiML for its path. */
static void
on_webhook (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  Fixture *fx = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) data = soup_message_body_flatten (body);
  g_autofree char *form = g_strndup (g_bytes_get_data (data, NULL), g_bytes_get_size (data));
  const char *twiml = g_hash_table_lookup (fx->answers, path);
  Hook *h = g_new0 (Hook, 1);

  h->method = g_strdup (soup_server_message_get_method (msg));
  h->url = g_uri_to_string (soup_server_message_get_uri (msg));
  /* GET carries the parameters in the query, and is signed over the URL alone */
  h->get = g_str_equal (h->method, "GET");
  h->form = h->get ? g_hash_table_ref (query) : soup_form_decode (form);
  h->content_type = g_strdup (soup_message_headers_get_one (headers, "Content-Type"));
  h->signature = g_strdup (soup_message_headers_get_one (headers, "X-Twilio-Signature"));
  h->t_us = g_get_monotonic_time ();
  g_ptr_array_add (fx->hooks, h);
  if (fx->webhook_status != 0) {
    soup_server_message_set_status (msg, fx->webhook_status, NULL);
    return;
  }
  if (twiml == NULL) {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
    return;
  }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/xml", SOUP_MEMORY_COPY, twiml, strlen (twiml));
}

static void
on_http_403 (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  soup_server_message_set_status (msg, SOUP_STATUS_FORBIDDEN, NULL);
}

static void
start_server (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  GSList *uris;
  SoupServerListenOptions opts = SOUP_SERVER_LISTEN_IPV4_ONLY;

  if (fx->tls) {
    g_autofree char *pem = g_build_filename (g_getenv ("GTR_TESTS_DATA"), "tls", "server.pem", NULL);
    g_autofree char *key = g_build_filename (g_getenv ("GTR_TESTS_DATA"), "tls", "server.key", NULL);

    cert = g_tls_certificate_new_from_files (pem, key, &error);
    g_assert_no_error (error);
    opts |= SOUP_SERVER_LISTEN_HTTPS;
  }
  fx->server = soup_server_new ("tls-certificate", cert, NULL);
  soup_server_add_handler (fx->server, NULL, on_webhook, fx, NULL);
  if (fx->answer_403)
    soup_server_add_handler (fx->server, "/media", on_http_403, fx, NULL);
  else
    soup_server_add_websocket_handler (fx->server, "/media", NULL, NULL,
        on_websocket, fx, NULL);
  soup_server_listen_local (fx->server, 0, opts, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (fx->server);
  fx->url = g_strdup_printf ("%s://127.0.0.1:%d/media", fx->tls ? "wss" : "ws",
      g_uri_get_port (uris->data));
  fx->http = g_strdup_printf ("%s://127.0.0.1:%d", fx->tls ? "https" : "http",
      g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
send_text (Fixture *fx, char *text)
{
  soup_websocket_connection_send_text (fx->conn, text);
  g_free (text);
}

/* `ms` of a recognisable pattern (never μ-law silence), as one media message. */
static void
send_audio (Fixture *fx, gsize ms)
{
  gsize len = ms * 8;
  g_autofree guint8 *audio = g_malloc (len);

  for (gsize i = 0; i < len; i++)
    audio[i] = i % 100;
  send_text (fx, gtr_twilio_build_media (SID, audio, len));
}

/* ---- running the sim ------------------------------------------------- */

static void
fx_setup (Fixture *fx, gconstpointer data)
{
  memset (fx, 0, sizeof *fx);
  fx->loop = g_main_loop_new (NULL, FALSE);
  fx->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) frame_free);
  fx->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  fx->hooks = g_ptr_array_new_with_free_func ((GDestroyNotify) hook_free);
  fx->conns = g_ptr_array_new_with_free_func (g_object_unref);
  fx->mute_conns = g_ptr_array_new_with_free_func (g_object_unref);
  fx->tmpdir = g_dir_make_tmp ("call-sim-XXXXXX", NULL);
  fx->exit_status = -1;
}

static void
fx_teardown (Fixture *fx, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (fx->tmpdir, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *p = g_build_filename (fx->tmpdir, name, NULL);
    g_unlink (p);
  }
  g_rmdir (fx->tmpdir);
  g_free (fx->tmpdir);
  g_clear_handle_id (&fx->timer, g_source_remove);
  g_clear_object (&fx->conn);
  g_ptr_array_unref (fx->conns);
  g_ptr_array_unref (fx->hooks);
  g_hash_table_unref (fx->answers);
  g_ptr_array_unref (fx->mute_conns);
  if (fx->mute) {
    g_socket_service_stop (fx->mute);
    g_socket_listener_close (G_SOCKET_LISTENER (fx->mute));
  }
  g_clear_object (&fx->mute);
  g_free (fx->http);
  g_free (fx->env_token);
  if (fx->server)
    soup_server_disconnect (fx->server);
  g_clear_object (&fx->server);
  g_clear_object (&fx->sim);
  g_ptr_array_unref (fx->frames);
  g_free (fx->url);
  g_free (fx->signature);
  g_free (fx->out);
  g_free (fx->err);
  if (fx->summary_node)
    json_node_unref (fx->summary_node);
  g_main_loop_unref (fx->loop);
}

static void
on_sim_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Fixture *fx = user_data;
  g_autoptr (GError) error = NULL;

  fx->exit_us = g_get_monotonic_time ();
  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), res, &fx->out,
      &fx->err, &error);
  g_assert_no_error (error);
  /* a sanitizer abort is a signal, not an exit status: report it as 128+N */
  if (g_subprocess_get_if_signaled (G_SUBPROCESS (source)))
    fx->exit_status = 128 + g_subprocess_get_term_sig (G_SUBPROCESS (source));
  else
    fx->exit_status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
  g_main_loop_quit (fx->loop);
}

static void
parse_summary (Fixture *fx)
{
  g_auto (GStrv) lines = g_strsplit (g_strchomp (fx->out), "\n", -1);
  guint n = g_strv_length (lines);
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (n, >=, 1);
  fx->summary_node = json_from_string (lines[n - 1], &error);
  g_assert_no_error (error);
  fx->summary = json_node_get_object (fx->summary_node);
}

/* Start the sim with the NULL-terminated arguments (after --url, if
 * with_url). */
static void
spawn_sim (Fixture *fx, gboolean with_url, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (argv, (gpointer) g_getenv ("GTR_TWILIO_CALL_SIM"));
  if (with_url) {
    g_ptr_array_add (argv, "--url");
    g_ptr_array_add (argv, fx->url);
  }
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* the token comes from the test alone, never from the environment we run in */
  if (fx->env_token != NULL)
    g_subprocess_launcher_setenv (launcher, "TWILIO_AUTH_TOKEN", fx->env_token, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "TWILIO_AUTH_TOKEN");
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, on_sim_done, fx);
  g_set_object (&fx->sim, proc);
}

/* Wait for the sim started by spawn_sim() to exit.  Whatever its exit
 * status, it must end clean: no sanitizer report (ASan builds) and no
 * GstObject left alive at gst_deinit() (the leaks tracer, GST_TRACERS=leaks). */
static void
wait_sim (Fixture *fx)
{
  static const char *const reports[] = {
    "ERROR: AddressSanitizer", "LeakSanitizer", "Tracer caught", "runtime error:",
    "Leaks detected",
  };

  g_main_loop_run (fx->loop);
  g_test_message ("sim stderr: %s", fx->err);
  g_test_message ("sim stdout: %s", fx->out);
  for (guint i = 0; i < G_N_ELEMENTS (reports); i++)
    g_assert_null (strstr (fx->err, reports[i]));
}

static void
run_sim_argv (Fixture *fx, const char *const *args)
{
  spawn_sim (fx, TRUE, args);
  wait_sim (fx);
  parse_summary (fx);
}

#define run_sim(fx, ...) run_sim_argv (fx, (const char *const[]) { __VA_ARGS__, NULL })

static gint64
summary_int (Fixture *fx, const char *name)
{
  return json_object_get_int_member (fx->summary, name);
}

static GPtrArray *
frames_of (Fixture *fx, const char *event)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < fx->frames->len; i++) {
    Frame *f = g_ptr_array_index (fx->frames, i);

    if (g_strcmp0 (frame_event (f), event) == 0)
      g_ptr_array_add (out, f);
  }
  return out;
}

static JsonObject *
obj (const Frame *f, const char *member)
{
  return json_object_get_object_member (json_node_get_object (f->json), member);
}

static const char *
mark_name_at (Fixture *fx, guint i)
{
  JsonArray *names = json_object_get_array_member (fx->summary, "mark_names");

  g_assert_cmpuint (i, <, json_array_get_length (names));
  return json_array_get_string_element (names, i);
}

/* ---- what the sim sends --------------------------------------------- */

static void
check_start (Fixture *fx, const Frame *f)
{
  JsonObject *root = json_node_get_object (f->json);
  JsonObject *start = obj (f, "start");
  JsonObject *params = json_object_get_object_member (start, "customParameters");
  JsonObject *format = json_object_get_object_member (start, "mediaFormat");
  JsonArray *tracks = json_object_get_array_member (start, "tracks");

  g_assert_cmpstr (str_member (root, "sequenceNumber"), ==, "1");
  g_assert_cmpstr (str_member (root, "streamSid"), ==, SID);
  g_assert_cmpstr (str_member (start, "streamSid"), ==, SID);
  g_assert_cmpstr (str_member (start, "callSid"), ==, "CA22222222222222222222222222222222");
  g_assert_true (g_str_has_prefix (str_member (start, "accountSid"), "AC"));
  g_assert_cmpstr (str_member (params, "caller"), ==, "+15550001");
  g_assert_cmpstr (str_member (params, "agent"), ==, "support=he");
  g_assert_cmpuint (json_object_get_size (params), ==, 2);
  g_assert_cmpstr (str_member (format, "encoding"), ==, "audio/x-mulaw");
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (format, "sampleRate")), ==, G_TYPE_INT64);
  g_assert_cmpint (json_object_get_int_member (format, "sampleRate"), ==, 8000);
  g_assert_cmpint (json_object_get_int_member (format, "channels"), ==, 1);
  g_assert_cmpuint (json_array_get_length (tracks), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (tracks, 0), ==, "inbound");
}

static gboolean
is_silence (const Frame *f)
{
  gsize len;
  g_autofree guchar *audio = g_base64_decode (str_member (obj (f, "media"), "payload"), &len);

  for (gsize i = 0; i < len; i++)
    if (audio[i] != 0xFF)
      return FALSE;
  return TRUE;
}

/* Each media: strings where Twilio sends strings, 160 bytes, chunk n at
 * n × 20 ms — on the wire as in media time. */
static void
check_media (Fixture *fx, GPtrArray *media, guint tone_frames)
{
  const Frame *first = g_ptr_array_index (media, 0);

  for (guint i = 0; i < media->len; i++) {
    const Frame *f = g_ptr_array_index (media, i);
    JsonObject *m = obj (f, "media");
    g_autofree char *chunk = g_strdup_printf ("%u", i + 1);
    g_autofree char *ts = g_strdup_printf ("%u", i * 20);
    gsize len;
    g_autofree guchar *audio = g_base64_decode (str_member (m, "payload"), &len);

    g_assert_cmpstr (str_member (m, "track"), ==, "inbound");
    g_assert_cmpstr (str_member (m, "chunk"), ==, chunk);
    g_assert_cmpstr (str_member (m, "timestamp"), ==, ts);
    g_assert_cmpuint (len, ==, 160);
    g_assert_cmpint (is_silence (f), ==, i >= tone_frames);
    /* never early, never far behind real time */
    g_assert_cmpint (f->t_us - first->t_us, >=, (gint64) i * 20 * MS - 25 * MS);
    g_assert_cmpint (f->t_us - first->t_us, <=, (gint64) i * 20 * MS + 250 * MS);
  }
}

static void
check_sequence_numbers (Fixture *fx)
{
  for (guint i = 1; i < fx->frames->len; i++) {
    const Frame *f = g_ptr_array_index (fx->frames, i);
    g_autofree char *expect = g_strdup_printf ("%u", i);

    g_assert_cmpstr (str_member (json_node_get_object (f->json), "sequenceNumber"), ==, expect);
  }
}

static void
test_call_flow (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) media = NULL;
  g_autoptr (GPtrArray) dtmf = NULL;
  const Frame *first, *last;

  start_server (fx);
  run_sim (fx, "--play", "tone:440:1000", "--param", "caller=+15550001",
      "--param", "agent=support=he", "--dtmf", "7@300", "--linger", "200",
      "--stream-sid", SID, "--call-sid", "CA22222222222222222222222222222222",
      "--auth-token", TOKEN, "--signature-url", PUBLIC_URL);
  g_assert_cmpint (fx->exit_status, ==, 0);

  /* the handshake is signed over the public URL, and only with that token */
  g_assert_nonnull (fx->signature);
  g_assert_true (gtr_twilio_signature_validate (TOKEN, PUBLIC_URL, NULL, 0, fx->signature));
  g_assert_false (gtr_twilio_signature_validate ("other-token", PUBLIC_URL, NULL, 0, fx->signature));
  g_assert_false (gtr_twilio_signature_validate (TOKEN, fx->url, NULL, 0, fx->signature));

  first = g_ptr_array_index (fx->frames, 0);
  g_assert_cmpstr (frame_event (first), ==, "connected");
  g_assert_cmpstr (str_member (json_node_get_object (first->json), "protocol"), ==, "Call");
  g_assert_cmpstr (str_member (json_node_get_object (first->json), "version"), ==, "1.0.0");
  check_start (fx, g_ptr_array_index (fx->frames, 1));
  check_sequence_numbers (fx);

  media = frames_of (fx, "media");
  /* 1000 ms of tone, then 200 ms of silence while lingering (one frame of slack) */
  g_assert_cmpuint (media->len, >=, 60);
  g_assert_cmpuint (media->len, <=, 62);
  check_media (fx, media, 50);

  dtmf = frames_of (fx, "dtmf");
  g_assert_cmpuint (dtmf->len, ==, 1);
  g_assert_cmpstr (str_member (obj (dtmf->pdata[0], "dtmf"), "digit"), ==, "7");
  g_assert_cmpstr (str_member (obj (dtmf->pdata[0], "dtmf"), "track"), ==, "inbound_track");
  g_assert_cmpint (((Frame *) dtmf->pdata[0])->t_us - ((Frame *) media->pdata[0])->t_us, >=, 290 * MS);
  g_assert_cmpint (((Frame *) dtmf->pdata[0])->t_us - ((Frame *) media->pdata[0])->t_us, <=, 450 * MS);

  last = g_ptr_array_index (fx->frames, fx->frames->len - 1);
  g_assert_cmpstr (frame_event (last), ==, "stop");
  g_assert_cmpstr (str_member (obj (last, "stop"), "callSid"), ==, "CA22222222222222222222222222222222");

  g_assert_cmpint (summary_int (fx, "frames_sent"), ==, fx->frames->len);
  g_assert_cmpint (summary_int (fx, "media_sent"), ==, media->len);
  g_assert_cmpint (summary_int (fx, "dtmf_sent"), ==, 1);
  g_assert_cmpint (summary_int (fx, "frames_received"), ==, 0);
  g_assert_cmpint (summary_int (fx, "violations"), ==, 0);
  g_assert_cmpint (summary_int (fx, "close_code"), ==, 1000);
  g_assert_null (strstr (fx->err, TOKEN));
  g_assert_null (strstr (fx->out, TOKEN));
}

static void
test_no_stop (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->tmpdir, "summary.json", NULL);
  g_autofree char *written = NULL;
  g_autoptr (GPtrArray) stops = NULL;
  g_auto (GStrv) lines = NULL;

  start_server (fx);
  run_sim (fx, "--play", "silence:100", "--linger", "0", "--no-stop",
      "--summary", path);
  g_assert_cmpint (fx->exit_status, ==, 0);
  stops = frames_of (fx, "stop");
  g_assert_cmpuint (stops->len, ==, 0);
  g_assert_cmpint (summary_int (fx, "close_code"), ==, 1000);
  /* --summary holds the same line as stdout */
  g_assert_true (g_file_get_contents (path, &written, NULL, NULL));
  lines = g_strsplit (fx->out, "\n", -1);
  g_assert_cmpstr (g_strchomp (written), ==, lines[g_strv_length (lines) - 1]);
}

/* --fast: the caller's audio back to back, silence after it in real time */
static void
test_fast (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) media = NULL;
  const Frame *first, *last_tone;

  start_server (fx);
  run_sim (fx, "--play", "tone:300:2000", "--linger", "100", "--fast");
  g_assert_cmpint (fx->exit_status, ==, 0);
  media = frames_of (fx, "media");
  g_assert_cmpuint (media->len, >=, 104);
  first = media->pdata[0];
  last_tone = media->pdata[99];
  g_assert_false (is_silence (last_tone));
  g_assert_true (is_silence (media->pdata[100]));
  g_assert_cmpint (last_tone->t_us - first->t_us, <, 1000 * MS);
}

/* ---- playback: marks and clear --------------------------------------- */

static void
on_echo_frame (Fixture *fx, const char *name, gint64 *t_us)
{
  g_autoptr (GPtrArray) marks = frames_of (fx, "mark");

  *t_us = -1;
  for (guint i = 0; i < marks->len; i++) {
    const Frame *f = marks->pdata[i];

    if (g_str_equal (str_member (obj (f, "mark"), "name"), name)) {
      g_assert_cmpstr (str_member (json_node_get_object (f->json), "streamSid"), ==, SID);
      *t_us = f->t_us;
    }
  }
  g_assert_cmpint (*t_us, >=, 0);
}

static void
script_marks (Fixture *fx, JsonObject *start)
{
  fx->sent_us[0] = g_get_monotonic_time ();
  send_text (fx, gtr_twilio_build_mark (SID, "early"));
  send_audio (fx, 1000);
  send_text (fx, gtr_twilio_build_mark (SID, "after-1s"));
}

static guint8 *
read_wav_data (const char *path, gsize *len)
{
  g_autofree char *contents = NULL;
  gsize size;
  const guint8 *p;

  g_assert_true (g_file_get_contents (path, &contents, &size, NULL));
  g_assert_cmpuint (size, >=, 44);
  p = (const guint8 *) contents;
  g_assert_cmpmem (p, 4, "RIFF", 4);
  g_assert_cmpmem (p + 8, 8, "WAVEfmt ", 8);
  g_assert_cmpuint (p[20] | p[21] << 8, ==, 7);                 /* μ-law */
  g_assert_cmpuint (p[22] | p[23] << 8, ==, 1);                 /* mono */
  g_assert_cmpuint (p[24] | p[25] << 8 | p[26] << 16, ==, 8000);
  for (gsize off = 12; off + 8 <= size;) {
    guint32 clen = p[off + 4] | p[off + 5] << 8 | p[off + 6] << 16 | (guint32) p[off + 7] << 24;

    if (memcmp (p + off, "data", 4) == 0) {
      g_assert_cmpuint (off + 8 + clen, <=, size);
      *len = clen;
      return g_memdup2 (p + off + 8, clen);
    }
    off += 8 + clen + (clen & 1);
  }
  g_assert_not_reached ();
}

/* Bytes of a μ-law record that are not silence. */
static gsize
count_audio (const guint8 *pcm, gsize len)
{
  gsize n = 0;

  for (gsize i = 0; i < len; i++)
    n += pcm[i] != 0xFF;
  return n;
}

static void
test_mark_timing_and_record (Fixture *fx, gconstpointer data)
{
  g_autofree char *wav = g_build_filename (fx->tmpdir, "heard.wav", NULL);
  g_autofree guint8 *pcm = NULL;
  gint64 t_early, t_after;
  gsize len;
  guint8 pattern[8000];

  fx->on_start = script_marks;
  start_server (fx);
  run_sim (fx, "--play", "silence:200", "--linger", "1500", "--stream-sid", SID,
      "--record", wav);
  g_assert_cmpint (fx->exit_status, ==, 0);

  on_echo_frame (fx, "early", &t_early);
  on_echo_frame (fx, "after-1s", &t_after);
  /* nothing buffered: at once */
  g_assert_cmpint (t_early - fx->sent_us[0], <, 100 * MS);
  /* behind 1 s of audio: once it has played, not before */
  g_assert_cmpint (t_after - fx->sent_us[0], >=, 950 * MS);
  g_assert_cmpint (t_after - fx->sent_us[0], <=, 1250 * MS);
  g_assert_cmpint (summary_int (fx, "marks_received"), ==, 2);
  g_assert_cmpint (summary_int (fx, "marks_echoed"), ==, 2);
  g_assert_cmpstr (mark_name_at (fx, 0), ==, "early");
  g_assert_cmpstr (mark_name_at (fx, 1), ==, "after-1s");
  g_assert_cmpint (summary_int (fx, "media_received"), ==, 1);
  g_assert_cmpint (summary_int (fx, "bytes_received"), ==, 8000);
  g_assert_cmpint (summary_int (fx, "played_ms"), ==, 1000);

  /* the record: the whole call's timeline, the 1 s exactly once, silence elsewhere */
  pcm = read_wav_data (wav, &len);
  g_assert_cmpuint (len % 160, ==, 0);
  g_assert_cmpuint (len, >=, 1650 * 8);
  g_assert_cmpuint (len, <=, 2100 * 8);
  for (gsize i = 0; i < sizeof pattern; i++)
    pattern[i] = i % 100;
  g_assert_nonnull (memmem (pcm, len, pattern, sizeof pattern));
  g_assert_cmpuint (count_audio (pcm, len), ==, sizeof pattern);
}

static gboolean
send_clear (gpointer user_data)
{
  Fixture *fx = user_data;

  fx->timer = 0;
  fx->sent_us[1] = g_get_monotonic_time ();
  send_text (fx, gtr_twilio_build_clear (SID));
  return G_SOURCE_REMOVE;
}

static void
script_clear (Fixture *fx, JsonObject *start)
{
  send_audio (fx, 2000);
  send_text (fx, gtr_twilio_build_mark (SID, "pending"));
  fx->timer = g_timeout_add (500, send_clear, fx);
}

static void
test_clear (Fixture *fx, gconstpointer data)
{
  g_autofree char *wav = g_build_filename (fx->tmpdir, "heard.wav", NULL);
  g_autofree guint8 *pcm = NULL;
  JsonObject *clear;
  gint64 t_echo, heard, discarded;
  gsize len;

  fx->on_start = script_clear;
  start_server (fx);
  run_sim (fx, "--play", "silence:1000", "--linger", "200", "--stream-sid", SID,
      "--record", wav);
  g_assert_cmpint (fx->exit_status, ==, 0);

  on_echo_frame (fx, "pending", &t_echo);
  g_assert_cmpint (t_echo - fx->sent_us[1], <, 100 * MS);
  g_assert_cmpint (summary_int (fx, "clears_received"), ==, 1);
  clear = json_array_get_object_element (
      json_object_get_array_member (fx->summary, "clears"), 0);
  heard = json_object_get_int_member (clear, "heard_ms");
  discarded = json_object_get_int_member (clear, "discarded_ms");
  g_assert_cmpint (heard, >=, 420);
  g_assert_cmpint (heard, <=, 700);
  g_assert_cmpint (heard + discarded, ==, 2000);
  g_assert_cmpint (json_object_get_int_member (clear, "marks_flushed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (clear, "at_ms"), >=, 500);
  g_assert_cmpint (summary_int (fx, "played_ms"), ==, heard);
  g_assert_cmpint (summary_int (fx, "marks_echoed"), ==, 1);
  /* the caller heard the start of the reply and nothing after the clear */
  pcm = read_wav_data (wav, &len);
  g_assert_cmpuint (count_audio (pcm, len), ==, heard * 8);
}

/* --until-quiet: the call lasts until what came back has played, plus MS */
static void
script_short_reply (Fixture *fx, JsonObject *start)
{
  fx->sent_us[0] = g_get_monotonic_time ();
  send_audio (fx, 600);
}

static void
test_until_quiet (Fixture *fx, gconstpointer data)
{
  const Frame *last;

  fx->on_start = script_short_reply;
  start_server (fx);
  run_sim (fx, "--play", "silence:100", "--until-quiet", "300", "--stream-sid", SID);
  g_assert_cmpint (fx->exit_status, ==, 0);
  last = g_ptr_array_index (fx->frames, fx->frames->len - 1);
  g_assert_cmpstr (frame_event (last), ==, "stop");
  g_assert_cmpint (last->t_us - fx->sent_us[0], >=, 880 * MS);
  g_assert_cmpint (last->t_us - fx->sent_us[0], <=, 1400 * MS);
  g_assert_cmpint (summary_int (fx, "played_ms"), ==, 600);
}

/* SIGTERM hangs up cleanly: stop, close, summary, exit 0 */
static gboolean
hang_up (gpointer user_data)
{
  Fixture *fx = user_data;

  fx->timer = 0;
  g_subprocess_send_signal (fx->sim, SIGTERM);
  return G_SOURCE_REMOVE;
}

/* SIGTERM 500 ms into the call.  Timed from `start`, not from the spawn: the
 * sim hangs up on a signal once the call is up (docs/twilio-call-sim.md);
 * before that (gst_init, rendering, connecting: slow under ASan and a loaded
 * machine) the signal's default action would simply kill it. */
static void
script_hang_up (Fixture *fx, JsonObject *start)
{
  fx->timer = g_timeout_add (500, hang_up, fx);
}

static void
test_sigterm_hangs_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) media = NULL;
  const Frame *last;

  fx->on_start = script_hang_up;
  start_server (fx);
  spawn_sim (fx, TRUE, (const char *const[]) { "--play", "silence:10000", NULL });
  wait_sim (fx);
  parse_summary (fx);
  g_assert_cmpint (fx->exit_status, ==, 0);
  last = g_ptr_array_index (fx->frames, fx->frames->len - 1);
  g_assert_cmpstr (frame_event (last), ==, "stop");
  media = frames_of (fx, "media");
  g_assert_cmpuint (media->len, <, 60);
  g_assert_cmpint (summary_int (fx, "media_sent"), ==, media->len);
}

/* ---- what the sim rejects -------------------------------------------- */

static void
script_violations (Fixture *fx, JsonObject *start)
{
  static const guint8 raw[] = { 0xFF, 0xFE, 0x7F };
  g_autoptr (GBytes) bin = g_bytes_new_static (raw, sizeof raw);

  soup_websocket_connection_send_message (fx->conn, SOUP_WEBSOCKET_DATA_BINARY, bin);
  soup_websocket_connection_send_text (fx->conn, "not json");
  soup_websocket_connection_send_text (fx->conn,
      "{\"event\":\"media\",\"streamSid\":\"" SID "\",\"media\":{\"payload\":\"/w==\",\"track\":\"outbound\"}}");
  soup_websocket_connection_send_text (fx->conn,
      "{\"event\":\"media\",\"streamSid\":\"MZ99999999999999999999999999999999\",\"media\":{\"payload\":\"/w==\"}}");
  soup_websocket_connection_send_text (fx->conn,
      "{\"event\":\"media\",\"streamSid\":\"" SID "\",\"media\":{\"payload\":\"!!not base64!!\"}}");
  soup_websocket_connection_send_text (fx->conn,
      "{\"event\":\"ping\",\"streamSid\":\"" SID "\"}");
  soup_websocket_connection_send_text (fx->conn,
      "{\"event\":\"mark\",\"streamSid\":\"" SID "\"}");
  /* still playing along after all that */
  send_text (fx, gtr_twilio_build_mark (SID, "still-here"));
}

static void
test_violations (Fixture *fx, gconstpointer data)
{
  JsonArray *details;

  fx->on_start = script_violations;
  start_server (fx);
  run_sim (fx, "--play", "silence:300", "--linger", "200", "--stream-sid", SID);
  g_assert_cmpint (fx->exit_status, ==, 1);
  g_assert_cmpint (summary_int (fx, "frames_received"), ==, 8);
  g_assert_cmpint (summary_int (fx, "violations"), ==, 7);
  g_assert_cmpint (summary_int (fx, "media_received"), ==, 0);
  g_assert_cmpint (summary_int (fx, "marks_echoed"), ==, 1);
  g_assert_cmpstr (mark_name_at (fx, 0), ==, "still-here");
  details = json_object_get_array_member (fx->summary, "violation_details");
  g_assert_cmpuint (json_array_get_length (details), ==, 7);
  /* a binary frame is 31950 (Malformed Message); the rest 31951 (Invalid Message) */
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (details, 0), "code"), ==, 31950);
  for (guint i = 1; i < 7; i++) {
    JsonObject *v = json_array_get_object_element (details, i);

    g_assert_cmpint (json_object_get_int_member (v, "code"), ==, 31951);
    g_assert_cmpstr (json_object_get_string_member (v, "reason"), !=, "");
  }
  {
    /* each reason names what was wrong */
    static const char *const expect[] = { "binary", "not-json", "unknown-field",
      "MZ99999999999999999999999999999999", "bad-base64", "unknown-event", "missing-field" };

    for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
      g_assert_nonnull (strstr (json_object_get_string_member (
                  json_array_get_object_element (details, i), "reason"), expect[i]));
  }
  g_assert_nonnull (strstr (fx->err, "31950"));
  g_assert_nonnull (strstr (fx->err, "31951"));
}

/* ---- connecting --------------------------------------------------------- */

static void
test_handshake_403 (Fixture *fx, gconstpointer data)
{
  fx->answer_403 = TRUE;
  start_server (fx);
  run_sim (fx, "--play", "silence:100", "--auth-token", TOKEN);
  g_assert_cmpint (fx->exit_status, ==, 3);
  g_assert_nonnull (strstr (fx->err, "handshake failed: HTTP 403"));
  g_assert_null (strstr (fx->err, TOKEN));
  g_assert_cmpint (summary_int (fx, "frames_sent"), ==, 0);
}

static void
test_connection_refused (Fixture *fx, gconstpointer data)
{
  GSList *uris;
  guint port;

  start_server (fx);
  uris = soup_server_get_uris (fx->server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  soup_server_disconnect (fx->server);   /* nobody listens on that port now */
  g_free (fx->url);
  fx->url = g_strdup_printf ("ws://127.0.0.1:%u/media", port);
  run_sim (fx, "--play", "silence:100");
  g_assert_cmpint (fx->exit_status, ==, 3);
  g_assert_nonnull (strstr (fx->err, "could not connect"));
}

static void
test_wss (Fixture *fx, gconstpointer data)
{
  g_autofree char *ca = g_build_filename (g_getenv ("GTR_TESTS_DATA"), "tls", "ca.pem", NULL);
  g_autoptr (GPtrArray) media = NULL;

  fx->tls = TRUE;
  start_server (fx);
  run_sim (fx, "--play", "silence:200", "--linger", "0", "--ca-file", ca);
  g_assert_cmpint (fx->exit_status, ==, 0);
  media = frames_of (fx, "media");
  g_assert_cmpuint (media->len, >=, 10);
}

static void
test_wss_untrusted (Fixture *fx, gconstpointer data)
{
  fx->tls = TRUE;
  start_server (fx);
  run_sim (fx, "--play", "silence:200", "--linger", "0");
  g_assert_cmpint (fx->exit_status, ==, 3);
  g_assert_cmpuint (fx->frames->len, ==, 0);
}

static void
test_usage_errors (Fixture *fx, gconstpointer data)
{
  static const char *const cases[][6] = {
    { "--play", "silence:100", NULL },                    /* no --url */
    { "--url", "http://127.0.0.1:1/media", NULL },
    { "--url", "ws://127.0.0.1:1/media", "--play", "tone:440" },
    { "--url", "ws://127.0.0.1:1/media", "--play", "noise:100" },
    { "--url", "ws://127.0.0.1:1/media", "--dtmf", "X@100" },
    { "--url", "ws://127.0.0.1:1/media", "--param", "novalue" },
    { "--url", "ws://127.0.0.1:1/media", "--wav", "/nonexistent.wav" },
    { "--url", "ws://127.0.0.1:1/media", "--bogus", NULL },
    { "--url", "ws://127.0.0.1:1/media", "--twiml-url", "http://127.0.0.1:1/twiml" },
    { "--twiml-url", "ws://127.0.0.1:1/twiml", NULL },
    { "--twiml-url", "http:///twiml", NULL },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--param", "a=b" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--signature-url", "https://x/twiml" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--public-url", "https://x.example/twiml" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--public-url", "wss://x.example" },
    { "--url", "ws://127.0.0.1:1/media", "--public-url", "https://x.example" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--webhook-timeout-ms", "0" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--calls", "0" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--ramp-ms", "-1" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--calls", "2", "--call-sid", "CAshort" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--calls", "2", "--record", "/tmp/one-file.wav" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--auth-token-file", "/nonexistent/token" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--auth-token-file", "/dev/null" },
    { "--twiml-url", "http://127.0.0.1:1/twiml", "--auth-token-file", "/dev/null", "--auth-token", TOKEN },
    { "--url", "ws://127.0.0.1:1/media", "--duration-ms", "1000" },
    { "--url", "ws://127.0.0.1:1/media", "--load", "--duration-ms", "10" },
    { "--url", "ws://127.0.0.1:1/media", "--load", "--play", "silence:100" },
    { "--url", "ws://127.0.0.1:1/media", "--load", "--fast" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *args[7] = { NULL };

    memcpy (args, cases[i], sizeof cases[i]);
    g_clear_pointer (&fx->out, g_free);
    g_clear_pointer (&fx->err, g_free);
    spawn_sim (fx, FALSE, args);
    wait_sim (fx);
    g_assert_cmpint (fx->exit_status, ==, 2);
    g_assert_cmpstr (fx->err, !=, "");
    g_assert_cmpstr (fx->out, ==, "");
    g_assert_null (strstr (fx->err, TOKEN));
  }
}

/* A WAV in another format (44.1 kHz stereo S16) is converted, not rejected. */
static void
test_wav_input (Fixture *fx, gconstpointer data)
{
  g_autofree char *wav = g_build_filename (fx->tmpdir, "in.wav", NULL);
  g_autofree char *desc = g_strdup_printf ("audiotestsrc num-buffers=10 "
      "samplesperbuffer=4410 ! audio/x-raw,format=S16LE,rate=44100,channels=2 "
      "! wavenc ! filesink location=\"%s\"", wav);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) p = gst_parse_launch (desc, &error);
  g_autoptr (GstBus) bus = gst_element_get_bus (p);
  g_autoptr (GstMessage) msg = NULL;
  g_autoptr (GPtrArray) media = NULL;
  guint tone = 0;

  g_assert_no_error (error);
  gst_element_set_state (p, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_element_set_state (p, GST_STATE_NULL);

  start_server (fx);
  run_sim (fx, "--wav", wav, "--linger", "0");
  g_assert_cmpint (fx->exit_status, ==, 0);
  media = frames_of (fx, "media");
  for (guint i = 0; i < media->len; i++)
    tone += !is_silence (media->pdata[i]);
  g_assert_cmpuint (tone, ==, 50);   /* 1 s */
}

/* A WAV that wavparse cannot read is a usage error, not a hang: the error
 * stops the stream before anything reaches the sim's appsink. */
static void
test_wav_unreadable (Fixture *fx, gconstpointer data)
{
  g_autofree char *wav = g_build_filename (fx->tmpdir, "bad.wav", NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (wav, "RIFFxxxxWAVEjunk", -1, &error);
  g_assert_no_error (error);
  start_server (fx);
  spawn_sim (fx, TRUE, (const char *const[]) { "--wav", wav, NULL });
  wait_sim (fx);
  g_assert_cmpint (fx->exit_status, ==, 2);
  g_assert_nonnull (strstr (fx->err, "bad.wav"));
  g_assert_cmpstr (fx->out, ==, "");
}

/* The server ends the call: the sim ends too and reports its close code. */
static gboolean
close_from_server (gpointer user_data)
{
  Fixture *fx = user_data;

  fx->timer = 0;
  soup_websocket_connection_close (fx->conn, 4000, "bye");
  return G_SOURCE_REMOVE;
}

static void
script_close (Fixture *fx, JsonObject *start)
{
  fx->timer = g_timeout_add (300, close_from_server, fx);
}

static void
test_server_closes (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) stops = NULL;

  fx->on_start = script_close;
  start_server (fx);
  run_sim (fx, "--play", "silence:5000");
  g_assert_cmpint (fx->exit_status, ==, 0);
  g_assert_cmpint (summary_int (fx, "close_code"), ==, 4000);
  g_assert_cmpint (summary_int (fx, "media_sent"), <, 30);
  stops = frames_of (fx, "stop");
  g_assert_cmpuint (stops->len, ==, 0);
}

/* ---- the voice webhook and TwiML ------------------------------------------ */

#define CALL_SID "CA22222222222222222222222222222222"

static void answer (Fixture *fx, const char *path, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* What the webhook at `path` answers. */
static void
answer (Fixture *fx, const char *path, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_hash_table_insert (fx->answers, g_strdup (path), g_strdup_vprintf (format, args));
  va_end (args);
}

/* Run the sim against the webhook at `path`, without --url. */
static void
run_twiml_argv (Fixture *fx, const char *path, const char *const *args)
{
  g_autofree char *url = g_strconcat (fx->http, path, NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, "--twiml-url");
  g_ptr_array_add (argv, url);
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  spawn_sim (fx, FALSE, (const char *const *) argv->pdata);
  wait_sim (fx);
  parse_summary (fx);
}

#define run_twiml(fx, path, ...) run_twiml_argv (fx, path, (const char *const[]) { __VA_ARGS__, NULL })

static const Hook *
hook_at (Fixture *fx, guint i)
{
  g_assert_cmpuint (i, <, fx->hooks->len);
  return g_ptr_array_index (fx->hooks, i);
}

static const char *
form_field (const Hook *h, const char *name)
{
  return g_hash_table_lookup (h->form, name);
}

/* Does the webhook's X-Twilio-Signature validate with `token`, over the URL
 * the server saw and the POST parameters it received? */
static gboolean
hook_signed_over (const Hook *h, const char *token, const char *url)
{
  g_autoptr (GArray) params = g_array_new (FALSE, FALSE, sizeof (GtrTwilioParam));
  GHashTableIter it;
  gpointer name, value;

  g_hash_table_iter_init (&it, h->form);
  while (!h->get && g_hash_table_iter_next (&it, &name, &value)) {
    GtrTwilioParam p = { name, value };

    g_array_append_val (params, p);
  }
  return gtr_twilio_signature_validate (token, url,
      (const GtrTwilioParam *) params->data, params->len, h->signature);
}

static gboolean
hook_signed_with (const Hook *h, const char *token)
{
  return hook_signed_over (h, token, h->url);
}

/* The summary's string array `member` is exactly `expect` (NULL-terminated). */
static void
assert_strings (JsonObject *o, const char *member, const char *const *expect)
{
  JsonArray *a = json_object_get_array_member (o, member);
  guint n = g_strv_length ((char **) expect);

  g_assert_nonnull (a);
  g_assert_cmpuint (json_array_get_length (a), ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (json_array_get_string_element (a, i), ==, expect[i]);
}

#define assert_summary_strings(fx, member, ...) \
  assert_strings ((fx)->summary, member, (const char *const[]) { __VA_ARGS__, NULL })

static const char *
summary_str (Fixture *fx, const char *name)
{
  return json_object_get_string_member (fx->summary, name);
}

/* Every summary line on the sim's stdout, parsed (JsonNode*). */
static GPtrArray *
output_lines (Fixture *fx)
{
  g_auto (GStrv) lines = g_strsplit (g_strchomp (fx->out), "\n", -1);
  GPtrArray *nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  for (char **l = lines; *l != NULL; l++) {
    g_autoptr (GError) error = NULL;
    JsonNode *n = json_from_string (*l, &error);

    g_assert_no_error (error);
    g_ptr_array_add (nodes, n);
  }
  return nodes;
}

static JsonObject *
line_at (GPtrArray *lines, guint i)
{
  g_assert_cmpuint (i, <, lines->len);
  return json_node_get_object (g_ptr_array_index (lines, i));
}

static void
assert_token_secret (Fixture *fx)
{
  g_assert_null (strstr (fx->err, TOKEN));
  g_assert_null (strstr (fx->out, TOKEN));
}

/* The webhook is POSTed as Twilio does, signed; the TwiML's <Stream> is
 * called with its <Parameter>s as customParameters. */
static void
test_twiml_stream (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) starts = NULL;
  JsonObject *start, *params;
  const Hook *h;

  start_server (fx);
  answer (fx, "/twiml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Response>\n  <Connect>\n    <Stream url=\"%s\">\n"
      "      <Parameter name=\"From\" value=\"+15017122661\"/>\n"
      "      <Parameter name=\"agent\" value=\"sales &amp; support\"/>\n"
      "    </Stream>\n  </Connect>\n</Response>\n", fx->url);
  fx->env_token = g_strdup (TOKEN);
  run_twiml (fx, "/twiml", "--play", "silence:200", "--linger", "0",
      "--call-sid", CALL_SID, "--stream-sid", SID);
  g_assert_cmpint (fx->exit_status, ==, 0);

  g_assert_cmpuint (fx->hooks->len, ==, 1);
  h = hook_at (fx, 0);
  g_assert_cmpstr (h->method, ==, "POST");
  g_assert_true (g_str_has_prefix (h->content_type, "application/x-www-form-urlencoded"));
  g_assert_true (g_str_has_prefix (form_field (h, "AccountSid"), "AC"));
  g_assert_cmpstr (form_field (h, "ApiVersion"), ==, "2010-04-01");
  g_assert_cmpstr (form_field (h, "CallSid"), ==, CALL_SID);
  g_assert_cmpstr (form_field (h, "CallStatus"), ==, "ringing");
  g_assert_cmpstr (form_field (h, "Direction"), ==, "inbound");
  g_assert_cmpstr (form_field (h, "From"), ==, "+15017122661");
  g_assert_cmpstr (form_field (h, "To"), ==, "+15558675310");
  g_assert_cmpstr (form_field (h, "Caller"), ==, "+15017122661");
  g_assert_cmpstr (form_field (h, "Called"), ==, "+15558675310");
  /* signed over the URL and the sorted parameters, with that token only */
  g_assert_nonnull (h->signature);
  g_assert_true (hook_signed_with (h, TOKEN));
  g_assert_false (hook_signed_with (h, "other-token"));
  /* the handshake is signed over the <Stream url> */
  g_assert_true (gtr_twilio_signature_validate (TOKEN, fx->url, NULL, 0, fx->signature));

  starts = frames_of (fx, "start");
  g_assert_cmpuint (starts->len, ==, 1);
  start = obj (starts->pdata[0], "start");
  params = json_object_get_object_member (start, "customParameters");
  g_assert_cmpuint (json_object_get_size (params), ==, 2);
  g_assert_cmpstr (str_member (params, "From"), ==, "+15017122661");
  g_assert_cmpstr (str_member (params, "agent"), ==, "sales & support");
  g_assert_cmpstr (str_member (start, "callSid"), ==, CALL_SID);
  g_assert_cmpstr (str_member (start, "streamSid"), ==, SID);

  g_assert_cmpint (summary_int (fx, "webhook_status"), ==, 200);
  assert_summary_strings (fx, "verbs", "Connect");
  assert_summary_strings (fx, "stream_sids", SID);
  g_assert_cmpstr (summary_str (fx, "call_sid"), ==, CALL_SID);
  g_assert_cmpstr (summary_str (fx, "end"), ==, "caller-hung-up");
  g_assert_cmpint (summary_int (fx, "close_code"), ==, 1000);
  assert_token_secret (fx);
}

/* No <Connect>: nothing but the webhook; <Pause> takes its time, <Hangup/>
 * ends the call before the verb after it. */
static void
test_twiml_say_hangup (Fixture *fx, gconstpointer data)
{
  const Hook *h;

  start_server (fx);
  answer (fx, "/twiml", "<Response><Say voice=\"alice\">Hello <emphasis>there</emphasis>, "
      "caller.</Say><Pause length=\"1\"/><Say>Goodbye</Say><Hangup/>"
      "<Say>never said</Say></Response>");
  run_twiml (fx, "/twiml", "--from", "+15550001111", "--to", "+15550002222");
  g_assert_cmpint (fx->exit_status, ==, 0);
  g_assert_cmpuint (fx->conns->len, ==, 0);
  g_assert_cmpuint (fx->frames->len, ==, 0);
  h = hook_at (fx, 0);
  g_assert_null (h->signature);   /* no token, no signature */
  g_assert_cmpstr (form_field (h, "From"), ==, "+15550001111");
  g_assert_cmpstr (form_field (h, "Caller"), ==, "+15550001111");
  g_assert_cmpstr (form_field (h, "To"), ==, "+15550002222");
  g_assert_cmpstr (form_field (h, "Called"), ==, "+15550002222");
  assert_summary_strings (fx, "said", "Hello there, caller.", "Goodbye");
  assert_summary_strings (fx, "verbs", "Say", "Pause", "Say", "Hangup");
  g_assert_cmpstr (summary_str (fx, "end"), ==, "hangup");
  g_assert_true (json_object_get_null_member (fx->summary, "dial"));
  g_assert_cmpint (summary_int (fx, "frames_sent"), ==, 0);
  /* the 1 s pause happened between the webhook and the end */
  g_assert_cmpint (fx->exit_us - h->t_us, >=, 950 * MS);
}

/* The server ends the stream: Twilio goes on with the verbs after
 * <Connect>, here a <Redirect> whose answer transfers the call. */
static void
test_twiml_redirect_after_stream (Fixture *fx, gconstpointer data)
{
  g_autofree char *token_file = g_build_filename (fx->tmpdir, "token", NULL);
  g_autofree char *next = NULL;
  g_autoptr (GPtrArray) stops = NULL;
  g_autoptr (GPtrArray) starts = NULL;
  const Hook *h;

  g_assert_true (g_file_set_contents (token_file, TOKEN "\n", -1, NULL));
  start_server (fx);
  next = g_strconcat (fx->http, "/next", NULL);
  answer (fx, "/voice/twiml", "<Response><Connect><Stream url=\"%s\"/></Connect>"
      "<Redirect>../next</Redirect><Say>not reached</Say></Response>", fx->url);
  answer (fx, "/next", "<Response><Say>Transferring you</Say>"
      "<Dial><Number>+15551230000</Number></Dial><Say>not reached</Say></Response>");
  fx->close_after_ms = 300;
  run_twiml (fx, "/voice/twiml", "--play", "silence:5000", "--auth-token-file", token_file);
  g_assert_cmpint (fx->exit_status, ==, 0);

  starts = frames_of (fx, "start");
  g_assert_cmpuint (starts->len, ==, 1);
  stops = frames_of (fx, "stop");
  g_assert_cmpuint (stops->len, ==, 0);   /* the server ended it, not the caller */
  g_assert_cmpuint (fx->hooks->len, ==, 2);
  h = hook_at (fx, 1);
  g_assert_cmpstr (h->url, ==, next);   /* resolved against the document's URL */
  g_assert_cmpstr (h->method, ==, "POST");
  g_assert_cmpstr (form_field (h, "CallStatus"), ==, "in-progress");
  g_assert_cmpstr (form_field (h, "CallSid"), ==, form_field (hook_at (fx, 0), "CallSid"));
  g_assert_true (hook_signed_with (h, TOKEN));
  g_assert_cmpint (h->t_us - ((Frame *) starts->pdata[0])->t_us, >=, 280 * MS);

  assert_summary_strings (fx, "verbs", "Connect", "Redirect", "Say", "Dial");
  assert_summary_strings (fx, "redirects", next);
  assert_summary_strings (fx, "said", "Transferring you");
  g_assert_cmpstr (summary_str (fx, "dial"), ==, "+15551230000");
  g_assert_cmpstr (summary_str (fx, "end"), ==, "dial");
  g_assert_cmpint (summary_int (fx, "close_code"), ==, 1000);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (fx->summary, "webhooks")), ==, 2);
  assert_token_secret (fx);
}

/* A second <Connect> in one call: a new stream with its own StreamSid, the
 * call's counts added up over both. */
static void
test_twiml_two_streams (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) starts = NULL;
  g_autoptr (GPtrArray) media = NULL;
  JsonArray *sids;
  JsonObject *a, *b;

  start_server (fx);
  answer (fx, "/twiml", "<Response><Connect><Stream url=\"%s\"/></Connect>"
      "<Redirect>/again</Redirect></Response>", fx->url);
  answer (fx, "/again", "<Response><Connect><Stream url=\"%s\"/></Connect></Response>", fx->url);
  fx->close_after_ms = 200;
  run_twiml (fx, "/twiml", "--play", "silence:5000", "--stream-sid", SID);
  g_assert_cmpint (fx->exit_status, ==, 0);
  starts = frames_of (fx, "start");
  g_assert_cmpuint (starts->len, ==, 2);
  a = obj (starts->pdata[0], "start");
  b = obj (starts->pdata[1], "start");
  g_assert_cmpstr (str_member (a, "streamSid"), ==, SID);
  g_assert_cmpstr (str_member (b, "streamSid"), !=, SID);
  g_assert_cmpstr (str_member (a, "callSid"), ==, str_member (b, "callSid"));
  sids = json_object_get_array_member (fx->summary, "stream_sids");
  g_assert_cmpuint (json_array_get_length (sids), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (sids, 1), ==, str_member (b, "streamSid"));
  media = frames_of (fx, "media");
  /* both streams counted; a frame the sim wrote as the server's close
   * crossed it may be lost, at most one a stream */
  g_assert_cmpint (summary_int (fx, "media_sent"), >=, media->len);
  g_assert_cmpint (summary_int (fx, "media_sent"), <=, media->len + 2);
  g_assert_cmpint (summary_int (fx, "frames_sent"), >=, fx->frames->len);
  g_assert_cmpint (summary_int (fx, "frames_sent"), <=, fx->frames->len + 2);
  g_assert_cmpint (media->len, >=, 2 * 8);   /* 200 ms each, 20 ms frames */
  assert_summary_strings (fx, "verbs", "Connect", "Redirect", "Connect");
  g_assert_cmpstr (summary_str (fx, "end"), ==, "end-of-twiml");
}

/* <Connect action>: when the stream ends Twilio asks the action URL, and the
 * verbs after <Connect> are not executed. */
static void
test_twiml_connect_action (Fixture *fx, gconstpointer data)
{
  g_autofree char *after = NULL;
  JsonArray *hooks;

  start_server (fx);
  after = g_strconcat (fx->http, "/after", NULL);
  answer (fx, "/twiml", "<Response><Connect action=\"/after\"><Stream url=\"%s\"/>"
      "</Connect><Say>not reached</Say></Response>", fx->url);
  answer (fx, "/after", "<Response><Hangup/></Response>");
  fx->close_after_ms = 200;
  run_twiml (fx, "/twiml", "--play", "silence:5000");
  g_assert_cmpint (fx->exit_status, ==, 0);
  assert_summary_strings (fx, "verbs", "Connect", "Hangup");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (fx->summary, "redirects")), ==, 0);
  hooks = json_object_get_array_member (fx->summary, "webhooks");
  g_assert_cmpuint (json_array_get_length (hooks), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (hooks, 1), "url"), ==, after);
  g_assert_cmpstr (summary_str (fx, "end"), ==, "hangup");
}

/* <Redirect method="GET">: the parameters in the query string, the
 * signature over the whole URL. */
static void
test_twiml_redirect_get (Fixture *fx, gconstpointer data)
{
  const Hook *h;

  start_server (fx);
  answer (fx, "/twiml", "<Response><Say>One moment</Say>"
      "<Redirect method=\"GET\">/menu?lang=en</Redirect></Response>");
  answer (fx, "/menu", "<Response><Hangup/></Response>");
  run_twiml (fx, "/twiml", "--auth-token", TOKEN);
  g_assert_cmpint (fx->exit_status, ==, 0);
  g_assert_cmpuint (fx->hooks->len, ==, 2);
  h = hook_at (fx, 1);
  g_assert_cmpstr (h->method, ==, "GET");
  g_assert_cmpstr (form_field (h, "lang"), ==, "en");
  g_assert_cmpstr (form_field (h, "CallSid"), ==, form_field (hook_at (fx, 0), "CallSid"));
  g_assert_cmpstr (form_field (h, "CallStatus"), ==, "in-progress");
  g_assert_true (hook_signed_with (h, TOKEN));
  g_assert_false (hook_signed_with (h, "other-token"));
  assert_summary_strings (fx, "verbs", "Say", "Redirect", "Hangup");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
              json_object_get_array_member (fx->summary, "webhooks"), 1), "method"), ==, "GET");
  assert_token_secret (fx);
}

/* Behind a tunnel (--public-url): requests land on the local server but are
 * signed over the public URLs, and the TwiML's public <Stream url> and
 * absolute <Redirect> reach the local server. */
static void
test_twiml_public_url (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) starts = NULL;
  g_autofree char *next = NULL;

  start_server (fx);
  next = g_strconcat (fx->http, "/next", NULL);
  answer (fx, "/twiml", "<Response><Connect><Stream url=\"" PUBLIC_URL "\"/></Connect>"
      "<Redirect>https://example.ngrok.app/next</Redirect></Response>");
  answer (fx, "/next", "<Response><Hangup/></Response>");
  fx->close_after_ms = 200;
  run_twiml (fx, "/twiml", "--public-url", "https://example.ngrok.app",
      "--auth-token", TOKEN, "--play", "silence:5000");
  g_assert_cmpint (fx->exit_status, ==, 0);
  g_assert_cmpuint (fx->hooks->len, ==, 2);
  g_assert_true (hook_signed_over (hook_at (fx, 0), TOKEN, "https://example.ngrok.app/twiml"));
  g_assert_false (hook_signed_with (hook_at (fx, 0), TOKEN));   /* not over the local URL */
  starts = frames_of (fx, "start");
  g_assert_cmpuint (starts->len, ==, 1);
  g_assert_true (gtr_twilio_signature_validate (TOKEN, PUBLIC_URL, NULL, 0, fx->signature));
  g_assert_cmpstr (hook_at (fx, 1)->url, ==, next);
  g_assert_true (hook_signed_over (hook_at (fx, 1), TOKEN, "https://example.ngrok.app/next"));
  assert_summary_strings (fx, "verbs", "Connect", "Redirect", "Hangup");
  assert_token_secret (fx);
}

/* https:// webhook and wss:// stream, trusted through --ca-file; without it
 * the webhook cannot be reached (exit 3). */
static void
test_twiml_https (Fixture *fx, gconstpointer data)
{
  g_autofree char *ca = g_build_filename (g_getenv ("GTR_TESTS_DATA"), "tls", "ca.pem", NULL);
  g_autoptr (GPtrArray) starts = NULL;

  fx->tls = TRUE;
  start_server (fx);
  g_assert_true (g_str_has_prefix (fx->http, "https://"));
  answer (fx, "/twiml", "<Response><Connect><Stream url=\"%s\"/></Connect></Response>", fx->url);
  run_twiml (fx, "/twiml", "--play", "silence:200", "--linger", "0", "--ca-file", ca);
  g_assert_cmpint (fx->exit_status, ==, 0);
  starts = frames_of (fx, "start");
  g_assert_cmpuint (starts->len, ==, 1);

  g_clear_pointer (&fx->summary_node, json_node_unref);
  g_clear_pointer (&fx->out, g_free);
  g_clear_pointer (&fx->err, g_free);
  run_twiml (fx, "/twiml", "--play", "silence:200", "--linger", "0");
  g_assert_cmpint (fx->exit_status, ==, 3);
  g_assert_nonnull (strstr (fx->err, "could not reach webhook"));
  g_assert_cmpuint (fx->conns->len, ==, 1);   /* only the first run's */
}

static void
assert_failed (Fixture *fx, int code, const char *message)
{
  g_assert_cmpint (fx->exit_status, ==, code);
  g_assert_nonnull (strstr (fx->err, message));
  g_assert_cmpint (summary_int (fx, "exit_code"), ==, code);
  g_assert_cmpstr (summary_str (fx, "end"), ==, "error");
  g_assert_nonnull (strstr (summary_str (fx, "error"), message));
  g_assert_cmpuint (fx->conns->len, ==, 0);
}

static void
test_twiml_malformed (Fixture *fx, gconstpointer data)
{
  start_server (fx);
  answer (fx, "/twiml", "<Response>\n<Say>unclosed</Response>");
  run_twiml (fx, "/twiml", "--play", "silence:100");
  assert_failed (fx, 6, "malformed TwiML");
  g_assert_nonnull (strstr (fx->err, "line 2"));
  g_assert_cmpint (summary_int (fx, "webhook_status"), ==, 200);
}

/* A 500, for each of several calls: every call fails, and the run says so. */
static void
test_twiml_http_500 (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) lines = NULL;
  JsonObject *a;

  fx->webhook_status = 500;
  start_server (fx);
  run_twiml (fx, "/twiml", "--calls", "2");
  g_assert_cmpint (fx->exit_status, ==, 4);
  g_assert_nonnull (strstr (fx->err, "HTTP 500"));
  g_assert_cmpuint (fx->hooks->len, ==, 2);
  lines = output_lines (fx);
  g_assert_cmpuint (lines->len, ==, 3);
  for (guint i = 0; i < 2; i++) {
    g_assert_cmpint (json_object_get_int_member (line_at (lines, i), "webhook_status"), ==, 500);
    g_assert_cmpint (json_object_get_int_member (line_at (lines, i), "exit_code"), ==, 4);
  }
  a = line_at (lines, 2);
  g_assert_cmpstr (json_object_get_string_member (a, "type"), ==, "aggregate");
  g_assert_cmpint (json_object_get_int_member (a, "placed"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (a, "completed"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (a, "failed"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (a, "exit_code"), ==, 4);
}

static gboolean
on_mute_incoming (GSocketService *service, GSocketConnection *conn,
    GObject *source, gpointer user_data)
{
  Fixture *fx = user_data;

  fx->sent_us[0] = g_get_monotonic_time ();
  g_ptr_array_add (fx->mute_conns, g_object_ref (conn));   /* held open, never read */
  return TRUE;
}

/* A webhook that accepts the connection and never answers: the sim gives up
 * after --webhook-timeout-ms, not later. */
static void
test_twiml_no_answer (Fixture *fx, gconstpointer data)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;

  fx->mute = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (fx->mute), addr,
      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (fx->mute, "incoming", G_CALLBACK (on_mute_incoming), fx);
  g_socket_service_start (fx->mute);
  url = g_strdup_printf ("http://127.0.0.1:%u/twiml",
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  spawn_sim (fx, FALSE, (const char *const[]) { "--twiml-url", url,
      "--webhook-timeout-ms", "500", NULL });
  wait_sim (fx);
  parse_summary (fx);
  g_assert_cmpuint (fx->mute_conns->len, >=, 1);
  assert_failed (fx, 5, "did not answer within 500 ms");
  g_assert_cmpint (summary_int (fx, "webhook_status"), ==, 0);
  g_assert_cmpint (fx->exit_us - fx->sent_us[0], >=, 450 * MS);
  g_assert_cmpint (fx->exit_us - fx->sent_us[0], <=, 2500 * MS);
}

static void
test_twiml_bad_stream_url (Fixture *fx, gconstpointer data)
{
  start_server (fx);
  answer (fx, "/twiml", "<Response><Say>first</Say><Connect>"
      "<Stream url=\"https://127.0.0.1/media\"/></Connect></Response>");
  run_twiml (fx, "/twiml", "--play", "silence:100");
  assert_failed (fx, 7, "is not a ws:// or wss:// URL");
  assert_summary_strings (fx, "said", "first");
  assert_summary_strings (fx, "verbs", "Say", "Connect");
}

static gboolean
str_in (GPtrArray *a, const char *s)
{
  for (guint i = 0; i < a->len; i++)
    if (g_str_equal (g_ptr_array_index (a, i), s))
      return TRUE;
  return FALSE;
}

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  g_assert_true (json_object_has_member (o, name));
  return json_object_get_object_member (o, name);
}

/* latency_ms, or a set-up member: p50 ≤ (p90 ≤) p99 ≤ max, `samples` of them. */
static void
check_percentiles (JsonObject *o, gint64 samples)
{
  double p50 = json_object_get_double_member (o, "p50");
  double p90 = json_object_get_double_member_with_default (o, "p90", p50);
  double p99 = json_object_get_double_member (o, "p99");
  double max = json_object_get_double_member (o, "max");

  g_assert_cmpint (json_object_get_int_member (o, "samples"), ==, samples);
  g_assert_cmpfloat (p50, >, 0);
  g_assert_cmpfloat (p50, <=, p90);
  g_assert_cmpfloat (p90, <=, p99);
  g_assert_cmpfloat (p99, <=, max);
}

/* The --load report of `calls` calls of 100 frames each, of which the
 * echo lost `per_call_lost` each (none before the first came back). */
static void
check_load_report (Fixture *fx, guint calls, guint per_call_lost)
{
  guint back = calls * (100 - per_call_lost);
  JsonArray *per_call;

  g_assert_cmpint (fx->exit_status, ==, 0);
  g_assert_null (strchr (fx->out, '\n'));   /* one JSON object, nothing else */
  g_assert_cmpstr (json_object_get_string_member (fx->summary, "type"), ==, "load");
  g_assert_cmpint (summary_int (fx, "calls"), ==, calls);
  g_assert_cmpint (summary_int (fx, "completed"), ==, calls);
  g_assert_cmpint (summary_int (fx, "duration_ms"), ==, 2000);
  g_assert_cmpint (summary_int (fx, "frames_sent"), ==, calls * 100);
  g_assert_cmpint (summary_int (fx, "frames_back"), ==, back);
  g_assert_cmpint (summary_int (fx, "lost"), ==, calls * per_call_lost);
  g_assert_cmpint (summary_int (fx, "lost_in_setup"), ==, 0);
  g_assert_cmpint (summary_int (fx, "duplicated"), ==, 0);
  g_assert_cmpint (summary_int (fx, "reordered"), ==, 0);
  g_assert_cmpint (summary_int (fx, "foreign"), ==, 0);
  g_assert_cmpint (summary_int (fx, "unframed_bytes"), ==, 0);
  check_percentiles (member_object (fx->summary, "latency_ms"), back);
  check_percentiles (member_object (member_object (fx->summary, "setup_ms"), "to_start"), calls);
  check_percentiles (member_object (member_object (fx->summary, "setup_ms"), "to_first_frame"), calls);

  per_call = json_object_get_array_member (fx->summary, "per_call");
  g_assert_cmpuint (json_array_get_length (per_call), ==, calls);
  for (guint i = 0; i < calls; i++) {
    JsonObject *c = json_array_get_object_element (per_call, i);

    g_assert_cmpint (json_object_get_int_member (c, "call"), ==, i + 1);
    g_assert_cmpint (json_object_get_int_member (c, "frames_sent"), ==, 100);
    g_assert_cmpint (json_object_get_int_member (c, "lost"), ==, per_call_lost);
    g_assert_cmpint (json_object_get_int_member (c, "frames_back"), ==, 100 - per_call_lost);
    check_percentiles (member_object (c, "latency_ms"), 100 - per_call_lost);
    g_assert_cmpfloat (json_object_get_double_member (c, "to_first_frame_ms"), >, 0);
  }
}

/* --load, 5 calls for 2 s against an echo that loses every Nth media
 * (0: none), regroups into `chunk`-byte messages (0: as sent): one JSON
 * report whose numbers are what the server did.  The linger is long, so a
 * slow echo (this process, under ASan, beside other tests) still gets its
 * frames back; a call with every frame back hangs up without waiting it out. */
static void
run_load (Fixture *fx, guint drop_every, gsize chunk)
{
  g_autoptr (GHashTable) payloads = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) media = NULL, stops = NULL;
  gint64 spawned_us;

  fx->echo = TRUE;
  fx->echo_drop_every = drop_every;
  fx->echo_chunk = chunk;
  start_server (fx);
  spawned_us = g_get_monotonic_time ();
  run_sim (fx, "--load", "--calls", "5", "--duration-ms", "2000", "--linger", "5000");

  /* what went out: 100 frames a call, each 160 bytes that differ from every other's */
  media = frames_of (fx, "media");
  g_assert_cmpuint (media->len, ==, 500);
  for (guint i = 0; i < media->len; i++) {
    JsonObject *m = obj (media->pdata[i], "media");
    const char *b64 = str_member (m, "payload");
    gsize len;
    g_autofree guint8 *bytes = g_base64_decode (b64, &len);

    g_assert_cmpuint (len, ==, 160);
    g_assert_true (g_hash_table_add (payloads, (gpointer) b64));
  }
  check_load_report (fx, 5, drop_every ? 100 / drop_every : 0);

  /* each stream's `stop`: at once when all came back, after the linger if not */
  stops = frames_of (fx, "stop");
  g_assert_cmpuint (stops->len, ==, 5);
  for (guint c = 0; c < stops->len; c++) {
    const Frame *last = NULL, *stop = NULL;
    const char *sid = str_member (json_node_get_object (
            ((Frame *) stops->pdata[c])->json), "streamSid");

    for (guint i = 0; i < fx->frames->len; i++) {
      const Frame *f = g_ptr_array_index (fx->frames, i);

      if (f->json == NULL || g_strcmp0 (json_object_get_string_member_with_default (
                  json_node_get_object (f->json), "streamSid", NULL), sid) != 0)
        continue;
      if (g_strcmp0 (frame_event (f), "media") == 0)
        last = f;
      else if (g_strcmp0 (frame_event (f), "stop") == 0)
        stop = f;
    }
    g_assert_nonnull (last);
    g_assert_nonnull (stop);
    if (drop_every == 0)
      g_assert_cmpint (stop->t_us - last->t_us, <, 4950 * MS);
  }
  /* frames lost: the sim waits out its linger (on its own clock, from its
   * last frame; this end sees frames late, so only the whole run is sure) */
  if (drop_every > 0)
    g_assert_cmpint (fx->exit_us - spawned_us, >=, 7000 * MS);
}

static void
test_load_echo (Fixture *fx, gconstpointer data)
{
  run_load (fx, 0, 0);
}

/* The echo loses every 10th media of each stream: 10 a call, none in set-up. */
static void
test_load_drops (Fixture *fx, gconstpointer data)
{
  run_load (fx, 10, 0);
}

/* A bridge may regroup the bytes (here 2½ frames a message): frames are
 * cut again from the stream of bytes, none lost. */
static void
test_load_regrouped (Fixture *fx, gconstpointer data)
{
  run_load (fx, 0, 400);
}

/* The real loopback: `twiliosrc port=0 ! twiliosink` in this process (a
 * standalone twiliosrc serves one call), the bytes back unchanged. */
static void
test_load_twilio_loopback (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) p = gst_parse_launch ("twiliosrc name=src port=0 ! twiliosink", &error);
  g_autoptr (GstElement) src = NULL;
  g_autofree char *url = NULL;
  gint port = 0;

  g_assert_no_error (error);
  src = gst_bin_get_by_name (GST_BIN (p), "src");
  g_assert_cmpint (gst_element_set_state (p, GST_STATE_READY), ==, GST_STATE_CHANGE_SUCCESS);
  g_object_get (src, "port", &port, NULL);
  g_assert_cmpint (port, >, 0);
  gst_element_set_state (p, GST_STATE_PLAYING);
  url = g_strdup_printf ("ws://127.0.0.1:%d/media", port);
  spawn_sim (fx, FALSE, (const char *const[]) { "--url", url, "--load", "--duration-ms", "2000",
        "--linger", "300", NULL });
  wait_sim (fx);
  parse_summary (fx);
  gst_element_set_state (p, GST_STATE_NULL);
  check_load_report (fx, 1, 0);
}

/* --calls 5: five concurrent calls from one process, each its own CallSid
 * and StreamSid, record and summary, then the aggregate. */
static void
test_calls_5 (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) starts = NULL;
  g_autoptr (GPtrArray) call_sids = g_ptr_array_new ();
  g_autoptr (GPtrArray) stream_sids = g_ptr_array_new ();
  g_autoptr (GPtrArray) summary_sids = g_ptr_array_new ();
  g_autoptr (GPtrArray) lines = NULL;
  JsonObject *a;

  start_server (fx);
  answer (fx, "/twiml", "<Response><Connect><Stream url=\"%s\"/></Connect></Response>", fx->url);
  run_twiml (fx, "/twiml", "--calls", "5", "--ramp-ms", "50", "--play", "silence:300",
      "--linger", "0", "--record", fx->tmpdir);
  g_assert_cmpint (fx->exit_status, ==, 0);

  g_assert_cmpuint (fx->hooks->len, ==, 5);
  for (guint i = 0; i < 5; i++) {
    const char *sid = form_field (hook_at (fx, i), "CallSid");

    g_assert_cmpuint (strlen (sid), ==, 34);
    g_assert_true (g_str_has_prefix (sid, "CA"));
    for (guint j = 2; j < 34; j++)
      g_assert_true (g_ascii_isxdigit (sid[j]));
    g_assert_false (str_in (call_sids, sid));
    g_ptr_array_add (call_sids, (gpointer) sid);
  }
  starts = frames_of (fx, "start");
  g_assert_cmpuint (starts->len, ==, 5);
  g_assert_cmpuint (fx->conns->len, ==, 5);
  for (guint i = 0; i < 5; i++) {
    JsonObject *start = obj (starts->pdata[i], "start");
    const char *stream_sid = str_member (start, "streamSid");

    g_assert_true (str_in (call_sids, str_member (start, "callSid")));
    g_assert_cmpuint (strlen (stream_sid), ==, 34);
    g_assert_true (g_str_has_prefix (stream_sid, "MZ"));
    g_assert_false (str_in (stream_sids, stream_sid));
    g_ptr_array_add (stream_sids, (gpointer) stream_sid);
  }

  lines = output_lines (fx);
  g_assert_cmpuint (lines->len, ==, 6);
  for (guint i = 0; i < 5; i++) {
    JsonObject *o = line_at (lines, i);
    const char *record = json_object_get_string_member (o, "record");

    g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "call");
    g_assert_cmpint (json_object_get_int_member (o, "call"), ==, i + 1);
    /* --ramp-ms 50: call i placed no earlier than i × 50 ms after the
     * first (the sim's own clock; a late call does not delay the next) */
    if (i == 0)
      g_assert_cmpfloat (json_object_get_double_member (o, "placed_ms"), ==, 0.0);
    else
      g_assert_cmpfloat (json_object_get_double_member (o, "placed_ms"), >=, 50.0 * i);
    g_assert_cmpint (json_object_get_int_member (o, "exit_code"), ==, 0);
    g_assert_true (str_in (call_sids, json_object_get_string_member (o, "call_sid")));
    g_assert_false (str_in (summary_sids, json_object_get_string_member (o, "call_sid")));
    g_ptr_array_add (summary_sids, (gpointer) json_object_get_string_member (o, "call_sid"));
    g_assert_cmpint (json_object_get_int_member (o, "media_sent"), >=, 15);
    g_assert_true (g_str_has_prefix (record, fx->tmpdir));
    g_assert_true (g_file_test (record, G_FILE_TEST_IS_REGULAR));
  }
  a = line_at (lines, 5);
  g_assert_cmpstr (json_object_get_string_member (a, "type"), ==, "aggregate");
  g_assert_cmpint (json_object_get_int_member (a, "calls"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (a, "placed"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (a, "connected"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (a, "completed"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (a, "failed"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (a, "violations"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (a, "exit_code"), ==, 0);
}

/* SIGTERM during the ramp: the calls up hang up cleanly, no more are
 * placed, and the aggregate says so. */
static void
test_calls_sigterm_stops_ramp (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) lines = NULL;
  g_autoptr (GPtrArray) stops = NULL;
  JsonObject *a;
  g_autofree char *url = NULL;

  fx->on_start = script_hang_up;
  start_server (fx);
  answer (fx, "/twiml", "<Response><Connect><Stream url=\"%s\"/></Connect></Response>", fx->url);
  url = g_strconcat (fx->http, "/twiml", NULL);
  spawn_sim (fx, FALSE, (const char *const[]) { "--twiml-url", url, "--calls", "3",
        "--ramp-ms", "5000", "--play", "silence:10000", NULL });
  wait_sim (fx);
  g_assert_cmpint (fx->exit_status, ==, 0);
  g_assert_cmpuint (fx->hooks->len, ==, 1);
  stops = frames_of (fx, "stop");
  g_assert_cmpuint (stops->len, ==, 1);
  lines = output_lines (fx);
  g_assert_cmpuint (lines->len, ==, 2);
  a = line_at (lines, 1);
  g_assert_cmpint (json_object_get_int_member (a, "calls"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (a, "placed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (a, "completed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (a, "failed"), ==, 0);
  /* well before the second call was due */
  g_assert_cmpint (fx->exit_us - hook_at (fx, 0)->t_us, <, 4000 * MS);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  if (g_getenv ("GTR_TWILIO_CALL_SIM") == NULL || g_getenv ("GTR_TESTS_DATA") == NULL) {
    g_printerr ("GTR_TWILIO_CALL_SIM and GTR_TESTS_DATA must be set (meson test sets them)\n");
    return 1;
  }
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fx_setup, fn, fx_teardown)
  ADD ("/call-sim/call-flow", test_call_flow);
  ADD ("/call-sim/no-stop", test_no_stop);
  ADD ("/call-sim/fast", test_fast);
  ADD ("/call-sim/mark-timing-and-record", test_mark_timing_and_record);
  ADD ("/call-sim/clear", test_clear);
  ADD ("/call-sim/until-quiet", test_until_quiet);
  ADD ("/call-sim/sigterm", test_sigterm_hangs_up);
  ADD ("/call-sim/violations", test_violations);
  ADD ("/call-sim/handshake-403", test_handshake_403);
  ADD ("/call-sim/connection-refused", test_connection_refused);
  ADD ("/call-sim/wss", test_wss);
  ADD ("/call-sim/wss-untrusted", test_wss_untrusted);
  ADD ("/call-sim/usage-errors", test_usage_errors);
  ADD ("/call-sim/wav-input", test_wav_input);
  ADD ("/call-sim/wav-unreadable", test_wav_unreadable);
  ADD ("/call-sim/server-closes", test_server_closes);
  ADD ("/call-sim/twiml/stream-signed", test_twiml_stream);
  ADD ("/call-sim/twiml/say-pause-hangup", test_twiml_say_hangup);
  ADD ("/call-sim/twiml/redirect-after-stream", test_twiml_redirect_after_stream);
  ADD ("/call-sim/twiml/connect-action", test_twiml_connect_action);
  ADD ("/call-sim/twiml/two-streams", test_twiml_two_streams);
  ADD ("/call-sim/twiml/redirect-get", test_twiml_redirect_get);
  ADD ("/call-sim/twiml/public-url", test_twiml_public_url);
  ADD ("/call-sim/twiml/https", test_twiml_https);
  ADD ("/call-sim/twiml/malformed", test_twiml_malformed);
  ADD ("/call-sim/twiml/http-500", test_twiml_http_500);
  ADD ("/call-sim/twiml/no-answer", test_twiml_no_answer);
  ADD ("/call-sim/twiml/bad-stream-url", test_twiml_bad_stream_url);
  ADD ("/call-sim/calls-5", test_calls_5);
  ADD ("/call-sim/calls-sigterm-stops-ramp", test_calls_sigterm_stops_ramp);
  ADD ("/call-sim/load/echo", test_load_echo);
  ADD ("/call-sim/load/drops", test_load_drops);
  ADD ("/call-sim/load/regrouped", test_load_regrouped);
  ADD ("/call-sim/load/twilio-loopback", test_load_twilio_loopback);
  ret = g_test_run ();
  /* the leaks tracer checks this process too: every GstObject and mini
   * object the tests made (the WAV pipelines) must be gone by now */
  gst_deinit ();
  gtr_stop_idle_pool_threads ();
  return ret;
}
