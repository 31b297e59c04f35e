/* twilio-call-sim against an in-process Media Streams server on 127.0.0.1:
 * what it sends (envelopes, string fields, 20 ms pacing, dtmf, stop, the
 * signature), how it plays back (mark echo timing, clear), what it counts
 * as violations, its record WAV, its exit codes. */
#include "gtr-protocol.h"
#include "gtr-tool-exit.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
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

struct _Fixture {
  GMainLoop *loop;
  SoupServer *server;
  char *url;
  SoupWebsocketConnection *conn;
  GPtrArray *frames;        /* Frame* the sim sent */
  char *signature;
  gboolean answer_403;
  gboolean tls;
  ScriptFunc on_start;      /* the scripted reply once start arrives */
  gint64 sent_us[8];        /* when the script sent things, for timing asserts */
  guint timer;
  char *tmpdir;
  GSubprocess *sim;         /* the running sim, from spawn_sim() */

  /* the sim's outcome */
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

static const char *
frame_event (const Frame *f)
{
  return f->json ? str_member (json_node_get_object (f->json), "event") : NULL;
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
  if (fx->on_start && g_strcmp0 (frame_event (f), "start") == 0)
    fx->on_start (fx, json_node_get_object (f->json));
}

static void
on_websocket (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *conn, gpointer user_data)
{
  Fixture *fx = user_data;

  fx->signature = g_strdup (soup_message_headers_get_one (
          soup_server_message_get_request_headers (msg), "X-Twilio-Signature"));
  fx->conn = g_object_ref (conn);
  g_signal_connect (conn, "message", G_CALLBACK (on_server_message), fx);
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
  proc = g_subprocess_newv ((const char *const *) argv->pdata,
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
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
  static const char *const cases[][4] = {
    { "--play", "silence:100", NULL },                    /* no --url */
    { "--url", "http://127.0.0.1:1/media", NULL },
    { "--url", "ws://127.0.0.1:1/media", "--play", "tone:440" },
    { "--url", "ws://127.0.0.1:1/media", "--play", "noise:100" },
    { "--url", "ws://127.0.0.1:1/media", "--dtmf", "X@100" },
    { "--url", "ws://127.0.0.1:1/media", "--param", "novalue" },
    { "--url", "ws://127.0.0.1:1/media", "--wav", "/nonexistent.wav" },
    { "--url", "ws://127.0.0.1:1/media", "--bogus", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *args[5] = { NULL };

    memcpy (args, cases[i], sizeof cases[i]);
    g_clear_pointer (&fx->out, g_free);
    g_clear_pointer (&fx->err, g_free);
    spawn_sim (fx, FALSE, args);
    wait_sim (fx);
    g_assert_cmpint (fx->exit_status, ==, 2);
    g_assert_cmpstr (fx->err, !=, "");
    g_assert_cmpstr (fx->out, ==, "");
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
  ret = g_test_run ();
  /* the leaks tracer checks this process too: every GstObject and mini
   * object the tests made (the WAV pipelines) must be gone by now */
  gst_deinit ();
  gtr_stop_idle_pool_threads ();
  return ret;
}
