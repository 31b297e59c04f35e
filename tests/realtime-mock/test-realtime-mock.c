/* realtime-mock's own behaviour, over real sockets on 127.0.0.1: the mock
 * runs as a subprocess (GTR_REALTIME_MOCK), a libsoup WebSocket client talks
 * to it, and every mock's event log is checked against the strict official
 * schema (GTR_VALIDATE_EVENT) when the mock stops. */
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

/* Splits the log into the server's events and the client events the mock
 * accepted (not named by an error), and validates both, strictly. */
static void
validate_log (Mock *m)
{
  g_autofree char *text = NULL, *server = g_build_filename (m->dir, "server.jsonl", NULL);
  g_autofree char *client = g_build_filename (m->dir, "client.jsonl", NULL);
  g_autoptr (GString) s = g_string_new (NULL), c = g_string_new (NULL);
  g_autoptr (GHashTable) rejected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) lines = NULL;
  g_autoptr (GPtrArray) in = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  g_assert_true (g_file_get_contents (m->log_path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++) {
    g_autoptr (JsonNode) node = json_from_string (lines[i], NULL);
    JsonObject *line = json_node_get_object (node);
    const char *dir = json_object_get_string_member (line, "dir");
    JsonObject *event;
    g_autofree char *event_text = NULL;

    g_assert_nonnull (node);
    if (!json_object_has_member (line, "event"))
      continue;
    event = json_object_get_object_member (line, "event");
    event_text = json_to_string (json_object_get_member (line, "event"), FALSE);
    if (g_str_equal (dir, "out")) {
      g_string_append_printf (s, "%s\n", event_text);
      if (g_str_equal (json_object_get_string_member (event, "type"), "error")) {
        JsonNode *id = json_object_get_member (json_object_get_object_member (event, "error"), "event_id");
        if (id && !JSON_NODE_HOLDS_NULL (id))
          g_hash_table_add (rejected, g_strdup (json_node_get_string (id)));
      }
    } else {
      g_ptr_array_add (in, json_node_copy (json_object_get_member (line, "event")));
    }
  }
  for (guint i = 0; i < in->len; i++) {
    JsonObject *event = json_node_get_object (in->pdata[i]);
    const char *id = json_object_get_string_member_with_default (event, "event_id", "");
    g_autofree char *t = json_to_string (in->pdata[i], FALSE);
    if (!g_hash_table_contains (rejected, id))
      g_string_append_printf (c, "%s\n", t);
  }
  g_assert_true (g_file_set_contents (server, s->str, -1, NULL));
  g_assert_true (g_file_set_contents (client, c->str, -1, NULL));
  for (guint pass = 0; pass < 2; pass++) {
    const char *argv[] = { g_getenv ("GTR_PYTHON3"), g_getenv ("GTR_VALIDATE_EVENT"),
      pass == 0 ? "--server" : client, pass == 0 ? server : NULL, NULL };
    g_autofree char *out = NULL;
    gint status = -1;
    g_autoptr (GError) error = NULL;

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error);
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, NULL))
      g_error ("%s events in %s do not validate:\n%s", pass == 0 ? "server" : "client", m->log_path, out);
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
  for (guint i = 0; i < 3; i++) {
    const char *names[] = { "events.jsonl", "server.jsonl", "client.jsonl" };
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
  g_test_add_func ("/realtime-mock/session-created", test_session_created);
  g_test_add_func ("/realtime-mock/session-update", test_session_update);
  g_test_add_func ("/realtime-mock/update-errors", test_update_errors);
  g_test_add_func ("/realtime-mock/reject-sessions", test_reject_sessions);
  g_test_add_func ("/realtime-mock/beta-header", test_beta_header);
  g_test_add_data_func ("/realtime-mock/vad-echo/pcmu-pcmu", &format_cases[0], test_vad_echo);
  g_test_add_data_func ("/realtime-mock/vad-echo/pcma-pcm", &format_cases[1], test_vad_echo);
  g_test_add_data_func ("/realtime-mock/vad-echo/pcm-pcma", &format_cases[2], test_vad_echo);
  g_test_add_func ("/realtime-mock/truncate", test_truncate);
  g_test_add_func ("/realtime-mock/cancel", test_cancel);
  g_test_add_func ("/realtime-mock/barge-in", test_barge_in);
  g_test_add_func ("/realtime-mock/function-call", test_function_call);
  g_test_add_func ("/realtime-mock/manual-errors", test_manual_errors);
  g_test_add_func ("/realtime-mock/sessions-independent", test_sessions_independent);
  g_test_add_func ("/realtime-mock/close-faults", test_close_faults);
  g_test_add_func ("/realtime-mock/malformed-frames", test_malformed_frames);
  g_test_add_func ("/realtime-mock/wss", test_wss);
  ret = g_test_run ();
  gst_deinit ();   /* the leaks tracer (GST_TRACERS=leaks) checks here */
  return ret;
}
