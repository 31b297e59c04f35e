/* twiliosrc in a GstHarness, fed by a real WebSocket client on 127.0.0.1. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/base/gstbasesrc.h>
#include <string.h>

#include "gtr-events.h"
#include "gtr-protocol.h"
#include "twilio-test-client.h"
#include "raw-http-client.h"

#include <sys/resource.h>

#define TWILIO_CAPS "audio/x-mulaw, rate=(int)8000, channels=(int)1"
#define WAIT_MS 5000
#define TOKEN "s3cr3t-auth-token-0123456789abcdef"
#define PUBLIC_URL "wss://bridge.example.com/media"

/* One twiliosrc listening on a free port, in a harness, with a bus, and a
 * record of what crossed its src pad in order ("buffer" or the event's
 * name/type). */
typedef struct {
  GstHarness *h;
  GstBus *bus;
  guint port;
  TestClient *client;
  GMutex lock;
  GPtrArray *flow;
} SrcCall;

/* Custom events by their structure's name, others by their type's. */
static const char *
event_name (GstEvent *event)
{
  const GstStructure *s = gst_event_get_structure (event);

  if (s && (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM
          || GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM_STICKY))
    return gst_structure_get_name (s);
  return GST_EVENT_TYPE_NAME (event);
}

static GstPadProbeReturn
record_flow (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  SrcCall *call = data;
  const char *what = "buffer";

  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
    what = event_name (GST_PAD_PROBE_INFO_EVENT (info));
  g_mutex_lock (&call->lock);
  g_ptr_array_add (call->flow, g_strdup (what));
  g_mutex_unlock (&call->lock);
  return GST_PAD_PROBE_OK;
}

static gint
flow_index (SrcCall *call, const char *what)
{
  gint index = -1;

  g_mutex_lock (&call->lock);
  for (guint i = 0; i < call->flow->len && index < 0; i++)
    if (g_str_equal (g_ptr_array_index (call->flow, i), what))
      index = i;
  g_mutex_unlock (&call->lock);
  return index;
}

/* The harness's element is configured by the caller, then listens. */
static SrcCall *
src_call_new_with (GstHarness *h)
{
  SrcCall *call = g_new0 (SrcCall, 1);
  GstPad *pad;

  call->h = h;
  call->bus = gst_bus_new ();
  gst_element_set_bus (h->element, call->bus);
  g_mutex_init (&call->lock);
  call->flow = g_ptr_array_new_with_free_func (g_free);
  pad = gst_element_get_static_pad (h->element, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM, record_flow, call, NULL);
  gst_object_unref (pad);
  return call;
}

static SrcCall *
src_call_new (void)
{
  GstHarness *h = gst_harness_new ("twiliosrc");

  g_object_set (h->element, "port", 0, NULL);
  return src_call_new_with (h);
}

static void
src_call_listen (SrcCall *call)
{
  gint port;

  g_assert_cmpint (gst_element_set_state (call->h->element, GST_STATE_READY), ==,
      GST_STATE_CHANGE_SUCCESS);
  /* The bound port is readable before anyone connects. */
  g_object_get (call->h->element, "port", &port, NULL);
  g_assert_cmpint (port, >, 0);
  call->port = port;
  gst_harness_play (call->h);
}

static void
src_call_connect (SrcCall *call, const char *signature)
{
  call->client = test_client_connect (call->port, "/media", signature);
}

/* Listen, connect, and start the call with Twilio's connected + start. */
static SrcCall *
src_call_started (void)
{
  SrcCall *call = src_call_new ();

  src_call_listen (call);
  src_call_connect (call, NULL);
  g_assert_cmpuint (call->client->status, ==, 101);
  test_client_send_take (call->client, gtr_twilio_build_connected ());
  test_client_send_take (call->client, test_twilio_start ());
  return call;
}

static void
src_call_free (SrcCall *call)
{
  if (call->client)
    test_client_free (call->client);
  gst_harness_teardown (call->h);
  gst_bus_set_flushing (call->bus, TRUE);
  gst_object_unref (call->bus);
  g_ptr_array_unref (call->flow);
  g_mutex_clear (&call->lock);
  g_free (call);
}

static void
pump (SrcCall *call)
{
  if (call->client)
    test_client_pump (call->client, 2);
  else
    g_usleep (2000);
}

static GstBuffer *
pull_buffer (SrcCall *call)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;
  GstBuffer *buffer;

  while (!(buffer = gst_harness_try_pull (call->h))
      && g_get_monotonic_time () < deadline)
    pump (call);
  return buffer;
}

/* The next event whose structure (or type) is `name`; others are dropped. */
static GstEvent *
pull_event (SrcCall *call, const char *name)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;
  GstEvent *event;

  while (g_get_monotonic_time () < deadline) {
    while ((event = gst_harness_try_pull_event (call->h))) {
      if (g_str_equal (event_name (event), name))
        return event;
      gst_event_unref (event);
    }
    pump (call);
  }
  return NULL;
}

static GstMessage *
wait_element_message (SrcCall *call, const char *name)
{
  return test_client_wait_message (call->client, call->bus, GST_MESSAGE_ELEMENT,
      name, WAIT_MS);
}

/* The call ended as a user sees it: EOS downstream, then twilio/stop on the
 * bus with `reason` ("stop" or "closed"). */
static void
assert_call_ended (SrcCall *call, const char *reason)
{
  GstEvent *event = pull_event (call, "eos");
  GstMessage *msg;

  fail_unless (event != NULL, "no EOS (expected a call ended by %s)", reason);
  gst_event_unref (event);
  msg = wait_element_message (call, GTR_MESSAGE_STOP);
  fail_unless (msg != NULL, "no twilio/stop message");
  g_assert_cmpstr (gst_structure_get_string (gst_message_get_structure (msg), "reason"), ==, reason);
  gst_message_unref (msg);
}

static guint64
stat (SrcCall *call, const char *field)
{
  GstStructure *stats;
  guint64 value = G_MAXUINT64;

  g_object_get (call->h->element, "stats", &stats, NULL);
  g_assert_true (gst_structure_get_uint64 (stats, field, &value));
  gst_structure_free (stats);
  return value;
}

static void
assert_payload (GstBuffer *buffer, gint64 chunk)
{
  guint8 expected[160];

  test_audio_pattern (chunk, expected, sizeof expected);
  g_assert_cmpuint (gst_buffer_get_size (buffer), ==, sizeof expected);
  g_assert_cmpint (gst_buffer_memcmp (buffer, 0, expected, sizeof expected), ==, 0);
}

/* ---- Caps and call flow ---- */

GST_START_TEST (test_caps_before_any_call)
{
  SrcCall *call = src_call_new ();
  GstEvent *event;
  GstCaps *caps, *expected = gst_caps_from_string (TWILIO_CAPS);
  const GstSegment *segment;

  src_call_listen (call);
  /* Nobody has connected: stream-start, caps and segment are out already. */
  event = pull_event (call, "stream-start");
  fail_unless (event != NULL);
  gst_event_unref (event);
  event = pull_event (call, "caps");
  fail_unless (event != NULL);
  gst_event_parse_caps (event, &caps);
  fail_unless (gst_caps_is_equal (caps, expected), "caps %" GST_PTR_FORMAT, caps);
  gst_event_unref (event);
  event = pull_event (call, "segment");
  fail_unless (event != NULL);
  gst_event_parse_segment (event, &segment);
  g_assert_cmpint (segment->format, ==, GST_FORMAT_TIME);
  gst_event_unref (event);
  g_assert_cmpint (flow_index (call, "buffer"), <, 0);
  gst_caps_unref (expected);
  src_call_free (call);
}
GST_END_TEST;

GST_START_TEST (test_defaults)
{
  GstElement *src = gst_element_factory_make ("twiliosrc", NULL);
  gchar *address, *path;
  gint port;
  guint max;

  g_object_get (src, "address", &address, "port", &port, "path", &path,
      "max-message-size", &max, NULL);
  g_assert_cmpstr (address, ==, "127.0.0.1");
  g_assert_cmpint (port, ==, 8080);
  g_assert_cmpstr (path, ==, "/media");
  g_assert_cmpuint (max, ==, 64 * 1024);
  g_assert_true (gst_base_src_is_live (GST_BASE_SRC (src)));
  g_free (address);
  g_free (path);
  gst_object_unref (src);
}
GST_END_TEST;

static void
assert_call_fields (const GstStructure *s)
{
  const GstStructure *params;
  const GValue *value;

  g_assert_cmpstr (gst_structure_get_string (s, "stream-sid"), ==, TEST_STREAM_SID);
  g_assert_cmpstr (gst_structure_get_string (s, "call-sid"), ==, TEST_CALL_SID);
  g_assert_cmpstr (gst_structure_get_string (s, "account-sid"), ==, TEST_ACCOUNT_SID);
  g_assert_nonnull (gst_structure_get_string (s, "tracks"));
  value = gst_structure_get_value (s, "custom-parameters");
  g_assert_nonnull (value);
  params = gst_value_get_structure (value);
  g_assert_cmpstr (gst_structure_get_name (params), ==, "twilio/custom-parameters");
  g_assert_cmpstr (gst_structure_get_string (params, "caller"), ==, "+15550100");
  g_assert_cmpstr (gst_structure_get_string (params, "lang"), ==, "fr");
}

GST_START_TEST (test_call_flow)
{
  SrcCall *call = src_call_started ();
  GstMessage *msg;
  GstEvent *event;
  GstBuffer *b1, *b2, *b4;
  const GstStructure *s;
  gint number;
  gboolean start;

  msg = wait_element_message (call, GTR_MESSAGE_START);
  fail_unless (msg != NULL, "no twilio/start message");
  assert_call_fields (gst_message_get_structure (msg));
  g_assert_false (gst_structure_has_field (gst_message_get_structure (msg), "stream"));
  gst_message_unref (msg);

  /* chunks 1, 2, then 4: a skip */
  test_client_send_take (call->client, test_twilio_media (1, NULL));
  test_client_send_take (call->client, test_twilio_media (2, NULL));
  test_client_send_take (call->client, test_twilio_media (4, NULL));
  b1 = pull_buffer (call);
  b2 = pull_buffer (call);
  b4 = pull_buffer (call);
  fail_unless (b1 && b2 && b4);
  assert_payload (b1, 1);
  assert_payload (b2, 2);
  assert_payload (b4, 4);
  g_assert_cmpuint (GST_BUFFER_DURATION (b1), ==, 20 * GST_MSECOND);
  g_assert_true (GST_CLOCK_TIME_IS_VALID (GST_BUFFER_PTS (b1)));
  g_assert_cmpuint (GST_BUFFER_PTS (b2) - GST_BUFFER_PTS (b1), ==, 20 * GST_MSECOND);
  g_assert_cmpuint (GST_BUFFER_PTS (b4) - GST_BUFFER_PTS (b1), ==, 60 * GST_MSECOND);
  g_assert_false (GST_BUFFER_FLAG_IS_SET (b2, GST_BUFFER_FLAG_DISCONT));
  g_assert_true (GST_BUFFER_FLAG_IS_SET (b4, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (b1);
  gst_buffer_unref (b2);
  gst_buffer_unref (b4);

  /* The call event, with the stream object, came before the first buffer. */
  g_assert_cmpint (flow_index (call, GTR_EVENT_CALL), >=, 0);
  g_assert_cmpint (flow_index (call, GTR_EVENT_CALL), <, flow_index (call, "buffer"));
  g_assert_cmpint (flow_index (call, "segment"), <, flow_index (call, GTR_EVENT_CALL));
  event = pull_event (call, GTR_EVENT_CALL);
  fail_unless (event != NULL);
  g_assert_cmpint (GST_EVENT_TYPE (event), ==, GST_EVENT_CUSTOM_DOWNSTREAM_STICKY);
  s = gst_event_get_structure (event);
  assert_call_fields (s);
  g_assert_true (G_VALUE_HOLDS_OBJECT (gst_structure_get_value (s, "stream")));
  gst_event_unref (event);

  /* DTMF: the standard event and a bus message. */
  test_client_send_take (call->client, gtr_twilio_build_dtmf (6, TEST_STREAM_SID, "#"));
  event = pull_event (call, GTR_EVENT_DTMF);
  fail_unless (event != NULL);
  s = gst_event_get_structure (event);
  g_assert_cmpint (GST_EVENT_TYPE (event), ==, GST_EVENT_CUSTOM_DOWNSTREAM);
  g_assert_true (gst_structure_get_int (s, "number", &number));
  g_assert_cmpint (number, ==, 11);
  g_assert_true (gst_structure_get_boolean (s, "start", &start) && start);
  g_assert_true (gst_structure_get_int (s, "type", &number) && number == 1);
  g_assert_true (gst_structure_get_int (s, "method", &number) && number == 2);
  gst_event_unref (event);
  msg = wait_element_message (call, GTR_MESSAGE_DTMF);
  fail_unless (msg != NULL);
  g_assert_cmpstr (gst_structure_get_string (gst_message_get_structure (msg), "digit"), ==, "#");
  gst_message_unref (msg);

  /* A mark echo: a serialized custom event, and a bus message only with
   * mark-messages (off by default; it may change while the call runs). */
  test_client_send_take (call->client, gtr_twilio_build_mark_echo (7, TEST_STREAM_SID, "m-0"));
  event = pull_event (call, GTR_EVENT_MARK);
  fail_unless (event != NULL);
  g_assert_cmpstr (gst_structure_get_string (gst_event_get_structure (event), "name"), ==, "m-0");
  gst_event_unref (event);
  g_object_set (call->h->element, "mark-messages", TRUE, NULL);
  test_client_send_take (call->client, gtr_twilio_build_mark_echo (7, TEST_STREAM_SID, "m-1"));
  event = pull_event (call, GTR_EVENT_MARK);
  fail_unless (event != NULL);
  g_assert_true (GST_EVENT_IS_SERIALIZED (event));
  g_assert_cmpstr (gst_structure_get_string (gst_event_get_structure (event), "name"), ==, "m-1");
  gst_event_unref (event);
  msg = wait_element_message (call, GTR_MESSAGE_MARK);
  fail_unless (msg != NULL);
  /* the first twilio/mark on the bus is m-1's: m-0's, posted before it on
   * the same thread, was never posted */
  g_assert_cmpstr (gst_structure_get_string (gst_message_get_structure (msg), "name"), ==, "m-1");
  gst_message_unref (msg);

  /* stop: EOS and a bus message. */
  test_client_send_take (call->client, gtr_twilio_build_stop (8, TEST_STREAM_SID,
          TEST_ACCOUNT_SID, TEST_CALL_SID));
  assert_call_ended (call, "stop");

  g_assert_cmpuint (stat (call, "frames"), ==, 9);
  g_assert_cmpuint (stat (call, "media"), ==, 3);
  g_assert_cmpuint (stat (call, "bytes"), ==, 480);
  g_assert_cmpuint (stat (call, "dtmf"), ==, 1);
  g_assert_cmpuint (stat (call, "marks"), ==, 2);
  src_call_free (call);
}
GST_END_TEST;

GST_START_TEST (test_socket_close_is_eos)
{
  SrcCall *call = src_call_started ();
  GstBuffer *buffer;

  test_client_send_take (call->client, test_twilio_media (1, NULL));
  buffer = pull_buffer (call);
  fail_unless (buffer != NULL);
  gst_buffer_unref (buffer);
  soup_websocket_connection_close (call->client->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  assert_call_ended (call, "closed");
  src_call_free (call);
}
GST_END_TEST;

GST_START_TEST (test_second_connection_refused)
{
  SrcCall *call = src_call_started ();
  TestClient *second;
  GstBuffer *buffer;

  second = test_client_connect (call->port, "/media", NULL);
  g_assert_null (second->conn);
  g_assert_cmpuint (second->status, ==, 503);
  test_client_free (second);
  /* The first call is unaffected. */
  test_client_send_take (call->client, test_twilio_media (1, NULL));
  buffer = pull_buffer (call);
  fail_unless (buffer != NULL);
  assert_payload (buffer, 1);
  gst_buffer_unref (buffer);
  src_call_free (call);
}
GST_END_TEST;

GST_START_TEST (test_wrong_media_format)
{
  SrcCall *call = src_call_new ();
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  src_call_listen (call);
  src_call_connect (call, NULL);
  test_client_send (call->client, "{\"event\":\"start\",\"sequenceNumber\":\"1\","
      "\"streamSid\":\"MZ1\",\"start\":{\"streamSid\":\"MZ1\",\"accountSid\":\"AC1\","
      "\"callSid\":\"CA1\",\"tracks\":[\"inbound\"],\"customParameters\":{},"
      "\"mediaFormat\":{\"encoding\":\"audio/x-alaw\",\"sampleRate\":16000,\"channels\":1}}}");
  msg = test_client_wait_message (call->client, call->bus, GST_MESSAGE_ERROR, NULL, WAIT_MS);
  fail_unless (msg != NULL, "no error for an A-law stream");
  gst_message_parse_error (msg, &error, &debug);
  g_assert_true (g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT));
  g_assert_nonnull (strstr (error->message, "audio/x-alaw"));
  g_assert_nonnull (strstr (error->message, "16000"));
  g_assert_cmpint (flow_index (call, "buffer"), <, 0);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  src_call_free (call);
}
GST_END_TEST;

/* ---- Bad input: each is counted, and the call goes on ---- */

typedef struct {
  const char *what;
  const char *text;       /* NULL: a binary frame */
  gboolean before_start;  /* sent before Twilio's start */
  const char *counter;
} BadInput;

#define SID "\"streamSid\":\"" TEST_STREAM_SID "\""
static const BadInput bad_inputs[] = {
  {"binary frame", NULL, FALSE, "binary-frame"},
  {"not JSON", "{\"event\": \"media\"", FALSE, "not-json"},
  {"empty text", "", FALSE, "not-json"},
  {"a JSON array", "[1, 2, 3]", FALSE, "not-object"},
  {"a JSON string", "\"media\"", FALSE, "not-object"},
  {"bad base64", "{\"event\":\"media\"," SID ",\"media\":{\"chunk\":\"9\",\"timestamp\":\"160\",\"payload\":\"!!notbase64!!\"}}", FALSE, "bad-base64"},
  {"media without payload", "{\"event\":\"media\"," SID ",\"media\":{\"chunk\":\"9\",\"timestamp\":\"160\"}}", FALSE, "missing-field"},
  {"media without media object", "{\"event\":\"media\"," SID "}", FALSE, "missing-field"},
  {"no event field", "{" SID ",\"media\":{\"payload\":\"AAAA\"}}", FALSE, "missing-field"},
  {"event is a number", "{\"event\":42," SID "}", FALSE, "bad-type"},
  {"payload is a number", "{\"event\":\"media\"," SID ",\"media\":{\"payload\":12}}", FALSE, "bad-type"},
  {"chunk is not a number", "{\"event\":\"media\"," SID ",\"media\":{\"chunk\":\"abc\",\"payload\":\"AAAA\"}}", FALSE, "bad-value"},
  {"not a DTMF digit", "{\"event\":\"dtmf\"," SID ",\"dtmf\":{\"digit\":\"X\"}}", FALSE, "bad-value"},
  {"unknown event", "{\"event\":\"hello\"," SID "}", FALSE, "unknown-event"},
  {"clear sent by Twilio", "{\"event\":\"clear\"," SID "}", FALSE, "unknown-event"},
  {"media of another stream", "{\"event\":\"media\",\"streamSid\":\"MZother\",\"media\":{\"payload\":\"AAAA\"}}", FALSE, "wrong-stream-sid"},
  {"mark without name", "{\"event\":\"mark\"," SID ",\"mark\":{}}", FALSE, "missing-field"},
  {"media before start", "{\"event\":\"media\"," SID ",\"media\":{\"payload\":\"AAAA\"}}", TRUE, "before-start"},
  {"dtmf before start", "{\"event\":\"dtmf\"," SID ",\"dtmf\":{\"digit\":\"1\"}}", TRUE, "before-start"},
  {"second start", "SECOND-START", FALSE, "second-start"},
  {"oversize frame", "OVERSIZE", FALSE, "oversize"},
};

static void
send_bad_input (SrcCall *call, const BadInput *bad)
{
  static const guint8 bytes[] = { 0xff, 0x00, 0x7f };

  if (!bad->text) {
    test_client_send_binary (call->client, bytes, sizeof bytes);
  } else if (g_str_equal (bad->text, "SECOND-START")) {
    test_client_send_take (call->client, test_twilio_start ());
  } else if (g_str_equal (bad->text, "OVERSIZE")) {
    /* Valid JSON, 70 KB: over the 64 KiB default limit. */
    GString *text = g_string_new ("{\"event\":\"mark\"," SID ",\"mark\":{\"name\":\"");
    for (guint i = 0; i < 70 * 1024; i++)
      g_string_append_c (text, 'x');
    g_string_append (text, "\"}}");
    test_client_send_take (call->client, g_string_free (text, FALSE));
  } else {
    test_client_send (call->client, bad->text);
  }
}

GST_START_TEST (test_bad_input)
{
  const BadInput *bad = &bad_inputs[__i__];
  SrcCall *call = src_call_new ();
  GstBuffer *buffer;

  GST_INFO ("bad input: %s", bad->what);
  src_call_listen (call);
  src_call_connect (call, NULL);
  if (bad->before_start)
    send_bad_input (call, bad);
  test_client_send_take (call->client, test_twilio_start ());
  if (!bad->before_start)
    send_bad_input (call, bad);
  /* The element keeps working: valid audio after it comes out. */
  test_client_send_take (call->client, test_twilio_media (1, NULL));
  buffer = pull_buffer (call);
  fail_unless (buffer != NULL, "%s: no buffer after it", bad->what);
  assert_payload (buffer, 1);
  gst_buffer_unref (buffer);
  fail_unless_equals_uint64 (stat (call, bad->counter), 1);
  fail_unless_equals_uint64 (stat (call, "media"), 1);
  fail_unless_equals_uint64 (stat (call, "frames"), 3);
  /* Nothing else came out of it. */
  fail_unless (gst_harness_try_pull (call->h) == NULL, "%s: an extra buffer", bad->what);
  src_call_free (call);
}
GST_END_TEST;

/* "payload":"" is valid Twilio (the parser accepts it): nothing to push,
 * no crash, and the call goes on. */
GST_START_TEST (test_empty_payload)
{
  SrcCall *call = src_call_started ();
  GstBuffer *buffer;

  test_client_send (call->client, "{\"event\":\"media\"," SID ",\"media\":"
      "{\"track\":\"inbound\",\"chunk\":\"1\",\"timestamp\":\"0\",\"payload\":\"\"}}");
  test_client_send_take (call->client, test_twilio_media (2, NULL));
  buffer = pull_buffer (call);
  fail_unless (buffer != NULL, "no buffer after an empty payload");
  assert_payload (buffer, 2);
  gst_buffer_unref (buffer);
  fail_unless_equals_uint64 (stat (call, "media"), 2);
  fail_unless_equals_uint64 (stat (call, "bytes"), 160);
  fail_unless (gst_harness_try_pull (call->h) == NULL, "a buffer for the empty payload");
  src_call_free (call);
}
GST_END_TEST;

GST_START_TEST (test_after_stop_ignored)
{
  SrcCall *call = src_call_started ();
  GstEvent *event;

  test_client_send_take (call->client, gtr_twilio_build_stop (2, TEST_STREAM_SID,
          TEST_ACCOUNT_SID, TEST_CALL_SID));
  test_client_send_take (call->client, test_twilio_media (1, NULL));
  event = pull_event (call, "eos");
  fail_unless (event != NULL);
  gst_event_unref (event);
  test_client_pump (call->client, 50);
  fail_unless_equals_uint64 (stat (call, "after-stop"), 1);
  g_assert_cmpint (flow_index (call, "buffer"), <, 0);
  src_call_free (call);
}
GST_END_TEST;

GST_START_TEST (test_huge_frame_ends_call)
{
  SrcCall *call = src_call_started ();
  gsize len = 16 * 64 * 1024 + 1;
  char *huge = g_malloc (len + 1);

  /* Beyond 16 × max-message-size libsoup refuses the frame and closes. */
  memset (huge, ' ', len);
  huge[len] = '\0';
  test_client_send_take (call->client, huge);
  assert_call_ended (call, "closed");
  src_call_free (call);
}
GST_END_TEST;

GST_START_TEST (test_token_without_url_fails)
{
  GstElement *src = gst_element_factory_make ("twiliosrc", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;

  gst_element_set_bus (src, bus);
  g_object_set (src, "port", 0, "auth-token", TOKEN, NULL);
  g_assert_cmpint (gst_element_set_state (src, GST_STATE_READY), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
  g_assert_null (strstr (error->message, TOKEN));
  g_error_free (error);
  gst_message_unref (msg);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_object_unref (src);
}
GST_END_TEST;

/* ---- Connections that never start a call ---- */

/* Nothing of a call crossed the src pad: no call event, no buffer, no EOS. */
static void
assert_no_call_flow (SrcCall *call)
{
  g_assert_cmpint (flow_index (call, GTR_EVENT_CALL), <, 0);
  g_assert_cmpint (flow_index (call, "buffer"), <, 0);
  g_assert_cmpint (flow_index (call, "eos"), <, 0);
}

/* The next caller gets the slot and a working call. */
static void
assert_next_call_works (SrcCall *call)
{
  GstBuffer *buffer;

  src_call_connect (call, NULL);
  g_assert_cmpuint (call->client->status, ==, 101);
  test_client_send_take (call->client, test_twilio_start ());
  test_client_send_take (call->client, test_twilio_media (1, NULL));
  buffer = pull_buffer (call);
  fail_unless (buffer != NULL, "the next connection got no call");
  assert_payload (buffer, 1);
  gst_buffer_unref (buffer);
}

GST_START_TEST (test_silent_connection_times_out)
{
  SrcCall *call = src_call_new ();
  TestClient *silent, *early;
  gint64 opened, closed_after_ms;

  g_object_set (call->h->element, "start-timeout-ms", 400, NULL);
  src_call_listen (call);
  silent = test_client_connect (call->port, "/media", NULL);
  g_assert_cmpuint (silent->status, ==, 101);
  opened = g_get_monotonic_time ();
  /* While it holds the slot, others are refused... */
  early = test_client_connect (call->port, "/media", NULL);
  g_assert_cmpuint (early->status, ==, 503);
  test_client_free (early);
  /* ...until the bound closes it, as a policy violation. */
  fail_unless (test_client_wait_closed (silent, 5000), "the silent connection stayed open");
  closed_after_ms = (g_get_monotonic_time () - opened) / 1000;
  g_assert_cmpint (closed_after_ms, >=, 350);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (silent->conn), ==, 1008);
  test_client_free (silent);
  fail_unless_equals_uint64 (stat (call, "start-timeouts"), 1);
  assert_no_call_flow (call);
  assert_next_call_works (call);
  src_call_free (call);
}
GST_END_TEST;

GST_START_TEST (test_close_before_start_frees_slot)
{
  SrcCall *call = src_call_new ();
  TestClient *quitter;

  src_call_listen (call);
  quitter = test_client_connect (call->port, "/media", NULL);
  g_assert_cmpuint (quitter->status, ==, 101);
  test_client_send_take (quitter, gtr_twilio_build_connected ());
  soup_websocket_connection_close (quitter->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  fail_unless (test_client_wait_closed (quitter, 5000));
  test_client_free (quitter);
  /* The element learns of the close on the network thread. */
  for (gint i = 0; i < 500 && stat (call, "closed-before-start") == 0; i++)
    g_usleep (10 * 1000);
  fail_unless_equals_uint64 (stat (call, "closed-before-start"), 1);
  assert_no_call_flow (call);
  assert_next_call_works (call);
  src_call_free (call);
}
GST_END_TEST;

/* A call whose Twilio goes quiet (a stalled network: no close, no frames)
 * ends at media-timeout-ms; one that keeps sending does not. */
GST_START_TEST (test_stalled_call_ends)
{
  SrcCall *call = src_call_new ();
  gint64 last_sent, ended_after_ms;
  GstBuffer *buffer;

  g_object_set (call->h->element, "media-timeout-ms", 300, NULL);
  src_call_listen (call);
  src_call_connect (call, NULL);
  test_client_send_take (call->client, test_twilio_start ());
  /* 1.2 s of media every 100 ms: the bound is between messages. */
  for (gint64 chunk = 1; chunk <= 12; chunk++) {
    test_client_send_take (call->client, test_twilio_media (chunk, NULL));
    last_sent = g_get_monotonic_time ();
    buffer = pull_buffer (call);
    fail_unless (buffer != NULL, "no buffer for chunk %" G_GINT64_FORMAT, chunk);
    gst_buffer_unref (buffer);
    test_client_pump (call->client, 100);
  }
  g_assert_cmpint (flow_index (call, "eos"), <, 0);
  /* Then nothing. */
  assert_call_ended (call, "timeout");
  ended_after_ms = (g_get_monotonic_time () - last_sent) / 1000;
  g_assert_cmpint (ended_after_ms, >=, 250);
  fail_unless (test_client_wait_closed (call->client, 5000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (call->client->conn), ==,
      SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  fail_unless_equals_uint64 (stat (call, "media-timeouts"), 1);
  src_call_free (call);
}
GST_END_TEST;

/* ---- Handshake signature ---- */


typedef struct {
  GMutex lock;
  gboolean token_seen;
  guint warnings_403;
} LogWatch;

static void
watch_log (GstDebugCategory *category, GstDebugLevel level, const gchar *file,
    const gchar *function, gint line, GObject *object, GstDebugMessage *message,
    gpointer data)
{
  LogWatch *watch = data;
  const gchar *text = gst_debug_message_get (message);

  g_mutex_lock (&watch->lock);
  if (text && strstr (text, TOKEN))
    watch->token_seen = TRUE;
  if (level == GST_LEVEL_WARNING && text && strstr (text, "403")
      && g_str_equal (gst_debug_category_get_name (category), "twiliosrc"))
    watch->warnings_403++;
  g_mutex_unlock (&watch->lock);
}

static guint
handshake_status (SrcCall *call, const char *signature)
{
  TestClient *client = test_client_connect (call->port, "/media", signature);
  guint status = client->status;

  if (status == 101)
    call->client = client;
  else
    test_client_free (client);
  return status;
}

GST_START_TEST (test_signature)
{
  LogWatch watch = { 0 };
  GstDebugLevel saved = gst_debug_get_default_threshold ();
  SrcCall *call = src_call_new ();
  char *good = gtr_twilio_signature_compute (TOKEN, PUBLIC_URL, NULL, 0);
  char *other_url = gtr_twilio_signature_compute (TOKEN, "wss://evil.example.com/media", NULL, 0);
  GstMessage *msg;

  g_mutex_init (&watch.lock);
  gst_debug_add_log_function (watch_log, &watch, NULL);
  gst_debug_set_threshold_for_name ("twilio*", GST_LEVEL_MEMDUMP);
  g_object_set (call->h->element, "auth-token", TOKEN, "public-url", PUBLIC_URL, NULL);
  src_call_listen (call);

  g_assert_cmpuint (handshake_status (call, NULL), ==, 403);
  g_assert_cmpuint (handshake_status (call, "bm90IGEgc2lnbmF0dXJl"), ==, 403);
  g_assert_cmpuint (handshake_status (call, other_url), ==, 403);
  g_assert_cmpuint (handshake_status (call, good), ==, 101);
  test_client_send_take (call->client, test_twilio_start ());
  msg = wait_element_message (call, GTR_MESSAGE_START);
  fail_unless (msg != NULL, "the signed call did not proceed");
  gst_message_unref (msg);

  gst_debug_remove_log_function (watch_log);
  gst_debug_set_threshold_for_name ("twilio*", saved);
  g_assert_cmpuint (watch.warnings_403, ==, 3);
  g_assert_false (watch.token_seen);
  g_mutex_clear (&watch.lock);
  g_free (good);
  g_free (other_url);
  src_call_free (call);
}
GST_END_TEST;

/* ---- Hostile HTTP: refusals and connections that never finish ---- */

/* This process's open sockets (/proc/self/fd): the test's client ends and
 * the element's server ends of every connection.  Other descriptors (GLib
 * creates eventfds lazily) are not what a refused peer can pile up. */
static guint
count_sockets (void)
{
  GDir *dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir))) {
    char *path = g_build_filename ("/proc/self/fd", name, NULL);
    char *target = g_file_read_link (path, NULL);

    if (target && g_str_has_prefix (target, "socket:"))
      n++;
    g_free (target);
    g_free (path);
  }
  g_dir_close (dir);
  return n;
}

/* The server side of a closed connection goes shortly after, on the
 * network thread: wait (bounded) for the count to come down. */
static guint
wait_sockets_at_most (guint target, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  guint n;

  while ((n = count_sockets ()) > target && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  return n;
}

/* 1000 refused handshakes (403 unsigned, 404 wrong path, 503 while a call
 * runs) hold no descriptor afterwards, and under a 256-descriptor limit the
 * signed call still connects: libsoup alone kept every refused socket in
 * CLOSE_WAIT. */
GST_START_TEST (test_refusals_hold_no_descriptors)
{
  SrcCall *call = src_call_new ();
  char *good = gtr_twilio_signature_compute (TOKEN, PUBLIC_URL, NULL, 0);
  char *signed_headers = g_strdup_printf ("X-Twilio-Signature: %s\r\n", good);
  char *unsigned_req = raw_upgrade_request ("/media", NULL);
  char *wrong_path = raw_upgrade_request ("/other", NULL);
  char *signed_req = raw_upgrade_request ("/media", signed_headers);
  struct rlimit saved, low = { 256, 256 };
  GSocketConnection *holder;
  guint baseline, after;

  g_object_set (call->h->element, "auth-token", TOKEN, "public-url", PUBLIC_URL, NULL);
  src_call_listen (call);
  baseline = count_sockets ();
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low.rlim_max = saved.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);

  for (guint i = 0; i < 500; i++)
    g_assert_cmpuint (raw_request_status (call->port, unsigned_req), ==, 403);
  for (guint i = 0; i < 250; i++)
    g_assert_cmpuint (raw_request_status (call->port, wrong_path), ==, 404);
  /* A signed call holds the slot: the rest are 503. */
  holder = raw_connect (call->port);
  raw_send (holder, signed_req, strlen (signed_req));
  g_assert_cmpuint (raw_read_status (holder, 5000), ==, 101);
  for (guint i = 0; i < 250; i++)
    g_assert_cmpuint (raw_request_status (call->port, signed_req), ==, 503);
  g_object_unref (holder);

  /* Back to the baseline once the element has seen the hang-ups. */
  after = wait_sockets_at_most (baseline, 5000);
  g_assert_cmpuint (after, <=, baseline);
  fail_unless_equals_uint64 (stat (call, "refused"), 1000);
  /* The call's connection closed before start: the slot is free again, and
   * the genuine, signed call connects. */
  g_assert_cmpuint (handshake_status (call, good), ==, 101);
  test_client_send_take (call->client, test_twilio_start ());
  test_client_send_take (call->client, test_twilio_media (1, NULL));
  {
    GstBuffer *buffer = pull_buffer (call);
    fail_unless (buffer != NULL, "the signed call got no audio through");
    gst_buffer_unref (buffer);
  }
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  g_free (good);
  g_free (signed_headers);
  g_free (unsigned_req);
  g_free (wrong_path);
  g_free (signed_req);
  src_call_free (call);
}
GST_END_TEST;

/* A TCP connection that sends nothing, and a handshake sent a byte at a
 * time, are shut down at handshake-timeout-ms, and the slot stays free. */
GST_START_TEST (test_unfinished_handshakes_are_bounded)
{
  SrcCall *call = src_call_new ();
  char *request = raw_upgrade_request ("/media", NULL);
  GSocketConnection *silent, *slow;
  gint64 start, elapsed_ms;
  RawEnd end;
  gsize sent = 0;

  g_object_set (call->h->element, "handshake-timeout-ms", 400, NULL);
  src_call_listen (call);
  silent = raw_connect (call->port);
  slow = raw_connect (call->port);
  start = g_get_monotonic_time ();
  /* One byte every 50 ms: never the whole header block within the bound. */
  while ((end = raw_wait_closed (slow, 50)) == RAW_OPEN
      && sent < strlen (request) - 1
      && raw_try_send (slow, request + sent, 1))
    sent++;
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_cmpint (end, !=, RAW_OPEN);
  g_assert_cmpint (elapsed_ms, >=, 350);
  g_assert_cmpint (elapsed_ms, <, 5000);
  g_assert_cmpint (raw_wait_closed (silent, 5000), !=, RAW_OPEN);
  fail_unless_equals_uint64 (stat (call, "handshake-timeouts"), 2);
  /* Neither was a call. */
  g_assert_cmpint (flow_index (call, GTR_EVENT_CALL), <, 0);
  g_object_unref (silent);
  g_object_unref (slow);
  g_free (request);
  assert_next_call_works (call);
  src_call_free (call);
}
GST_END_TEST;

/* ---- Embedded: an application's SoupServer hands the WebSocket over ---- */

/* The application: its own SoupServer on its own context, whose WebSocket
 * handler gives the connection to the element. */
typedef struct {
  GMainContext *context;
  SoupServer *server;
  guint port;
} AppServer;

static void
app_websocket_handler (SoupServer *server, SoupServerMessage *msg,
    const char *path, SoupWebsocketConnection *connection, gpointer data)
{
  g_object_set (GST_ELEMENT (data), "connection", connection, NULL);
}

static AppServer *
app_server_new (GstElement *src)
{
  AppServer *app = g_new0 (AppServer, 1);
  GSList *uris;

  app->context = g_main_context_new ();
  g_main_context_push_thread_default (app->context);
  app->server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (app->server, "/calls", NULL, NULL,
      app_websocket_handler, src, NULL);
  fail_unless (soup_server_listen_local (app->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, NULL));
  uris = soup_server_get_uris (app->server);
  app->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  g_main_context_pop_thread_default (app->context);
  return app;
}

static void
app_server_free (AppServer *app)
{
  soup_server_disconnect (app->server);
  g_object_unref (app->server);
  while (g_main_context_iteration (app->context, FALSE))
    ;
  g_main_context_unref (app->context);
  g_free (app);
}

GST_START_TEST (test_embedded_connection)
{
  GstHarness *h = gst_harness_new ("twiliosrc");
  SrcCall *call = src_call_new_with (h);
  AppServer *app = app_server_new (h->element);
  GstBuffer *buffer;
  GstEvent *event;
  gint port;

  call->client = test_client_connect_on (app->port, "/calls", NULL, app->context);
  g_assert_cmpuint (call->client->status, ==, 101);
  gst_harness_play (h);
  /* It does not listen: its port stays the default. */
  g_object_get (h->element, "port", &port, NULL);
  g_assert_cmpint (port, ==, 8080);

  test_client_send_take (call->client, test_twilio_start ());
  test_client_send_take (call->client, test_twilio_media (1, NULL));
  buffer = pull_buffer (call);
  fail_unless (buffer != NULL);
  assert_payload (buffer, 1);
  gst_buffer_unref (buffer);
  soup_websocket_connection_close (call->client->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  event = pull_event (call, "eos");
  fail_unless (event != NULL);
  gst_event_unref (event);

  src_call_free (call);
  app_server_free (app);
}
GST_END_TEST;

/* The application hands over a connection that never starts the call: the
 * call is over (there is no other connection to wait for). */
GST_START_TEST (test_embedded_start_timeout)
{
  GstHarness *h = gst_harness_new ("twiliosrc");
  SrcCall *call = src_call_new_with (h);
  AppServer *app;

  g_object_set (h->element, "start-timeout-ms", 300, NULL);
  app = app_server_new (h->element);
  call->client = test_client_connect_on (app->port, "/calls", NULL, app->context);
  g_assert_cmpuint (call->client->status, ==, 101);
  gst_harness_play (h);
  assert_call_ended (call, "start-timeout");
  fail_unless (test_client_wait_closed (call->client, 5000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (call->client->conn), ==, 1008);
  fail_unless_equals_uint64 (stat (call, "start-timeouts"), 1);
  src_call_free (call);
  app_server_free (app);
}
GST_END_TEST;

/* embedded=true: the pipeline runs first (its agent can connect), the
 * connection comes later. */
GST_START_TEST (test_embedded_connection_later)
{
  GstHarness *h = gst_harness_new ("twiliosrc");
  SrcCall *call = src_call_new_with (h);
  AppServer *app;
  GstBuffer *buffer;
  gint port;

  g_object_set (h->element, "embedded", TRUE, "port", 0, NULL);
  app = app_server_new (h->element);
  gst_harness_play (h);
  /* It does not listen, even with port=0. */
  g_object_get (h->element, "port", &port, NULL);
  g_assert_cmpint (port, ==, 0);
  g_usleep (100 * 1000);
  assert_no_call_flow (call);
  /* The application's handler sets 'connection' in PLAYING. */
  call->client = test_client_connect_on (app->port, "/calls", NULL, app->context);
  g_assert_cmpuint (call->client->status, ==, 101);
  test_client_send_take (call->client, test_twilio_start ());
  test_client_send_take (call->client, test_twilio_media (1, NULL));
  buffer = pull_buffer (call);
  fail_unless (buffer != NULL);
  assert_payload (buffer, 1);
  gst_buffer_unref (buffer);
  src_call_free (call);
  app_server_free (app);
}
GST_END_TEST;

/* ---- Settings checked in NULL→READY ---- */

static GError *
ready_error (GstElement *src)
{
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;

  gst_element_set_bus (src, bus);
  g_assert_cmpint (gst_element_set_state (src, GST_STATE_READY), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  gst_message_parse_error (msg, &error, NULL);
  gst_message_unref (msg);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_element_set_bus (src, NULL);
  gst_object_unref (bus);
  return error;
}

GST_START_TEST (test_bad_path_fails)
{
  static const char *const paths[] = { "", "media", "ws://x/media" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    GstElement *src = gst_element_factory_make ("twiliosrc", NULL);
    GError *error;

    g_object_set (src, "port", 0, "path", paths[i], NULL);
    error = ready_error (src);
    g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
    g_assert_nonnull (strstr (error->message, "path"));
    g_error_free (error);
    gst_object_unref (src);
  }
}
GST_END_TEST;

GST_START_TEST (test_url_without_token_warns)
{
  GstElement *src = gst_element_factory_make ("twiliosrc", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;

  g_unsetenv ("TWILIO_AUTH_TOKEN");
  gst_element_set_bus (src, bus);
  g_object_set (src, "port", 0, "public-url", PUBLIC_URL, NULL);
  g_assert_cmpint (gst_element_set_state (src, GST_STATE_READY), ==,
      GST_STATE_CHANGE_SUCCESS);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no warning: handshakes go unchecked silently");
  gst_message_parse_warning (msg, &error, NULL);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
  g_assert_nonnull (strstr (error->message, "not checked"));
  g_error_free (error);
  gst_message_unref (msg);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_element_set_bus (src, NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
}
GST_END_TEST;

/* The token from the environment checks handshakes like the property. */
GST_START_TEST (test_token_from_environment)
{
  SrcCall *call = src_call_new ();
  char *good = gtr_twilio_signature_compute (TOKEN, PUBLIC_URL, NULL, 0);
  GstElement *bare = gst_element_factory_make ("twiliosrc", NULL);
  GError *error;

  g_setenv ("TWILIO_AUTH_TOKEN", TOKEN, TRUE);
  g_object_set (call->h->element, "public-url", PUBLIC_URL, NULL);
  src_call_listen (call);
  g_assert_cmpuint (handshake_status (call, NULL), ==, 403);
  g_assert_cmpuint (handshake_status (call, good), ==, 101);

  /* Without public-url it cannot be checked: an error naming the variable,
   * never its value. */
  g_object_set (bare, "port", 0, NULL);
  error = ready_error (bare);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
  g_assert_nonnull (strstr (error->message, "TWILIO_AUTH_TOKEN"));
  g_assert_null (strstr (error->message, TOKEN));
  g_error_free (error);
  gst_object_unref (bare);
  g_unsetenv ("TWILIO_AUTH_TOKEN");
  g_free (good);
  src_call_free (call);
}
GST_END_TEST;

static Suite *
twiliosrc_suite (void)
{
  Suite *s = suite_create ("twiliosrc");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_defaults);
  tcase_add_test (tc, test_caps_before_any_call);
  tcase_add_test (tc, test_call_flow);
  tcase_add_test (tc, test_socket_close_is_eos);
  tcase_add_test (tc, test_second_connection_refused);
  tcase_add_test (tc, test_wrong_media_format);
  tcase_add_loop_test (tc, test_bad_input, 0, G_N_ELEMENTS (bad_inputs));
  tcase_add_test (tc, test_empty_payload);
  tcase_add_test (tc, test_after_stop_ignored);
  tcase_add_test (tc, test_huge_frame_ends_call);
  tcase_add_test (tc, test_token_without_url_fails);
  tcase_add_test (tc, test_signature);
  tcase_add_test (tc, test_embedded_connection);
  tcase_add_test (tc, test_embedded_start_timeout);
  tcase_add_test (tc, test_embedded_connection_later);
  tcase_add_test (tc, test_silent_connection_times_out);
  tcase_add_test (tc, test_close_before_start_frees_slot);
  tcase_add_test (tc, test_stalled_call_ends);
  tcase_add_test (tc, test_refusals_hold_no_descriptors);
  tcase_add_test (tc, test_unfinished_handshakes_are_bounded);
  tcase_add_test (tc, test_bad_path_fails);
  tcase_add_test (tc, test_url_without_token_warns);
  tcase_add_test (tc, test_token_from_environment);
  return s;
}

GST_CHECK_MAIN (twiliosrc);
