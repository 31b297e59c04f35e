/* realtime-mock's own behaviour, over real sockets on 127.0.0.1: the mock
 * runs as a subprocess (GTR_REALTIME_MOCK), a libsoup WebSocket client talks
 * to it, and every mock's event log is checked against the strict official
 * schema (GTR_VALIDATE_EVENT) when the mock stops. */
#include "raw-http-client.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <math.h>
#include <stdlib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

/* ---------- the mock process ---------- */

typedef struct {
  GSubprocess *proc;
  gboolean tls;
  guint port;
  char *dir;
  char *log_path;
} Mock;

static Mock *
mock_start (const char *first_arg, ...)
{
  Mock *m = g_new0 (Mock, 1);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  const char *exe = g_getenv ("GTR_REALTIME_MOCK");
  va_list ap;

  g_assert_nonnull (exe);
  m->dir = g_dir_make_tmp ("realtime-mock-XXXXXX", &error);
  g_assert_no_error (error);
  m->log_path = g_build_filename (m->dir, "events.jsonl", NULL);
  g_ptr_array_add (argv, (gpointer) exe);
  g_ptr_array_add (argv, "--port=0");
  g_ptr_array_add (argv, "--log");
  g_ptr_array_add (argv, m->log_path);
  va_start (ap, first_arg);
  for (const char *a = first_arg; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  m->proc = g_subprocess_newv ((const char *const *) argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (m->proc));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  m->tls = g_str_has_prefix (line, "realtime-mock listening on wss://127.0.0.1:");
  g_assert_true (m->tls || g_str_has_prefix (line, "realtime-mock listening on ws://127.0.0.1:"));
  m->port = atoi (strrchr (line, ':') + 1);
  g_assert_cmpuint (m->port, >, 0);
  return m;
}

/* Runs a validator over `file`; aborts with its output when it finds a
 * problem. */
static void
run_validator (const char *validator, gboolean server, const char *file, const char *log_path)
{
  const char *argv[] = { g_getenv ("GTR_PYTHON3"), validator, server ? "--server" : file,
    server ? file : NULL, NULL };
  g_autofree char *out = NULL;
  gint status = -1;
  g_autoptr (GError) error = NULL;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s %s events in %s do not validate:\n%s", g_str_equal (validator, GTR_LIVE_VALIDATOR)
        ? "GPT-Live" : "Realtime", server ? "server" : "client", log_path, out);
}

/* Splits the log into the server's events and the client events the mock
 * accepted (not named by an error), Realtime and GPT-Live sessions apart
 * (a GPT-Live session's id starts with live_sess_), and validates each,
 * strictly: Realtime against the official strict schema, GPT-Live against
 * tests/data/openai-live/live.schema.json. */
static void
validate_log (Mock *m)
{
  static const char *const names[] = { "server.jsonl", "client.jsonl", "live-server.jsonl",
    "live-client.jsonl" };
  g_autofree char *text = NULL;
  GString *out[2] = { g_string_new (NULL), g_string_new (NULL) };
  GString *in[2] = { g_string_new (NULL), g_string_new (NULL) };
  g_autoptr (GHashTable) rejected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) lines = NULL;
  g_autoptr (GPtrArray) accepted = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  g_assert_true (g_file_get_contents (m->log_path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++) {
    g_autoptr (JsonNode) node = json_from_string (lines[i], NULL);
    JsonObject *line = json_node_get_object (node);
    const char *dir = json_object_get_string_member (line, "dir");
    gboolean live = g_str_has_prefix (json_object_get_string_member (line, "session"), "live_sess_");
    JsonObject *event;
    g_autofree char *event_text = NULL;

    g_assert_nonnull (node);
    if (!json_object_has_member (line, "event"))
      continue;
    event = json_object_get_object_member (line, "event");
    event_text = json_to_string (json_object_get_member (line, "event"), FALSE);
    if (g_str_equal (dir, "out")) {
      g_string_append_printf (out[live], "%s\n", event_text);
      if (g_str_equal (json_object_get_string_member (event, "type"), "error")) {
        JsonNode *id = live ? json_object_get_member (event, "client_event_id")
            : json_object_get_member (json_object_get_object_member (event, "error"), "event_id");
        if (id && !JSON_NODE_HOLDS_NULL (id))
          g_hash_table_add (rejected, g_strdup_printf ("%d%s", live, json_node_get_string (id)));
      }
    } else {
      JsonObject *pair = json_object_new ();
      json_object_set_boolean_member (pair, "live", live);
      json_object_set_member (pair, "event", json_node_copy (json_object_get_member (line, "event")));
      g_ptr_array_add (accepted, json_node_init_object (json_node_alloc (), pair));
      json_object_unref (pair);
    }
  }
  for (guint i = 0; i < accepted->len; i++) {
    JsonObject *pair = json_node_get_object (accepted->pdata[i]);
    gboolean live = json_object_get_boolean_member (pair, "live");
    JsonObject *event = json_object_get_object_member (pair, "event");
    g_autofree char *key = g_strdup_printf ("%d%s", live,
        json_object_get_string_member_with_default (event, "event_id", ""));
    g_autofree char *t = json_to_string (json_object_get_member (pair, "event"), FALSE);
    if (!g_hash_table_contains (rejected, key))
      g_string_append_printf (in[live], "%s\n", t);
  }
  for (guint live = 0; live < 2; live++) {
    g_autofree char *server = g_build_filename (m->dir, names[2 * live], NULL);
    g_autofree char *client = g_build_filename (m->dir, names[2 * live + 1], NULL);
    const char *validator = live ? GTR_LIVE_VALIDATOR : g_getenv ("GTR_VALIDATE_EVENT");

    g_assert_true (g_file_set_contents (server, out[live]->str, -1, NULL));
    g_assert_true (g_file_set_contents (client, in[live]->str, -1, NULL));
    run_validator (validator, TRUE, server, m->log_path);
    run_validator (validator, FALSE, client, m->log_path);
    g_string_free (out[live], TRUE);
    g_string_free (in[live], TRUE);
  }
}

static void
mock_stop (Mock *m)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (m->proc, SIGTERM);
  g_subprocess_wait (m->proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (m->proc));
  g_assert_cmpint (g_subprocess_get_exit_status (m->proc), ==, 0);
  validate_log (m);   /* aborts on failure: the logs stay on disk to look at */
  for (guint i = 0; i < 5; i++) {
    const char *names[] = { "events.jsonl", "server.jsonl", "client.jsonl", "live-server.jsonl",
      "live-client.jsonl" };
    g_autofree char *path = g_build_filename (m->dir, names[i], NULL);
    g_unlink (path);
  }
  g_rmdir (m->dir);
  g_object_unref (m->proc);
  g_free (m->log_path);
  g_free (m->dir);
  g_free (m);
}

/* ---------- a client ---------- */

typedef struct {
  SoupSession *session;
  SoupMessage *msg;
  SoupWebsocketConnection *ws;
  GError *error;
  gboolean done;
  GPtrArray *events;   /* JsonObject*, every frame received ({"type":"(not json)"} for others) */
  guint cursor;
  gboolean closed;
} Client;

static void
on_message (SoupWebsocketConnection *ws, gint type, GBytes *message, Client *c)
{
  g_autoptr (JsonNode) node = json_from_string (g_bytes_get_data (message, NULL), NULL);

  if (node && JSON_NODE_HOLDS_OBJECT (node))
    g_ptr_array_add (c->events, json_object_ref (json_node_get_object (node)));
  else {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "type", "(not json)");
    g_ptr_array_add (c->events, o);
  }
}

static void
on_closed (SoupWebsocketConnection *ws, Client *c)
{
  c->closed = TRUE;
}

static void
on_connected (GObject *source, GAsyncResult *res, gpointer data)
{
  Client *c = data;

  c->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), res, &c->error);
  c->done = TRUE;
}

static gboolean
iterate_until (gboolean *flag, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (!*flag && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  return *flag;
}

/* Connects; `header` is "Name: value" or NULL.  Returns the client even on
 * failure (c->ws NULL, the HTTP status in c->msg). */
static Client *
client_connect_full (Mock *m, const char *path, const char *header, const char *header2)
{
  Client *c = g_new0 (Client, 1);
  g_autofree char *url = g_strdup_printf ("%s://127.0.0.1:%u%s", m->tls ? "wss" : "ws", m->port, path);

  c->session = soup_session_new ();
  if (m->tls) {   /* trust the test CA only */
    g_autofree char *ca = g_build_filename (g_getenv ("GTR_TESTS_DATA"), "tls", "ca.pem", NULL);
    g_autoptr (GTlsDatabase) db = g_tls_file_database_new (ca, NULL);
    g_assert_nonnull (db);
    soup_session_set_tls_database (c->session, db);
  }
  c->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  c->msg = soup_message_new ("GET", url);
  for (const char *h = header; h; h = (h == header ? header2 : NULL)) {
    g_auto (GStrv) kv = g_strsplit (h, ": ", 2);
    soup_message_headers_append (soup_message_get_request_headers (c->msg), kv[0], kv[1]);
  }
  soup_session_websocket_connect_async (c->session, c->msg, NULL, NULL, 0, NULL, on_connected, c);
  g_assert_true (iterate_until (&c->done, 5000));
  if (c->ws) {
    g_signal_connect (c->ws, "message", G_CALLBACK (on_message), c);
    g_signal_connect (c->ws, "closed", G_CALLBACK (on_closed), c);
  }
  return c;
}

static Client *
client_connect (Mock *m)
{
  Client *c = client_connect_full (m, "/v1/realtime?model=gpt-realtime",
      "Authorization: Bearer test-key", NULL);
  g_assert_no_error (c->error);
  return c;
}

static void
client_free (Client *c)
{
  if (c->ws && soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN) {
    soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    iterate_until (&c->closed, 2000);
  }
  g_clear_object (&c->ws);
  g_clear_error (&c->error);
  g_object_unref (c->msg);
  g_object_unref (c->session);
  g_ptr_array_unref (c->events);
  g_free (c);
}

static void
client_send (Client *c, const char *json)
{
  soup_websocket_connection_send_text (c->ws, json);
}

static gboolean
has_event (Client *c, const char *type, guint *index)
{
  for (guint i = c->cursor; i < c->events->len; i++)
    if (g_str_equal (json_object_get_string_member (c->events->pdata[i], "type"), type)) {
      *index = i;
      return TRUE;
    }
  return FALSE;
}

/* The next event of `type` after the last one waited for. */
static JsonObject *
client_wait (Client *c, const char *type)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint index;

  while (!has_event (c, type, &index)) {
    if (g_get_monotonic_time () > end)
      g_error ("no %s within 10 s", type);
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  }
  c->cursor = index + 1;
  return c->events->pdata[index];
}

/* Events of `type` between indices [from, to). */
static guint
count_between (Client *c, const char *type, guint from, guint to)
{
  guint n = 0;
  for (guint i = from; i < to; i++)
    n += g_str_equal (json_object_get_string_member (c->events->pdata[i], "type"), type);
  return n;
}

static JsonObject *
path_object (JsonObject *o, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  for (guint i = 0; parts[i] && o; i++)
    o = json_object_has_member (o, parts[i]) ? json_object_get_object_member (o, parts[i]) : NULL;
  return o;
}

static void
assert_error (JsonObject *event, const char *code, const char *param, const char *event_id,
    const char *message)
{
  JsonObject *error = json_object_get_object_member (event, "error");

  g_assert_cmpstr (json_object_get_string_member (error, "type"), ==, "invalid_request_error");
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  if (param)
    g_assert_cmpstr (json_object_get_string_member (error, "param"), ==, param);
  if (event_id)
    g_assert_cmpstr (json_object_get_string_member (error, "event_id"), ==, event_id);
  if (message)
    g_assert_cmpstr (json_object_get_string_member (error, "message"), ==, message);
}

/* ---------- audio made with GStreamer ---------- */

/* `ms` of a 440 Hz tone (or silence) in the wire format named by `encoder`
 * ("mulawenc", "alawenc" or "" for S16LE 24 kHz). */
static GBytes *
make_audio (const char *wave, guint ms, const char *encoder)
{
  guint rate = *encoder ? 8000 : 24000;
  g_autofree char *desc = g_strdup_printf ("audiotestsrc wave=%s freq=440 volume=0.5 "
      "samplesperbuffer=%u num-buffers=%u ! audio/x-raw,format=S16LE,rate=%u,channels=1 ! %s%s "
      "appsink name=out sync=false", wave, rate / 100, ms / 10, rate, encoder, *encoder ? " !" : "");
  g_autoptr (GstElement) pipeline = gst_parse_launch (desc, NULL);
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  GByteArray *out = g_byte_array_new ();
  GstSample *sample;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    GstMapInfo map;
    gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ);
    g_byte_array_append (out, map.data, map.size);
    gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return g_byte_array_free_to_bytes (out);
}

/* Appends `audio` in 20 ms chunks. */
static void
append_audio (Client *c, GBytes *audio, guint bytes_per_ms)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (audio, &len);
  gsize chunk = 20 * bytes_per_ms;

  for (gsize off = 0; off < len; off += chunk) {
    g_autofree char *b64 = g_base64_encode (data + off, MIN (chunk, len - off));
    g_autofree char *json = g_strdup_printf ("{\"type\":\"input_audio_buffer.append\","
        "\"event_id\":\"evt_append_%" G_GSIZE_FORMAT "\",\"audio\":\"%s\"}", off, b64);
    client_send (c, json);
  }
}

/* The audio of every delta of the next response, and its response.done. */
static GBytes *
collect_response (Client *c, JsonObject **done)
{
  guint start, end;
  GByteArray *audio = g_byte_array_new ();

  client_wait (c, "response.created");
  start = c->cursor;
  *done = client_wait (c, "response.done");
  end = c->cursor;
  for (guint i = start; i < end; i++) {
    JsonObject *e = c->events->pdata[i];
    if (g_str_equal (json_object_get_string_member (e, "type"), "response.output_audio.delta")) {
      gsize n;
      g_autofree guint8 *bytes = g_base64_decode (json_object_get_string_member (e, "delta"), &n);
      g_byte_array_append (audio, bytes, n);
    }
  }
  return g_byte_array_free_to_bytes (audio);
}

/* RMS of `audio` decoded from the wire format `decoder` ("mulawdec", …). */
static gdouble
decoded_rms (GBytes *audio, const char *caps, const char *decoder)
{
  g_autofree char *desc = g_strdup_printf ("appsrc name=in caps=\"%s\" ! %s%s audioconvert ! "
      "audio/x-raw,format=S16LE ! appsink name=out sync=false", caps, decoder, *decoder ? " !" : "");
  g_autoptr (GstElement) pipeline = gst_parse_launch (desc, NULL);
  g_autoptr (GstElement) src = gst_bin_get_by_name (GST_BIN (pipeline), "in");
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  gdouble sum = 0;
  gsize n = 0;
  GstSample *sample;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_app_src_push_buffer (GST_APP_SRC (src), gst_buffer_new_wrapped_bytes (audio));
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    GstMapInfo map;
    gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ);
    for (gsize i = 0; i < map.size / 2; i++, n++)
      sum += (gdouble) ((gint16 *) map.data)[i] * ((gint16 *) map.data)[i];
    gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return n ? sqrt (sum / n) : 0;
}

/* ---------- the tests ---------- */

#define UPDATE(session_json) \
  "{\"type\":\"session.update\",\"event_id\":\"evt_update\",\"session\":" session_json "}"
#define PCMU_SESSION(extra) UPDATE ("{\"type\":\"realtime\",\"audio\":{\"input\":{\"format\":" \
  "{\"type\":\"audio/pcmu\"}" extra "},\"output\":{\"format\":{\"type\":\"audio/pcmu\"}}}}")

static guint
http_status_of (Mock *m, const char *path, const char *header)
{
  Client *c = client_connect_full (m, path, header, NULL);
  guint status = soup_message_get_status (c->msg);

  g_assert_null (c->ws);
  client_free (c);
  return status;
}

static void
test_handshake (void)
{
  Mock *m = mock_start (NULL);
  Client *c;

  g_assert_cmpuint (http_status_of (m, "/v1/realtime?model=x", NULL), ==, 401);
  g_assert_cmpuint (http_status_of (m, "/v1/realtime?model=x", "Authorization: Bearer wrong"), ==, 401);
  g_assert_cmpuint (http_status_of (m, "/openai/v1/realtime?model=x", "api-key: wrong"), ==, 401);
  g_assert_cmpuint (http_status_of (m, "/v1/other", "Authorization: Bearer test-key"), ==, 404);
  g_assert_cmpuint (http_status_of (m, "/v1/realtime/x", "Authorization: Bearer test-key"), ==, 404);

  /* Azure style: api-key header on /openai/v1/realtime */
  c = client_connect_full (m, "/openai/v1/realtime?model=my-deployment", "api-key: test-key", NULL);
  g_assert_no_error (c->error);
  g_assert_cmpstr (json_object_get_string_member (
      json_object_get_object_member (client_wait (c, "session.created"), "session"), "model"), ==,
      "my-deployment");
  client_free (c);
  mock_stop (m);
}

static GPid
mock_pid (Mock *m)
{
  return (GPid) g_ascii_strtoll (g_subprocess_get_identifier (m->proc), NULL, 10);
}

/* Refused handshakes hold no descriptor of the mock (libsoup 3.2.3 alone
 * kept each in CLOSE_WAIT): 500 of them, 401 and 404, and its descriptor
 * count is back where it was. */
static void
test_refusals_release (void)
{
  Mock *m = mock_start (NULL);
  g_autofree char *bad_key = raw_upgrade_request ("/v1/realtime?model=x", "Authorization: Bearer wrong\r\n");
  g_autofree char *unknown = raw_upgrade_request ("/v1/other", "Authorization: Bearer test-key\r\n");
  guint baseline = raw_count_fds (mock_pid (m));

  for (guint i = 0; i < 500; i++)
    g_assert_cmpuint (raw_request_status (m->port, i % 2 ? unknown : bad_key), ==, i % 2 ? 404 : 401);
  g_assert_cmpuint (raw_wait_fds_at_most (mock_pid (m), baseline, 5000), <=, baseline);
  mock_stop (m);
}

/* --handshake-timeout-ms and --idle-timeout-ms bound silent clients. */
static void
test_connection_bounds (void)
{
  Mock *m = mock_start ("--handshake-timeout-ms=300", "--idle-timeout-ms=300", NULL);
  g_autoptr (GSocketConnection) silent = NULL;
  gint64 start = g_get_monotonic_time (), elapsed_ms;

  silent = raw_connect (m->port);
  g_assert_cmpint (raw_wait_closed (silent, 3000), ==, RAW_EOF);
  elapsed_ms = (g_get_monotonic_time () - start) / G_TIME_SPAN_MILLISECOND;
  g_assert_cmpint (elapsed_ms, >=, 290);
  g_assert_cmpint (elapsed_ms, <, 3000);
  mock_stop (m);
}

static void
test_session_created (void)
{
  Mock *m = mock_start (NULL);
  Client *c = client_connect (m);
  JsonObject *session = json_object_get_object_member (client_wait (c, "session.created"), "session");
  JsonObject *in = path_object (session, "audio.input"), *out = path_object (session, "audio.output");

  /* the defaults that make noise on a phone line */
  g_assert_cmpuint (c->cursor, ==, 1);   /* the first event */
  g_assert_cmpstr (json_object_get_string_member (session, "type"), ==, "realtime");
  g_assert_cmpstr (json_object_get_string_member (path_object (in, "format"), "type"), ==, "audio/pcm");
  g_assert_cmpint (json_object_get_int_member (path_object (in, "format"), "rate"), ==, 24000);
  g_assert_cmpstr (json_object_get_string_member (path_object (out, "format"), "type"), ==, "audio/pcm");
  g_assert_cmpint (json_object_get_int_member (path_object (out, "format"), "rate"), ==, 24000);
  g_assert_cmpstr (json_object_get_string_member (out, "voice"), ==, "alloy");
  g_assert_cmpstr (json_object_get_string_member (path_object (in, "turn_detection"), "type"), ==, "server_vad");
  g_assert_cmpfloat (json_object_get_double_member (path_object (in, "turn_detection"), "threshold"), ==, 0.5);
  client_free (c);
  mock_stop (m);
}

static void
test_session_update (void)
{
  Mock *m = mock_start (NULL);
  Client *c = client_connect (m);
  JsonObject *session;

  client_wait (c, "session.created");
  client_send (c, PCMU_SESSION (",\"noise_reduction\":{\"type\":\"near_field\"},"
      "\"transcription\":{\"model\":\"gpt-4o-transcribe\",\"language\":\"en\"}"));
  session = json_object_get_object_member (client_wait (c, "session.updated"), "session");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.input.format"), "type"), ==, "audio/pcmu");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.output.format"), "type"), ==, "audio/pcmu");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.input.noise_reduction"), "type"), ==, "near_field");
  /* merged: what the update did not touch keeps its value */
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.output"), "voice"), ==, "alloy");
  g_assert_cmpint (json_object_get_int_member (path_object (session, "audio.input.turn_detection"), "silence_duration_ms"), ==, 500);
  client_free (c);
  mock_stop (m);
}

static void
test_update_errors (void)
{
  Mock *m = mock_start (NULL);
  Client *c = client_connect (m);
  JsonObject *session;

  client_wait (c, "session.created");
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_temp\",\"session\":"
      "{\"type\":\"realtime\",\"temperature\":0.8,\"audio\":{\"output\":{\"format\":{\"type\":\"audio/pcmu\"}}}}}");
  assert_error (client_wait (c, "error"), "unknown_parameter", "session.temperature", "evt_temp",
      "Unknown parameter: 'session.temperature'.");
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_noise\",\"session\":"
      "{\"type\":\"realtime\",\"audio\":{\"input\":{\"noise_reduction\":\"near_field\"}}}}");
  assert_error (client_wait (c, "error"), "invalid_type", "session.audio.input.noise_reduction", "evt_noise",
      "Invalid type for 'session.audio.input.noise_reduction': expected an object, but got a string instead.");
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_fmt\",\"session\":"
      "{\"type\":\"realtime\",\"audio\":{\"input\":{\"format\":{\"type\":\"audio/g729\"}}}}}");
  assert_error (client_wait (c, "error"), "invalid_value", "session.audio.input.format.type", "evt_fmt",
      "Invalid value: 'audio/g729'. Supported values are: 'audio/pcm', 'audio/pcmu', and 'audio/pcma'.");
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_speed\",\"session\":"
      "{\"type\":\"realtime\",\"audio\":{\"output\":{\"speed\":3}}}}");
  assert_error (client_wait (c, "error"), "invalid_value", "session.audio.output.speed", "evt_speed", NULL);
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_notype\",\"session\":{\"instructions\":\"x\"}}");
  assert_error (client_wait (c, "error"), "missing_required_parameter", "session.type", "evt_notype",
      "Missing required parameter: 'session.type'.");
  /* a beta-shaped update is just unknown parameters in GA */
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_beta\",\"session\":"
      "{\"input_audio_format\":\"g711_ulaw\"}}");
  assert_error (client_wait (c, "error"), "unknown_parameter", "session.input_audio_format", "evt_beta", NULL);

  /* every rejected update left the session as it was */
  client_send (c, UPDATE ("{\"type\":\"realtime\"}"));
  session = json_object_get_object_member (client_wait (c, "session.updated"), "session");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.output.format"), "type"), ==, "audio/pcm");
  g_assert_null (path_object (session, "audio.input.noise_reduction"));
  g_assert_cmpfloat (json_object_get_double_member (path_object (session, "audio.output"), "speed"), ==, 1.0);
  g_assert_false (json_object_has_member (session, "temperature"));
  g_assert_cmpuint (count_between (c, "session.updated", 0, c->events->len), ==, 1);
  client_free (c);
  mock_stop (m);
}

/* session.reasoning: checked against RealtimeReasoningEffort, echoed in
 * session.updated, and refused for a model that does not reason. */
static void
test_reasoning (void)
{
  Mock *m = mock_start (NULL);
  Client *c = client_connect_full (m, "/v1/realtime?model=gpt-realtime-2.1",
      "Authorization: Bearer test-key", NULL);
  JsonObject *session;

  g_assert_no_error (c->error);
  client_wait (c, "session.created");
  client_send (c, UPDATE ("{\"type\":\"realtime\",\"reasoning\":{\"effort\":\"high\"}}"));
  session = json_object_get_object_member (client_wait (c, "session.updated"), "session");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "reasoning"), "effort"), ==,
      "high");
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_effort\",\"session\":"
      "{\"type\":\"realtime\",\"reasoning\":{\"effort\":\"extreme\"}}}");
  assert_error (client_wait (c, "error"), "invalid_value", "session.reasoning.effort", "evt_effort",
      "Invalid value: 'extreme'. Supported values are: 'minimal', 'low', 'medium', 'high', "
      "and 'xhigh'.");
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_summary\",\"session\":"
      "{\"type\":\"realtime\",\"reasoning\":{\"effort\":\"low\",\"summary\":\"auto\"}}}");
  assert_error (client_wait (c, "error"), "unknown_parameter", "session.reasoning.summary",
      "evt_summary", NULL);
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_type\",\"session\":"
      "{\"type\":\"realtime\",\"reasoning\":\"high\"}}");
  assert_error (client_wait (c, "error"), "invalid_type", "session.reasoning", "evt_type", NULL);
  /* the rejected updates changed nothing */
  client_send (c, UPDATE ("{\"type\":\"realtime\"}"));
  session = json_object_get_object_member (client_wait (c, "session.updated"), "session");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "reasoning"), "effort"), ==,
      "high");
  client_free (c);

  /* gpt-realtime does not reason */
  c = client_connect (m);
  client_wait (c, "session.created");
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_model\",\"session\":"
      "{\"type\":\"realtime\",\"reasoning\":{\"effort\":\"low\"}}}");
  assert_error (client_wait (c, "error"), "unsupported_parameter", "session.reasoning", "evt_model",
      "Unsupported parameter: 'session.reasoning' is not supported with this model (gpt-realtime).");
  client_send (c, UPDATE ("{\"type\":\"realtime\"}"));
  session = json_object_get_object_member (client_wait (c, "session.updated"), "session");
  g_assert_false (json_object_has_member (session, "reasoning"));
  client_free (c);
  mock_stop (m);
}

static void
test_reject_sessions (void)
{
  Mock *m = mock_start ("--reject-sessions", NULL);
  Client *c = client_connect (m);

  client_wait (c, "session.created");
  client_send (c, PCMU_SESSION (""));
  assert_error (client_wait (c, "error"), "invalid_value", "session", "evt_update", NULL);
  client_free (c);
  mock_stop (m);
}

static void
test_beta_header (void)
{
  Mock *m = mock_start (NULL);
  Client *c = client_connect_full (m, "/v1/realtime?model=gpt-realtime",
      "Authorization: Bearer test-key", "OpenAI-Beta: realtime=v1");

  g_assert_no_error (c->error);
  assert_error (client_wait (c, "error"), "beta_api_shape_disabled", NULL, NULL, NULL);
  g_assert_true (iterate_until (&c->closed, 3000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c->ws), ==, 4000);
  g_assert_cmpuint (count_between (c, "session.created", 0, c->events->len), ==, 0);
  client_free (c);
  mock_stop (m);
}

typedef struct {
  const char *in_type, *in_encoder, *out_type, *out_caps, *out_decoder;
  guint in_bpms, out_bpms;
} FormatCase;

static const FormatCase format_cases[] = {
  { "{\"type\":\"audio/pcmu\"}", "mulawenc", "{\"type\":\"audio/pcmu\"}",
    "audio/x-mulaw,rate=8000,channels=1", "mulawdec", 8, 8 },
  { "{\"type\":\"audio/pcma\"}", "alawenc", "{\"type\":\"audio/pcm\",\"rate\":24000}",
    "audio/x-raw,format=S16LE,layout=interleaved,rate=24000,channels=1", "", 8, 48 },
  { "{\"type\":\"audio/pcm\",\"rate\":24000}", "", "{\"type\":\"audio/pcma\"}",
    "audio/x-alaw,rate=8000,channels=1", "alawdec", 48, 8 },
};

/* 1 s of tone then 1 s of silence: a turn, a response in the output format,
 * in echo mode as long as the speech. */
static void
test_vad_echo (gconstpointer data)
{
  const FormatCase *fc = data;
  Mock *m = mock_start ("--mode", "echo", NULL);
  Client *c = client_connect (m);
  g_autoptr (GBytes) tone = make_audio ("sine", 1000, fc->in_encoder);
  g_autoptr (GBytes) silence = make_audio ("silence", 1000, fc->in_encoder);
  g_autoptr (GBytes) reply = NULL;
  g_autofree char *update = g_strdup_printf (UPDATE ("{\"type\":\"realtime\",\"audio\":{\"input\":"
      "{\"format\":%s,\"transcription\":{\"model\":\"gpt-4o-transcribe\"}},\"output\":{\"format\":%s}}}"),
      fc->in_type, fc->out_type);
  JsonObject *started, *stopped, *committed, *done, *transcription;
  const char *item_id;

  client_wait (c, "session.created");
  client_send (c, update);
  client_wait (c, "session.updated");
  append_audio (c, tone, fc->in_bpms);
  append_audio (c, silence, fc->in_bpms);
  started = client_wait (c, "input_audio_buffer.speech_started");
  g_assert_cmpint (json_object_get_int_member (started, "audio_start_ms"), ==, 0);
  item_id = json_object_get_string_member (started, "item_id");
  stopped = client_wait (c, "input_audio_buffer.speech_stopped");
  g_assert_cmpstr (json_object_get_string_member (stopped, "item_id"), ==, item_id);
  g_assert_cmpint (json_object_get_int_member (stopped, "audio_end_ms"), >=, 990);
  g_assert_cmpint (json_object_get_int_member (stopped, "audio_end_ms"), <=, 1010);
  committed = client_wait (c, "input_audio_buffer.committed");
  g_assert_cmpstr (json_object_get_string_member (committed, "item_id"), ==, item_id);
  transcription = client_wait (c, "conversation.item.input_audio_transcription.completed");
  g_assert_cmpstr (json_object_get_string_member (transcription, "transcript"), ==, "caller turn 1");

  reply = collect_response (c, &done);
  g_assert_cmpstr (json_object_get_string_member (
      json_object_get_object_member (done, "response"), "status"), ==, "completed");
  g_assert_cmpuint (g_bytes_get_size (reply) / fc->out_bpms, >=, 900);
  g_assert_cmpuint (g_bytes_get_size (reply) / fc->out_bpms, <=, 1100);
  /* it decodes, in the session's output format, to the caller's tone */
  g_assert_cmpfloat (decoded_rms (reply, fc->out_caps, fc->out_decoder), >, 5000.0);
  client_wait (c, "rate_limits.updated");
  client_free (c);
  mock_stop (m);
}

/* One pcmu session with a completed echo response of 1 s; returns its item. */
static char *
one_turn (Client *c)
{
  g_autoptr (GBytes) tone = make_audio ("sine", 1000, "mulawenc");
  g_autoptr (GBytes) silence = make_audio ("silence", 700, "mulawenc");
  g_autoptr (GBytes) reply = NULL;
  JsonObject *done, *item;

  client_wait (c, "session.created");
  client_send (c, PCMU_SESSION (""));
  client_wait (c, "session.updated");
  append_audio (c, tone, 8);
  append_audio (c, silence, 8);
  reply = collect_response (c, &done);
  item = json_array_get_object_element (json_object_get_array_member (
      json_object_get_object_member (done, "response"), "output"), 0);
  return g_strdup (json_object_get_string_member (item, "id"));
}

static void
test_truncate (void)
{
  Mock *m = mock_start (NULL);
  Client *c = client_connect (m);
  g_autofree char *item = one_turn (c);
  g_autofree char *past = g_strdup_printf ("{\"type\":\"conversation.item.truncate\",\"event_id\":"
      "\"evt_past\",\"item_id\":\"%s\",\"content_index\":0,\"audio_end_ms\":5000}", item);
  g_autofree char *within = g_strdup_printf ("{\"type\":\"conversation.item.truncate\",\"event_id\":"
      "\"evt_within\",\"item_id\":\"%s\",\"content_index\":0,\"audio_end_ms\":400}", item);
  JsonObject *err, *truncated;
  const char *message;

  client_send (c, past);
  err = client_wait (c, "error");
  assert_error (err, "invalid_value", "audio_end_ms", "evt_past", NULL);
  message = json_object_get_string_member (json_object_get_object_member (err, "error"), "message");
  g_assert_true (g_str_has_prefix (message, "Audio content of "));
  g_assert_true (g_str_has_suffix (message, "ms is already shorter than 5000ms"));

  client_send (c, "{\"type\":\"conversation.item.truncate\",\"event_id\":\"evt_none\","
      "\"item_id\":\"item_nope\",\"content_index\":0,\"audio_end_ms\":10}");
  assert_error (client_wait (c, "error"), "invalid_value", "item_id", "evt_none", NULL);

  client_send (c, within);
  truncated = client_wait (c, "conversation.item.truncated");
  g_assert_cmpstr (json_object_get_string_member (truncated, "item_id"), ==, item);
  g_assert_cmpint (json_object_get_int_member (truncated, "audio_end_ms"), ==, 400);
  client_free (c);
  mock_stop (m);
}

static void
test_cancel (void)
{
  Mock *m = mock_start ("--mode", "tone", "--first-delta-delay-ms", "1000", NULL);
  Client *c = client_connect (m);
  JsonObject *done;
  guint start;

  client_wait (c, "session.created");
  client_send (c, "{\"type\":\"response.cancel\",\"event_id\":\"evt_cancel0\"}");
  assert_error (client_wait (c, "error"), "response_cancel_not_active", NULL, "evt_cancel0", NULL);

  client_send (c, UPDATE ("{\"type\":\"realtime\",\"audio\":{\"input\":{\"turn_detection\":null}}}"));
  client_wait (c, "session.updated");
  client_send (c, "{\"type\":\"response.create\",\"event_id\":\"evt_greet\",\"response\":"
      "{\"instructions\":\"Say hello\"}}");
  client_wait (c, "response.created");
  start = c->cursor;
  client_send (c, "{\"type\":\"response.cancel\",\"event_id\":\"evt_cancel1\"}");
  done = json_object_get_object_member (client_wait (c, "response.done"), "response");
  g_assert_cmpstr (json_object_get_string_member (done, "status"), ==, "cancelled");
  g_assert_cmpstr (json_object_get_string_member (path_object (done, "status_details"), "reason"), ==,
      "client_cancelled");
  g_assert_cmpuint (count_between (c, "response.output_audio.delta", start, c->cursor), ==, 0);
  client_free (c);
  mock_stop (m);
}

/* Speech while a response is being delivered cancels it (turn_detected). */
static void
test_barge_in (void)
{
  Mock *m = mock_start ("--first-delta-delay-ms", "3000", NULL);
  Client *c = client_connect (m);
  g_autoptr (GBytes) tone = make_audio ("sine", 600, "mulawenc");
  g_autoptr (GBytes) silence = make_audio ("silence", 600, "mulawenc");
  JsonObject *done;

  client_wait (c, "session.created");
  client_send (c, PCMU_SESSION (""));
  client_wait (c, "session.updated");
  append_audio (c, tone, 8);
  append_audio (c, silence, 8);
  client_wait (c, "response.created");
  append_audio (c, tone, 8);
  client_wait (c, "input_audio_buffer.speech_started");
  done = json_object_get_object_member (client_wait (c, "response.done"), "response");
  g_assert_cmpstr (json_object_get_string_member (done, "status"), ==, "cancelled");
  g_assert_cmpstr (json_object_get_string_member (path_object (done, "status_details"), "reason"), ==,
      "turn_detected");
  client_free (c);
  mock_stop (m);
}

static void
test_function_call (void)
{
  Mock *m = mock_start ("--function-call-turn", "1", "--function-name", "get_weather",
      "--function-args", "{\"city\":\"Paris\"}", NULL);
  Client *c = client_connect (m);
  g_autoptr (GBytes) tone = make_audio ("sine", 300, "mulawenc");
  g_autoptr (GBytes) reply = NULL;
  g_autofree char *output = NULL;
  JsonObject *args, *done;

  client_wait (c, "session.created");
  client_send (c, PCMU_SESSION (",\"turn_detection\":null"));
  client_wait (c, "session.updated");
  append_audio (c, tone, 8);
  client_send (c, "{\"type\":\"input_audio_buffer.commit\",\"event_id\":\"evt_commit\"}");
  client_wait (c, "input_audio_buffer.committed");
  client_send (c, "{\"type\":\"response.create\",\"event_id\":\"evt_resp1\"}");
  args = client_wait (c, "response.function_call_arguments.done");
  g_assert_cmpstr (json_object_get_string_member (args, "name"), ==, "get_weather");
  g_assert_cmpstr (json_object_get_string_member (args, "arguments"), ==, "{\"city\":\"Paris\"}");
  done = json_object_get_object_member (client_wait (c, "response.done"), "response");
  g_assert_cmpstr (json_object_get_string_member (done, "status"), ==, "completed");

  output = g_strdup_printf ("{\"type\":\"conversation.item.create\",\"event_id\":\"evt_out\",\"item\":"
      "{\"type\":\"function_call_output\",\"call_id\":\"%s\",\"output\":\"{\\\"temp\\\":21}\"}}",
      json_object_get_string_member (args, "call_id"));
  client_send (c, output);
  client_wait (c, "conversation.item.added");
  client_send (c, "{\"type\":\"response.create\",\"event_id\":\"evt_resp2\"}");
  reply = collect_response (c, &done);
  g_assert_cmpuint (g_bytes_get_size (reply) / 8, >=, 250);
  client_free (c);
  mock_stop (m);
}

#define TOOL(name) "{\"type\":\"function\",\"name\":\"" name "\",\"parameters\":{\"type\":\"object\"}}"

/* One push-to-talk turn and the response to it (turn_detection null). */
static GBytes *
push_to_talk_turn (Client *c, const char *update, JsonObject **done)
{
  g_autoptr (GBytes) tone = make_audio ("sine", 300, "mulawenc");

  client_wait (c, "session.created");
  client_send (c, update);
  client_wait (c, "session.updated");
  append_audio (c, tone, 8);
  client_send (c, "{\"type\":\"input_audio_buffer.commit\",\"event_id\":\"evt_commit\"}");
  client_wait (c, "input_audio_buffer.committed");
  client_send (c, "{\"type\":\"response.create\",\"event_id\":\"evt_resp\"}");
  return collect_response (c, done);
}

/* --end-call-turn/--transfer-call-turn: the answer to that turn speaks, then
 * calls the tool in the same response; only a tool the session offers. */
static void
test_end_call_turn (void)
{
  Mock *m = mock_start ("--end-call-turn", "1", "--transfer-call-turn", "1", NULL);
  Client *c = client_connect (m);
  g_autoptr (GBytes) audio = NULL;
  JsonObject *done, *call;
  JsonArray *output;
  guint delta;

  /* the session offers transfer_call only: that is the one called */
  audio = push_to_talk_turn (c, UPDATE ("{\"type\":\"realtime\",\"tools\":[" TOOL ("transfer_call") "],"
          "\"audio\":{\"input\":{\"format\":{\"type\":\"audio/pcmu\"},\"turn_detection\":null},"
          "\"output\":{\"format\":{\"type\":\"audio/pcmu\"}}}}"), &done);
  g_assert_cmpuint (g_bytes_get_size (audio) / 8, >=, 250);
  done = json_object_get_object_member (done, "response");
  g_assert_cmpstr (json_object_get_string_member (done, "status"), ==, "completed");
  output = json_object_get_array_member (done, "output");
  g_assert_cmpuint (json_array_get_length (output), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (output, 0), "type"), ==,
      "message");
  call = json_array_get_object_element (output, 1);
  g_assert_cmpstr (json_object_get_string_member (call, "type"), ==, "function_call");
  g_assert_cmpstr (json_object_get_string_member (call, "name"), ==, "transfer_call");
  g_assert_cmpstr (json_object_get_string_member (call, "arguments"), ==,
      "{\"reason\":\"the caller asked for a person\"}");
  /* the call comes after the last audio delta, as output 1 */
  for (delta = 0; delta < c->events->len; delta++)
    if (g_str_equal (json_object_get_string_member (c->events->pdata[delta], "type"),
            "response.function_call_arguments.done"))
      break;
  g_assert_cmpuint (delta, <, c->events->len);
  g_assert_cmpint (json_object_get_int_member (c->events->pdata[delta], "output_index"), ==, 1);
  g_assert_cmpuint (count_between (c, "response.output_audio.delta", delta, c->events->len), ==, 0);
  client_free (c);

  /* no tool offered: a plain answer */
  c = client_connect (m);
  g_clear_pointer (&audio, g_bytes_unref);
  audio = push_to_talk_turn (c, PCMU_SESSION (",\"turn_detection\":null"), &done);
  g_assert_cmpuint (g_bytes_get_size (audio), >, 0);
  output = json_object_get_array_member (json_object_get_object_member (done, "response"), "output");
  g_assert_cmpuint (json_array_get_length (output), ==, 1);
  client_free (c);
  mock_stop (m);
}

static void
test_manual_errors (void)
{
  Mock *m = mock_start (NULL);
  Client *c = client_connect (m);

  client_wait (c, "session.created");
  client_send (c, "{\"type\":\"input_audio_buffer.commit\",\"event_id\":\"evt_empty\"}");
  assert_error (client_wait (c, "error"), "input_audio_buffer_commit_empty", NULL, "evt_empty", NULL);
  client_send (c, "{\"type\":\"input_audio_buffer.append\",\"event_id\":\"evt_b64\",\"audio\":\"@@@\"}");
  assert_error (client_wait (c, "error"), "invalid_value", "audio", "evt_b64", NULL);
  client_send (c, "{\"type\":\"response.audio.delta\",\"event_id\":\"evt_type\"}");
  assert_error (client_wait (c, "error"), "invalid_value", "type", "evt_type", NULL);
  client_send (c, "not json at all");
  client_wait (c, "error");
  client_send (c, "{\"type\":\"input_audio_buffer.clear\",\"event_id\":\"evt_clear\"}");
  client_wait (c, "input_audio_buffer.cleared");
  client_send (c, "{\"type\":\"conversation.item.create\",\"event_id\":\"evt_text\",\"item\":"
      "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}}");
  client_wait (c, "conversation.item.added");
  client_wait (c, "conversation.item.done");
  client_free (c);
  mock_stop (m);
}

/* A client sending garbage does not disturb another session. */
static void
test_sessions_independent (void)
{
  Mock *m = mock_start (NULL);
  Client *good = client_connect (m), *bad = client_connect (m);
  g_autoptr (GBytes) junk = g_bytes_new_static ("\x00\x01\x02", 3);
  g_autofree char *item = NULL;

  client_wait (bad, "session.created");
  soup_websocket_connection_send_binary (bad->ws, "\x00\x01\x02", 3);
  client_send (bad, "{\"type\":");
  client_send (bad, PCMU_SESSION (",\"temperature\":1"));
  item = one_turn (good);
  g_assert_nonnull (item);
  client_wait (bad, "error");
  client_free (bad);
  client_free (good);
  mock_stop (m);
}

static void
test_close_faults (void)
{
  Mock *m = mock_start ("--close-after", "300", NULL);
  Client *c = client_connect (m);

  client_wait (c, "session.created");
  g_assert_true (iterate_until (&c->closed, 3000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c->ws), ==, 1000);
  client_free (c);
  mock_stop (m);

  m = mock_start ("--session-max", "300", NULL);
  c = client_connect (m);
  client_wait (c, "session.created");
  assert_error (client_wait (c, "error"), "session_expired", NULL, NULL, NULL);
  g_assert_true (iterate_until (&c->closed, 3000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c->ws), ==, 1001);
  client_free (c);
  mock_stop (m);
}

/* --stall-after: the mock answers nothing for --stall-for ms, closes
 * nothing, then goes on; --drop-mid-response: the socket goes after the
 * response's first delta, with no close frame and no response.done. */
static void
test_liveness_faults (void)
{
  Mock *m = mock_start ("--stall-after", "200", "--stall-for", "1500", NULL);
  Client *c = client_connect (m);
  g_autoptr (GBytes) tone = make_audio ("sine", 1000, "mulawenc");
  g_autoptr (GBytes) silence = make_audio ("silence", 700, "mulawenc");
  gint64 sent, answered;
  guint index;

  client_wait (c, "session.created");
  g_usleep (400000);            /* into the stall */
  sent = g_get_monotonic_time ();
  client_send (c, PCMU_SESSION (""));
  client_wait (c, "session.updated");
  answered = g_get_monotonic_time ();
  g_assert_cmpint ((answered - sent) / 1000, >=, 1000);
  g_assert_false (c->closed);
  client_free (c);
  mock_stop (m);

  m = mock_start ("--drop-mid-response", "1", NULL);
  c = client_connect (m);
  client_wait (c, "session.created");
  client_send (c, PCMU_SESSION (""));
  client_wait (c, "session.updated");
  append_audio (c, tone, 8);
  append_audio (c, silence, 8);
  client_wait (c, "response.output_audio.delta");
  g_assert_true (iterate_until (&c->closed, 3000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c->ws), !=, 1000);
  g_assert_false (has_event (c, "response.done", &index));
  client_free (c);
  mock_stop (m);
}

static void
test_wss (void)
{
  g_autofree char *cert = g_build_filename (g_getenv ("GTR_TESTS_DATA"), "tls", "server.pem", NULL);
  g_autofree char *key = g_build_filename (g_getenv ("GTR_TESTS_DATA"), "tls", "server.key", NULL);
  Mock *m = mock_start ("--tls-cert", cert, "--tls-key", key, "--api-key", "other-key", NULL);
  Client *c;

  g_assert_true (m->tls);
  g_assert_cmpuint (http_status_of (m, "/v1/realtime", "Authorization: Bearer test-key"), ==, 401);
  c = client_connect_full (m, "/v1/realtime?model=gpt-realtime", "Authorization: Bearer other-key", NULL);
  g_assert_no_error (c->error);
  client_wait (c, "session.created");
  client_free (c);
  mock_stop (m);
}

static void
test_malformed_frames (void)
{
  Mock *m = mock_start ("--malformed-frames", NULL);
  Client *c = client_connect (m);

  client_wait (c, "session.created");
  client_send (c, PCMU_SESSION (""));
  client_send (c, UPDATE ("{\"type\":\"realtime\"}"));
  client_send (c, UPDATE ("{\"type\":\"realtime\"}"));
  client_send (c, UPDATE ("{\"type\":\"realtime\"}"));
  client_send (c, UPDATE ("{\"type\":\"realtime\"}"));
  client_send (c, UPDATE ("{\"type\":\"realtime\"}"));
  client_wait (c, "mock.unknown_event");
  g_assert_cmpuint (count_between (c, "(not json)", 0, c->events->len), >=, 1);
  client_free (c);
  mock_stop (m);
}

/* The next event of `type`, or NULL if none came within `timeout_ms`. */
static JsonObject *
client_wait_within (Client *c, const char *type, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;
  guint index;

  while (!has_event (c, type, &index)) {
    if (g_get_monotonic_time () > end)
      return NULL;
    g_main_context_iteration (NULL, FALSE) || (g_usleep (100), TRUE);
  }
  c->cursor = index + 1;
  return c->events->pdata[index];
}

/* One 20 ms μ-law frame whose every byte says which frame it is. */
static char *
loopback_append (guint n, char **b64)
{
  guint8 frame[160];

  for (guint i = 0; i < sizeof frame; i++)
    frame[i] = (guint8) (n * 7 + i);
  *b64 = g_base64_encode (frame, sizeof frame);
  return g_strdup_printf ("{\"type\":\"input_audio_buffer.append\",\"event_id\":\"evt_loop_%u\","
      "\"audio\":\"%s\"}", n, *b64);
}

/* --mode loopback: each append comes straight back as one delta of the
 * session's one response, the same bytes; a cancel ends the response and
 * the next append opens another. */
static void
test_loopback (void)
{
  Mock *m = mock_start ("--mode", "loopback", NULL);
  Client *c = client_connect (m);
  JsonObject *created, *added, *done;
  g_autofree char *response_id = NULL, *item_id = NULL;
  guint start;

  client_wait (c, "session.created");
  client_send (c, PCMU_SESSION (""));
  client_wait (c, "session.updated");
  start = c->cursor;
  for (guint n = 0; n < 20; n++) {
    g_autofree char *b64 = NULL;
    g_autofree char *append = loopback_append (n, &b64);
    JsonObject *delta;

    g_assert_cmpuint (count_between (c, "response.output_audio.delta", start, c->events->len), ==, n);
    client_send (c, append);
    /* at once: no think time, no pacing (the bound is for a loaded machine) */
    delta = client_wait_within (c, "response.output_audio.delta", 2000);
    g_assert_nonnull (delta);
    g_assert_cmpstr (json_object_get_string_member (delta, "delta"), ==, b64);
    if (n == 0) {
      response_id = g_strdup (json_object_get_string_member (delta, "response_id"));
      item_id = g_strdup (json_object_get_string_member (delta, "item_id"));
    }
    g_assert_cmpstr (json_object_get_string_member (delta, "response_id"), ==, response_id);
    g_assert_cmpstr (json_object_get_string_member (delta, "item_id"), ==, item_id);
  }
  /* one response, one assistant item, announced before the first delta */
  g_assert_cmpuint (count_between (c, "response.created", start, c->cursor), ==, 1);
  created = json_object_get_object_member (c->events->pdata[start], "response");
  g_assert_cmpstr (json_object_get_string_member (c->events->pdata[start], "type"), ==, "response.created");
  g_assert_cmpstr (json_object_get_string_member (created, "id"), ==, response_id);
  added = c->events->pdata[start + 1];
  g_assert_cmpstr (json_object_get_string_member (added, "type"), ==, "response.output_item.added");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (added, "item"), "id"), ==, item_id);
  g_assert_cmpuint (count_between (c, "input_audio_buffer.speech_started", start, c->cursor), ==, 0);
  g_assert_cmpuint (count_between (c, "response.output_audio_transcript.delta", start, c->cursor), ==, 0);

  client_send (c, "{\"type\":\"response.cancel\",\"event_id\":\"evt_cancel\"}");
  done = json_object_get_object_member (client_wait (c, "response.done"), "response");
  g_assert_cmpstr (json_object_get_string_member (done, "id"), ==, response_id);
  g_assert_cmpstr (json_object_get_string_member (done, "status"), ==, "cancelled");
  {
    g_autofree char *b64 = NULL;
    g_autofree char *append = loopback_append (99, &b64);

    client_send (c, append);
    created = json_object_get_object_member (client_wait (c, "response.created"), "response");
    g_assert_cmpstr (json_object_get_string_member (created, "id"), !=, response_id);
    g_assert_cmpstr (json_object_get_string_member (client_wait (c, "response.output_audio.delta"), "delta"), ==, b64);
  }
  client_free (c);
  mock_stop (m);
}

/* Bytes passed through cannot change format: a session.update that would
 * make input and output differ is refused and changes nothing. */
static void
test_loopback_formats (void)
{
  Mock *m = mock_start ("--mode", "loopback", NULL);
  Client *c = client_connect (m);
  JsonObject *session;

  client_wait (c, "session.created");
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_mixed\",\"session\":"
      "{\"type\":\"realtime\",\"audio\":{\"input\":{\"format\":{\"type\":\"audio/pcmu\"}}}}}");
  assert_error (client_wait (c, "error"), "invalid_value", "session.audio.output.format", "evt_mixed",
      "realtime-mock --mode loopback sends the input audio back as it came: "
      "'session.audio.output.format' must be the same as 'session.audio.input.format'.");
  client_send (c, UPDATE ("{\"type\":\"realtime\"}"));
  session = json_object_get_object_member (client_wait (c, "session.updated"), "session");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.input.format"), "type"), ==, "audio/pcm");
  g_assert_cmpuint (count_between (c, "session.updated", 0, c->events->len), ==, 1);
  client_free (c);
  mock_stop (m);
}

/* ---------- GPT-Live (/v1/live/sessions) ---------- */

#define LIVE_START(session_json) \
  "{\"type\":\"session.start\",\"event_id\":\"evt_start\",\"session\":" session_json "}"
#define LIVE_PCMU "{\"model\":\"gpt-live-1\",\"audio\":{\"format\":{\"type\":\"audio/pcmu\",\"rate\":8000}}}"

typedef struct {
  const char *format_json;   /* session.audio.format */
  const char *encoder;       /* after audiotestsrc ! S16LE at `rate`: "mulawenc", "alawenc", "" */
  guint rate, bytes_per_ms;
} LiveFormatCase;

static const LiveFormatCase live_pcmu = { "{\"type\":\"audio/pcmu\",\"rate\":8000}", "mulawenc", 8000, 8 };
static const LiveFormatCase live_cases[] = {
  { "{\"type\":\"audio/pcmu\",\"rate\":8000}", "mulawenc", 8000, 8 },
  { "{\"type\":\"audio/pcma\",\"rate\":8000}", "alawenc", 8000, 8 },
  { "{\"type\":\"audio/pcm\",\"rate\":16000}", "", 16000, 32 },
  { "{\"type\":\"audio/pcm\",\"rate\":24000}", "", 24000, 48 },
};

/* `ms` of a 440 Hz tone (or silence) in a GPT-Live session format. */
static GBytes *
live_audio (const LiveFormatCase *fc, const char *wave, guint ms)
{
  g_autofree char *desc = g_strdup_printf ("audiotestsrc wave=%s freq=440 volume=0.5 "
      "samplesperbuffer=%u num-buffers=%u ! audio/x-raw,format=S16LE,rate=%u,channels=1 ! %s%s "
      "appsink name=out sync=false", wave, fc->rate / 100, ms / 10, fc->rate, fc->encoder,
      *fc->encoder ? " !" : "");
  g_autoptr (GstElement) pipeline = gst_parse_launch (desc, NULL);
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  GByteArray *out = g_byte_array_new ();
  GstSample *sample;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    GstMapInfo map;
    gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ);
    g_byte_array_append (out, map.data, map.size);
    gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return g_byte_array_free_to_bytes (out);
}

/* session.input_audio.append in 20 ms chunks (no event_id, as a client streams). */
static void
live_append (Client *c, GBytes *audio, guint bytes_per_ms)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (audio, &len);
  gsize chunk = 20 * bytes_per_ms;

  for (gsize off = 0; off < len; off += chunk) {
    g_autofree char *b64 = g_base64_encode (data + off, MIN (chunk, len - off));
    g_autofree char *json = g_strdup_printf ("{\"type\":\"session.input_audio.append\","
        "\"audio\":\"%s\"}", b64);
    client_send (c, json);
  }
}

static Client *
live_connect (Mock *m)
{
  Client *c = client_connect_full (m, "/v1/live/sessions", "Authorization: Bearer test-key", NULL);

  g_assert_no_error (c->error);
  return c;
}

/* session.start (evt_start) → session.started; returns its session. */
static JsonObject *
live_start (Client *c, const char *start)
{
  JsonObject *started;

  client_send (c, start);
  started = client_wait (c, "session.started");
  g_assert_cmpstr (json_object_get_string_member (started, "client_event_id"), ==, "evt_start");
  return json_object_get_object_member (started, "session");
}

/* GPT-Live's error shape: the cause is client_event_id, top level and inside. */
static void
assert_live_error (JsonObject *event, const char *code, const char *param,
    const char *client_event_id, const char *message)
{
  JsonObject *error = json_object_get_object_member (event, "error");

  g_assert_cmpstr (json_object_get_string_member (error, "type"), ==, "invalid_request_error");
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  if (param)
    g_assert_cmpstr (json_object_get_string_member_with_default (error, "param", NULL), ==, param);
  g_assert_cmpstr (json_object_get_string_member_with_default (event, "client_event_id", NULL), ==,
      client_event_id);
  g_assert_cmpstr (json_object_get_string_member_with_default (error, "client_event_id", NULL), ==,
      client_event_id);
  if (message)
    g_assert_cmpstr (json_object_get_string_member (error, "message"), ==, message);
}

/* The agent's audio (every delta) and output transcript (joined) up to the
 * next session.usage.updated, which ends a turn the agent finished. */
static GBytes *
live_collect_turn (Client *c, GString *transcript, guint *first_start_ms)
{
  guint start = c->cursor, end;
  GByteArray *audio = g_byte_array_new ();
  gboolean first = TRUE;

  client_wait (c, "session.usage.updated");
  end = c->cursor;
  for (guint i = start; i < end; i++) {
    JsonObject *e = c->events->pdata[i];
    const char *type = json_object_get_string_member (e, "type");

    if (g_str_equal (type, "session.output_audio.delta")) {
      gsize n;
      g_autofree guint8 *bytes = g_base64_decode (json_object_get_string_member (e, "delta"), &n);
      g_assert_false (json_object_has_member (e, "event_id"));
      g_assert_false (json_object_has_member (e, "start_ms"));
      g_byte_array_append (audio, bytes, n);
    } else if (g_str_equal (type, "session.output_transcript.delta")) {
      g_assert_cmpint (json_object_get_int_member (e, "end_ms"), >=,
          json_object_get_int_member (e, "start_ms"));
      if (first && first_start_ms)
        *first_start_ms = json_object_get_int_member (e, "start_ms");
      first = FALSE;
      if (transcript)
        g_string_append (transcript, json_object_get_string_member (e, "delta"));
    }
  }
  return g_byte_array_free_to_bytes (audio);
}

static void
assert_same_bytes (GBytes *got, GBytes *expected)
{
  g_assert_cmpuint (g_bytes_get_size (got), ==, g_bytes_get_size (expected));
  g_assert_true (g_bytes_equal (got, expected));
}

static void
test_live_handshake (void)
{
  Mock *m = mock_start (NULL);
  Client *c;
  JsonObject *session;
  guint index;

  g_assert_cmpuint (http_status_of (m, "/v1/live/sessions", NULL), ==, 401);
  g_assert_cmpuint (http_status_of (m, "/v1/live/sessions", "Authorization: Bearer wrong"), ==, 401);
  g_assert_cmpuint (http_status_of (m, "/openai/v1/live/sessions", "api-key: wrong"), ==, 401);
  g_assert_cmpuint (http_status_of (m, "/v1/live", "Authorization: Bearer test-key"), ==, 404);
  g_assert_cmpuint (http_status_of (m, "/v1/live/sessions/live_sess_1/attach",
          "Authorization: Bearer test-key"), ==, 404);
  /* the model goes in session.start, never in the URL */
  g_assert_cmpuint (http_status_of (m, "/v1/live/sessions?model=gpt-live-1",
          "Authorization: Bearer test-key"), ==, 400);

  /* OpenAI: Bearer; the server says nothing before session.start */
  c = live_connect (m);
  g_assert_false (has_event (c, "session.started", &index));
  session = live_start (c, LIVE_START (LIVE_PCMU));
  g_assert_cmpuint (c->cursor, ==, 1);   /* the first event */
  g_assert_cmpstr (json_object_get_string_member (session, "model"), ==, "gpt-live-1");
  client_free (c);

  /* Azure style: api-key, the model is a deployment name */
  c = client_connect_full (m, "/openai/v1/live/sessions", "api-key: test-key", NULL);
  g_assert_no_error (c->error);
  session = live_start (c, LIVE_START ("{\"model\":\"my-live-deployment\"}"));
  g_assert_cmpstr (json_object_get_string_member (session, "model"), ==, "my-live-deployment");
  client_free (c);

  /* a Realtime model is not served on OpenAI's Live path */
  c = live_connect (m);
  client_send (c, LIVE_START ("{\"model\":\"gpt-realtime\"}"));
  assert_live_error (client_wait (c, "error"), "invalid_model", "session.model", "evt_start", NULL);
  client_free (c);
  mock_stop (m);
}

/* Every session.start rejection, with its exact error, matched by
 * client_event_id; nothing starts until a valid one. */
static void
test_live_start_errors (void)
{
  Mock *m = mock_start (NULL);
  Client *c = live_connect (m);
  g_autoptr (GBytes) silence = live_audio (&live_pcmu, "silence", 20);
  g_autofree char *b64 = g_base64_encode (g_bytes_get_data (silence, NULL), g_bytes_get_size (silence));
  g_autofree char *early = g_strdup_printf ("{\"type\":\"session.input_audio.append\","
      "\"event_id\":\"evt_early\",\"audio\":\"%s\"}", b64);
  g_autofree char *early_anon = g_strdup_printf ("{\"type\":\"session.input_audio.append\","
      "\"audio\":\"%s\"}", b64);

  /* anything before session.start */
  client_send (c, early);
  assert_live_error (client_wait (c, "error"), "session_not_started", "type", "evt_early",
      "The session has not started: the first message must be session.start.");
  client_send (c, early_anon);
  assert_live_error (client_wait (c, "error"), "session_not_started", "type", NULL, NULL);
  /* Realtime's events are not GPT-Live's */
  client_send (c, "{\"type\":\"input_audio_buffer.append\",\"event_id\":\"evt_rt\",\"audio\":\"\"}");
  assert_live_error (client_wait (c, "error"), "invalid_value", "type", "evt_rt", NULL);

  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_temp\",\"session\":"
      "{\"model\":\"gpt-live-1\",\"temperature\":0.8}}");
  assert_live_error (client_wait (c, "error"), "unknown_parameter", "session.temperature", "evt_temp",
      "Unknown parameter: 'session.temperature'.");
  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_rtfmt\",\"session\":"
      "{\"model\":\"gpt-live-1\",\"audio\":{\"output\":{\"format\":{\"type\":\"audio/pcmu\"}}}}}");
  assert_live_error (client_wait (c, "error"), "unknown_parameter", "session.audio.output.format",
      "evt_rtfmt", "Unknown parameter: 'session.audio.output.format'.");
  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_fmt\",\"session\":"
      "{\"model\":\"gpt-live-1\",\"audio\":{\"format\":{\"type\":\"audio/g729\",\"rate\":8000}}}}");
  assert_live_error (client_wait (c, "error"), "invalid_value", "session.audio.format.type", "evt_fmt",
      "Invalid value: 'audio/g729'. Supported values are: 'audio/pcm', 'audio/pcmu', and 'audio/pcma'.");
  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_rate\",\"session\":"
      "{\"model\":\"gpt-live-1\",\"audio\":{\"format\":{\"type\":\"audio/pcm\",\"rate\":8000}}}}");
  assert_live_error (client_wait (c, "error"), "invalid_value", "session.audio.format.rate", "evt_rate",
      "Invalid value: 8000. Supported values are: 16000 and 24000.");
  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_norate\",\"session\":"
      "{\"model\":\"gpt-live-1\",\"audio\":{\"format\":{\"type\":\"audio/pcmu\"}}}}");
  assert_live_error (client_wait (c, "error"), "missing_required_parameter",
      "session.audio.format.rate", "evt_norate", "Missing required parameter: 'session.audio.format.rate'.");
  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_voice\",\"session\":"
      "{\"model\":\"gpt-live-1\",\"audio\":{\"output\":{\"voice\":\"nova\"}}}}");
  assert_live_error (client_wait (c, "error"), "invalid_value", "session.audio.output.voice",
      "evt_voice", NULL);
  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_deleg\",\"session\":"
      "{\"model\":\"gpt-live-1\",\"delegation\":{\"type\":\"server\"}}}");
  assert_live_error (client_wait (c, "error"), "invalid_value", "session.delegation.type",
      "evt_deleg", "Invalid value: 'server'. Supported values are: 'client' and 'responses'.");
  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_store\",\"session\":"
      "{\"model\":\"gpt-live-1\",\"store\":\"yes\"}}");
  assert_live_error (client_wait (c, "error"), "invalid_type", "session.store", "evt_store",
      "Invalid type for 'session.store': expected a boolean, but got a string instead.");
  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_nomodel\",\"session\":"
      "{\"instructions\":\"Be brief.\"}}");
  assert_live_error (client_wait (c, "error"), "missing_required_parameter", "session.model",
      "evt_nomodel", "Missing required parameter: 'session.model'.");
  g_assert_cmpuint (count_between (c, "session.started", 0, c->events->len), ==, 0);

  /* the first valid one starts the session; a second is refused */
  live_start (c, LIVE_START (LIVE_PCMU));
  client_send (c, "{\"type\":\"session.start\",\"event_id\":\"evt_again\",\"session\":"
      "{\"model\":\"gpt-live-1\"}}");
  assert_live_error (client_wait (c, "error"), "session_already_started", "type", "evt_again",
      "The session has already started: session.start is sent once, as the first message.");
  g_assert_cmpuint (count_between (c, "session.started", 0, c->events->len), ==, 1);
  client_free (c);
  mock_stop (m);
}

/* session.started: the configuration as given, the defaults filled in. */
static void
test_live_session_started (void)
{
  Mock *m = mock_start (NULL);
  Client *c = live_connect (m);
  JsonObject *session;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  session = live_start (c, LIVE_START ("{\"model\":\"gpt-live-1.1\",\"instructions\":\"Be brief.\","
      "\"audio\":{\"format\":{\"type\":\"audio/pcma\",\"rate\":8000},\"output\":{\"voice\":\"cedar\"}},"
      "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}]}"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (session, "id"), "live_sess_"));
  g_assert_cmpstr (json_object_get_string_member (session, "status"), ==, "active");
  g_assert_cmpint (json_object_get_int_member (session, "expires_at"), >, now);
  g_assert_cmpstr (json_object_get_string_member (session, "model"), ==, "gpt-live-1.1");
  g_assert_cmpstr (json_object_get_string_member (session, "instructions"), ==, "Be brief.");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.format"), "type"), ==, "audio/pcma");
  g_assert_cmpint (json_object_get_int_member (path_object (session, "audio.format"), "rate"), ==, 8000);
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.output"), "voice"), ==, "cedar");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (session, "input")), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "delegation"), "type"), ==, "client");
  g_assert_false (json_object_get_boolean_member (session, "store"));
  client_free (c);

  /* the bare minimum: every default */
  c = live_connect (m);
  session = live_start (c, LIVE_START ("{\"model\":\"gpt-live-1\"}"));
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.format"), "type"), ==, "audio/pcm");
  g_assert_cmpint (json_object_get_int_member (path_object (session, "audio.format"), "rate"), ==, 24000);
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.output"), "voice"), ==, "marin");
  g_assert_true (json_node_is_null (json_object_get_member (session, "instructions")));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (session, "input")), ==, 0);
  client_free (c);
  mock_stop (m);
}

/* 1 s of tone, 1 s of silence: the caller's transcript, then the agent says
 * the same bytes back, with its transcript after the caller's. */
static void
test_live_echo (gconstpointer data)
{
  const LiveFormatCase *fc = data;
  Mock *m = mock_start ("--transcript", "my sink is leaking", NULL);
  Client *c = live_connect (m);
  g_autoptr (GBytes) tone = live_audio (fc, "sine", 1000);
  g_autoptr (GBytes) silence = live_audio (fc, "silence", 1000);
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GString) said = g_string_new (NULL);
  g_autofree char *start = g_strdup_printf (LIVE_START ("{\"model\":\"gpt-live-1\","
      "\"audio\":{\"format\":%s}}"), fc->format_json);
  JsonObject *heard;
  guint agent_start = 0;

  live_start (c, start);
  live_append (c, tone, fc->bytes_per_ms);
  live_append (c, silence, fc->bytes_per_ms);
  heard = client_wait (c, "session.input_transcript.delta");
  g_assert_cmpstr (json_object_get_string_member (heard, "delta"), ==, "my sink is leaking");
  g_assert_cmpint (json_object_get_int_member (heard, "start_ms"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (heard, "end_ms"), ==, 1000);
  reply = live_collect_turn (c, said, &agent_start);
  assert_same_bytes (reply, tone);
  g_assert_cmpstr (said->str, ==, "my sink is leaking");
  g_assert_cmpint (agent_start, >=, 1000);
  client_free (c);
  mock_stop (m);
}

/* The caller talks over the agent: the audio stops (no event says so), the
 * unfinished turn gets no usage update, and the caller's new turn is
 * answered. */
static void
test_live_barge_in (void)
{
  Mock *m = mock_start (NULL);
  Client *c = live_connect (m);
  g_autoptr (GBytes) long_tone = live_audio (&live_pcmu, "sine", 2000);
  g_autoptr (GBytes) short_tone = live_audio (&live_pcmu, "sine", 300);
  g_autoptr (GBytes) silence = live_audio (&live_pcmu, "silence", 700);
  g_autoptr (GBytes) reply = NULL;
  gsize heard = 0;
  guint first, second;

  live_start (c, LIVE_START (LIVE_PCMU));
  live_append (c, long_tone, 8);
  live_append (c, silence, 8);
  client_wait (c, "session.input_transcript.delta");
  client_wait (c, "session.output_audio.delta");
  first = c->cursor - 1;
  live_append (c, short_tone, 8);
  live_append (c, silence, 8);
  g_assert_cmpstr (json_object_get_string_member (client_wait (c, "session.input_transcript.delta"),
          "delta"), ==, "caller turn 2");
  second = c->cursor - 1;
  for (guint i = first; i < second; i++) {
    JsonObject *e = c->events->pdata[i];
    const char *type = json_object_get_string_member (e, "type");
    if (g_str_equal (type, "session.output_audio.delta")) {
      gsize n;
      g_autofree guint8 *bytes = g_base64_decode (json_object_get_string_member (e, "delta"), &n);
      heard += n;
    } else {   /* nothing announces the interruption */
      g_assert_cmpstr (type, ==, "session.output_transcript.delta");
    }
  }
  g_assert_cmpuint (heard, <, g_bytes_get_size (long_tone));
  g_assert_cmpuint (count_between (c, "session.usage.updated", 0, second), ==, 0);
  /* the new turn is answered in full */
  reply = live_collect_turn (c, NULL, NULL);
  assert_same_bytes (reply, short_tone);
  client_free (c);
  mock_stop (m);
}

/* --function-call-turn under client delegation: the model hands the turn
 * off (session.delegation.created, no audio), the client's commentary with
 * the delegation id is the result the model speaks; text appends (DTMF as
 * text) are acknowledged on the timeline. */
static void
test_live_client_delegation (void)
{
  Mock *m = mock_start ("--function-call-turn", "1", "--function-name", "get_weather",
      "--function-args", "{\"city\":\"Paris\"}", NULL);
  Client *c = live_connect (m);
  g_autoptr (GBytes) tone = live_audio (&live_pcmu, "sine", 500);
  g_autoptr (GBytes) silence = live_audio (&live_pcmu, "silence", 700);
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GString) said = g_string_new (NULL);
  g_autofree char *result = NULL, *bad = NULL;
  JsonObject *created, *delegation, *acked;
  guint heard_at;

  live_start (c, LIVE_START (LIVE_PCMU));
  live_append (c, tone, 8);
  live_append (c, silence, 8);
  client_wait (c, "session.input_transcript.delta");
  heard_at = c->cursor;
  created = client_wait (c, "session.delegation.created");
  delegation = json_object_get_object_member (created, "delegation");
  g_assert_cmpstr (json_object_get_string_member (delegation, "type"), ==, "delegation");
  g_assert_cmpstr (json_object_get_string_member (delegation, "target"), ==, "client");
  g_assert_cmpint (json_object_get_int_member (created, "offset_ms"), >=, 500);
  g_assert_cmpuint (count_between (c, "session.output_audio.delta", heard_at, c->cursor), ==, 0);

  client_send (c, "{\"type\":\"session.thinking.append\",\"event_id\":\"evt_dtmf\","
      "\"content\":\"The caller pressed 5.\",\"delegation_id\":null}");
  acked = client_wait (c, "session.thinking.appended");
  g_assert_cmpstr (json_object_get_string_member (acked, "client_event_id"), ==, "evt_dtmf");
  g_assert_cmpint (json_object_get_int_member (acked, "end_ms"), >=,
      json_object_get_int_member (acked, "start_ms"));
  client_send (c, "{\"type\":\"session.instructions.append\",\"event_id\":\"evt_instr\","
      "\"content\":\"Keep it short.\",\"delegation_id\":null}");
  client_wait (c, "session.instructions.appended");
  client_send (c, "{\"type\":\"session.commentary.append\",\"event_id\":\"evt_unknown\","
      "\"content\":\"x\",\"delegation_id\":\"dlg_nope\"}");
  assert_live_error (client_wait (c, "error"), "invalid_value", "delegation_id", "evt_unknown",
      "Invalid 'delegation_id': 'dlg_nope' is not a client delegation of this session.");
  client_send (c, "{\"type\":\"response.create\",\"event_id\":\"evt_resp\"}");
  assert_live_error (client_wait (c, "error"), "unsupported_event", "type", "evt_resp", NULL);
  bad = g_strdup_printf ("{\"type\":\"session.commentary.append\",\"event_id\":\"evt_nodlg\","
      "\"content\":\"x\"}");
  client_send (c, bad);
  assert_live_error (client_wait (c, "error"), "missing_required_parameter", "delegation_id",
      "evt_nodlg", "Missing required parameter: 'delegation_id'.");

  result = g_strdup_printf ("{\"type\":\"session.commentary.append\",\"event_id\":\"evt_result\","
      "\"content\":\"It is 21 degrees in Paris.\",\"delegation_id\":\"%s\"}",
      json_object_get_string_member (delegation, "id"));
  client_send (c, result);
  acked = client_wait (c, "session.commentary.appended");
  g_assert_cmpstr (json_object_get_string_member (acked, "client_event_id"), ==, "evt_result");
  reply = live_collect_turn (c, said, NULL);
  g_assert_cmpstr (said->str, ==, "It is 21 degrees in Paris.");
  assert_same_bytes (reply, tone);
  client_free (c);
  mock_stop (m);
}

#define RESPONSES_SESSION "{\"model\":\"gpt-live-1\",\"audio\":{\"format\":{\"type\":\"audio/pcmu\"," \
  "\"rate\":8000}},\"delegation\":{\"type\":\"responses\",\"responses\":{\"model\":\"gpt-5-mini\"," \
  "\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}]}}}"

/* The nested Responses event of `type` among the next response.events. */
static JsonObject *
wait_nested (Client *c, const char *type)
{
  for (;;) {
    JsonObject *e = json_object_get_object_member (client_wait (c, "response.event"), "event");
    if (g_str_equal (json_object_get_string_member (e, "type"), type))
      return e;
  }
}

/* --function-call-turn under Responses delegation: the backend's function
 * call arrives nested in response.event; the result goes back with
 * response.item.create + response.create and the model speaks it.
 * session.update may change the backend, never the delegation type. */
static void
test_live_responses_call (void)
{
  Mock *m = mock_start ("--function-call-turn", "1", "--function-name", "get_weather",
      "--function-args", "{\"city\":\"Paris\"}", NULL);
  Client *c = live_connect (m);
  g_autoptr (GBytes) tone = live_audio (&live_pcmu, "sine", 400);
  g_autoptr (GBytes) silence = live_audio (&live_pcmu, "silence", 700);
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GString) said = g_string_new (NULL);
  g_autofree char *output = NULL, *dlg_id = NULL;
  JsonObject *created, *args, *item, *session;

  live_start (c, LIVE_START (RESPONSES_SESSION));
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_type\",\"session\":"
      "{\"delegation\":{\"type\":\"client\"}}}");
  assert_live_error (client_wait (c, "error"), "immutable_field_update", "session.delegation.type",
      "evt_type", NULL);
  client_send (c, "{\"type\":\"session.update\",\"event_id\":\"evt_backend\",\"session\":"
      "{\"delegation\":{\"type\":\"responses\",\"responses\":{\"instructions\":\"Use metric units.\"}}}}");
  session = json_object_get_object_member (client_wait (c, "session.updated"), "session");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "delegation.responses"),
          "instructions"), ==, "Use metric units.");
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "delegation.responses"),
          "model"), ==, "gpt-5-mini");

  live_append (c, tone, 8);
  live_append (c, silence, 8);
  created = client_wait (c, "session.delegation.created");
  g_assert_cmpstr (json_object_get_string_member (path_object (created, "delegation"), "target"), ==,
      "responses");
  dlg_id = g_strdup (json_object_get_string_member (path_object (created, "delegation"), "id"));
  args = wait_nested (c, "response.function_call_arguments.done");
  g_assert_cmpstr (json_object_get_string_member (args, "name"), ==, "get_weather");
  g_assert_cmpstr (json_object_get_string_member (args, "arguments"), ==, "{\"city\":\"Paris\"}");
  item = json_object_get_object_member (wait_nested (c, "response.output_item.done"), "item");
  g_assert_cmpstr (json_object_get_string_member (item, "type"), ==, "function_call");
  wait_nested (c, "response.completed");

  client_send (c, "{\"type\":\"response.item.create\",\"event_id\":\"evt_badcall\",\"item\":"
      "{\"type\":\"function_call_output\",\"call_id\":\"call_nope\",\"output\":\"x\"}}");
  assert_live_error (client_wait (c, "error"), "invalid_value", "item.call_id", "evt_badcall", NULL);
  output = g_strdup_printf ("{\"type\":\"response.item.create\",\"event_id\":\"evt_out\",\"item\":"
      "{\"type\":\"function_call_output\",\"call_id\":\"%s\",\"output\":\"21 degrees\"}}",
      json_object_get_string_member (item, "call_id"));
  client_send (c, output);
  client_send (c, "{\"type\":\"response.create\",\"event_id\":\"evt_continue\"}");
  g_assert_cmpstr (json_object_get_string_member (wait_nested (c, "response.output_text.delta"),
          "delta"), ==, "21 degrees");
  reply = live_collect_turn (c, said, NULL);
  g_assert_cmpstr (said->str, ==, "21 degrees");
  assert_same_bytes (reply, tone);
  client_free (c);
  mock_stop (m);
}

/* mute/unmute are acknowledged; session.close → session.closed with the
 * reason and the billed seconds, then the server closes (1000). */
static void
test_live_close (void)
{
  Mock *m = mock_start (NULL);
  Client *c = live_connect (m);
  JsonObject *closed;
  gint64 started;
  gdouble seconds, elapsed;

  live_start (c, LIVE_START (LIVE_PCMU));
  started = g_get_monotonic_time ();
  client_send (c, "{\"type\":\"session.input_audio.mute\",\"event_id\":\"evt_mute\"}");
  g_assert_cmpstr (json_object_get_string_member (client_wait (c, "session.input_audio.muted"),
          "client_event_id"), ==, "evt_mute");
  client_send (c, "{\"type\":\"session.input_audio.unmute\",\"event_id\":\"evt_unmute\"}");
  client_wait (c, "session.input_audio.unmuted");
  g_usleep (300000);
  client_send (c, "{\"type\":\"session.close\",\"event_id\":\"evt_close\"}");
  closed = client_wait (c, "session.closed");
  elapsed = (g_get_monotonic_time () - started) / 1e6;
  g_assert_cmpstr (json_object_get_string_member (closed, "client_event_id"), ==, "evt_close");
  g_assert_cmpstr (json_object_get_string_member (closed, "reason"), ==, "close_requested");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (
      json_object_get_object_member (closed, "session"), "id"), "live_sess_"));
  seconds = json_object_get_double_member (path_object (closed, "usage"), "seconds");
  g_assert_cmpfloat (seconds, >=, 0.3);
  g_assert_cmpfloat (seconds, <=, elapsed + 0.1);
  g_assert_true (iterate_until (&c->closed, 3000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c->ws), ==, 1000);
  client_free (c);
  mock_stop (m);
}

/* --reject-sessions, --live-wrong-format, --close-after, --session-max. */
static void
test_live_session_faults (void)
{
  Mock *m = mock_start ("--reject-sessions", NULL);
  Client *c = live_connect (m);
  g_autoptr (GBytes) tone = live_audio (&live_cases[3], "sine", 500);
  g_autoptr (GBytes) silence = live_audio (&live_cases[3], "silence", 700);
  g_autoptr (GBytes) reply = NULL;
  JsonObject *session, *closed;
  guint index;

  client_send (c, LIVE_START (LIVE_PCMU));
  assert_live_error (client_wait (c, "error"), "invalid_value", "session", "evt_start",
      "The session configuration was rejected (realtime-mock --reject-sessions).");
  g_assert_false (has_event (c, "session.started", &index));
  client_free (c);
  mock_stop (m);

  /* μ-law asked, PCM 24 kHz confirmed, and spoken */
  m = mock_start ("--live-wrong-format", NULL);
  c = live_connect (m);
  session = live_start (c, LIVE_START (LIVE_PCMU));
  g_assert_cmpstr (json_object_get_string_member (path_object (session, "audio.format"), "type"), ==, "audio/pcm");
  g_assert_cmpint (json_object_get_int_member (path_object (session, "audio.format"), "rate"), ==, 24000);
  live_append (c, tone, 48);
  live_append (c, silence, 48);
  reply = live_collect_turn (c, NULL, NULL);
  assert_same_bytes (reply, tone);
  client_free (c);
  mock_stop (m);

  m = mock_start ("--close-after", "300", NULL);
  c = live_connect (m);
  live_start (c, LIVE_START (LIVE_PCMU));
  g_assert_true (iterate_until (&c->closed, 3000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c->ws), ==, 1000);
  g_assert_false (has_event (c, "session.closed", &index));
  client_free (c);
  mock_stop (m);

  m = mock_start ("--session-max", "300", NULL);
  c = live_connect (m);
  session = live_start (c, LIVE_START (LIVE_PCMU));
  g_assert_cmpint (json_object_get_int_member (session, "expires_at"), <=,
      g_get_real_time () / G_USEC_PER_SEC + 2);
  closed = client_wait (c, "session.closed");
  g_assert_cmpstr (json_object_get_string_member (closed, "reason"), ==, "expired");
  g_assert_false (json_object_has_member (closed, "client_event_id"));
  g_assert_true (iterate_until (&c->closed, 3000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c->ws), ==, 1000);
  client_free (c);
  mock_stop (m);
}

/* --stall-after/--stall-for and --drop-mid-response on a GPT-Live session. */
static void
test_live_liveness_faults (void)
{
  Mock *m = mock_start ("--stall-after", "200", "--stall-for", "1500", NULL);
  Client *c = live_connect (m);
  g_autoptr (GBytes) tone = live_audio (&live_pcmu, "sine", 1000);
  g_autoptr (GBytes) silence = live_audio (&live_pcmu, "silence", 700);
  gint64 sent, answered;
  guint index;

  live_start (c, LIVE_START (LIVE_PCMU));
  g_usleep (400000);            /* into the stall */
  sent = g_get_monotonic_time ();
  client_send (c, "{\"type\":\"session.input_audio.mute\",\"event_id\":\"evt_mute\"}");
  client_wait (c, "session.input_audio.muted");
  answered = g_get_monotonic_time ();
  g_assert_cmpint ((answered - sent) / 1000, >=, 1000);
  g_assert_false (c->closed);
  client_free (c);
  mock_stop (m);

  /* the first delta waits until every append is read: a socket dropped
   * with unread input is reset, and the reset loses what was in flight */
  m = mock_start ("--drop-mid-response", "1", "--first-delta-delay-ms", "300", NULL);
  c = live_connect (m);
  live_start (c, LIVE_START (LIVE_PCMU));
  live_append (c, tone, 8);
  live_append (c, silence, 8);
  client_wait (c, "session.output_audio.delta");
  g_assert_true (iterate_until (&c->closed, 3000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c->ws), !=, 1000);
  g_assert_false (has_event (c, "session.usage.updated", &index));
  g_assert_false (has_event (c, "session.closed", &index));
  client_free (c);
  mock_stop (m);
}

/* --mode tone on GPT-Live: a 440 Hz tone as long as the turn, in the
 * session's format — μ-law through the encoder, PCM 16 kHz resampled. */
static void
test_live_tone (void)
{
  Mock *m = mock_start ("--mode", "tone", NULL);

  for (guint k = 0; k < 2; k++) {
    const LiveFormatCase *fc = k == 0 ? &live_cases[0] : &live_cases[2];
    Client *c = live_connect (m);
    g_autoptr (GBytes) tone = live_audio (fc, "sine", 500);
    g_autoptr (GBytes) silence = live_audio (fc, "silence", 700);
    g_autoptr (GBytes) reply = NULL;
    g_autofree char *start = g_strdup_printf (LIVE_START ("{\"model\":\"gpt-live-1\","
        "\"audio\":{\"format\":%s}}"), fc->format_json);
    gsize ms;

    live_start (c, start);
    live_append (c, tone, fc->bytes_per_ms);
    live_append (c, silence, fc->bytes_per_ms);
    reply = live_collect_turn (c, NULL, NULL);
    ms = g_bytes_get_size (reply) / fc->bytes_per_ms;
    g_assert_cmpuint (ms, >=, 480);
    g_assert_cmpuint (ms, <=, 520);
    g_assert_false (g_bytes_equal (reply, tone));   /* the mock's tone, not the caller's */
    if (k == 0)
      g_assert_cmpfloat (decoded_rms (reply, "audio/x-mulaw,rate=8000,channels=1", "mulawdec"), >, 5000.0);
    else
      g_assert_cmpfloat (decoded_rms (reply, "audio/x-raw,format=S16LE,layout=interleaved,"
          "rate=16000,channels=1", ""), >, 5000.0);
    client_free (c);
  }
  mock_stop (m);
}

/* --mode loopback: every append back at once as one delta, the same bytes. */
static void
test_live_loopback (void)
{
  Mock *m = mock_start ("--mode", "loopback", NULL);
  Client *c = live_connect (m);

  live_start (c, LIVE_START (LIVE_PCMU));
  for (guint n = 0; n < 10; n++) {
    g_autofree char *b64 = NULL;
    g_autofree char *append = loopback_append (n, &b64);
    g_autofree char *live = NULL;
    g_auto (GStrv) parts = g_strsplit (append, "\"audio\":\"", 2);
    JsonObject *delta;

    live = g_strdup_printf ("{\"type\":\"session.input_audio.append\",\"audio\":\"%s", parts[1]);
    client_send (c, live);
    delta = client_wait_within (c, "session.output_audio.delta", 2000);
    g_assert_nonnull (delta);
    g_assert_cmpstr (json_object_get_string_member (delta, "delta"), ==, b64);
  }
  client_free (c);
  mock_stop (m);
}

int
main (int argc, char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  if (!g_getenv ("GTR_REALTIME_MOCK")) {
    g_test_skip ("GTR_REALTIME_MOCK is not set (run under meson test)");
    return 0;
  }
  g_test_add_func ("/realtime-mock/handshake", test_handshake);
  g_test_add_func ("/realtime-mock/refusals-release", test_refusals_release);
  g_test_add_func ("/realtime-mock/connection-bounds", test_connection_bounds);
  g_test_add_func ("/realtime-mock/session-created", test_session_created);
  g_test_add_func ("/realtime-mock/session-update", test_session_update);
  g_test_add_func ("/realtime-mock/update-errors", test_update_errors);
  g_test_add_func ("/realtime-mock/reject-sessions", test_reject_sessions);
  g_test_add_func ("/realtime-mock/reasoning", test_reasoning);
  g_test_add_func ("/realtime-mock/beta-header", test_beta_header);
  g_test_add_data_func ("/realtime-mock/vad-echo/pcmu-pcmu", &format_cases[0], test_vad_echo);
  g_test_add_data_func ("/realtime-mock/vad-echo/pcma-pcm", &format_cases[1], test_vad_echo);
  g_test_add_data_func ("/realtime-mock/vad-echo/pcm-pcma", &format_cases[2], test_vad_echo);
  g_test_add_func ("/realtime-mock/truncate", test_truncate);
  g_test_add_func ("/realtime-mock/cancel", test_cancel);
  g_test_add_func ("/realtime-mock/barge-in", test_barge_in);
  g_test_add_func ("/realtime-mock/function-call", test_function_call);
  g_test_add_func ("/realtime-mock/end-call-turn", test_end_call_turn);
  g_test_add_func ("/realtime-mock/manual-errors", test_manual_errors);
  g_test_add_func ("/realtime-mock/sessions-independent", test_sessions_independent);
  g_test_add_func ("/realtime-mock/close-faults", test_close_faults);
  g_test_add_func ("/realtime-mock/liveness-faults", test_liveness_faults);
  g_test_add_func ("/realtime-mock/malformed-frames", test_malformed_frames);
  g_test_add_func ("/realtime-mock/wss", test_wss);
  g_test_add_func ("/realtime-mock/loopback", test_loopback);
  g_test_add_func ("/realtime-mock/loopback-formats", test_loopback_formats);
  g_test_add_func ("/realtime-mock/live/handshake", test_live_handshake);
  g_test_add_func ("/realtime-mock/live/start-errors", test_live_start_errors);
  g_test_add_func ("/realtime-mock/live/session-started", test_live_session_started);
  g_test_add_data_func ("/realtime-mock/live/echo/pcmu", &live_cases[0], test_live_echo);
  g_test_add_data_func ("/realtime-mock/live/echo/pcma", &live_cases[1], test_live_echo);
  g_test_add_data_func ("/realtime-mock/live/echo/pcm16k", &live_cases[2], test_live_echo);
  g_test_add_data_func ("/realtime-mock/live/echo/pcm24k", &live_cases[3], test_live_echo);
  g_test_add_func ("/realtime-mock/live/barge-in", test_live_barge_in);
  g_test_add_func ("/realtime-mock/live/client-delegation", test_live_client_delegation);
  g_test_add_func ("/realtime-mock/live/responses-call", test_live_responses_call);
  g_test_add_func ("/realtime-mock/live/close", test_live_close);
  g_test_add_func ("/realtime-mock/live/session-faults", test_live_session_faults);
  g_test_add_func ("/realtime-mock/live/liveness-faults", test_live_liveness_faults);
  g_test_add_func ("/realtime-mock/live/tone", test_live_tone);
  g_test_add_func ("/realtime-mock/live/loopback", test_live_loopback);
  ret = g_test_run ();
  gst_deinit ();   /* the leaks tracer (GST_TRACERS=leaks) checks here */
  return ret;
}
