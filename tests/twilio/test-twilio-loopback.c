/* `twiliosrc port=0 ! queue ! twiliosink` on real sockets: the caller hears
 * itself, byte for byte, in Twilio's exact envelopes; DTMF, marks and clear
 * round-trip.  Driven by a libsoup client, and by twilio-call-sim. */
#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "gtr-events.h"
#include "gtr-protocol.h"
#include "twilio-test-client.h"

#include <glib/gstdio.h>
#include <sys/prctl.h>

#define WAIT_MS 5000
#define N_CHUNKS 50

typedef struct {
  GstElement *pipeline;
  GstElement *src;
  GstElement *sink;
  GstBus *bus;
  guint port;
  TestClient *client;
  GMutex lock;
  GPtrArray *sink_events;    /* names of custom events reaching twiliosink */
  gint buffers, on_network; /* buffers twiliosrc pushed; of them, from gtr-network */
} Loopback;

/* Which thread pushes twiliosrc's buffers. */
static GstPadProbeReturn
count_pusher (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Loopback *lb = data;
  char name[17] = "";

  prctl (PR_GET_NAME, name, 0, 0, 0);
  g_atomic_int_inc (&lb->buffers);
  if (g_str_equal (name, "gtr-network"))
    g_atomic_int_inc (&lb->on_network);
  return GST_PAD_PROBE_OK;
}

/* Whether this process has a thread named `name` now. */
static gboolean
have_thread (const char *name)
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  gboolean found = FALSE;

  fail_unless (dir != NULL);
  while (!found && (tid = g_dir_read_name (dir))) {
    char *path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
    char *comm = NULL;

    if (g_file_get_contents (path, &comm, NULL, NULL))
      found = g_str_equal (g_strstrip (comm), name);
    g_free (comm);
    g_free (path);
  }
  g_dir_close (dir);
  return found;
}

static GstPadProbeReturn
record_event (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Loopback *lb = data;
  const GstStructure *s = gst_event_get_structure (GST_PAD_PROBE_INFO_EVENT (info));

  if (s) {
    g_mutex_lock (&lb->lock);
    g_ptr_array_add (lb->sink_events, gst_structure_to_string (s));
    g_mutex_unlock (&lb->lock);
  }
  return GST_PAD_PROBE_OK;
}

static gboolean
sink_saw_event (Loopback *lb, const char *prefix)
{
  gboolean seen = FALSE;

  g_mutex_lock (&lb->lock);
  for (guint i = 0; i < lb->sink_events->len && !seen; i++)
    seen = g_str_has_prefix (g_ptr_array_index (lb->sink_events, i), prefix);
  g_mutex_unlock (&lb->lock);
  return seen;
}

static gboolean
wait_sink_event (Loopback *lb, const char *prefix)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  while (!sink_saw_event (lb, prefix)) {
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    if (lb->client)
      test_client_pump (lb->client, 5);
    else
      g_usleep (5000);
  }
  return TRUE;
}

static Loopback *
loopback_start_desc (const char *desc)
{
  Loopback *lb = g_new0 (Loopback, 1);
  GstPad *pad;
  gint port;

  lb->pipeline = gst_parse_launch (desc, NULL);
  fail_unless (lb->pipeline != NULL);
  lb->src = gst_bin_get_by_name (GST_BIN (lb->pipeline), "src");
  lb->sink = gst_bin_get_by_name (GST_BIN (lb->pipeline), "sink");
  lb->bus = gst_element_get_bus (lb->pipeline);
  g_mutex_init (&lb->lock);
  lb->sink_events = g_ptr_array_new_with_free_func (g_free);
  pad = gst_element_get_static_pad (lb->sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, record_event, lb, NULL);
  gst_object_unref (pad);
  pad = gst_element_get_static_pad (lb->src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_pusher, lb, NULL);
  gst_object_unref (pad);

  g_assert_cmpint (gst_element_set_state (lb->pipeline, GST_STATE_READY), ==,
      GST_STATE_CHANGE_SUCCESS);
  g_object_get (lb->src, "port", &port, NULL);
  g_assert_cmpint (port, >, 0);
  lb->port = port;
  g_assert_cmpint (gst_element_set_state (lb->pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  return lb;
}

static Loopback *
loopback_start (void)
{
  return loopback_start_desc ("twiliosrc name=src port=0 ! queue ! twiliosink name=sink");
}

static void
loopback_free (Loopback *lb)
{
  if (lb->client)
    test_client_free (lb->client);
  gst_element_set_state (lb->pipeline, GST_STATE_NULL);
  gst_object_unref (lb->src);
  gst_object_unref (lb->sink);
  gst_bus_set_flushing (lb->bus, TRUE);
  gst_object_unref (lb->bus);
  gst_object_unref (lb->pipeline);
  g_ptr_array_unref (lb->sink_events);
  g_mutex_clear (&lb->lock);
  g_free (lb);
}

static guint64
sink_stat (Loopback *lb, const char *field)
{
  GstStructure *stats;
  guint64 value = G_MAXUINT64;

  g_object_get (lb->sink, "stats", &stats, NULL);
  g_assert_true (gst_structure_get_uint64 (stats, field, &value));
  gst_structure_free (stats);
  return value;
}

/* Every frame the caller got, parsed as Twilio parses what an app sends:
 * strictly (exact envelope, no extra field, valid base64). */
static GtrTwilioMessage *
received (Loopback *lb, guint i)
{
  GError *error = NULL;
  const char *text = g_ptr_array_index (lb->client->received, i);
  GtrTwilioMessage *msg = gtr_twilio_outbound_parse (text, -1, 0, &error);

  fail_unless (msg != NULL, "frame %u is not what Twilio accepts (%s): %s", i,
      error ? error->message : "", text);
  g_assert_cmpstr (msg->stream_sid, ==, TEST_STREAM_SID);
  return msg;
}

static void
send_custom_to_sink (Loopback *lb, GstEvent *event)
{
  GstPad *pad = gst_element_get_static_pad (lb->sink, "sink");

  fail_unless (gst_pad_send_event (pad, event));
  gst_object_unref (pad);
}

GST_START_TEST (test_echo_marks_dtmf_clear)
{
  Loopback *lb = loopback_start ();
  guint8 sent[N_CHUNKS * 160];
  GByteArray *heard = g_byte_array_new ();
  GtrTwilioMessage *msg;
  GstMessage *bus_msg;
  guint n;

  lb->client = test_client_connect (lb->port, "/media", NULL);
  g_assert_cmpuint (lb->client->status, ==, 101);
  test_client_send_take (lb->client, gtr_twilio_build_connected ());
  test_client_send_take (lb->client, test_twilio_start ());
  for (gint64 chunk = 1; chunk <= N_CHUNKS; chunk++)
    test_client_send_take (lb->client, test_twilio_media (chunk, sent + (chunk - 1) * 160));

  /* The caller hears its own audio back, byte for byte. */
  fail_unless (test_client_wait_frames (lb->client, N_CHUNKS, WAIT_MS),
      "only %u media messages came back", lb->client->received->len);
  for (guint i = 0; i < N_CHUNKS; i++) {
    msg = received (lb, i);
    g_assert_cmpint (msg->type, ==, GTR_TWILIO_EVENT_MEDIA);
    g_byte_array_append (heard, g_bytes_get_data (msg->payload, NULL),
        g_bytes_get_size (msg->payload));
    gtr_twilio_message_free (msg);
  }
  g_assert_cmpuint (heard->len, ==, sizeof sent);
  g_assert_cmpint (memcmp (heard->data, sent, sizeof sent), ==, 0);
  g_assert_cmpuint (sink_stat (lb, "media"), ==, N_CHUNKS);
  g_assert_cmpuint (sink_stat (lb, "bytes"), ==, sizeof sent);

  /* DTMF reaches the bus, and the event reaches the sink. */
  test_client_send_take (lb->client, gtr_twilio_build_dtmf (60, TEST_STREAM_SID, "7"));
  bus_msg = test_client_wait_message (lb->client, lb->bus, GST_MESSAGE_ELEMENT,
      GTR_MESSAGE_DTMF, WAIT_MS);
  fail_unless (bus_msg != NULL, "no twilio/dtmf on the bus");
  g_assert_cmpstr (gst_structure_get_string (gst_message_get_structure (bus_msg), "digit"), ==, "7");
  gst_message_unref (bus_msg);
  fail_unless (wait_sink_event (lb, "dtmf-event, type=(int)1, number=(int)7"));

  /* A mark goes out after the audio; Twilio's echo comes back as twilio/mark. */
  n = lb->client->received->len;
  send_custom_to_sink (lb, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
          gst_structure_new (GTR_EVENT_SEND_MARK, "name", G_TYPE_STRING, "turn-1", NULL)));
  fail_unless (test_client_wait_frames (lb->client, n + 1, WAIT_MS), "no mark sent");
  msg = received (lb, n);
  g_assert_cmpint (msg->type, ==, GTR_TWILIO_EVENT_MARK);
  g_assert_cmpstr (msg->name, ==, "turn-1");
  gtr_twilio_message_free (msg);
  test_client_send_take (lb->client, gtr_twilio_build_mark_echo (61, TEST_STREAM_SID, "turn-1"));
  fail_unless (wait_sink_event (lb, GTR_EVENT_MARK ", name=(string)turn-1"),
      "the mark echo did not come out of twiliosrc");
  g_assert_cmpuint (sink_stat (lb, "marks"), ==, 1);

  /* Flush → clear. */
  n = lb->client->received->len;
  send_custom_to_sink (lb, gst_event_new_flush_start ());
  send_custom_to_sink (lb, gst_event_new_flush_stop (FALSE));
  fail_unless (test_client_wait_frames (lb->client, n + 1, WAIT_MS), "no clear sent");
  msg = received (lb, n);
  g_assert_cmpint (msg->type, ==, GTR_TWILIO_EVENT_CLEAR);
  gtr_twilio_message_free (msg);
  g_assert_cmpuint (sink_stat (lb, "clears"), ==, 1);

  /* stop → EOS: the pipeline ends. */
  test_client_send_take (lb->client, gtr_twilio_build_stop (62, TEST_STREAM_SID,
          TEST_ACCOUNT_SID, TEST_CALL_SID));
  bus_msg = test_client_wait_message (lb->client, lb->bus,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR, NULL, WAIT_MS);
  fail_unless (bus_msg != NULL && GST_MESSAGE_TYPE (bus_msg) == GST_MESSAGE_EOS);
  gst_message_unref (bus_msg);

  g_byte_array_unref (heard);
  loopback_free (lb);
}
GST_END_TEST;

/* ---- EOS waits until Twilio has played what it holds ---- */

/* A loopback call whose caller has heard `n` chunks back, then EOS into the
 * sink (as when the agent ends the call): returns the index of the frame
 * that must be the final mark. */
static guint
echo_then_eos (Loopback *lb, guint n)
{
  guint before;

  lb->client = test_client_connect (lb->port, "/media", NULL);
  g_assert_cmpuint (lb->client->status, ==, 101);
  test_client_send_take (lb->client, test_twilio_start ());
  for (gint64 chunk = 1; chunk <= n; chunk++)
    test_client_send_take (lb->client, test_twilio_media (chunk, NULL));
  fail_unless (test_client_wait_frames (lb->client, n, WAIT_MS));
  before = lb->client->received->len;
  send_custom_to_sink (lb, gst_event_new_eos ());
  return before;
}

static GstMessage *
wait_eos (Loopback *lb, guint timeout_ms)
{
  return test_client_wait_message (lb->client, lb->bus,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR, NULL, timeout_ms);
}

GST_START_TEST (test_eos_waits_for_playback)
{
  Loopback *lb = loopback_start ();
  GtrTwilioMessage *msg;
  GstMessage *bus_msg;
  guint mark_index = echo_then_eos (lb, 10);

  /* The final mark follows the audio... */
  fail_unless (test_client_wait_frames (lb->client, mark_index + 1, WAIT_MS),
      "no mark after EOS");
  msg = received (lb, mark_index);
  g_assert_cmpint (msg->type, ==, GTR_TWILIO_EVENT_MARK);
  g_assert_cmpstr (msg->name, ==, "gtr-eos");
  gtr_twilio_message_free (msg);
  /* ...and while Twilio still plays, there is no EOS to end the call on. */
  bus_msg = wait_eos (lb, 500);
  fail_unless (bus_msg == NULL, "EOS posted before Twilio played the audio");
  /* Twilio echoes the mark: everything was heard. */
  test_client_send_take (lb->client, gtr_twilio_build_mark_echo (20, TEST_STREAM_SID, "gtr-eos"));
  bus_msg = wait_eos (lb, WAIT_MS);
  fail_unless (bus_msg != NULL && GST_MESSAGE_TYPE (bus_msg) == GST_MESSAGE_EOS,
      "no EOS after the echo");
  gst_message_unref (bus_msg);
  g_assert_cmpuint (sink_stat (lb, "drains"), ==, 1);
  g_assert_cmpuint (sink_stat (lb, "drain-timeouts"), ==, 0);
  loopback_free (lb);
}
GST_END_TEST;

GST_START_TEST (test_eos_drain_is_bounded)
{
  Loopback *lb = loopback_start ();
  GstMessage *bus_msg;
  gint64 start, waited_ms;

  g_object_set (lb->sink, "drain-timeout-ms", 400, NULL);
  echo_then_eos (lb, 5);
  start = g_get_monotonic_time ();
  /* A Twilio that never echoes: EOS comes at the bound. */
  bus_msg = wait_eos (lb, WAIT_MS);
  waited_ms = (g_get_monotonic_time () - start) / 1000;
  fail_unless (bus_msg != NULL && GST_MESSAGE_TYPE (bus_msg) == GST_MESSAGE_EOS);
  gst_message_unref (bus_msg);
  g_assert_cmpint (waited_ms, >=, 350);
  g_assert_cmpuint (sink_stat (lb, "drain-timeouts"), ==, 1);
  g_assert_cmpuint (sink_stat (lb, "drains"), ==, 0);
  loopback_free (lb);
}
GST_END_TEST;

GST_START_TEST (test_eos_drain_ends_on_hang_up)
{
  Loopback *lb = loopback_start ();
  GstMessage *bus_msg;

  echo_then_eos (lb, 5);
  /* The caller hangs up instead: nothing left to wait for. */
  soup_websocket_connection_close (lb->client->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  bus_msg = wait_eos (lb, WAIT_MS);
  fail_unless (bus_msg != NULL && GST_MESSAGE_TYPE (bus_msg) == GST_MESSAGE_EOS);
  gst_message_unref (bus_msg);
  g_assert_cmpuint (sink_stat (lb, "drains"), ==, 0);
  g_assert_cmpuint (sink_stat (lb, "drain-timeouts"), ==, 0);
  loopback_free (lb);
}
GST_END_TEST;

/* The peer hangs up while the sink still sends: no crash, the call ends. */
GST_START_TEST (test_peer_closes_while_sending)
{
  Loopback *lb = loopback_start ();
  GstMessage *bus_msg;

  lb->client = test_client_connect (lb->port, "/media", NULL);
  test_client_send_take (lb->client, test_twilio_start ());
  for (gint64 chunk = 1; chunk <= N_CHUNKS; chunk++) {
    test_client_send_take (lb->client, test_twilio_media (chunk, NULL));
    if (chunk == N_CHUNKS / 2)
      soup_websocket_connection_close (lb->client->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    if (chunk >= N_CHUNKS / 2)
      break;
  }
  bus_msg = test_client_wait_message (lb->client, lb->bus,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR, NULL, WAIT_MS);
  fail_unless (bus_msg != NULL && GST_MESSAGE_TYPE (bus_msg) == GST_MESSAGE_EOS);
  gst_message_unref (bus_msg);
  /* What the sink had to send after the close was dropped, not sent. */
  g_assert_cmpuint (sink_stat (lb, "media") + sink_stat (lb, "dropped"), ==,
      N_CHUNKS / 2);
  g_assert_cmpuint (lb->client->received->len, <=, sink_stat (lb, "media"));
  loopback_free (lb);
}
GST_END_TEST;

static gint64
summary_int (JsonObject *summary, const char *name)
{
  fail_unless (json_object_has_member (summary, name), "summary lacks %s", name);
  return json_object_get_int_member (summary, name);
}

/* Driven by twilio-call-sim, the faithful Twilio: its strict validation
 * finds no violation, the caller hears every frame back, DTMF reaches the
 * bus, the call ends cleanly. */
static void
call_sim_echo (gboolean run_to_completion)
{
  const char *sim = g_getenv ("GTR_TWILIO_CALL_SIM");
  char *dir = g_dir_make_tmp ("twilio-loopback-XXXXXX", NULL);
  char *summary_path = g_build_filename (dir, "summary.json", NULL);
  char *record_path = g_build_filename (dir, "heard.wav", NULL);
  Loopback *lb;
  char *url;
  GSubprocess *proc;
  GError *error = NULL;
  GstMessage *msg;
  JsonParser *parser;
  JsonObject *summary;
  gint64 sent, received;

  /* meson builds the sim before this test and sets the variable. */
  fail_unless (sim && g_file_test (sim, G_FILE_TEST_IS_EXECUTABLE),
      "GTR_TWILIO_CALL_SIM (%s) is not an executable", sim);
  lb = run_to_completion
      ? loopback_start_desc ("twiliosrc name=src port=0 run-to-completion=true ! twiliosink name=sink")
      : loopback_start ();
  url = g_strdup_printf ("ws://127.0.0.1:%u/media", lb->port);
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, sim,
      "--url", url, "--play", "tone:440:1000", "--dtmf", "5@300",
      "--linger", "500", "--record", record_path, "--summary", summary_path, NULL);
  fail_unless (proc != NULL, "%s", error ? error->message : "");

  msg = test_client_wait_message (NULL, lb->bus, GST_MESSAGE_ELEMENT, GTR_MESSAGE_DTMF, 10000);
  fail_unless (msg != NULL, "no twilio/dtmf from the sim's key press");
  g_assert_cmpstr (gst_structure_get_string (gst_message_get_structure (msg), "digit"), ==, "5");
  gst_message_unref (msg);
  /* mid-call: a streaming thread ("src:src") only without run-to-completion,
   * which pushes every buffer from the network thread instead */
  g_assert_cmpint (have_thread ("src:src"), ==, !run_to_completion);
  msg = test_client_wait_message (NULL, lb->bus, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, NULL, 10000);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  fail_unless (g_subprocess_wait_check (proc, NULL, &error),
      "twilio-call-sim failed: %s", error ? error->message : "");

  parser = json_parser_new ();
  fail_unless (json_parser_load_from_file (parser, summary_path, NULL));
  summary = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (summary_int (summary, "violations"), ==, 0);
  sent = summary_int (summary, "media_sent");
  received = summary_int (summary, "media_received");
  /* Every frame comes back but those in flight when the sim sent stop and
   * stopped listening: Twilio keeps sending media up to stop, so that is one
   * round trip's worth — one frame on an idle machine, up to three (60 ms)
   * on a loaded one or under ASan. */
  g_assert_cmpint (sent, >=, 50);
  g_assert_cmpint (received, >=, sent - 3);
  g_assert_cmpint (received, <=, sent);
  g_assert_cmpint (summary_int (summary, "bytes_received"), ==, received * 160);
  g_assert_cmpint (sink_stat (lb, "media"), >=, received);
  g_assert_cmpint (g_atomic_int_get (&lb->buffers), >=, received);
  g_assert_cmpint (g_atomic_int_get (&lb->on_network), ==,
      run_to_completion ? g_atomic_int_get (&lb->buffers) : 0);

  g_object_unref (parser);
  g_object_unref (proc);
  loopback_free (lb);
  g_unlink (summary_path);
  g_unlink (record_path);
  g_rmdir (dir);
  g_free (summary_path);
  g_free (record_path);
  g_free (dir);
  g_free (url);
}

GST_START_TEST (test_call_sim_echo)
{
  call_sim_echo (FALSE);
}
GST_END_TEST;

/* run-to-completion, as the server runs twiliosrc (and with no queue, as its
 * default pipeline): the same call, every buffer pushed by the network
 * thread, no streaming thread. */
GST_START_TEST (test_call_sim_echo_run_to_completion)
{
  call_sim_echo (TRUE);
}
GST_END_TEST;

static Suite *
loopback_suite (void)
{
  Suite *s = suite_create ("twilio-loopback");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_echo_marks_dtmf_clear);
  tcase_add_test (tc, test_peer_closes_while_sending);
  tcase_add_test (tc, test_eos_waits_for_playback);
  tcase_add_test (tc, test_eos_drain_is_bounded);
  tcase_add_test (tc, test_eos_drain_ends_on_hang_up);
  tcase_add_test (tc, test_call_sim_echo);
  tcase_add_test (tc, test_call_sim_echo_run_to_completion);
  return s;
}

GST_CHECK_MAIN (loopback);
