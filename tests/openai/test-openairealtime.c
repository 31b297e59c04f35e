/* openairealtime against realtime-mock (and, for the format mismatch, a
 * small in-process fake API), over real sockets on 127.0.0.1.
 *
 * The element sits in `appsrc ! openairealtime ! appsink`; a probe on the
 * appsink's pad records what a downstream element would see: buffers (and
 * their timestamps), mark events, flushes, EOS.  realtime-mock's --log gives
 * what reached the API. */
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/app/gstappsrc.h>
#include <gst/app/gstappsink.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "gtr-events.h"

#define MULAW "audio/x-mulaw,rate=8000,channels=1"
#define ALAW "audio/x-alaw,rate=8000,channels=1"
#define PCM "audio/x-raw,format=S16LE,rate=24000,channels=1,layout=interleaved"

static const char *
data_path (const char *name, char **out)
{
  *out = g_build_filename (g_getenv ("GTR_TESTS_DATA"), name, NULL);
  return *out;
}

/* ------------------------------------------------------------------------ */
/* realtime-mock as a subprocess                                            */

typedef struct {
  GSubprocess *proc;
  char *url;                    /* ws(s)://127.0.0.1:PORT/v1/realtime */
  char *base;                   /* ws(s)://127.0.0.1:PORT */
  char *log_path;
} Mock;

static Mock *
mock_start_argv (const char *const *extra)
{
  Mock *mock = g_new0 (Mock, 1);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) err = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  const char *mock_exe = g_getenv ("GTR_REALTIME_MOCK");
  const char *at;

  fail_unless (mock_exe != NULL, "GTR_REALTIME_MOCK not set");
  mock->log_path = g_strdup_printf ("%s/h6-mock-%d-%p.jsonl", g_get_tmp_dir (),
      getpid (), (void *) mock);
  g_ptr_array_add (argv, (gpointer) mock_exe);
  g_ptr_array_add (argv, (gpointer) "--port");
  g_ptr_array_add (argv, (gpointer) "0");
  g_ptr_array_add (argv, (gpointer) "--log");
  g_ptr_array_add (argv, mock->log_path);
  for (; extra && *extra; extra++)
    g_ptr_array_add (argv, (gpointer) * extra);
  g_ptr_array_add (argv, NULL);

  mock->proc = g_subprocess_newv ((const char *const *) argv->pdata,
      G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err);
  fail_unless (mock->proc != NULL, "realtime-mock: %s", err ? err->message : "");
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (mock->proc));
  line = g_data_input_stream_read_line (out, NULL, NULL, &err);
  fail_unless (line != NULL, "realtime-mock printed nothing");
  at = strstr (line, "realtime-mock listening on ");
  fail_unless (at != NULL, "unexpected first line: %s", line);
  mock->base = g_strdup (at + strlen ("realtime-mock listening on "));
  g_strchomp (mock->base);
  mock->url = g_strdup_printf ("%s/v1/realtime", mock->base);
  return mock;
}

#define mock_start(...) mock_start_argv ((const char *const[]) { __VA_ARGS__, NULL })

static void
mock_stop (Mock *mock)
{
  g_subprocess_send_signal (mock->proc, SIGTERM);
  g_subprocess_wait (mock->proc, NULL, NULL);
}

static void
mock_free (Mock *mock)
{
  mock_stop (mock);
  g_object_unref (mock->proc);
  if (g_getenv ("GTR_KEEP_MOCK_LOG"))   /* for debugging a failure */
    g_printerr ("mock log kept: %s\n", mock->log_path);
  else
    g_unlink (mock->log_path);
  g_free (mock->log_path);
  g_free (mock->url);
  g_free (mock->base);
  g_free (mock);
}

/* The events of the mock's log with `dir` ("in": from us; "out": from the
 * mock) and, when not NULL, of `type`, as JSON text. */
static GPtrArray *
mock_events (Mock *mock, const char *dir, const char *type)
{
  GPtrArray *events = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (mock->log_path, &text, NULL, NULL))
    return events;
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *obj, *ev;

    if (!**l || !json_parser_load_from_data (parser, *l, -1, NULL))
      continue;
    obj = json_node_get_object (json_parser_get_root (parser));
    if (g_strcmp0 (json_object_get_string_member_with_default (obj, "dir", ""), dir))
      continue;
    if (!json_object_has_member (obj, "event"))
      continue;
    ev = json_object_get_object_member (obj, "event");
    if (type && g_strcmp0 (json_object_get_string_member_with_default (ev,
                "type", ""), type))
      continue;
    g_ptr_array_add (events, json_to_string (json_object_get_member (obj,
                "event"), FALSE));
  }
  return events;
}

static JsonObject *
parse_object (const char *text, JsonParser **parser)
{
  *parser = json_parser_new ();
  fail_unless (json_parser_load_from_data (*parser, text, -1, NULL));
  return json_node_get_object (json_parser_get_root (*parser));
}

/* Wait until the mock has logged an event (the log is written as it goes). */
static GPtrArray *
mock_wait_events (Mock *mock, const char *dir, const char *type, guint min,
    gint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;
  GPtrArray *events;

  while (TRUE) {
    events = mock_events (mock, dir, type);
    if (events->len >= min || g_get_monotonic_time () > end)
      return events;
    g_ptr_array_unref (events);
    g_usleep (20000);
  }
}

/* Client events of the log through the strict schema: the exit status. */
static gint
validate_client_events (Mock *mock)
{
  g_autoptr (GPtrArray) events = mock_events (mock, "in", NULL);
  g_autofree char *path = g_strdup_printf ("%s.in", mock->log_path);
  g_autoptr (GString) jsonl = g_string_new (NULL);
  g_autoptr (GError) err = NULL;
  g_autofree char *out = NULL;
  gint status = -1;
  const char *argv[] = { g_getenv ("GTR_PYTHON3"), g_getenv ("GTR_VALIDATE_EVENT"),
    path, NULL
  };

  fail_unless (events->len > 0, "no client events in the mock's log");
  for (guint i = 0; i < events->len; i++)
    g_string_append_printf (jsonl, "%s\n", (char *) events->pdata[i]);
  fail_unless (g_file_set_contents (path, jsonl->str, -1, NULL));
  fail_unless (g_spawn_sync (NULL, (char **) argv, NULL, 0,
          NULL, NULL, &out, NULL, &status, &err), "%s", err ? err->message : "");
  if (status != 0)
    g_printerr ("validate-event: %s\n", out);
  g_unlink (path);
  return status;
}

/* ------------------------------------------------------------------------ */
/* Audio made with GStreamer's own elements                                 */

/* `ms` of a wave in a caps format: "sine" or "silence". */
static GBytes *
make_audio (const char *caps, const char *wave, guint ms)
{
  const char *enc = g_str_has_prefix (caps, "audio/x-mulaw") ? "mulawenc"
      : g_str_has_prefix (caps, "audio/x-alaw") ? "alawenc" : "identity";
  guint rate = strstr (caps, "24000") ? 24000 : 8000;
  g_autofree char *desc = g_strdup_printf ("audiotestsrc wave=%s freq=440 "
      "volume=0.6 samplesperbuffer=%u num-buffers=%u ! "
      "audio/x-raw,format=S16LE,rate=%u,channels=1 ! %s ! appsink name=out "
      "sync=false", wave, rate / 100, ms / 10, rate, enc);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipe), "out");
  GByteArray *bytes = g_byte_array_new ();
  GstSample *sample;

  gst_element_set_state (pipe, GST_STATE_PLAYING);
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    GstMapInfo map;
    GstBuffer *buf = gst_sample_get_buffer (sample);
    gst_buffer_map (buf, &map, GST_MAP_READ);
    g_byte_array_append (bytes, map.data, map.size);
    gst_buffer_unmap (buf, &map);
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  return g_byte_array_free_to_bytes (bytes);
}

/* ------------------------------------------------------------------------ */
/* appsrc ! openairealtime ! appsink                                        */

typedef struct {
  GstElement *pipeline, *src, *rt, *sink;
  GstBus *bus;
  char *in_caps;
  GMutex lock;
  guint buffers;
  guint64 bytes;
  guint flushes;
  gboolean eos;
  gboolean ts_continuous;
  GstClockTime last_end;
  GstCaps *caps;
  GPtrArray *marks;             /* names of twilio/send-mark events */
  GstClockTime popped_at;       /* when call_wait_message() got its message */
} Call;

static GstPadProbeReturn
sink_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Call *call = data;

  g_mutex_lock (&call->lock);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    GstClockTime pts = GST_BUFFER_PTS (buf);

    if (!GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT)
        && GST_CLOCK_TIME_IS_VALID (call->last_end) && pts != call->last_end)
      call->ts_continuous = FALSE;
    if (!GST_CLOCK_TIME_IS_VALID (pts) || !GST_BUFFER_DURATION_IS_VALID (buf)
        || (GST_CLOCK_TIME_IS_VALID (call->last_end) && pts < call->last_end))
      call->ts_continuous = FALSE;
    call->last_end = pts + GST_BUFFER_DURATION (buf);
    call->buffers++;
    call->bytes += gst_buffer_get_size (buf);
  } else {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
    const GstStructure *s = gst_event_get_structure (ev);

    switch (GST_EVENT_TYPE (ev)) {
      case GST_EVENT_FLUSH_START:
        call->flushes++;
        break;
      case GST_EVENT_EOS:
        call->eos = TRUE;
        break;
      case GST_EVENT_CAPS:{
        GstCaps *caps;
        gst_event_parse_caps (ev, &caps);
        gst_caps_replace (&call->caps, caps);
        break;
      }
      case GST_EVENT_CUSTOM_DOWNSTREAM:
        if (s && gst_structure_has_name (s, GTR_EVENT_SEND_MARK))
          g_ptr_array_add (call->marks,
              g_strdup (gst_structure_get_string (s, "name")));
        break;
      default:
        break;
    }
  }
  g_mutex_unlock (&call->lock);
  return GST_PAD_PROBE_OK;
}

/* Properties as "name", "value" string pairs, NULL-terminated. */
static Call *
call_new_valist (const char *in_caps, const char *out_caps, const char *uri,
    va_list args)
{
  Call *call = g_new0 (Call, 1);
  g_autofree char *desc = g_strdup_printf ("appsrc name=src is-live=true "
      "format=time do-timestamp=true caps=\"%s\" ! openairealtime name=rt ! "
      "appsink name=sink sync=false drop=true max-buffers=1 caps=\"%s\"",
      in_caps, out_caps);
  g_autoptr (GError) err = NULL;
  const char *name;
  GstPad *pad;

  call->pipeline = gst_parse_launch (desc, &err);
  fail_unless (call->pipeline != NULL, "%s", err ? err->message : "");
  call->src = gst_bin_get_by_name (GST_BIN (call->pipeline), "src");
  call->rt = gst_bin_get_by_name (GST_BIN (call->pipeline), "rt");
  call->sink = gst_bin_get_by_name (GST_BIN (call->pipeline), "sink");
  call->bus = gst_element_get_bus (call->pipeline);
  call->in_caps = g_strdup (in_caps);
  call->marks = g_ptr_array_new_with_free_func (g_free);
  call->ts_continuous = TRUE;
  call->last_end = GST_CLOCK_TIME_NONE;
  g_mutex_init (&call->lock);

  g_object_set (call->rt, "uri", uri, "api-key", "test-key", NULL);
  while ((name = va_arg (args, const char *)))
    gst_util_set_object_arg (G_OBJECT (call->rt), name, va_arg (args, const char *));

  pad = gst_element_get_static_pad (call->sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH,
      sink_probe, call, NULL);
  gst_object_unref (pad);
  return call;
}

static Call *
call_new (const char *in_caps, const char *out_caps, const char *uri, ...)
{
  va_list args;
  Call *call;

  va_start (args, uri);
  call = call_new_valist (in_caps, out_caps, uri, args);
  va_end (args);
  return call;
}

static void
call_play (Call *call)
{
  GstStateChangeReturn ret = gst_element_set_state (call->pipeline,
      GST_STATE_PLAYING);
  fail_unless (ret != GST_STATE_CHANGE_FAILURE);
}

static void
call_free (Call *call)
{
  gst_element_set_state (call->pipeline, GST_STATE_NULL);
  gst_object_unref (call->src);
  gst_object_unref (call->rt);
  gst_object_unref (call->sink);
  gst_object_unref (call->bus);
  gst_object_unref (call->pipeline);
  gst_caps_replace (&call->caps, NULL);
  g_ptr_array_unref (call->marks);
  g_free (call->in_caps);
  g_mutex_clear (&call->lock);
  g_free (call);
}

static guint
call_buffers (Call *call)
{
  guint n;

  g_mutex_lock (&call->lock);
  n = call->buffers;
  g_mutex_unlock (&call->lock);
  return n;
}

/* Push audio in 20 ms frames, in real time when `realtime`. */
static void
call_feed (Call *call, GBytes *audio, gboolean realtime)
{
  gsize len, off = 0;
  const guint8 *data = g_bytes_get_data (audio, &len);
  gsize frame = strstr (call->in_caps, "24000") ? 960 : 160;

  while (off < len) {
    gsize n = MIN (frame, len - off);
    GstBuffer *buf = gst_buffer_new_memdup (data + off, n);
    GstFlowReturn ret = gst_app_src_push_buffer (GST_APP_SRC (call->src), buf);
    fail_unless (ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING,
        "push: %s", gst_flow_get_name (ret));
    off += n;
    if (realtime)
      g_usleep (20000);
  }
}

static void
call_feed_wave (Call *call, const char *wave, guint ms, gboolean realtime)
{
  g_autoptr (GBytes) audio = make_audio (call->in_caps, wave, ms);
  call_feed (call, audio, realtime);
}

/* Feed silence in real time until `cond` holds or `timeout_ms` passes. */
typedef gboolean (*CallCond) (Call *call);

static gboolean
call_feed_until (Call *call, CallCond cond, guint timeout_ms)
{
  g_autoptr (GBytes) frame = make_audio (call->in_caps, "silence", 20);

  for (guint t = 0; t < timeout_ms; t += 20) {
    if (cond (call))
      return TRUE;
    call_feed (call, frame, TRUE);
  }
  return cond (call);
}

/* The first ERROR, or ELEMENT message named `name`, within `timeout_ms`. */
static GstMessage *
call_wait_message (Call *call, const char *name, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (TRUE) {
    gint64 left = end - g_get_monotonic_time ();
    GstMessage *msg;

    if (left <= 0)
      return NULL;
    msg = gst_bus_timed_pop_filtered (call->bus, left * GST_USECOND,
        GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    if (!msg)
      return NULL;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR
        || gst_message_has_name (msg, name)) {
      call->popped_at = gst_util_get_timestamp ();
      return msg;
    }
    gst_message_unref (msg);
  }
}

static GstMessage *
call_wait_error (Call *call, guint timeout_ms)
{
  return call_wait_message (call, "no such message", timeout_ms);
}

static void
assert_not_error (GstMessage *msg, const char *waiting_for)
{
  fail_unless (msg != NULL, "no %s message", waiting_for);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) err = NULL;
    gst_message_parse_error (msg, &err, NULL);
    fail ("error instead of %s: %s", waiting_for, err->message);
  }
}

/* Start the call and wait for the session to be confirmed. */
static void
call_start_session (Call *call)
{
  GstMessage *msg;

  call_play (call);
  call_feed_wave (call, "silence", 20, FALSE);  /* sets the sink caps */
  msg = call_wait_message (call, "openai-realtime/session", 5000);
  assert_not_error (msg, "openai-realtime/session");
  gst_message_unref (msg);
}

/* ------------------------------------------------------------------------ */
/* session.update against the strict schema                                 */

static const char *const formats[] = { MULAW, ALAW, PCM };
static const char *const format_types[] = { "audio/pcmu", "audio/pcma", "audio/pcm" };

static void
run_session (Mock *mock, const char *in_caps, const char *out_caps, ...)
{
  va_list args;
  Call *call;

  va_start (args, out_caps);
  call = call_new_valist (in_caps, out_caps, mock->url, args);
  va_end (args);
  call_start_session (call);
  call_free (call);
}

/* The format of the last session.update the mock received. */
static void
assert_last_update_formats (Mock *mock, guint in_i, guint out_i)
{
  g_autoptr (GPtrArray) updates = mock_events (mock, "in", "session.update");
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *ev, *audio;

  fail_unless (updates->len > 0);
  ev = parse_object (updates->pdata[updates->len - 1], &parser);
  fail_unless (json_object_has_member (ev, "event_id"));
  audio = json_object_get_object_member (json_object_get_object_member (ev,
          "session"), "audio");
  fail_unless_equals_string (json_object_get_string_member (
          json_object_get_object_member (json_object_get_object_member (audio,
                  "input"), "format"), "type"), format_types[in_i]);
  fail_unless_equals_string (json_object_get_string_member (
          json_object_get_object_member (json_object_get_object_member (audio,
                  "output"), "format"), "type"), format_types[out_i]);
}

GST_START_TEST (test_session_update_every_format_is_valid)
{
  Mock *mock = mock_start ("--mode", "echo");

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    for (guint o = 0; o < G_N_ELEMENTS (formats); o++) {
      run_session (mock, formats[i], formats[o], NULL);
      assert_last_update_formats (mock, i, o);
    }
  }
  fail_unless_equals_int (validate_client_events (mock), 0);
  mock_free (mock);
}
GST_END_TEST;

GST_START_TEST (test_session_update_property_combinations_are_valid)
{
  Mock *mock = mock_start ("--mode", "echo");

  run_session (mock, MULAW, MULAW, "turn-detection", "semantic-vad",
      "eagerness", "high", "transcription-model", "whisper-1", "language", "en",
      "transcription-prompt", "names", "voice", "cedar", "speed", "1.2", NULL);
  run_session (mock, MULAW, MULAW, "turn-detection", "none", "noise-reduction",
      "none", "max-output-tokens", "200", "greeting", "Hello there",
      "tools", "[{\"type\":\"function\",\"name\":\"get_weather\","
      "\"description\":\"Weather\",\"parameters\":{\"type\":\"object\","
      "\"properties\":{\"city\":{\"type\":\"string\"}}}}]",
      "tool-choice", "auto", NULL);
  run_session (mock, PCM, PCM, "noise-reduction", "far-field", "vad-threshold",
      "0.8", "prefix-padding-ms", "200", "silence-duration-ms", "700",
      "idle-timeout-ms", "6000", "interrupt-response", "false",
      "instructions", "You are {name}'s assistant.", NULL);
  fail_unless_equals_int (validate_client_events (mock), 0);
  mock_free (mock);
}
GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Failure modes: the documented bus message within 1 s, no audio out       */

/* The core leaves GstMessage timestamps unset: the time the message was
 * taken from the bus (call_wait_message() blocks on the bus, so within a
 * millisecond of posting). */
static GstClockTime
message_delay (Call *call, GstClockTime start)
{
  return call->popped_at - start;
}

/* The documented bound is 1 s.  Under ASan+UBSan (tests/meson.build sets
 * GTR_SANITIZED) every malloc walks the stack and a TLS handshake alone takes
 * most of a second, so the sanitized run allows three times as long; the
 * plain run holds the element to the documented bound. */
static GstClockTime
failure_bound (GstClockTime documented)
{
  return g_getenv ("GTR_SANITIZED") ? 3 * documented : documented;
}

/* Run a call expected to fail; returns the ERROR message. */
static GstMessage *
expect_error (const char *uri, GQuark domain, gint code, const char *text, ...)
{
  va_list args;
  Call *call;
  GstMessage *msg;
  g_autoptr (GError) err = NULL;
  g_autofree char *debug = NULL;
  GstClockTime start = gst_util_get_timestamp ();

  va_start (args, text);
  call = call_new_valist (MULAW, MULAW, uri, args);
  va_end (args);
  gst_element_set_state (call->pipeline, GST_STATE_PLAYING);
  call_feed_wave (call, "sine", 200, FALSE);
  msg = call_wait_error (call, 3000);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR,
      "no error for %s", text);
  gst_message_parse_error (msg, &err, &debug);
  GST_INFO ("error: %s (%s)", err->message, debug);
  fail_unless (g_error_matches (err, domain, code), "wrong error %s %d: %s",
      g_quark_to_string (err->domain), err->code, err->message);
  fail_unless (strstr (err->message, text) != NULL, "\"%s\" lacks \"%s\"",
      err->message, text);
  fail_unless (message_delay (call, start) < failure_bound (GST_SECOND), "took %" GST_TIME_FORMAT,
      GST_TIME_ARGS (message_delay (call, start)));
  g_usleep (200000);
  fail_unless_equals_int (call_buffers (call), 0);
  call_free (call);
  return msg;
}

GST_START_TEST (test_rejected_update_is_settings_error)
{
  Mock *mock = mock_start ("--reject-sessions");
  GstMessage *msg = expect_error (mock->url, GST_LIBRARY_ERROR,
      GST_LIBRARY_ERROR_SETTINGS, "the API rejected session.update", NULL);
  const GstStructure *details = NULL;

  gst_message_parse_error_details (msg, &details);
  fail_unless (details != NULL);
  fail_unless (gst_structure_get_string (details, "api-code") != NULL);
  fail_unless (gst_structure_get_string (details, "api-message") != NULL);
  fail_unless (gst_structure_has_field (details, "api-param"));
  gst_message_unref (msg);
  mock_free (mock);
}
GST_END_TEST;

GST_START_TEST (test_wrong_key_is_not_authorized)
{
  Mock *mock = mock_start ("--api-key", "another-key");

  gst_message_unref (expect_error (mock->url, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NOT_AUTHORIZED,
          "the API rejected the key (HTTP 401)", NULL));
  mock_free (mock);
}
GST_END_TEST;

GST_START_TEST (test_wrong_path_names_http_status)
{
  Mock *mock = mock_start ("--mode", "echo");
  g_autofree char *uri = g_strdup_printf ("%s/v1/elsewhere", mock->base);

  gst_message_unref (expect_error (uri, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_READ, "HTTP 404", NULL));
  mock_free (mock);
}
GST_END_TEST;

/* A port nothing listens on. */
static guint
closed_port (void)
{
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof (addr);
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fail_unless (bind (fd, (struct sockaddr *) &addr, sizeof (addr)) == 0);
  fail_unless (getsockname (fd, (struct sockaddr *) &addr, &len) == 0);
  close (fd);
  return ntohs (addr.sin_port);
}

GST_START_TEST (test_refused_is_open_read)
{
  guint port = closed_port ();
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/v1/realtime", port);
  g_autofree char *text = g_strdup_printf ("could not connect to 127.0.0.1:%u: "
      "connection refused", port);

  gst_message_unref (expect_error (uri, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_READ, text, NULL));
}
GST_END_TEST;

/* The system trust store is read once per process, on the first TLS
 * handshake: a cost of the process, not of a failed handshake, and under
 * ASan (full malloc stacks) it alone takes most of a second.  Pay it before
 * the clock starts. */
static void
load_system_trust_store (void)
{
  GTlsDatabase *db =
      g_tls_backend_get_default_database (g_tls_backend_get_default ());

  fail_unless (db != NULL, "no system TLS database");
  g_object_unref (db);
}

GST_START_TEST (test_untrusted_tls_is_open_read)
{
  g_autofree char *cert = NULL, *key = NULL;
  Mock *mock = mock_start ("--tls-cert", data_path ("tls/untrusted.pem", &cert),
      "--tls-key", data_path ("tls/untrusted.key", &key));

  fail_unless (g_str_has_prefix (mock->url, "wss://"), "%s", mock->url);
  load_system_trust_store ();
  g_object_unref (g_tls_backend_get_default_database (g_tls_backend_get_default ()));
  gst_message_unref (expect_error (mock->url, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_READ, "TLS", NULL));
  gst_message_unref (expect_error (mock->url, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_READ, "TLS", NULL));
  gst_message_unref (expect_error (mock->url, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_READ, "TLS", NULL));
  mock_free (mock);
}
GST_END_TEST;

GST_START_TEST (test_wss_with_test_ca)
{
  g_autofree char *cert = NULL, *key = NULL, *ca = NULL;
  Mock *mock = mock_start ("--tls-cert", data_path ("tls/server.pem", &cert),
      "--tls-key", data_path ("tls/server.key", &key));
  Call *call = call_new (MULAW, MULAW, mock->url, "tls-ca-file",
      data_path ("tls/ca.pem", &ca), NULL);

  call_start_session (call);
  call_free (call);
  mock_free (mock);
}
GST_END_TEST;

GST_START_TEST (test_api_close_gives_eos_and_reason)
{
  Mock *mock = mock_start ("--close-after", "300");
  Call *call = call_new (MULAW, MULAW, mock->url, NULL);
  GstClockTime start = gst_util_get_timestamp ();
  GstMessage *msg;
  const GstStructure *s;
  gint code = 0;

  call_play (call);
  call_feed_wave (call, "silence", 20, FALSE);
  msg = call_wait_message (call, "openai-realtime/closed", 2000);
  assert_not_error (msg, "openai-realtime/closed");
  /* the mock closes 300 ms after session.created: within 1 s of that */
  fail_unless (message_delay (call, start) < failure_bound (1300 * GST_MSECOND));
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_get_int (s, "code", &code));
  fail_unless_equals_int (code, 1000);
  fail_unless (gst_structure_has_field_typed (s, "reason", G_TYPE_STRING));
  gst_message_unref (msg);
  g_usleep (200000);
  g_mutex_lock (&call->lock);
  fail_unless (call->eos, "no EOS downstream");
  fail_unless_equals_int (call->buffers, 0);
  g_mutex_unlock (&call->lock);
  call_free (call);
  mock_free (mock);
}
GST_END_TEST;

/* A fake API that confirms every session.update with PCM 24 kHz output: the
 * "rejected/ignored update" that makes noise on a phone line. */
typedef struct {
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  SoupServer *server;
  guint port;
  GMutex lock;
  GCond cond;
  GPtrArray *conns;
  gboolean confirm;             /* answer with the session as requested */
  GPtrArray *received;          /* client events (lock) */
  guint handshakes;             /* websocket handshakes accepted (lock) */
  char *api_key_header;         /* the last handshake's api-key (lock) */
  char *authorization_header;   /* the last handshake's Authorization (lock) */
} FakeApi;

/* session.updated with the session the client asked for. */
static char *
fake_confirmation (const char *update)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *ev = parse_object (update, &parser);
  g_autofree char *session = json_to_string (json_object_get_member (ev,
          "session"), FALSE);

  return g_strdup_printf ("{\"type\":\"session.updated\",\"event_id\":"
      "\"evt_fake\",\"session\":%s}", session);
}

static void
fake_on_message (SoupWebsocketConnection *conn, gint type, GBytes *message,
    gpointer data)
{
  FakeApi *api = data;
  g_autofree char *text = g_strndup (g_bytes_get_data (message, NULL),
      g_bytes_get_size (message));

  g_mutex_lock (&api->lock);
  g_ptr_array_add (api->received, g_strdup (text));
  g_mutex_unlock (&api->lock);
  if (api->confirm && strstr (text, "\"session.update\"")) {
    g_autofree char *reply = fake_confirmation (text);
    soup_websocket_connection_send_text (conn, reply);
  } else if (strstr (text, "\"session.update\""))
    soup_websocket_connection_send_text (conn, "{\"type\":\"session.updated\","
        "\"event_id\":\"evt_fake\",\"session\":{\"type\":\"realtime\","
        "\"id\":\"sess_fake\",\"audio\":{\"input\":{\"format\":{\"type\":"
        "\"audio/pcmu\"}},\"output\":{\"format\":{\"type\":\"audio/pcm\","
        "\"rate\":24000},\"voice\":\"alloy\"}}}}");
}

static void
fake_on_ws (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *conn, gpointer data)
{
  FakeApi *api = data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  g_mutex_lock (&api->lock);
  api->handshakes++;
  g_free (api->api_key_header);
  api->api_key_header = g_strdup (soup_message_headers_get_one (headers,
          "api-key"));
  g_free (api->authorization_header);
  api->authorization_header = g_strdup (soup_message_headers_get_one (headers,
          "Authorization"));
  g_mutex_unlock (&api->lock);
  g_ptr_array_add (api->conns, g_object_ref (conn));
  g_signal_connect (conn, "message", G_CALLBACK (fake_on_message), api);
}

static void
fake_deny (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
}

static gpointer
fake_thread (gpointer data)
{
  FakeApi *api = data;
  g_autoptr (GError) err = NULL;
  GSList *uris;

  g_main_context_push_thread_default (api->context);
  api->server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (api->server, "/v1/realtime", NULL, NULL,
      fake_on_ws, api, NULL);
  soup_server_add_handler (api->server, "/v1/denied", fake_deny, NULL, NULL);
  fail_unless (soup_server_listen_local (api->server, 0,
          SOUP_SERVER_LISTEN_IPV4_ONLY, &err));
  uris = soup_server_get_uris (api->server);
  g_mutex_lock (&api->lock);
  api->port = g_uri_get_port (uris->data);
  g_cond_signal (&api->cond);
  g_mutex_unlock (&api->lock);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  g_main_loop_run (api->loop);
  g_ptr_array_unref (api->conns);
  g_object_unref (api->server);
  g_main_context_pop_thread_default (api->context);
  return NULL;
}

static FakeApi *
fake_api_start (gboolean confirm)
{
  FakeApi *api = g_new0 (FakeApi, 1);

  api->confirm = confirm;
  api->context = g_main_context_new ();
  api->loop = g_main_loop_new (api->context, FALSE);
  api->conns = g_ptr_array_new_with_free_func (g_object_unref);
  api->received = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&api->lock);
  g_cond_init (&api->cond);
  api->thread = g_thread_new ("fake-api", fake_thread, api);
  g_mutex_lock (&api->lock);
  while (!api->port)
    g_cond_wait (&api->cond, &api->lock);
  g_mutex_unlock (&api->lock);
  return api;
}

typedef struct {
  FakeApi *api;
  char *text;
} FakeSend;

static gboolean
fake_send_now (gpointer data)
{
  FakeSend *job = data;

  for (guint i = 0; i < job->api->conns->len; i++)
    soup_websocket_connection_send_text (job->api->conns->pdata[i], job->text);
  g_free (job->text);
  g_free (job);
  return G_SOURCE_REMOVE;
}

/* Send a server event to every client, from the fake API's thread. */
static void
fake_api_send (FakeApi *api, char *text)
{
  FakeSend *job = g_new0 (FakeSend, 1);

  job->api = api;
  job->text = text;
  g_main_context_invoke (api->context, fake_send_now, job);
}

/* Received client events of `type`. */
static GPtrArray *
fake_api_received (FakeApi *api, const char *type)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *needle = g_strdup_printf ("\"type\":\"%s\"", type);

  g_mutex_lock (&api->lock);
  for (guint i = 0; i < api->received->len; i++)
    if (strstr (api->received->pdata[i], needle))
      g_ptr_array_add (out, g_strdup (api->received->pdata[i]));
  g_mutex_unlock (&api->lock);
  return out;
}

static void
fake_api_stop (FakeApi *api)
{
  g_main_loop_quit (api->loop);
  g_thread_join (api->thread);
  g_main_loop_unref (api->loop);
  g_main_context_unref (api->context);
  g_ptr_array_unref (api->received);
  g_free (api->api_key_header);
  g_free (api->authorization_header);
  g_mutex_clear (&api->lock);
  g_cond_clear (&api->cond);
  g_free (api);
}

GST_START_TEST (test_format_mismatch_is_stream_format_error)
{
  FakeApi *api = fake_api_start (FALSE);
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/v1/realtime", api->port);

  gst_message_unref (expect_error (uri, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
          "session output format is audio/pcm 24000 Hz but the src caps are "
          "audio/x-mulaw 8000 Hz", NULL));
  fake_api_stop (api);
}
GST_END_TEST;

GST_START_TEST (test_http_401_is_not_authorized)
{
  FakeApi *api = fake_api_start (FALSE);
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/v1/denied", api->port);

  gst_message_unref (expect_error (uri, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NOT_AUTHORIZED, "the API rejected the key (HTTP 401)",
          NULL));
  fake_api_stop (api);
}
GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Azure: the key goes in an api-key header                                 */

#define AZURE_HOST "myresource.openai.azure.com"
#define AZURE_KEY "az-h6-test-key-5d1c90"

/* A resolver for this process only: AZURE_HOST is 127.0.0.1 (IPv4 only),
 * every other name is unknown.  No /etc/hosts, no DNS. */
struct _FakeResolver {
  GResolver parent;
  gint lookups;                 /* of AZURE_HOST (atomic) */
};

G_DECLARE_FINAL_TYPE (FakeResolver, fake_resolver, FAKE, RESOLVER, GResolver)
G_DEFINE_TYPE (FakeResolver, fake_resolver, G_TYPE_RESOLVER)

static GList *
fake_resolve (GResolver *resolver, const char *hostname,
    GResolverNameLookupFlags flags, GError **error)
{
  if (g_ascii_strcasecmp (hostname, AZURE_HOST) == 0) {
    g_atomic_int_inc (&FAKE_RESOLVER (resolver)->lookups);
    if (!(flags & G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY))
      return g_list_append (NULL, g_inet_address_new_from_string ("127.0.0.1"));
    g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
        "%s: no IPv6 address", hostname);
    return NULL;
  }
  g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
      "%s: unknown to the test resolver", hostname);
  return NULL;
}

static GList *
fake_lookup_by_name_with_flags (GResolver *resolver, const char *hostname,
    GResolverNameLookupFlags flags, GCancellable *cancellable, GError **error)
{
  return fake_resolve (resolver, hostname, flags, error);
}

static GList *
fake_lookup_by_name (GResolver *resolver, const char *hostname,
    GCancellable *cancellable, GError **error)
{
  return fake_resolve (resolver, hostname,
      G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT, error);
}

static void
fake_lookup_by_name_with_flags_async (GResolver *resolver, const char *hostname,
    GResolverNameLookupFlags flags, GCancellable *cancellable,
    GAsyncReadyCallback callback, gpointer data)
{
  GTask *task = g_task_new (resolver, cancellable, callback, data);
  GError *err = NULL;
  GList *addrs = fake_resolve (resolver, hostname, flags, &err);

  g_task_set_source_tag (task, fake_lookup_by_name_with_flags_async);
  if (addrs)
    g_task_return_pointer (task, addrs, (GDestroyNotify) g_resolver_free_addresses);
  else
    g_task_return_error (task, err);
  g_object_unref (task);
}

static void
fake_lookup_by_name_async (GResolver *resolver, const char *hostname,
    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer data)
{
  fake_lookup_by_name_with_flags_async (resolver, hostname,
      G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT, cancellable, callback, data);
}

static GList *
fake_lookup_finish (GResolver *resolver, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_resolver_class_init (FakeResolverClass *klass)
{
  GResolverClass *rc = G_RESOLVER_CLASS (klass);

  rc->lookup_by_name = fake_lookup_by_name;
  rc->lookup_by_name_async = fake_lookup_by_name_async;
  rc->lookup_by_name_finish = fake_lookup_finish;
  rc->lookup_by_name_with_flags = fake_lookup_by_name_with_flags;
  rc->lookup_by_name_with_flags_async = fake_lookup_by_name_with_flags_async;
  rc->lookup_by_name_with_flags_finish = fake_lookup_finish;
}

static void
fake_resolver_init (FakeResolver *self)
{
}

/* Run a session with `uri` and AZURE_KEY against `api`; the handshake's
 * api-key and Authorization headers (NULL: not sent). */
static void
handshake_headers (FakeApi *api, const char *uri, guint *handshakes,
    char **api_key, char **authorization)
{
  Call *call = call_new (MULAW, MULAW, uri, "api-key", AZURE_KEY, NULL);

  call_start_session (call);
  call_free (call);
  g_mutex_lock (&api->lock);
  *handshakes = api->handshakes;
  *api_key = g_strdup (api->api_key_header);
  *authorization = g_strdup (api->authorization_header);
  g_mutex_unlock (&api->lock);
}

GST_START_TEST (test_azure_host_sends_api_key_header)
{
  FakeApi *api = fake_api_start (TRUE);
  GResolver *previous = g_resolver_get_default ();
  FakeResolver *resolver = g_object_new (fake_resolver_get_type (), NULL);
  g_autofree char *azure = g_strdup_printf ("ws://" AZURE_HOST ":%u/v1/realtime",
      api->port);
  g_autofree char *plain = g_strdup_printf ("ws://127.0.0.1:%u/v1/realtime",
      api->port);
  g_autofree char *az_key = NULL, *az_auth = NULL;
  g_autofree char *plain_key = NULL, *plain_auth = NULL;
  guint az_handshakes, plain_handshakes;
  gint lookups;

  g_resolver_set_default (G_RESOLVER (resolver));
  handshake_headers (api, azure, &az_handshakes, &az_key, &az_auth);
  handshake_headers (api, plain, &plain_handshakes, &plain_key, &plain_auth);
  lookups = g_atomic_int_get (&resolver->lookups);
  g_resolver_set_default (previous);
  g_object_unref (previous);
  g_object_unref (resolver);
  fake_api_stop (api);

  fail_unless (lookups > 0, AZURE_HOST " was not resolved by the test resolver");
  fail_unless_equals_int (az_handshakes, 1);
  fail_unless_equals_string (az_key, AZURE_KEY);
  fail_unless (az_auth == NULL, "Authorization: %s sent to Azure", az_auth);
  fail_unless_equals_int (plain_handshakes, 2);
  fail_unless_equals_string (plain_auth, "Bearer " AZURE_KEY);
  fail_unless (plain_key == NULL, "api-key: %s sent to 127.0.0.1", plain_key);
}
GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Audio                                                                    */

static gboolean
has_audio (Call *call)
{
  return call_buffers (call) > 0;
}

static gboolean
has_five_marks (Call *call)
{
  gboolean ok;

  g_mutex_lock (&call->lock);
  ok = call->marks->len >= 5;
  g_mutex_unlock (&call->lock);
  return ok;
}

static void
check_echo (const char *in_caps, const char *out_caps)
{
  Mock *mock = mock_start ("--mode", "echo");
  Call *call = call_new (in_caps, out_caps, mock->url, NULL);
  g_autoptr (GstCaps) want = gst_caps_from_string (out_caps);
  g_autoptr (GstStructure) stats = NULL;
  guint64 out_bytes = 0, responses = 0;

  call_start_session (call);
  fail_unless_equals_int (call_buffers (call), 0);
  call_feed_wave (call, "sine", 1000, TRUE);
  fail_unless (call_feed_until (call, has_audio, 5000), "no agent audio");
  fail_unless (call_feed_until (call, has_five_marks, 3000), "no marks");
  g_usleep (500000);

  g_mutex_lock (&call->lock);
  fail_unless (gst_caps_is_subset (call->caps, want), "%" GST_PTR_FORMAT, call->caps);
  fail_unless (call->ts_continuous, "timestamps not continuous");
  fail_unless (g_str_has_suffix (call->marks->pdata[0], ":100")
      || strchr (call->marks->pdata[0], ':'), "mark %s", (char *) call->marks->pdata[0]);
  g_mutex_unlock (&call->lock);

  g_object_get (call->rt, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, "audio-out-bytes", &out_bytes));
  fail_unless (gst_structure_get_uint64 (stats, "responses", &responses));
  fail_unless (out_bytes > 0);
  g_mutex_lock (&call->lock);
  fail_unless_equals_uint64 (out_bytes, call->bytes);
  g_mutex_unlock (&call->lock);
  call_free (call);
  mock_free (mock);
}

GST_START_TEST (test_echo_mulaw)
{
  check_echo (MULAW, MULAW);
}
GST_END_TEST;

GST_START_TEST (test_echo_pcm_out_from_mulaw_in)
{
  check_echo (MULAW, PCM);
}
GST_END_TEST;

/* Audio held before confirmation reaches the API, all of it, in order. */
static guint64
appended_bytes (Mock *mock)
{
  g_autoptr (GPtrArray) appends = mock_events (mock, "in", "input_audio_buffer.append");
  guint64 total = 0;

  for (guint i = 0; i < appends->len; i++) {
    g_autoptr (JsonParser) parser = NULL;
    JsonObject *ev = parse_object (appends->pdata[i], &parser);
    gsize len;
    g_free (g_base64_decode (json_object_get_string_member (ev, "audio"), &len));
    total += len;
  }
  return total;
}

GST_START_TEST (test_audio_before_confirmation_is_held_then_sent)
{
  Mock *mock = mock_start ("--mode", "echo");
  Call *call = call_new (MULAW, MULAW, mock->url, NULL);
  guint64 in_bytes = 0;
  g_autoptr (GstStructure) stats = NULL;
  GstMessage *msg;

  call_play (call);
  call_feed_wave (call, "sine", 400, FALSE);   /* at once: before the session */
  msg = call_wait_message (call, "openai-realtime/session", 3000);
  assert_not_error (msg, "openai-realtime/session");
  gst_message_unref (msg);
  call_feed_wave (call, "silence", 200, TRUE);
  g_usleep (300000);
  g_object_get (call->rt, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, "audio-in-bytes", &in_bytes));
  fail_unless_equals_uint64 (in_bytes, 3200 + 1600);
  fail_unless_equals_uint64 (appended_bytes (mock), in_bytes);
  call_free (call);
  mock_free (mock);
}
GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Barge-in                                                                 */

static gboolean
has_mark_at_500 (Call *call)
{
  gboolean ok = FALSE;

  g_mutex_lock (&call->lock);
  for (guint i = 0; i < call->marks->len; i++)
    ok |= g_str_has_suffix (call->marks->pdata[i], ":500");
  g_mutex_unlock (&call->lock);
  return ok;
}

static gboolean
has_flush (Call *call)
{
  gboolean ok;

  g_mutex_lock (&call->lock);
  ok = call->flushes > 0;
  g_mutex_unlock (&call->lock);
  return ok;
}

static char *
mark_named (Call *call, const char *suffix)
{
  char *name = NULL;

  g_mutex_lock (&call->lock);
  for (guint i = 0; i < call->marks->len && !name; i++)
    if (g_str_has_suffix (call->marks->pdata[i], suffix))
      name = g_strdup (call->marks->pdata[i]);
  g_mutex_unlock (&call->lock);
  return name;
}

/* As twiliosrc does when Twilio echoes a mark. */
static void
echo_mark (Call *call, const char *name)
{
  GstPad *pad = gst_element_get_static_pad (call->rt, "sink");

  fail_unless (gst_pad_send_event (pad, gst_event_new_custom
          (GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new (GTR_EVENT_MARK,
                  "name", G_TYPE_STRING, name, NULL))));
  gst_object_unref (pad);
}

static gboolean
mark_heard (Call *call)
{
  g_autoptr (GstStructure) stats = NULL;
  guint64 heard = 0;

  g_object_get (call->rt, "stats", &stats, NULL);
  gst_structure_get_uint64 (stats, "marks-heard", &heard);
  return heard > 0;
}

GST_START_TEST (test_barge_in_truncates_at_heard_position)
{
  Mock *mock = mock_start ("--mode", "tone");
  Call *call = call_new (MULAW, MULAW, mock->url, NULL);
  g_autofree char *mark = NULL;
  g_autofree char *item = NULL;
  g_autoptr (GPtrArray) truncates = NULL;
  g_autoptr (GPtrArray) errors = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GstStructure) stats = NULL;
  guint64 barge_ins = 0;
  JsonObject *ev;

  call_start_session (call);
  call_feed_wave (call, "sine", 1500, TRUE);
  fail_unless (call_feed_until (call, has_mark_at_500, 5000), "no mark at 500 ms");
  mark = mark_named (call, ":500");
  echo_mark (call, mark);                    /* the caller heard 500 ms */
  fail_unless (call_feed_until (call, mark_heard, 1000), "mark echo not counted");
  call_feed_wave (call, "sine", 600, TRUE);   /* and speaks over the agent */
  fail_unless (call_feed_until (call, has_flush, 3000), "no flush downstream");

  truncates = mock_wait_events (mock, "in", "conversation.item.truncate", 1, 2000);
  fail_unless_equals_int (truncates->len, 1);
  ev = parse_object (truncates->pdata[0], &parser);
  item = g_strndup (mark, strrchr (mark, ':') - mark);
  fail_unless_equals_string (json_object_get_string_member (ev, "item_id"), item);
  fail_unless_equals_int (json_object_get_int_member (ev, "content_index"), 0);
  fail_unless (ABS (json_object_get_int_member (ev, "audio_end_ms") - 500) <= 100,
      "audio_end_ms %" G_GINT64_FORMAT, json_object_get_int_member (ev, "audio_end_ms"));
  g_usleep (300000);
  errors = mock_events (mock, "out", "error");
  fail_unless_equals_int (errors->len, 0);
  g_object_get (call->rt, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, "barge-ins", &barge_ins));
  fail_unless_equals_uint64 (barge_ins, 1);
  call_free (call);
  mock_free (mock);
}
GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Output and barge-in against a scripted fake API                          */

/* `ms` of agent audio as one response.output_audio.delta of item_1. */
static char *
delta_event (const char *caps, guint ms)
{
  g_autoptr (GBytes) audio = make_audio (caps, "sine", ms);
  g_autofree char *b64 = g_base64_encode (g_bytes_get_data (audio, NULL),
      g_bytes_get_size (audio));

  return g_strdup_printf ("{\"type\":\"response.output_audio.delta\","
      "\"event_id\":\"evt_d\",\"response_id\":\"resp_1\",\"item_id\":"
      "\"item_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"%s\"}", b64);
}

static guint
call_marks (Call *call)
{
  guint n;

  g_mutex_lock (&call->lock);
  n = call->marks->len;
  g_mutex_unlock (&call->lock);
  return n;
}

static gboolean
has_ten_marks (Call *call)
{
  return call_marks (call) >= 10;
}

GST_START_TEST (test_scripted_output_marks_and_barge_in)
{
  FakeApi *api = fake_api_start (TRUE);
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/v1/realtime", api->port);
  Call *call = call_new (MULAW, MULAW, uri, NULL);
  g_autoptr (GPtrArray) truncates = NULL;
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *ev;

  call_start_session (call);
  fake_api_send (api, delta_event (MULAW, 600));
  fake_api_send (api, delta_event (MULAW, 400));
  fail_unless (call_feed_until (call, has_ten_marks, 3000), "marks: %u",
      call_marks (call));
  g_mutex_lock (&call->lock);
  fail_unless_equals_uint64 (call->bytes, 8000);   /* 1 s of μ-law */
  fail_unless (call->ts_continuous);
  fail_unless_equals_int (call->marks->len, 10);
  for (guint i = 0; i < 10; i++) {
    g_autofree char *want = g_strdup_printf ("item_1:%u", (i + 1) * 100);
    fail_unless_equals_string (call->marks->pdata[i], want);
  }
  g_mutex_unlock (&call->lock);

  echo_mark (call, "item_1:400");
  fail_unless (call_feed_until (call, mark_heard, 1000), "mark echo not counted");
  fake_api_send (api, g_strdup ("{\"type\":\"input_audio_buffer.speech_started\","
          "\"event_id\":\"evt_s\",\"audio_start_ms\":1000,\"item_id\":\"item_2\"}"));
  fail_unless (call_feed_until (call, has_flush, 2000), "no flush downstream");
  g_usleep (100000);
  truncates = fake_api_received (api, "conversation.item.truncate");
  fail_unless_equals_int (truncates->len, 1);
  ev = parse_object (truncates->pdata[0], &parser);
  fail_unless_equals_string (json_object_get_string_member (ev, "item_id"), "item_1");
  fail_unless_equals_int (json_object_get_int_member (ev, "audio_end_ms"), 400);
  call_free (call);
  fake_api_stop (api);
}
GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Function call                                                            */

typedef struct {
  GMutex lock;
  char *name, *call_id, *arguments;
} FunctionCall;

static void
on_function_call (GstElement *rt, const char *name, const char *call_id,
    const char *arguments, FunctionCall *fc)
{
  g_mutex_lock (&fc->lock);
  fc->name = g_strdup (name);
  fc->call_id = g_strdup (call_id);
  fc->arguments = g_strdup (arguments);
  g_mutex_unlock (&fc->lock);
}

static gboolean
fc_seen (FunctionCall *fc)
{
  gboolean seen;

  g_mutex_lock (&fc->lock);
  seen = fc->call_id != NULL;
  g_mutex_unlock (&fc->lock);
  return seen;
}

static FunctionCall *current_fc;

static gboolean
has_function_call (Call *call)
{
  return fc_seen (current_fc);
}

GST_START_TEST (test_function_call_round_trip)
{
  Mock *mock = mock_start ("--mode", "tone", "--function-call-turn", "1",
      "--function-name", "get_weather", "--function-args", "{\"city\":\"Paris\"}");
  Call *call = call_new (MULAW, MULAW, mock->url, "tools",
      "[{\"type\":\"function\",\"name\":\"get_weather\",\"description\":\"Weather\","
      "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
      "\"string\"}}}}]", NULL);
  FunctionCall fc = { 0 };
  g_autoptr (GPtrArray) outputs = NULL;
  g_autoptr (GPtrArray) in = NULL;
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *item;
  gint out_at = -1, create_at = -1;

  g_mutex_init (&fc.lock);
  current_fc = &fc;
  g_signal_connect (call->rt, "function-call", G_CALLBACK (on_function_call), &fc);
  call_start_session (call);
  call_feed_wave (call, "sine", 800, TRUE);
  fail_unless (call_feed_until (call, has_function_call, 5000), "no function-call");
  fail_unless_equals_string (fc.name, "get_weather");
  fail_unless_equals_string (fc.arguments, "{\"city\":\"Paris\"}");
  fail_unless_equals_int (call_buffers (call), 0);

  g_signal_emit_by_name (call->rt, "function-result", fc.call_id,
      "{\"temperature\":21}");
  fail_unless (call_feed_until (call, has_audio, 5000), "no audio after the result");

  outputs = mock_events (mock, "in", "conversation.item.create");
  fail_unless (outputs->len >= 1);
  item = json_object_get_object_member (parse_object (outputs->pdata[outputs->len - 1],
          &parser), "item");
  fail_unless_equals_string (json_object_get_string_member (item, "type"),
      "function_call_output");
  fail_unless_equals_string (json_object_get_string_member (item, "call_id"), fc.call_id);
  in = mock_events (mock, "in", NULL);
  for (guint i = 0; i < in->len; i++) {
    if (strstr (in->pdata[i], "\"function_call_output\""))
      out_at = i;
    else if (out_at >= 0 && strstr (in->pdata[i], "\"response.create\""))
      create_at = i;
  }
  fail_unless (out_at >= 0 && create_at > out_at, "no response.create after the output");

  call_free (call);
  mock_free (mock);
  g_free (fc.name);
  g_free (fc.call_id);
  g_free (fc.arguments);
  g_mutex_clear (&fc.lock);
}
GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* The key stays secret                                                     */

#define SECRET_KEY "sk-h6SECRETkey-7f3a9c21e0"

static GString *debug_log;
static GRecMutex debug_log_lock;   /* formatting a message may log again */

static void
capture_log (GstDebugCategory *category, GstDebugLevel level, const gchar *file,
    const gchar *function, gint line, GObject *object, GstDebugMessage *message,
    gpointer data)
{
  const char *text = gst_debug_message_get (message);

  g_rec_mutex_lock (&debug_log_lock);
  g_string_append_printf (debug_log, "%s\n", text);
  g_rec_mutex_unlock (&debug_log_lock);
}

static void
collect_bus (Call *call, GString *into)
{
  GstMessage *msg;

  while ((msg = gst_bus_pop (call->bus))) {
    const GstStructure *s = gst_message_get_structure (msg);
    if (s) {
      g_autofree char *text = gst_structure_to_string (s);
      g_string_append_printf (into, "%s\n", text);
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      g_autoptr (GError) err = NULL;
      g_autofree char *debug = NULL;
      gst_message_parse_error (msg, &err, &debug);
      g_string_append_printf (into, "%s %s\n", err->message, debug);
    }
    gst_message_unref (msg);
  }
}

GST_START_TEST (test_api_key_never_logged)
{
  Mock *good = mock_start ("--mode", "echo", "--api-key", SECRET_KEY);
  FakeApi *bad = fake_api_start (FALSE);
  g_autofree char *denied = g_strdup_printf ("ws://127.0.0.1:%u/v1/denied", bad->port);
  g_autoptr (GString) bus = g_string_new (NULL);
  Call *call;
  GstMessage *msg;

  debug_log = g_string_new (NULL);
  gst_debug_set_active (TRUE);
  gst_debug_remove_log_function (gst_debug_log_default);
  gst_debug_add_log_function (capture_log, NULL, NULL);
  gst_debug_set_threshold_from_string ("*:9", TRUE);

  call = call_new (MULAW, MULAW, good->url, "api-key", SECRET_KEY, NULL);
  call_play (call);
  call_feed_wave (call, "sine", 300, TRUE);
  g_usleep (300000);
  collect_bus (call, bus);
  call_free (call);

  call = call_new (MULAW, MULAW, denied, "api-key", SECRET_KEY, NULL);
  call_play (call);
  call_feed_wave (call, "silence", 20, FALSE);
  msg = call_wait_error (call, 2000);
  fail_unless (msg != NULL);
  gst_bus_post (call->bus, msg);
  collect_bus (call, bus);
  call_free (call);

  gst_debug_set_threshold_from_string ("*:2", TRUE);
  gst_debug_remove_log_function (capture_log);
  gst_debug_add_log_function (gst_debug_log_default, NULL, NULL);
  fail_unless (strstr (bus->str, "openai-realtime/session") != NULL,
      "the good session was not confirmed: %s", bus->str);
  fail_unless (strstr (bus->str, "HTTP 401") != NULL);
  fail_unless (strstr (debug_log->str, "sending session.update") != NULL,
      "the element's debug log was not captured");
  fail_unless (strstr (debug_log->str, SECRET_KEY) == NULL, "key in the debug log");
  fail_unless (strstr (bus->str, SECRET_KEY) == NULL, "key on the bus");
  g_string_free (debug_log, TRUE);
  mock_free (good);
  fake_api_stop (bad);
}
GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* gst-launch and gst-inspect                                               */

static gint
run_tool (const char *cmdline, char **output)
{
  g_autoptr (GError) err = NULL;
  g_auto (GStrv) argv = NULL;
  gint status = -1;

  fail_unless (g_shell_parse_argv (cmdline, NULL, &argv, &err));
  fail_unless (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH,
          NULL, NULL, output, NULL, &status,
          &err), "%s", err ? err->message : "");
  return status;
}

static gint
run_tool_merged (const char *cmdline, char **output)
{
  g_autofree char *sh = g_strdup_printf ("sh -c '%s 2>&1'", cmdline);
  return run_tool (sh, output);
}

GST_START_TEST (test_launch_44100_fails_to_link)
{
  g_autofree char *out = NULL;
  gint status = run_tool_merged ("gst-launch-1.0 audiotestsrc num-buffers=5 ! "
      "audio/x-raw,rate=44100 ! openairealtime api-key=x "
      "uri=ws://127.0.0.1:9/v1/realtime ! fakesink", &out);

  fail_unless (status != 0, "gst-launch succeeded: %s", out);
  fail_unless (strstr (out, "not-negotiated") || strstr (out, "could not link")
      || strstr (out, "not negotiated"), "%s", out);
}
GST_END_TEST;

GST_START_TEST (test_launch_resampled_pcm_works)
{
  Mock *mock = mock_start ("--mode", "echo");
  g_autofree char *out = NULL;
  g_autofree char *cmd = g_strdup_printf ("gst-launch-1.0 -m audiotestsrc "
      "is-live=true num-buffers=60 ! audioconvert ! audioresample ! "
      "openairealtime api-key=test-key uri=%s ! fakesink", mock->url);
  gint status = run_tool_merged (cmd, &out);
  g_autoptr (GPtrArray) updates = mock_events (mock, "in", "session.update");

  fail_unless_equals_int (status, 0);
  fail_unless (strstr (out, "openai-realtime/session") != NULL, "%s", out);
  fail_unless (updates->len >= 1);
  fail_unless (strstr (updates->pdata[0], "\"audio/pcm\"") != NULL);
  g_ptr_array_unref (updates);
  updates = mock_events (mock, "in", "input_audio_buffer.append");
  fail_unless (updates->len > 0);
  mock_free (mock);
}
GST_END_TEST;

GST_START_TEST (test_inspect_is_a_manual)
{
  g_autofree char *out = NULL;
  const char *const props[] = { "api-key", "uri", "model", "instructions",
    "voice", "speed", "language", "transcription-model", "transcription-prompt",
    "noise-reduction", "turn-detection", "vad-threshold", "prefix-padding-ms",
    "silence-duration-ms", "idle-timeout-ms", "eagerness", "interrupt-response",
    "max-output-tokens", "greeting", "tools", "tool-choice", "tls-ca-file",
    "dtmf-to-text", "stats", "transcript", "function-call", "function-result",
    "near-field", "semantic-vad", "marin", "openai-realtime/session",
  };
  GstElement *rt = gst_element_factory_make ("openairealtime", NULL);
  guint n;
  GParamSpec **specs = g_object_class_list_properties (G_OBJECT_GET_CLASS (rt), &n);

  fail_unless_equals_int (run_tool ("gst-inspect-1.0 openairealtime", &out), 0);
  for (guint i = 0; i < G_N_ELEMENTS (props); i++)
    fail_unless (strstr (out, props[i]) != NULL, "gst-inspect lacks %s", props[i]);
  for (guint i = 0; i < n; i++) {
    const char *blurb = g_param_spec_get_blurb (specs[i]);
    fail_unless (blurb && strlen (blurb) > 20, "%s has no real blurb", specs[i]->name);
  }
  g_free (specs);
  gst_object_unref (rt);
}
GST_END_TEST;

GST_START_TEST (test_properties_only_change_in_ready)
{
  GstElement *rt = gst_element_factory_make ("openairealtime", NULL);
  GstPad *pad = gst_element_get_static_pad (rt, "src");
  g_autofree char *model = NULL;

  g_object_set (rt, "model", "m1", NULL);
  /* PAUSED without a network: a closed port, the connect fails later */
  g_object_set (rt, "uri", "ws://127.0.0.1:9/v1/realtime", "api-key", "k", NULL);
  gst_object_unref (pad);
  fail_unless (gst_element_set_state (rt, GST_STATE_PAUSED)
      != GST_STATE_CHANGE_FAILURE);
  g_object_set (rt, "model", "m2", NULL);
  g_object_get (rt, "model", &model, NULL);
  fail_unless_equals_string (model, "m1");
  gst_element_set_state (rt, GST_STATE_NULL);
  gst_object_unref (rt);
}
GST_END_TEST;

static Suite *
openairealtime_suite (void)
{
  Suite *s = suite_create ("openairealtime");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_inspect_is_a_manual);
  tcase_add_test (tc, test_properties_only_change_in_ready);
  tcase_add_test (tc, test_launch_44100_fails_to_link);
  tcase_add_test (tc, test_refused_is_open_read);
  tcase_add_test (tc, test_format_mismatch_is_stream_format_error);
  tcase_add_test (tc, test_http_401_is_not_authorized);
  tcase_add_test (tc, test_azure_host_sends_api_key_header);
  tcase_add_test (tc, test_scripted_output_marks_and_barge_in);
  tcase_add_test (tc, test_session_update_every_format_is_valid);
  tcase_add_test (tc, test_session_update_property_combinations_are_valid);
  tcase_add_test (tc, test_rejected_update_is_settings_error);
  tcase_add_test (tc, test_wrong_key_is_not_authorized);
  tcase_add_test (tc, test_wrong_path_names_http_status);
  tcase_add_test (tc, test_untrusted_tls_is_open_read);
  tcase_add_test (tc, test_wss_with_test_ca);
  tcase_add_test (tc, test_api_close_gives_eos_and_reason);
  tcase_add_test (tc, test_audio_before_confirmation_is_held_then_sent);
  tcase_add_test (tc, test_echo_mulaw);
  tcase_add_test (tc, test_echo_pcm_out_from_mulaw_in);
  tcase_add_test (tc, test_barge_in_truncates_at_heard_position);
  tcase_add_test (tc, test_function_call_round_trip);
  tcase_add_test (tc, test_api_key_never_logged);
  tcase_add_test (tc, test_launch_resampled_pcm_works);
  return s;
}

GST_CHECK_MAIN (openairealtime);
