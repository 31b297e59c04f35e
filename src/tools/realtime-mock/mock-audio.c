/* realtime-mock: audio through GStreamer's own elements.  See mock-audio.h. */
#include "mock-audio.h"

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (mock_audio_debug);
#define GST_CAT_DEFAULT mock_audio_debug

#define S16_CAPS "audio/x-raw,format=S16LE,layout=interleaved,channels=1"

struct _MockConverter {
  GstElement *bin;
  GstPad *src;       /* ours: feeds the bin */
  GstPad *sink;      /* ours: collects what the bin pushes */
  GByteArray *out;   /* where the collecting chain appends, during a push */
  guint bytes_per_ms;
  guint64 pushed;    /* bytes pushed, for timestamps */
  GstFlowReturn last;
};

static void
init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (mock_audio_debug, "realtime-mock-audio", 0,
        "realtime-mock audio conversion");
    g_once_init_leave (&done, 1);
  }
}

GtrAudioFormat
mock_audio_format_from_type (const char *type, gint64 rate)
{
  if (g_strcmp0 (type, "audio/pcmu") == 0)
    return GTR_AUDIO_FORMAT_PCMU;
  if (g_strcmp0 (type, "audio/pcma") == 0)
    return GTR_AUDIO_FORMAT_PCMA;
  if (g_strcmp0 (type, "audio/pcm") == 0 && (rate == 0 || rate == 24000))
    return GTR_AUDIO_FORMAT_PCM24K;
  return GTR_AUDIO_FORMAT_UNSET;
}

guint
mock_audio_format_rate (GtrAudioFormat format)
{
  return format == GTR_AUDIO_FORMAT_PCM24K ? 24000 : 8000;
}

guint
mock_audio_format_bytes_per_ms (GtrAudioFormat format)
{
  return format == GTR_AUDIO_FORMAT_PCM24K ? 48 : 8;
}

/* The caps of the API's wire format, and the bin that turns S16 into it. */
static const char *
wire_caps (GtrAudioFormat format)
{
  switch (format) {
    case GTR_AUDIO_FORMAT_PCMU: return "audio/x-mulaw,rate=8000,channels=1";
    case GTR_AUDIO_FORMAT_PCMA: return "audio/x-alaw,rate=8000,channels=1";
    default: return S16_CAPS ",rate=24000";
  }
}

static char *
decoder_description (GtrAudioFormat format)
{
  const char *dec = format == GTR_AUDIO_FORMAT_PCMU ? "mulawdec ! "
      : format == GTR_AUDIO_FORMAT_PCMA ? "alawdec ! " : "";
  /* A caps filter at the end of a bin needs an element: capsfilter. */
  return g_strdup_printf ("%saudioconvert ! capsfilter caps=\"" S16_CAPS "\"", dec);
}

static char *
encoder_description (GtrAudioFormat format)
{
  const char *enc = format == GTR_AUDIO_FORMAT_PCMU ? " ! mulawenc"
      : format == GTR_AUDIO_FORMAT_PCMA ? " ! alawenc" : "";
  return g_strdup_printf ("audioconvert ! audioresample ! capsfilter caps=\"" S16_CAPS ",rate=%u\"%s",
      mock_audio_format_rate (format), enc);
}

/* ---------- the synchronous converter ---------- */

static GstFlowReturn
collect_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  MockConverter *conv = gst_pad_get_element_private (pad);
  GstMapInfo map;

  if (conv->out && gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    g_byte_array_append (conv->out, map.data, map.size);
    gst_buffer_unmap (buffer, &map);
  }
  gst_buffer_unref (buffer);
  return GST_FLOW_OK;
}

static gboolean
collect_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS) {
    gst_query_set_accept_caps_result (query, TRUE);
    return TRUE;
  }
  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS) {
    GstCaps *filter;
    gst_query_parse_caps (query, &filter);
    gst_query_set_caps_result (query, filter ? filter : GST_CAPS_ANY);
    return TRUE;
  }
  return gst_pad_query_default (pad, parent, query);
}

static gboolean
collect_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  gst_event_unref (event);
  return TRUE;
}

static gboolean
link_ghost (GstPad *ours, GstElement *bin, const char *name)
{
  g_autoptr (GstPad) theirs = gst_element_get_static_pad (bin, name);

  if (!theirs)
    return FALSE;
  return GST_PAD_IS_SRC (ours) ? gst_pad_link (ours, theirs) == GST_PAD_LINK_OK
      : gst_pad_link (theirs, ours) == GST_PAD_LINK_OK;
}

static MockConverter *
converter_new (const char *description, const char *in_caps, guint bytes_per_ms, GError **error)
{
  MockConverter *conv;
  GstElement *bin;
  g_autoptr (GstCaps) caps = gst_caps_from_string (in_caps);
  GstSegment segment;

  init_debug ();
  bin = gst_parse_bin_from_description (description, TRUE, error);
  if (!bin)
    return NULL;
  conv = g_new0 (MockConverter, 1);
  conv->bin = gst_object_ref_sink (bin);
  conv->bytes_per_ms = bytes_per_ms;
  conv->src = gst_object_ref_sink (gst_pad_new ("mock-src", GST_PAD_SRC));
  conv->sink = gst_object_ref_sink (gst_pad_new ("mock-sink", GST_PAD_SINK));
  gst_pad_set_element_private (conv->sink, conv);
  gst_pad_set_chain_function (conv->sink, collect_chain);
  gst_pad_set_query_function (conv->sink, collect_query);
  gst_pad_set_event_function (conv->sink, collect_event);

  if (!link_ghost (conv->src, bin, "sink") || !link_ghost (conv->sink, bin, "src")) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the converter \"%s\"", description);
    mock_converter_free (conv);
    return NULL;
  }
  gst_pad_set_active (conv->sink, TRUE);
  gst_pad_set_active (conv->src, TRUE);
  if (gst_element_set_state (bin, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
        "cannot start the converter \"%s\"", description);
    mock_converter_free (conv);
    return NULL;
  }
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (conv->src, gst_event_new_stream_start ("realtime-mock"));
  gst_pad_push_event (conv->src, gst_event_new_caps (caps));
  gst_pad_push_event (conv->src, gst_event_new_segment (&segment));
  return conv;
}

MockConverter *
mock_converter_new_decoder (GtrAudioFormat format, GError **error)
{
  g_autofree char *desc = decoder_description (format);

  return converter_new (desc, wire_caps (format), mock_audio_format_bytes_per_ms (format), error);
}

MockConverter *
mock_converter_new_encoder (guint rate, GtrAudioFormat format, GError **error)
{
  g_autofree char *desc = encoder_description (format);
  g_autofree char *caps = g_strdup_printf (S16_CAPS ",rate=%u", rate);

  return converter_new (desc, caps, rate * 2 / 1000, error);
}

gboolean
mock_converter_push (MockConverter *conv, const guint8 *data, gsize len, GByteArray *out)
{
  GstBuffer *buffer = gst_buffer_new_memdup (data, len);

  GST_BUFFER_PTS (buffer) = gst_util_uint64_scale (conv->pushed, GST_MSECOND, conv->bytes_per_ms);
  GST_BUFFER_DURATION (buffer) = gst_util_uint64_scale (len, GST_MSECOND, conv->bytes_per_ms);
  conv->pushed += len;
  conv->out = out;
  conv->last = gst_pad_push (conv->src, buffer);
  conv->out = NULL;
  if (conv->last != GST_FLOW_OK)
    GST_WARNING ("converter push: %s", gst_flow_get_name (conv->last));
  return conv->last == GST_FLOW_OK;
}

void
mock_converter_finish (MockConverter *conv, GByteArray *out)
{
  conv->out = out;
  gst_pad_push_event (conv->src, gst_event_new_eos ());
  conv->out = NULL;
}

void
mock_converter_free (MockConverter *conv)
{
  if (!conv)
    return;
  gst_element_set_state (conv->bin, GST_STATE_NULL);
  gst_pad_set_active (conv->src, FALSE);
  gst_pad_set_active (conv->sink, FALSE);
  gst_object_unref (conv->src);
  gst_object_unref (conv->sink);
  gst_object_unref (conv->bin);
  g_free (conv);
}

GBytes *
mock_audio_encode (const guint8 *s16, gsize len, guint rate, GtrAudioFormat format, GError **error)
{
  MockConverter *conv = mock_converter_new_encoder (rate, format, error);
  GByteArray *out;

  if (!conv)
    return NULL;
  out = g_byte_array_new ();
  if (len > 0)
    mock_converter_push (conv, s16, len, out);
  mock_converter_finish (conv, out);
  mock_converter_free (conv);
  return g_byte_array_free_to_bytes (out);
}

/* ---------- sources: run a pipeline to its end, keep what reaches the appsink ---------- */

static void
append_sample (GByteArray *out, GstSample *sample)
{
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  GstMapInfo map;

  if (gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    g_byte_array_append (out, map.data, map.size);
    gst_buffer_unmap (buffer, &map);
  }
  gst_sample_unref (sample);
}

static GBytes *
run_to_appsink (GstElement *pipeline, GError **error)
{
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  GByteArray *out = g_byte_array_new ();
  GstSample *sample;
  GstMessage *msg;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  /* An error stops the stream without EOS: poll the bus between samples. */
  while (!(msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR))) {
    sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 100 * GST_MSECOND);
    if (!sample) {
      if (gst_app_sink_is_eos (GST_APP_SINK (sink)))
        break;
      continue;
    }
    append_sample (out, sample);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (msg) {
    gst_message_parse_error (msg, error, NULL);
    gst_message_unref (msg);
    g_byte_array_unref (out);
    return NULL;
  }
  return g_byte_array_free_to_bytes (out);
}

static GstElement *
parse_pipeline (const char *description, GError **error)
{
  init_debug ();
  return gst_parse_launch (description, error);
}

GBytes *
mock_audio_tone (guint ms, GError **error)
{
  /* 10 ms buffers: the length is exact to the buffer. */
  g_autofree char *desc = g_strdup_printf ("audiotestsrc wave=sine freq=440 volume=0.3 "
      "samplesperbuffer=240 num-buffers=%u ! " S16_CAPS ",rate=24000 ! "
      "appsink name=out sync=false", MAX (ms / 10, 1));
  g_autoptr (GstElement) pipeline = parse_pipeline (desc, error);

  return pipeline ? run_to_appsink (pipeline, error) : NULL;
}

GBytes *
mock_audio_load_wav (const char *path, GError **error)
{
  g_autoptr (GstElement) pipeline = parse_pipeline ("filesrc name=file ! wavparse ! "
      "audioconvert ! audioresample ! " S16_CAPS ",rate=24000 ! appsink name=out sync=false", error);
  g_autoptr (GstElement) file = NULL;

  if (!pipeline)
    return NULL;
  file = gst_bin_get_by_name (GST_BIN (pipeline), "file");
  g_object_set (file, "location", path, NULL);
  return run_to_appsink (pipeline, error);
}
