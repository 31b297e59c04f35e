/* openailive, the parts a user meets before any network: the settings
 * checked at NULL→READY (each mistake an element error naming it), the one
 * format both pads carry (proxied caps: a downstream that cannot take the
 * caller's format fails negotiation), the key's absence, and the defaults
 * gst-inspect shows.  The calls themselves (mock, sim, every piece a
 * process) are tests/integration/test-live.py. */
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <string.h>

/* The first ERROR on `pipeline`'s bus within 5 s, or NULL. */
static GstMessage *
first_error (GstElement *pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);

  gst_object_unref (bus);
  return msg;
}

/* NULL→READY of `openailive PROPS` fails with an error whose text holds `text`. */
static void
assert_ready_fails (const char *props, GQuark domain, gint code, const char *text)
{
  g_autofree char *desc = g_strdup_printf ("openailive %s", props);
  GstElement *e = gst_parse_launch (desc, NULL);
  GstElement *pipeline = gst_pipeline_new (NULL);
  GstMessage *msg;
  g_autoptr (GError) err = NULL;
  g_autofree char *debug = NULL;

  fail_unless (e != NULL, "%s", desc);
  gst_bin_add (GST_BIN (pipeline), e);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_READY),
      GST_STATE_CHANGE_FAILURE);
  msg = first_error (pipeline);
  fail_unless (msg != NULL, "%s: no error message", desc);
  gst_message_parse_error (msg, &err, &debug);
  fail_unless (g_error_matches (err, domain, code), "%s: %s (%s %d)", desc,
      err->message, g_quark_to_string (err->domain), err->code);
  fail_unless (strstr (err->message, text) != NULL, "%s: \"%s\" lacks \"%s\"", desc,
      err->message, text);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}

GST_START_TEST (test_settings_checked_at_ready)
{
  assert_ready_fails ("tools=[{\"type\":\"function\",\"name\":\"x\"}]", GST_LIBRARY_ERROR,
      GST_LIBRARY_ERROR_SETTINGS, "tools need delegation=responses");
  assert_ready_fails ("delegation=responses", GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
      "delegation=responses needs responses-model");
  assert_ready_fails ("delegation=responses responses-model=m tools=[{\"type\":\"function\"}]",
      GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "invalid session settings: tools:");
  assert_ready_fails ("delegation=responses responses-model=m transfer-to=nobody",
      GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "transfer-to \"nobody\" is neither");
  assert_ready_fails ("delegation=responses responses-model=m tools-file=/nonexistent/tools.json",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ, "/nonexistent/tools.json");
}
GST_END_TEST;

/* gst_parse_launch keeps the single quotes a shell would have removed. */
GST_START_TEST (test_quoted_tools_say_what_to_write)
{
  GstElement *e = gst_element_factory_make ("openailive", NULL);
  GstElement *pipeline = gst_pipeline_new (NULL);
  GstMessage *msg;
  g_autoptr (GError) err = NULL;

  g_object_set (e, "delegation", 1, "responses-model", "m",
      "tools", "'[{\"type\":\"function\",\"name\":\"x\"}]'", NULL);
  gst_bin_add (GST_BIN (pipeline), e);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_READY),
      GST_STATE_CHANGE_FAILURE);
  msg = first_error (pipeline);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (strstr (err->message, "starts with a single quote") != NULL, "%s", err->message);
  fail_unless (strstr (err->message, "tools=\"[...]\"") != NULL, "%s", err->message);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}
GST_END_TEST;

GST_START_TEST (test_no_key_is_not_authorized)
{
  GstElement *e = gst_element_factory_make ("openailive", NULL);
  GstElement *pipeline = gst_pipeline_new (NULL);
  GstMessage *msg;
  g_autoptr (GError) err = NULL;

  g_unsetenv ("OPENAI_API_KEY");
  gst_bin_add (GST_BIN (pipeline), e);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = first_error (pipeline);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED));
  fail_unless (strstr (err->message, "OPENAI_API_KEY") != NULL, "%s", err->message);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* Whether `up ! openailive ! down` links (caps as gst_parse_launch gives them). */
static gboolean
links (const char *up, const char *down)
{
  g_autofree char *desc = g_strdup_printf ("audiotestsrc num-buffers=1 ! %s ! openailive name=l "
      "! %s ! fakesink", up, down);
  g_autoptr (GError) err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);

  if (p)
    gst_object_unref (p);
  return p != NULL && err == NULL;
}

/* One format both ways: the src pad proxies the sink pad's caps, so a
 * downstream capsfilter that wants another format cannot link. */
GST_START_TEST (test_one_format_both_pads)
{
  fail_unless (links ("mulawenc", "audio/x-mulaw,rate=8000,channels=1"));
  fail_unless (links ("audio/x-raw,format=S16LE,rate=16000,channels=1",
          "audio/x-raw,format=S16LE,rate=16000,channels=1"));
  fail_if (links ("mulawenc", "audio/x-raw,format=S16LE,rate=24000,channels=1"),
      "mu-law in, PCM out: GPT-Live has one format");
  fail_if (links ("audio/x-raw,format=S16LE,rate=16000,channels=1",
          "audio/x-raw,format=S16LE,rate=24000,channels=1"), "16 kHz in, 24 kHz out");
  fail_if (links ("audio/x-raw,format=S16LE,rate=8000,channels=1", "fakesink"),
      "PCM at 8 kHz is not a GPT-Live format");
}
GST_END_TEST;

GST_START_TEST (test_defaults)
{
  GstElement *e = gst_element_factory_make ("openailive", NULL);
  g_autofree char *uri = NULL, *model = NULL, *voice = NULL;
  guint queued, attempts;

  g_object_get (e, "uri", &uri, "model", &model, "voice", &voice, "max-queued-ms", &queued,
      "reconnect-attempts", &attempts, NULL);
  fail_unless_equals_string (uri, "wss://api.openai.com/v1/live/sessions");
  fail_unless_equals_string (model, "gpt-live-1.1");
  fail_unless_equals_string (voice, "marin");
  fail_unless_equals_int (queued, 200);
  fail_unless_equals_int (attempts, 5);
  gst_object_unref (e);
}
GST_END_TEST;

static Suite *
openailive_suite (void)
{
  Suite *s = suite_create ("openailive");
  TCase *tc = tcase_create ("local");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_settings_checked_at_ready);
  tcase_add_test (tc, test_quoted_tools_say_what_to_write);
  tcase_add_test (tc, test_no_key_is_not_authorized);
  tcase_add_test (tc, test_one_format_both_pads);
  tcase_add_test (tc, test_defaults);
  return s;
}

GST_CHECK_MAIN (openailive);
