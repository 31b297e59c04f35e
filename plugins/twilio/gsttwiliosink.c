/**
 * SECTION:element-twiliosink
 * @title: twiliosink
 * @see_also: twiliosrc, openairealtime
 *
 * Plays `audio/x-mulaw, rate=(int)8000, channels=(int)1` to the caller of a
 * Twilio Media Stream, on the WebSocket twiliosrc received the call on.
 *
 * The sink needs no property to find its WebSocket: it takes the stream
 * object from the sticky `twilio/call` event that twiliosrc pushes before its
 * first buffer (elements in between pass it on).  Data arriving before such an
 * event is a RESOURCE/NOT_FOUND error ("no Twilio stream: …").
 *
 * - each buffer becomes one Twilio `media` message
 *   (`{"event":"media","streamSid":…,"media":{"payload":BASE64}}`); empty
 *   buffers are skipped;
 * - the serialized custom downstream event `twilio/send-mark` (field name)
 *   becomes a Twilio `mark`, in order with the audio; Twilio echoes it back to
 *   twiliosrc (as `twilio/mark`) once the caller has heard what came before;
 * - FLUSH_START becomes a Twilio `clear`: Twilio drops the audio it has not
 *   played yet and echoes every pending mark (barge-in).
 *
 * Twilio paces playback itself, so #GstBaseSink:sync is FALSE by default.
 * Frames are written on the WebSocket's own thread: the streaming thread only
 * queues them and never waits on the network.  After the caller hangs up,
 * buffers are dropped (counted in #GstTwilioSink:stats as dropped).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 twiliosrc port=8080 ! queue ! twiliosink
 * ]| A one-call echo: the caller hears themselves.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gsttwiliosink.h"
#include "gsttwiliostream.h"

#include "gtr-events.h"
#include "gtr-protocol.h"

GST_DEBUG_CATEGORY_STATIC (gst_twilio_sink_debug);
#define GST_CAT_DEFAULT gst_twilio_sink_debug

#define TWILIO_CAPS "audio/x-mulaw, rate=(int)8000, channels=(int)1"

struct _GstTwilioSink
{
  GstBaseSink parent;

  GMutex lock;                  /* protects what follows */
  GstTwilioStream *stream;      /* from the twilio/call event */
  guint64 media, bytes, marks, clears, dropped;
};

enum
{
  PROP_0,
  PROP_STATS,
};

typedef enum
{
  SENT_MEDIA,
  SENT_MARK,
  SENT_CLEAR,
} SentKind;

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (TWILIO_CAPS));

#define gst_twilio_sink_parent_class parent_class
G_DEFINE_TYPE (GstTwilioSink, gst_twilio_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (twiliosink, "twiliosink", GST_RANK_NONE,
    GST_TYPE_TWILIO_SINK,
    GST_DEBUG_CATEGORY_INIT (gst_twilio_sink_debug, "twiliosink", 0,
        "Twilio Media Stream sink"));

static GstTwilioStream *
ref_stream (GstTwilioSink * self)
{
  GstTwilioStream *stream;

  g_mutex_lock (&self->lock);
  stream = self->stream ? g_object_ref (self->stream) : NULL;
  g_mutex_unlock (&self->lock);
  return stream;
}

static void
count_sent (GstTwilioSink * self, SentKind kind, gsize len, gboolean sent)
{
  g_mutex_lock (&self->lock);
  if (!sent)
    self->dropped++;
  else if (kind == SENT_MEDIA) {
    self->media++;
    self->bytes += len;
  } else if (kind == SENT_MARK)
    self->marks++;
  else
    self->clears++;
  g_mutex_unlock (&self->lock);
}

/* Build and queue one message on the stream: `build` gets the streamSid. */
typedef char *(*BuildFunc) (const char *stream_sid, gconstpointer data, gsize len);

static gboolean
send_message (GstTwilioSink * self, SentKind kind, BuildFunc build,
    gconstpointer data, gsize len)
{
  GstTwilioStream *stream = ref_stream (self);
  char *sid;
  gboolean sent;

  if (!stream)
    return FALSE;
  sid = gst_twilio_stream_dup_stream_sid (stream);
  sent = sid && gst_twilio_stream_send_text (stream, build (sid, data, len));
  if (!sent)
    GST_LOG_OBJECT (self, "the call is over: dropping a message");
  count_sent (self, kind, len, sent);
  g_free (sid);
  g_object_unref (stream);
  return TRUE;
}

static char *
build_media (const char *sid, gconstpointer data, gsize len)
{
  return gtr_twilio_build_media (sid, data, len);
}

static char *
build_mark (const char *sid, gconstpointer data, gsize len)
{
  return gtr_twilio_build_mark (sid, data);
}

static char *
build_clear (const char *sid, gconstpointer data, gsize len)
{
  return gtr_twilio_build_clear (sid);
}

static GstFlowReturn
gst_twilio_sink_render (GstBaseSink * sink, GstBuffer * buffer)
{
  GstTwilioSink *self = GST_TWILIO_SINK (sink);
  GstMapInfo map;
  gboolean known;

  if (gst_buffer_get_size (buffer) == 0)
    return GST_FLOW_OK;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL), ("could not map a buffer"));
    return GST_FLOW_ERROR;
  }
  GST_LOG_OBJECT (self, "sending %" G_GSIZE_FORMAT " bytes", map.size);
  known = send_message (self, SENT_MEDIA, build_media, map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  if (!known) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("no Twilio stream: twiliosink needs a twilio/call event from "
            "twiliosrc upstream"), (NULL));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

/* The sticky call event names the stream to send on. */
static void
take_call_event (GstTwilioSink * self, const GstStructure * s)
{
  const GValue *value = gst_structure_get_value (s, "stream");
  GstTwilioStream *stream = NULL;

  if (value && G_VALUE_HOLDS (value, GST_TYPE_TWILIO_STREAM))
    stream = g_value_dup_object (value);
  if (!stream) {
    GST_WARNING_OBJECT (self, "a %s event without a stream object", GTR_EVENT_CALL);
    return;
  }
  GST_INFO_OBJECT (self, "sending to Twilio stream %s",
      gst_structure_get_string (s, "stream-sid"));
  g_mutex_lock (&self->lock);
  g_clear_object (&self->stream);
  self->stream = stream;
  g_mutex_unlock (&self->lock);
}

static void
send_mark (GstTwilioSink * self, const GstStructure * s)
{
  const char *name = gst_structure_get_string (s, "name");

  if (!name) {
    GST_WARNING_OBJECT (self, "a %s event without a name", GTR_EVENT_SEND_MARK);
    return;
  }
  GST_DEBUG_OBJECT (self, "mark '%s'", name);
  if (!send_message (self, SENT_MARK, build_mark, name, 0))
    GST_WARNING_OBJECT (self, "mark '%s' before any Twilio stream: dropped", name);
}

static gboolean
gst_twilio_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstTwilioSink *self = GST_TWILIO_SINK (sink);
  const GstStructure *s = gst_event_get_structure (event);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
      if (gst_structure_has_name (s, GTR_EVENT_CALL))
        take_call_event (self, s);
      break;
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_structure_has_name (s, GTR_EVENT_SEND_MARK))
        send_mark (self, s);
      break;
    case GST_EVENT_FLUSH_START:
      GST_DEBUG_OBJECT (self, "flush: clearing Twilio's playback buffer");
      send_message (self, SENT_CLEAR, build_clear, NULL, 0);
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

static gboolean
gst_twilio_sink_stop (GstBaseSink * sink)
{
  GstTwilioSink *self = GST_TWILIO_SINK (sink);

  g_mutex_lock (&self->lock);
  g_clear_object (&self->stream);
  self->media = self->bytes = self->marks = self->clears = self->dropped = 0;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static GstStructure *
stats_new (GstTwilioSink * self)
{
  GstStructure *s;

  g_mutex_lock (&self->lock);
  s = gst_structure_new ("twilio/sink-stats",
      "media", G_TYPE_UINT64, self->media,
      "bytes", G_TYPE_UINT64, self->bytes,
      "marks", G_TYPE_UINT64, self->marks,
      "clears", G_TYPE_UINT64, self->clears,
      "dropped", G_TYPE_UINT64, self->dropped, NULL);
  g_mutex_unlock (&self->lock);
  return s;
}

static void
gst_twilio_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstTwilioSink *self = GST_TWILIO_SINK (object);

  switch (prop_id) {
    case PROP_STATS:
      g_value_take_boxed (value, stats_new (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_twilio_sink_finalize (GObject * object)
{
  GstTwilioSink *self = GST_TWILIO_SINK (object);

  g_clear_object (&self->stream);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_twilio_sink_class_init (GstTwilioSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->get_property = gst_twilio_sink_get_property;
  gobject_class->finalize = gst_twilio_sink_finalize;
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters of the current call: media (media messages handed to the "
          "WebSocket, in order), bytes (their audio bytes), marks, clears, "
          "dropped (messages not sent because the WebSocket was closed)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Twilio Media Stream sink", "Sink/Network/Audio",
      "Plays mu-law 8 kHz audio to the caller of a Twilio Media Stream, on the "
      "WebSocket named by the sticky twilio/call event from twiliosrc: each "
      "buffer is a Twilio media message, the custom event twilio/send-mark "
      "(name) a Twilio mark, FLUSH_START a Twilio clear.  sync is FALSE by "
      "default (Twilio paces playback)",
      "gst-twilio-realtime");

  basesink_class->render = gst_twilio_sink_render;
  basesink_class->event = gst_twilio_sink_event;
  basesink_class->stop = gst_twilio_sink_stop;
}

static void
gst_twilio_sink_init (GstTwilioSink * self)
{
  g_mutex_init (&self->lock);
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}
