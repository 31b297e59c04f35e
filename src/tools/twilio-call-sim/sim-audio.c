/* twilio-call-sim: the caller's audio (see sim-audio.h). */
#include "sim-audio.h"

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <stdlib.h>
#include <errno.h>

#define MULAW_8K_RAW "audio/x-raw,format=S16LE,rate=8000,channels=1 ! mulawenc"
#define SINK "appsink name=sink sync=false"
/* audiotestsrc buffers of 20 ms at 8 kHz */
#define SAMPLES_PER_BUFFER 160

/* Wait for EOS or an error on `pipeline`'s bus; FALSE with the error. */
static gboolean
wait_for_eos (GstElement *pipeline, GError **error)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage) msg = gst_bus_timed_pop_filtered (bus,
      GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, error, NULL);
    return FALSE;
  }
  return TRUE;
}

static GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer user_data)
{
  GByteArray *out = user_data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf;
  GstMapInfo map;

  if (sample == NULL)
    return GST_FLOW_EOS;
  buf = gst_sample_get_buffer (sample);
  if (buf != NULL && gst_buffer_map (buf, &map, GST_MAP_READ)) {
    g_byte_array_append (out, map.data, map.size);
    gst_buffer_unmap (buf, &map);
  }
  return GST_FLOW_OK;
}

/* Run `pipeline` to EOS, collecting what its appsink "sink" receives.  The
 * bus decides when it is over: an upstream error (a WAV wavparse cannot
 * read) never reaches the appsink, so pulling from it would wait forever. */
static GBytes *
collect (GstElement *pipeline, GError **error)
{
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GByteArray *out = g_byte_array_new ();
  GstAppSinkCallbacks callbacks = { .new_sample = on_new_sample };
  gboolean ok;

  /* called on the streaming thread, which is stopped by the NULL state below */
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, out, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  ok = wait_for_eos (pipeline, error);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (!ok) {
    g_byte_array_unref (out);
    return NULL;
  }
  return g_byte_array_free_to_bytes (out);
}

static GBytes *
render_launch (const char *description, const char *location, GError **error)
{
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, error);

  if (pipeline == NULL)
    return NULL;
  if (location != NULL) {
    g_autoptr (GstElement) src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
    g_object_set (src, "location", location, NULL);
  }
  return collect (pipeline, error);
}

/* Parse a positive integer (milliseconds, hertz) from the whole of `text`. */
static gboolean
parse_positive (const char *text, guint64 max, guint64 *value)
{
  char *end = NULL;
  guint64 v;

  if (text == NULL || !g_ascii_isdigit (text[0]))
    return FALSE;
  errno = 0;
  v = g_ascii_strtoull (text, &end, 10);
  if (errno != 0 || *end != '\0' || v == 0 || v > max)
    return FALSE;
  *value = v;
  return TRUE;
}

/* audiotestsrc for `ms` milliseconds of `wave` at `hz`. */
static GBytes *
render_test_wave (const char *wave, guint64 hz, guint64 ms, GError **error)
{
  guint64 samples = ms * 8;
  guint64 buffers = (samples + SAMPLES_PER_BUFFER - 1) / SAMPLES_PER_BUFFER;
  g_autofree char *desc = g_strdup_printf ("audiotestsrc wave=%s freq=%"
      G_GUINT64_FORMAT " samplesperbuffer=%d num-buffers=%" G_GUINT64_FORMAT
      " ! " MULAW_8K_RAW " ! " SINK, wave, hz, SAMPLES_PER_BUFFER, buffers);
  g_autoptr (GBytes) all = render_launch (desc, NULL, error);

  if (all == NULL)
    return NULL;
  return g_bytes_new_from_bytes (all, 0, MIN (samples, g_bytes_get_size (all)));
}

static GBytes *
render_wav (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  GBytes *out;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
        "wav:%s: no such file", path);
    return NULL;
  }
  out = render_launch ("filesrc name=src ! wavparse ! decodebin ! audioconvert"
      " ! audioresample ! " MULAW_8K_RAW " ! " SINK, path, &local);
  if (out == NULL)
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "wav:%s: %s", path,
        local ? local->message : "unreadable");
  return out;
}

static GBytes *
bad_spec (const char *spec, GError **error)
{
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
      "bad --play segment '%s' (expected tone:HZ:MS, silence:MS or wav:PATH)",
      spec);
  return NULL;
}

GBytes *
sim_audio_render (const char *spec, GError **error)
{
  /* 24 h of audio and 4 kHz (Nyquist at 8 kHz) bound the numbers */
  const guint64 max_ms = 24 * 3600 * 1000;
  guint64 hz, ms;

  if (g_str_has_prefix (spec, "wav:") && spec[4] != '\0')
    return render_wav (spec + 4, error);
  if (g_str_has_prefix (spec, "silence:")) {
    if (!parse_positive (spec + 8, max_ms, &ms))
      return bad_spec (spec, error);
    return render_test_wave ("silence", 440, ms, error);
  }
  if (g_str_has_prefix (spec, "tone:")) {
    g_auto (GStrv) parts = g_strsplit (spec + 5, ":", -1);

    if (g_strv_length (parts) != 2 || !parse_positive (parts[0], 4000, &hz)
        || !parse_positive (parts[1], max_ms, &ms))
      return bad_spec (spec, error);
    return render_test_wave ("sine", hz, ms, error);
  }
  return bad_spec (spec, error);
}

gboolean
sim_audio_write_wav (const char *path, GBytes *mulaw, GError **error)
{
  g_autoptr (GstElement) pipeline = gst_parse_launch (
      "appsrc name=src format=time caps=audio/x-mulaw,rate=8000,channels=1"
      " ! wavenc ! filesink name=out", error);
  g_autoptr (GstElement) src = NULL;
  g_autoptr (GstElement) out = NULL;
  GstBuffer *buf;
  gboolean ok;

  if (pipeline == NULL)
    return FALSE;
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_object_set (out, "location", path, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  if (g_bytes_get_size (mulaw) > 0) {
    buf = gst_buffer_new_wrapped_bytes (mulaw);
    GST_BUFFER_PTS (buf) = 0;
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (g_bytes_get_size (mulaw),
        GST_SECOND, 8000);
    gst_app_src_push_buffer (GST_APP_SRC (src), buf);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  ok = wait_for_eos (pipeline, error);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return ok;
}
