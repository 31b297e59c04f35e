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
 *   played yet and echoes every pending mark (barge-in);
 * - EOS becomes a final mark (`gtr-eos`), and the EOS message is posted once
 *   Twilio echoes it — the caller has heard everything — or the WebSocket
 *   closes, or #GstTwilioSink:drain-timeout-ms passes; an application that
 *   ends the call on EOS no longer cuts the last words off.
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
#include "gtr-inspect.h"
#include "gtr-protocol.h"

GST_DEBUG_CATEGORY_STATIC (gst_twilio_sink_debug);
#define GST_CAT_DEFAULT gst_twilio_sink_debug

#define TWILIO_CAPS "audio/x-mulaw, rate=(int)8000, channels=(int)1"
#define DEFAULT_DRAIN_TIMEOUT_MS 30000
/* The mark sent with EOS; Twilio echoes it once it has played all before. */
#define DRAIN_MARK "gtr-eos"

struct _GstTwilioSink
{
  GstBaseSink parent;

  GMutex lock;                  /* protects what follows */
  GstTwilioStream *stream;      /* from the twilio/call event */
  guint drain_timeout_ms;
  gboolean draining;            /* EOS held until Twilio has played it all */
  guint32 eos_seqnum;
  gint64 drain_started;         /* monotonic µs */
  guint64 media, bytes, marks, clears, dropped, drains, drain_timeouts;
};

enum
{
  PROP_0,
  PROP_DRAIN_TIMEOUT_MS,
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

/* ---- EOS: nothing sent is cut off ----
 *
 * Twilio buffers what we send and plays it at 8000 bytes/s, and an agent's
 * answer arrives faster than that: at EOS most of the last sentence may still
 * be in Twilio's buffer, and an application that ends the call on the EOS
 * message would cut it off.  So the EOS event is held: a final mark goes
 * out, and the EOS message is posted when Twilio echoes it (everything was
 * heard), the WebSocket closes, or drain-timeout-ms passes.  Waiting must not
 * block: the agent pushes from the network thread, where the echo arrives. */

static void
drain_done (GstTwilioStream * stream, GstTwilioEchoResult result, gpointer data)
{
  GstTwilioSink *self = data;
  GstMessage *message;
  gint64 waited_ms;
  guint32 seqnum;

  g_mutex_lock (&self->lock);
  if (!self->draining) {
    g_mutex_unlock (&self->lock);
    return;
  }
  self->draining = FALSE;
  seqnum = self->eos_seqnum;
  waited_ms = (g_get_monotonic_time () - self->drain_started) / 1000;
  if (result == GST_TWILIO_ECHO_HEARD)
    self->drains++;
  else if (result == GST_TWILIO_ECHO_TIMED_OUT)
    self->drain_timeouts++;
  g_mutex_unlock (&self->lock);

  if (result == GST_TWILIO_ECHO_HEARD)
    GST_INFO_OBJECT (self, "Twilio played everything (%" G_GINT64_FORMAT
        " ms after EOS)", waited_ms);
  else if (result == GST_TWILIO_ECHO_GONE)
    GST_INFO_OBJECT (self, "the call ended %" G_GINT64_FORMAT " ms after EOS, "
        "before Twilio had played everything", waited_ms);
  else
    GST_WARNING_OBJECT (self, "no echo of the final mark %" G_GINT64_FORMAT
        " ms after EOS (drain-timeout-ms): the caller may not have heard the "
        "end", waited_ms);
  message = gst_message_new_eos (GST_OBJECT (self));
  gst_message_set_seqnum (message, seqnum);
  gst_element_post_message (GST_ELEMENT (self), message);
}

/* TRUE when the EOS event is taken (its message comes from drain_done). */
static gboolean
start_drain (GstTwilioSink * self, GstEvent * eos)
{
  GstTwilioStream *stream = ref_stream (self);
  gboolean drain;
  guint timeout_ms;

  g_mutex_lock (&self->lock);
  timeout_ms = self->drain_timeout_ms;
  /* Only after audio went out: before, there is nothing to wait for, and
   * base sink's own EOS handling must complete a preroll still pending. */
  drain = stream && self->media > 0 && timeout_ms > 0 && !self->draining
      && gst_twilio_stream_is_open (stream);
  if (drain) {
    self->draining = TRUE;
    self->eos_seqnum = gst_event_get_seqnum (eos);
    self->drain_started = g_get_monotonic_time ();
  }
  g_mutex_unlock (&self->lock);
  if (drain) {
    GST_DEBUG_OBJECT (self, "EOS: waiting up to %u ms for Twilio to play "
        "what it holds", timeout_ms);
    gst_twilio_stream_watch_echo (stream, DRAIN_MARK, timeout_ms, drain_done,
        gst_object_ref (self), gst_object_unref);
    send_message (self, SENT_MARK, build_mark, DRAIN_MARK, 0);
  }
  g_clear_object (&stream);
  return drain;
}

/* A flush or a stop ends the wait without an EOS message. */
static void
cancel_drain (GstTwilioSink * self)
{
  GstTwilioStream *stream = ref_stream (self);
  gboolean was_draining;

  g_mutex_lock (&self->lock);
  was_draining = self->draining;
  self->draining = FALSE;
  g_mutex_unlock (&self->lock);
  if (was_draining && stream)
    gst_twilio_stream_cancel_echo_watch (stream);
  g_clear_object (&stream);
}

static gboolean
gst_twilio_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstTwilioSink *self = GST_TWILIO_SINK (sink);
  const GstStructure *s = gst_event_get_structure (event);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      if (start_drain (self, event)) {
        gst_event_unref (event);
        return TRUE;
      }
      break;
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
      cancel_drain (self);
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

  cancel_drain (self);
  g_mutex_lock (&self->lock);
  g_clear_object (&self->stream);
  self->media = self->bytes = self->marks = self->clears = self->dropped = 0;
  self->drains = self->drain_timeouts = 0;
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
      "dropped", G_TYPE_UINT64, self->dropped,
      "drains", G_TYPE_UINT64, self->drains,
      "drain-timeouts", G_TYPE_UINT64, self->drain_timeouts, NULL);
  g_mutex_unlock (&self->lock);
  return s;
}

static void
gst_twilio_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstTwilioSink *self = GST_TWILIO_SINK (object);

  switch (prop_id) {
    case PROP_DRAIN_TIMEOUT_MS:
      g_mutex_lock (&self->lock);
      self->drain_timeout_ms = g_value_get_uint (value);
      g_mutex_unlock (&self->lock);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_twilio_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstTwilioSink *self = GST_TWILIO_SINK (object);

  switch (prop_id) {
    case PROP_DRAIN_TIMEOUT_MS:
      g_mutex_lock (&self->lock);
      g_value_set_uint (value, self->drain_timeout_ms);
      g_mutex_unlock (&self->lock);
      break;
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

/* gst-inspect-1.0 as the manual: what GObject cannot introspect, in factory
 * metadata (gtr_inspect_add_metadata, plugins/common/gtr-inspect.h). */
static const char *const inspect_example[] = {
  "$ gst-launch-1.0 twiliosrc port=8080 ! openairealtime ! queue ! twiliosink",
  "A voice agent: twiliosink plays the agent's answer on the WebSocket twiliosrc received the call on.",
  "$ gst-launch-1.0 twiliosrc port=8080 ! queue ! twiliosink",
  "Echo: the caller hears themselves.",
  NULL
};

static const char *const inspect_messages[] = {
  "none of its own; the EOS message is posted once Twilio has played everything (see drain-timeout-ms).",
  NULL
};

static const char *const inspect_events[] = {
  "sink, twilio/call (sticky custom downstream, from twiliosrc): its stream (GstTwilioStream) is the WebSocket "
      "played on; data before it is a RESOURCE/NOT_FOUND error.",
  "sink, twilio/send-mark (serialized custom downstream; name (string)): sent as a Twilio mark, in order with the "
      "audio; Twilio's echo comes back out of twiliosrc as twilio/mark.",
  "sink, FLUSH_START: a Twilio clear (Twilio drops what it has not played and echoes pending marks).",
  "sink, EOS: a final mark gtr-eos; the EOS message follows its echo, the socket closing or drain-timeout-ms.",
  NULL
};

static void
gst_twilio_sink_class_init (GstTwilioSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_twilio_sink_set_property;
  gobject_class->get_property = gst_twilio_sink_get_property;
  gobject_class->finalize = gst_twilio_sink_finalize;
  g_object_class_install_property (gobject_class, PROP_DRAIN_TIMEOUT_MS,
      g_param_spec_uint ("drain-timeout-ms", "Drain timeout (ms)",
          "At EOS, how long to wait for Twilio to play the audio it still "
          "holds: a final mark '" DRAIN_MARK "' is sent and the EOS message "
          "posted when Twilio echoes it, the WebSocket closes, or this many "
          "milliseconds pass, so an application ending the call on EOS "
          "does not cut the last words off (0: post EOS at once).  The "
          "streaming thread is not blocked meanwhile.  Any state",
          0, 600000, DEFAULT_DRAIN_TIMEOUT_MS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters of the current call: media (media messages handed to the "
          "WebSocket, in order), bytes (their audio bytes), marks, clears, "
          "dropped (messages not sent because the WebSocket was closed), "
          "drains (EOS posted after Twilio's echo of the final mark), "
          "drain-timeouts (EOS posted without it)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Twilio Media Stream sink", "Sink/Network/Audio",
      "Plays mu-law 8 kHz audio to the caller of a Twilio Media Stream, on the "
      "WebSocket named by the sticky twilio/call event from twiliosrc: each "
      "buffer is a Twilio media message, the custom event twilio/send-mark "
      "(name) a Twilio mark, FLUSH_START a Twilio clear.  sync is FALSE by "
      "default (Twilio paces playback).  Example, messages and events below "
      "(and in docs/elements.md)",
      "gst-twilio-realtime");
  gtr_inspect_add_metadata (element_class, "example", inspect_example);
  gtr_inspect_add_metadata (element_class, "messages", inspect_messages);
  gtr_inspect_add_metadata (element_class, "events", inspect_events);

  basesink_class->render = gst_twilio_sink_render;
  basesink_class->event = gst_twilio_sink_event;
  basesink_class->stop = gst_twilio_sink_stop;
}

static void
gst_twilio_sink_init (GstTwilioSink * self)
{
  g_mutex_init (&self->lock);
  self->drain_timeout_ms = DEFAULT_DRAIN_TIMEOUT_MS;
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}
