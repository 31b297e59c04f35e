/* twiliosink on its own: caps, the missing-stream error, the manuals.  Its
 * network behaviour is tested in test-twilio-loopback.c. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <string.h>

#include "gtr-events.h"

#define NO_STREAM_TEXT "no Twilio stream: twiliosink needs a twilio/call event from twiliosrc upstream"

GST_START_TEST (test_no_stream_is_an_error)
{
  GstHarness *h = gst_harness_new ("twiliosink");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  GstStructure *stats;
  guint64 media = 1;
  gboolean sync;

  gst_element_set_bus (h->element, bus);
  g_object_get (h->element, "sync", &sync, NULL);
  g_assert_false (sync);
  gst_harness_set_src_caps_str (h, "audio/x-mulaw, rate=(int)8000, channels=(int)1");
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_allocate (NULL, 160, NULL)),
      ==, GST_FLOW_ERROR);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND));
  g_assert_cmpstr (error->message, ==, NO_STREAM_TEXT);
  g_object_get (h->element, "stats", &stats, NULL);
  g_assert_true (gst_structure_get_uint64 (stats, "media", &media));
  g_assert_cmpuint (media, ==, 0);
  gst_structure_free (stats);
  g_error_free (error);
  gst_message_unref (msg);
  gst_harness_teardown (h);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
}
GST_END_TEST;

GST_START_TEST (test_other_caps_refused)
{
  GstHarness *h = gst_harness_new ("twiliosink");
  GstPad *pad = gst_element_get_static_pad (h->element, "sink");
  GstCaps *caps;

  /* Only μ-law 8 kHz mono is accepted. */
  caps = gst_caps_from_string ("audio/x-mulaw, rate=(int)16000, channels=(int)1");
  g_assert_false (gst_pad_query_accept_caps (pad, caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string ("audio/x-raw, format=S16LE, rate=(int)8000, channels=(int)1, layout=interleaved");
  g_assert_false (gst_pad_query_accept_caps (pad, caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string ("audio/x-mulaw, rate=(int)8000, channels=(int)1");
  g_assert_true (gst_pad_query_accept_caps (pad, caps));
  gst_caps_unref (caps);
  gst_object_unref (pad);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Run a tool with our plugins; returns its exit status, output in *out. */
static gint
run_tool (const char *const *argv, char **out)
{
  char *stdout_text = NULL, *stderr_text = NULL;
  gint status = -1;
  GError *error = NULL;
  char **env = g_get_environ ();

  /* The element tests' env carries GST_PLUGIN_PATH_1_0; the tool sees it. */
  env = g_environ_unsetenv (env, "GST_TRACERS");
  fail_unless (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_SEARCH_PATH,
          NULL, NULL, &stdout_text, &stderr_text, &status, &error),
      "could not run %s: %s", argv[0], error ? error->message : "");
  *out = g_strconcat (stdout_text, stderr_text, NULL);
  g_free (stdout_text);
  g_free (stderr_text);
  g_strfreev (env);
  return status;
}

GST_START_TEST (test_launch_pcm_does_not_link)
{
  const char *argv[] = { "gst-launch-1.0", "audiotestsrc", "num-buffers=1", "!",
    "twiliosink", NULL };
  char *out;
  gint status = run_tool (argv, &out);

  fail_unless (!g_spawn_check_wait_status (status, NULL), "gst-launch succeeded: %s", out);
  fail_unless (strstr (out, "could not link audiotestsrc0 to twiliosink0") != NULL,
      "unexpected output: %s", out);
  g_free (out);
}
GST_END_TEST;

/* Every property of our own has a description; pad templates and the events
 * and messages are in the manual gst-inspect prints. */
static void
check_manual (const char *factory_name, const char *const *mentions)
{
  GstElement *element = gst_element_factory_make (factory_name, NULL);
  GObjectClass *klass = G_OBJECT_GET_CLASS (element);
  guint n;
  GParamSpec **specs = g_object_class_list_properties (klass, &n);
  const char *argv[] = { "gst-inspect-1.0", factory_name, NULL };
  char *out;

  for (guint i = 0; i < n; i++) {
    if (specs[i]->owner_type != G_OBJECT_TYPE (element))
      continue;
    fail_unless (strlen (g_param_spec_get_blurb (specs[i])) > 30,
        "%s:%s has no real description", factory_name, specs[i]->name);
  }
  g_free (specs);
  gst_object_unref (element);

  fail_unless (g_spawn_check_wait_status (run_tool (argv, &out), NULL),
      "gst-inspect-1.0 %s failed: %s", factory_name, out);
  fail_unless (strstr (out, "Pad Templates") && strstr (out, "audio/x-mulaw"),
      "%s", out);
  for (guint i = 0; mentions[i]; i++)
    fail_unless (strstr (out, mentions[i]) != NULL,
        "gst-inspect-1.0 %s does not mention %s", factory_name, mentions[i]);
  g_free (out);
}

GST_START_TEST (test_manuals)
{
  const char *src[] = { GTR_EVENT_CALL, GTR_EVENT_DTMF, GTR_EVENT_MARK,
    GTR_MESSAGE_START, GTR_MESSAGE_DTMF, GTR_MESSAGE_STOP, "EOS", "stats",
    "Default: 8080", "Default: \"/media\"", "Range: 0 - 65535", NULL };
  const char *sink[] = { GTR_EVENT_CALL, GTR_EVENT_SEND_MARK, "FLUSH_START",
    "clear", "stats", NULL };

  check_manual ("twiliosrc", src);
  check_manual ("twiliosink", sink);
}
GST_END_TEST;

static Suite *
twiliosink_suite (void)
{
  Suite *s = suite_create ("twiliosink");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_no_stream_is_an_error);
  tcase_add_test (tc, test_other_caps_refused);
  tcase_add_test (tc, test_launch_pcm_does_not_link);
  tcase_add_test (tc, test_manuals);
  return s;
}

GST_CHECK_MAIN (twiliosink);
