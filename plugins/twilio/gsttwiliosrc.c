/**
 * SECTION:element-twiliosrc
 * @title: twiliosrc
 * @see_also: twiliosink, openairealtime
 *
 * Receives one phone call from a Twilio Media Stream (bidirectional,
 * `<Connect><Stream url="wss://…/media"/>`) and outputs the caller's audio
 * as `audio/x-mulaw, rate=(int)8000, channels=(int)1`.
 *
 * Standalone, the element runs its own WebSocket server on #GstTwilioSrc:address,
 * #GstTwilioSrc:port and #GstTwilioSrc:path.  It listens as soon as it goes to
 * READY (so #GstTwilioSrc:port reads the bound port, even with port=0), serves
 * exactly one call (a second connection is answered HTTP 503) and ends with EOS
 * when the call ends.  Embedded, an application running its own SoupServer
 * hands over the accepted WebSocket in #GstTwilioSrc:connection instead.
 *
 * The call is the connection that sends `start`: one that closes before it,
 * or stays silent for #GstTwilioSrc:start-timeout-ms (closed, code 1008),
 * frees the slot for the next handshake, and nothing goes downstream.  With
 * #GstTwilioSrc:embedded the element never listens and #GstTwilioSrc:connection
 * may be set in any state, so a server can start the pipeline before the
 * Media Stream arrives.
 *
 * With #GstTwilioSrc:public-url and an auth token (#GstTwilioSrc:auth-token, or
 * the `TWILIO_AUTH_TOKEN` environment variable, which keeps it off command
 * lines) a handshake without a valid `X-Twilio-Signature` (HMAC-SHA1 over
 * public-url) is answered HTTP 403 before the upgrade and logged at WARNING.
 *
 * Downstream, in order with the audio:
 * - stream-start, caps and segment as soon as the element runs (before a call
 *   arrives), so downstream elements can configure themselves from the caps;
 * - `twilio/call`: a sticky custom downstream event, before the first buffer,
 *   with stream-sid, call-sid, account-sid, tracks (string), custom-parameters
 *   (GstStructure `twilio/custom-parameters`, one string per `<Parameter>`) and
 *   stream (the object twiliosink sends on);
 * - buffers: PTS from Twilio's `timestamp`, mapped to running time (the first
 *   media message is stamped with the running time at which it is handed
 *   downstream, the others relative to it), duration from the payload size,
 *   DISCONT when Twilio's `chunk` numbers skip;
 * - `dtmf-event` (the standard custom event: type=1, number 0-15, volume=10,
 *   start=true, method=2) for each key Twilio reports; Twilio gives no key-up,
 *   so no start=false event follows;
 * - `twilio/mark` (serialized custom event, field name) when Twilio echoes a
 *   mark, i.e. the caller has heard the audio sent before it;
 * - EOS on Twilio's `stop`, when the WebSocket closes, or when nothing at all
 *   has arrived for #GstTwilioSrc:media-timeout-ms (Twilio sends media every
 *   20 ms, silence included: a quiet socket is a stalled one).
 *
 * Element messages on the bus: `twilio/start` (as twilio/call, without the
 * stream), `twilio/dtmf` (digit, number, stream-sid), `twilio/mark` (name,
 * stream-sid; only with #GstTwilioSrc:mark-messages), `twilio/stop` (stream-sid, reason "stop", "closed",
 * "timeout" or, embedded, "start-timeout").
 *
 * A `start` whose mediaFormat is not audio/x-mulaw, 8000 Hz, 1 channel is a
 * STREAM/FORMAT error naming what arrived.  Any other bad input (binary
 * frames, invalid JSON, bad base64, oversize frames, media before start, a
 * second start, …) is logged at WARNING once per kind, counted in
 * #GstTwilioSrc:stats and otherwise ignored.  A text frame that is not valid
 * UTF-8 is the exception: libsoup closes the WebSocket (1007) as RFC 6455
 * requires, which ends the call.
 *
 * Threading: the WebSocket lives on a GMainContext thread (the process-wide
 * network thread when standalone, the connection's own context when
 * embedded).  Frames are parsed there and handed to the streaming thread
 * through a small locked queue: one thread hop per message.  With
 * #GstTwilioSrc:run-to-completion there is no streaming thread: the thread
 * that parsed a message pushes it downstream at once (twilio-realtime-server
 * runs every call this way).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 twiliosrc port=8080 ! queue ! twiliosink
 * ]| A one-call echo: the caller hears themselves.
 * |[
 * TWILIO_AUTH_TOKEN=… gst-launch-1.0 twiliosrc port=8080 public-url=wss://example.ngrok.app/media ! openairealtime ! queue ! twiliosink
 * ]| A one-call voice agent, accepting only handshakes signed by Twilio
 * (the token read from the environment).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gsttwiliosrc.h"
#include "gsttwiliostream.h"

#include <libsoup/soup.h>

#include "gtr-events.h"
#include "gtr-inspect.h"
#include "gtr-element-util.h"
#include "gtr-http-guard.h"
#include "gtr-netloop.h"
#include "gtr-protocol.h"
#include "gtr-timer.h"

GST_DEBUG_CATEGORY_STATIC (gst_twilio_src_debug);
#define GST_CAT_DEFAULT gst_twilio_src_debug

#define TWILIO_CAPS "audio/x-mulaw, rate=(int)8000, channels=(int)1"
#define BYTES_PER_SECOND 8000
#define DEFAULT_ADDRESS "127.0.0.1"
#define DEFAULT_PORT 8080
#define DEFAULT_PATH "/media"
#define DEFAULT_MAX_MESSAGE_SIZE (64 * 1024)
/* Frames up to this multiple of max-message-size reach the parser (and are
 * counted as oversize); beyond it libsoup closes the socket (1009). */
#define SOUP_PAYLOAD_FACTOR 16
#define DTMF_VOLUME 10
#define DEFAULT_START_TIMEOUT_MS 5000
#define DEFAULT_MEDIA_TIMEOUT_MS 10000
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 5000
#define DEFAULT_IDLE_TIMEOUT_MS 5000
#define DEFAULT_EMBEDDED FALSE
#define DEFAULT_RUN_TO_COMPLETION FALSE
#define DEFAULT_MARK_MESSAGES FALSE
#define CLOSE_WAIT_MS 500       /* detach_stream: for the close frame to go out */
/* Close code for a connection that never started the call (RFC 6455:
 * policy violation). */
#define CLOSE_NO_START 1008

/* What can be wrong with a frame: the protocol's codes first (indexed by
 * GtrProtocolError), then our own. */
typedef enum
{
  PROBLEM_BINARY_FRAME = GTR_PROTOCOL_ERROR_UNKNOWN_FIELD + 1,
  PROBLEM_BEFORE_START,
  PROBLEM_SECOND_START,
  PROBLEM_WRONG_STREAM_SID,
  PROBLEM_AFTER_STOP,
  N_PROBLEMS
} Problem;

static const char *const own_problem_names[] = {
  "binary-frame", "before-start", "second-start", "wrong-stream-sid",
  "after-stop",
};

G_STATIC_ASSERT (G_N_ELEMENTS (own_problem_names) == N_PROBLEMS - PROBLEM_BINARY_FRAME);

struct _GstTwilioSrc
{
  GstPushSrc parent;

  /* Settings, under the object lock. */
  char *address;
  gint port;
  char *path;
  char *auth_token;
  char *public_url;
  guint max_message_size;
  guint start_timeout_ms;
  guint media_timeout_ms;
  guint handshake_timeout_ms;
  guint idle_timeout_ms;
  gboolean embedded;
  /* From TWILIO_AUTH_TOKEN when auth-token is unset: read in NULL→READY,
   * dropped in READY→NULL. */
  char *env_auth_token;

  /* Standalone server: created, used and destroyed on the network thread. */
  SoupServer *server;
  GtrHttpGuard *guard;          /* set and cleared under `lock` (stats read it) */
  gint bound_port;              /* atomic; 0 when not listening */

  /* The call, under `lock`. */
  GMutex lock;
  GCond cond;
  GstTwilioStream *stream;
  gboolean call_taken;          /* standalone: the one call arrived */
  GtrTimer *watchdog;           /* the bound on Twilio: see on_watchdog() */
  gint64 last_frame_us;         /* monotonic time of the last frame */
  GQueue queue;                 /* GstBuffer (PTS = Twilio's time) or GstEvent */
  GQueue outbox;                /* GstMessage to post once unlocked */
  gboolean eos;                 /* call over: EOS once the queue is drained */
  char *error_text;             /* a fatal problem create() reports */
  gboolean flushing;
  gboolean started;
  gboolean stopped;
  char *stream_sid;
  gint64 last_chunk;
  gint64 next_timestamp_ms;

  /* run-to-completion (set in NULL/READY, read under the object lock):
   * the network thread pushes, there is no streaming task.  `direct` is
   * the mode of the current activation, `playing` whether pushing is
   * allowed now, `direct_done` once EOS or an error went downstream (all
   * under `lock`). */
  gboolean run_to_completion;
  gboolean mark_messages;       /* object lock: a twilio/mark bus message per echo */
  gboolean direct, playing, direct_done, direct_started;
  GstPadActivateModeFunction base_activatemode;

  /* Timing, on the thread that pushes (streaming or network). */
  gboolean segment_sent;
  gboolean have_first;
  GstClockTime first_twilio_time;
  GstClockTime first_running_time;

  /* Counters, under `lock`. */
  guint64 frames, media, bytes, dtmf, marks;
  guint64 start_timeouts, closed_before_start, media_timeouts;
  guint64 problems[N_PROBLEMS];
  guint32 warned;               /* bit per Problem: logged once */
};

enum
{
  PROP_0,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_PATH,
  PROP_CONNECTION,
  PROP_AUTH_TOKEN,
  PROP_PUBLIC_URL,
  PROP_MAX_MESSAGE_SIZE,
  PROP_START_TIMEOUT_MS,
  PROP_MEDIA_TIMEOUT_MS,
  PROP_HANDSHAKE_TIMEOUT_MS,
  PROP_IDLE_TIMEOUT_MS,
  PROP_EMBEDDED,
  PROP_RUN_TO_COMPLETION,
  PROP_MARK_MESSAGES,
  PROP_STATS,
};

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (TWILIO_CAPS));

#define gst_twilio_src_parent_class parent_class
G_DEFINE_TYPE (GstTwilioSrc, gst_twilio_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (twiliosrc, "twiliosrc", GST_RANK_NONE,
    GST_TYPE_TWILIO_SRC,
    GST_DEBUG_CATEGORY_INIT (gst_twilio_src_debug, "twiliosrc", 0,
        "Twilio Media Stream source"));

static void direct_drain (GstTwilioSrc * self);

static const char *
problem_name (Problem problem)
{
  if (problem < PROBLEM_BINARY_FRAME)
    return gtr_protocol_error_code_name ((GtrProtocolError) problem);
  return own_problem_names[problem - PROBLEM_BINARY_FRAME];
}

/* Bad input: counted always, logged the first time of each kind.  Called
 * with `lock` held. */
static void
note_problem (GstTwilioSrc * self, Problem problem, const char *detail)
{
  self->problems[problem]++;
  if (self->warned & (1u << problem))
    return;
  self->warned |= 1u << problem;
  GST_WARNING_OBJECT (self, "ignoring a bad message from Twilio (%s): %s; "
      "further ones of this kind are only counted in 'stats'",
      problem_name (problem), detail);
}

static void
note_protocol_error (GstTwilioSrc * self, const GError * error)
{
  Problem problem = (Problem) GTR_PROTOCOL_ERROR_UNKNOWN_EVENT;

  if (error->domain == GTR_PROTOCOL_ERROR
      && error->code >= 0 && error->code < PROBLEM_BINARY_FRAME)
    problem = (Problem) error->code;
  note_problem (self, problem, error->message);
}

/* Hand an item to the streaming thread.  Called with `lock` held. */
static void
enqueue (GstTwilioSrc * self, gpointer item)
{
  g_queue_push_tail (&self->queue, item);
  g_cond_signal (&self->cond);
}

/* Element messages are posted once `lock` is released (a bus sync handler
 * may read 'stats'): queue one, with `lock` held... */
static void
post_element_message (GstTwilioSrc * self, GstStructure * s)
{
  g_queue_push_tail (&self->outbox,
      gst_message_new_element (GST_OBJECT (self), s));
}

/* ...and post them, without it. */
static void
flush_outbox (GstTwilioSrc * self)
{
  GstMessage *message;

  for (;;) {
    g_mutex_lock (&self->lock);
    message = g_queue_pop_head (&self->outbox);
    g_mutex_unlock (&self->lock);
    if (!message)
      break;
    gst_element_post_message (GST_ELEMENT (self), message);
  }
}

/* The call's description: the twilio/call event's fields minus the stream. */
static GstStructure *
call_structure_new (const char *name, const GtrTwilioMessage * msg)
{
  GstStructure *params = gst_structure_new_empty ("twilio/custom-parameters");
  char *tracks = msg->tracks ? g_strjoinv (",", msg->tracks) : g_strdup ("");
  GstStructure *s;

  for (guint i = 0; msg->custom_parameter_names
      && msg->custom_parameter_names[i]; i++)
    gst_structure_set (params, msg->custom_parameter_names[i], G_TYPE_STRING,
        msg->custom_parameter_values[i], NULL);

  s = gst_structure_new (name,
      "stream-sid", G_TYPE_STRING, msg->stream_sid,
      "call-sid", G_TYPE_STRING, msg->call_sid,
      "account-sid", G_TYPE_STRING, msg->account_sid,
      "tracks", G_TYPE_STRING, tracks,
      "custom-parameters", GST_TYPE_STRUCTURE, params, NULL);
  gst_structure_free (params);
  g_free (tracks);
  return s;
}

static gboolean
media_format_ok (const GtrTwilioMessage * msg)
{
  return g_strcmp0 (msg->encoding, "audio/x-mulaw") == 0
      && msg->sample_rate == 8000 && msg->channels == 1;
}

static void watch_call (GstTwilioSrc * self);
static void disarm_watchdog (GstTwilioSrc * self);

/* Called with `lock` held. */
static void
handle_start (GstTwilioSrc * self, const GtrTwilioMessage * msg)
{
  GstStructure *call;

  if (self->started) {
    note_problem (self, PROBLEM_SECOND_START, "a second 'start' on the stream");
    return;
  }
  self->started = TRUE;
  watch_call (self);
  if (!media_format_ok (msg)) {
    self->error_text = g_strdup_printf ("Twilio's stream format is %s, %d Hz, "
        "%d channel(s); twiliosrc needs audio/x-mulaw, 8000 Hz, 1 channel",
        msg->encoding, msg->sample_rate, msg->channels);
    g_cond_signal (&self->cond);
    return;
  }

  GST_INFO_OBJECT (self, "call started: stream %s, call %s", msg->stream_sid,
      msg->call_sid);
  self->stream_sid = g_strdup (msg->stream_sid);
  gst_twilio_stream_set_stream_sid (self->stream, msg->stream_sid);

  call = call_structure_new (GTR_EVENT_CALL, msg);
  post_element_message (self, call_structure_new (GTR_MESSAGE_START, msg));
  gst_structure_set (call, "stream", GST_TYPE_TWILIO_STREAM, self->stream, NULL);
  enqueue (self, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, call));
}

/* Called with `lock` held. */
static void
handle_media (GstTwilioSrc * self, const GtrTwilioMessage * msg)
{
  gsize len = msg->payload ? g_bytes_get_size (msg->payload) : 0;
  gint64 timestamp_ms = msg->timestamp_ms >= 0 ? msg->timestamp_ms
      : self->next_timestamp_ms;
  GstBuffer *buffer;

  self->media++;
  if (len == 0) {
    /* Valid (the parser allows "payload":""), but there is nothing to play;
     * an empty GBytes has no data to wrap, so no buffer is made of it. */
    GST_LOG_OBJECT (self, "media chunk %" G_GINT64_FORMAT " is empty", msg->chunk);
    return;
  }
  buffer = gst_buffer_new_wrapped_bytes (msg->payload);
  /* Twilio's stream time for now; create() maps it to running time. */
  GST_BUFFER_PTS (buffer) = timestamp_ms * GST_MSECOND;
  GST_BUFFER_DURATION (buffer) =
      gst_util_uint64_scale_int (len, GST_SECOND, BYTES_PER_SECOND);
  if (self->last_chunk >= 0 && msg->chunk >= 0
      && (self->last_chunk == G_MAXINT64 || msg->chunk != self->last_chunk + 1)) {
    GST_DEBUG_OBJECT (self, "chunk %" G_GINT64_FORMAT " after %" G_GINT64_FORMAT,
        msg->chunk, self->last_chunk);
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
  }
  if (msg->chunk >= 0)
    self->last_chunk = msg->chunk;
  self->next_timestamp_ms = MIN (timestamp_ms + (gint64) (len * 1000 / BYTES_PER_SECOND),
      GTR_TWILIO_MAX_TIMESTAMP_MS);
  self->bytes += len;
  GST_LOG_OBJECT (self, "media chunk %" G_GINT64_FORMAT ", %" G_GSIZE_FORMAT
      " bytes at %" G_GINT64_FORMAT " ms", msg->chunk, len, timestamp_ms);
  enqueue (self, buffer);
}

/* Called with `lock` held. */
static void
handle_dtmf (GstTwilioSrc * self, const GtrTwilioMessage * msg)
{
  gint number = gtr_twilio_dtmf_digit_to_number (msg->digit);

  if (number < 0) {
    note_problem (self, (Problem) GTR_PROTOCOL_ERROR_BAD_VALUE,
        "dtmf.digit is not a DTMF digit");
    return;
  }
  GST_DEBUG_OBJECT (self, "DTMF %s", msg->digit);
  self->dtmf++;
  post_element_message (self, gst_structure_new (GTR_MESSAGE_DTMF,
          "digit", G_TYPE_STRING, msg->digit, "number", G_TYPE_INT, number,
          "stream-sid", G_TYPE_STRING, msg->stream_sid, NULL));
  enqueue (self, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
          gst_structure_new (GTR_EVENT_DTMF, "type", G_TYPE_INT, 1,
              "number", G_TYPE_INT, number, "volume", G_TYPE_INT, DTMF_VOLUME,
              "start", G_TYPE_BOOLEAN, TRUE, "method", G_TYPE_INT, 2, NULL)));
}

/* Called with `lock` held. */
static void
handle_mark (GstTwilioSrc * self, const GtrTwilioMessage * msg)
{
  gboolean post;

  GST_DEBUG_OBJECT (self, "mark '%s' played", msg->name);
  self->marks++;
  gst_twilio_stream_mark_echoed (self->stream, msg->name);
  /* one every 100-200 ms of agent audio per call: on the bus only if asked */
  GST_OBJECT_LOCK (self);
  post = self->mark_messages;
  GST_OBJECT_UNLOCK (self);
  if (post)
    post_element_message (self, gst_structure_new (GTR_MESSAGE_MARK,
            "name", G_TYPE_STRING, msg->name,
            "stream-sid", G_TYPE_STRING, msg->stream_sid, NULL));
  enqueue (self, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
          gst_structure_new (GTR_EVENT_MARK, "name", G_TYPE_STRING, msg->name,
              NULL)));
}

/* The call is over: EOS once everything before is out.  `lock` held. */
static void
end_call (GstTwilioSrc * self, const char *reason)
{
  if (self->stopped)
    return;
  self->stopped = TRUE;
  disarm_watchdog (self);
  GST_INFO_OBJECT (self, "call over (%s)", reason);
  post_element_message (self, gst_structure_new (GTR_MESSAGE_STOP,
          "stream-sid", G_TYPE_STRING, self->stream_sid,
          "reason", G_TYPE_STRING, reason, NULL));
  self->eos = TRUE;
  g_cond_signal (&self->cond);
}

/* Whether a message of the call (media, dtmf, mark, stop) fits where we are.
 * `lock` held. */
static gboolean
check_call_message (GstTwilioSrc * self, const GtrTwilioMessage * msg)
{
  const char *event = gtr_twilio_event_type_name (msg->type);
  char *detail;

  if (self->stopped) {
    detail = g_strdup_printf ("'%s' after the call ended", event);
    note_problem (self, PROBLEM_AFTER_STOP, detail);
  } else if (!self->started) {
    detail = g_strdup_printf ("'%s' before 'start'", event);
    note_problem (self, PROBLEM_BEFORE_START, detail);
  } else if (g_strcmp0 (msg->stream_sid, self->stream_sid) != 0) {
    detail = g_strdup_printf ("'%s' for stream '%s', not this call's", event,
        msg->stream_sid);
    note_problem (self, PROBLEM_WRONG_STREAM_SID, detail);
  } else {
    return TRUE;
  }
  g_free (detail);
  return FALSE;
}

/* `lock` held. */
static void
dispatch_message (GstTwilioSrc * self, const GtrTwilioMessage * msg)
{
  if (msg->type == GTR_TWILIO_EVENT_CONNECTED) {
    GST_DEBUG_OBJECT (self, "connected: protocol %s, version %s",
        msg->protocol, msg->version);
    return;
  }
  if (msg->type == GTR_TWILIO_EVENT_START) {
    if (self->stopped)
      note_problem (self, PROBLEM_AFTER_STOP, "'start' after the call ended");
    else
      handle_start (self, msg);
    return;
  }
  if (msg->type == GTR_TWILIO_EVENT_CLEAR) {
    /* The parser knows it only as outbound; should that change. */
    note_problem (self, (Problem) GTR_PROTOCOL_ERROR_UNKNOWN_EVENT,
        "'clear' is sent to Twilio, not by it");
    return;
  }
  if (!check_call_message (self, msg))
    return;
  switch (msg->type) {
    case GTR_TWILIO_EVENT_MEDIA:
      handle_media (self, msg);
      break;
    case GTR_TWILIO_EVENT_DTMF:
      handle_dtmf (self, msg);
      break;
    case GTR_TWILIO_EVENT_MARK:
      handle_mark (self, msg);
      break;
    case GTR_TWILIO_EVENT_STOP:
      gst_twilio_stream_set_stopped (self->stream);
      end_call (self, "stop");
      break;
    default:
      g_assert_not_reached ();
  }
}

/* On the stream's context. */
static void
on_text (GstTwilioStream * stream, const char *text, gsize len, gpointer user_data)
{
  GstTwilioSrc *self = user_data;
  GtrTwilioMessage *msg;
  GError *error = NULL;
  guint max;

  GST_OBJECT_LOCK (self);
  max = self->max_message_size;
  GST_OBJECT_UNLOCK (self);

  msg = gtr_twilio_message_parse (text, len, max, &error);
  g_mutex_lock (&self->lock);
  self->frames++;
  self->last_frame_us = g_get_monotonic_time ();
  if (self->stream != stream)
    GST_DEBUG_OBJECT (self, "a frame while the call is being dropped");
  else if (msg)
    dispatch_message (self, msg);
  else
    note_protocol_error (self, error);
  g_mutex_unlock (&self->lock);
  flush_outbox (self);
  direct_drain (self);
  g_clear_error (&error);
  if (msg)
    gtr_twilio_message_free (msg);
}

static void
on_binary (GstTwilioStream * stream, gsize len, gpointer user_data)
{
  GstTwilioSrc *self = user_data;
  char *detail = g_strdup_printf ("a binary frame of %" G_GSIZE_FORMAT
      " bytes (Twilio sends only text)", len);

  g_mutex_lock (&self->lock);
  self->frames++;
  self->last_frame_us = g_get_monotonic_time ();
  note_problem (self, PROBLEM_BINARY_FRAME, detail);
  g_mutex_unlock (&self->lock);
  g_free (detail);
}

/* A connection that goes away before `start` was never the call: a
 * standalone element waits for the next one.  Embedded, the application
 * handed over this connection only, so the call is over.  `lock` held;
 * returns the stream the caller must release (standalone), or NULL. */
static GstTwilioStream *
abandon_unstarted (GstTwilioSrc * self, const char *reason)
{
  GstTwilioStream *stream;

  disarm_watchdog (self);
  if (g_atomic_int_get (&self->bound_port) == 0) {
    /* embedded: nothing else will come */
    end_call (self, reason);
    return NULL;
  }
  GST_INFO_OBJECT (self, "the connection ended before 'start' (%s): "
      "waiting for the call", reason);
  stream = g_steal_pointer (&self->stream);
  self->call_taken = FALSE;
  return stream;
}

static void
on_closed (GstTwilioStream * stream, gushort code, gpointer user_data)
{
  GstTwilioSrc *self = user_data;
  GstTwilioStream *dropped = NULL;

  g_mutex_lock (&self->lock);
  if (self->stream == stream && !self->started) {
    self->closed_before_start++;
    dropped = abandon_unstarted (self, "closed");
  } else if (self->stream == stream) {
    end_call (self, "closed");
  }
  g_mutex_unlock (&self->lock);
  flush_outbox (self);
  direct_drain (self);
  /* We are inside the stream's handler: its handlers cannot be removed
   * here, but they ignore a stream that is no longer ours, and it emits
   * nothing after "closed". */
  if (dropped)
    g_object_unref (dropped);
}

/* The watchdog: every wait on Twilio has a bound.  Until `start`, the
 * connection has start-timeout-ms to say it; once the call runs, Twilio
 * sends a media message every 20 ms (silence included), so nothing for
 * media-timeout-ms means a stalled peer (a network that dropped the
 * connection without closing it).  One timer at a time, on the stream's
 * context (gtr-timer.h: in the loop's one timer source, not a source of
 * its own); it re-arms itself for what remains instead of being reset on
 * every message. */

static void arm_watchdog (GstTwilioSrc * self, GMainContext * context,
    guint timeout_ms);

/* `start` did not come in time.  `lock` held; returns the stream to close
 * and the one to release (standalone). */
static void
start_timed_out (GstTwilioSrc * self, GstTwilioStream ** close,
    GstTwilioStream ** dropped)
{
  guint timeout_ms;

  GST_OBJECT_LOCK (self);
  timeout_ms = self->start_timeout_ms;
  GST_OBJECT_UNLOCK (self);
  self->start_timeouts++;
  GST_WARNING_OBJECT (self, "no 'start' within %u ms of the WebSocket "
      "opening: closing it (code %u)", timeout_ms, CLOSE_NO_START);
  *close = g_object_ref (self->stream);
  *dropped = abandon_unstarted (self, "start-timeout");
}

/* Nothing from Twilio for media-timeout-ms, or not yet: `lock` held;
 * returns the stream to close. */
static GstTwilioStream *
check_silence (GstTwilioSrc * self, GMainContext * context)
{
  gint64 silent_ms = (g_get_monotonic_time () - self->last_frame_us) / 1000;
  guint timeout_ms;

  GST_OBJECT_LOCK (self);
  timeout_ms = self->media_timeout_ms;
  GST_OBJECT_UNLOCK (self);
  if (silent_ms < timeout_ms) {
    arm_watchdog (self, context, timeout_ms - silent_ms);
    return NULL;
  }
  self->media_timeouts++;
  GST_WARNING_OBJECT (self, "nothing from Twilio for %" G_GINT64_FORMAT
      " ms (media-timeout-ms %u): the connection is stalled, the call is "
      "over", silent_ms, timeout_ms);
  end_call (self, "timeout");
  return g_object_ref (self->stream);
}

static gboolean
on_watchdog (gpointer data)
{
  GstTwilioSrc *self = data;
  GMainContext *context = gtr_timer_get_context (gtr_timer_current ());
  GstTwilioStream *close = NULL, *dropped = NULL;
  gushort code = CLOSE_NO_START;

  g_mutex_lock (&self->lock);
  if (!self->watchdog || gtr_timer_current () != self->watchdog
      || !self->stream) {
    g_mutex_unlock (&self->lock);
    return G_SOURCE_REMOVE;
  }
  gtr_timer_stop (&self->watchdog);
  if (!self->started) {
    start_timed_out (self, &close, &dropped);
  } else if (!self->stopped) {
    close = check_silence (self, context);
    code = SOUP_WEBSOCKET_CLOSE_GOING_AWAY;
  }
  g_mutex_unlock (&self->lock);
  flush_outbox (self);
  direct_drain (self);

  if (dropped)
    gst_twilio_stream_set_handlers (dropped, NULL, NULL);
  if (close) {
    gst_twilio_stream_close (close, code, code == CLOSE_NO_START
        ? "no start message" : "nothing received");
    g_object_unref (close);
  }
  if (dropped)
    g_object_unref (dropped);
  return G_SOURCE_REMOVE;
}

/* `lock` held; on the stream's context. */
static void
arm_watchdog (GstTwilioSrc * self, GMainContext * context, guint timeout_ms)
{
  self->watchdog = gtr_timer_start (context, timeout_ms, on_watchdog,
      gst_object_ref (self), gst_object_unref);
}

/* `lock` held. */
static void
disarm_watchdog (GstTwilioSrc * self)
{
  gtr_timer_stop (&self->watchdog);
}

/* From `start` on, the bound is between messages.  `lock` held; on the
 * stream's context. */
static void
watch_call (GstTwilioSrc * self)
{
  GMainContext *context = self->watchdog
      ? gtr_timer_get_context (self->watchdog) : NULL;
  guint timeout_ms;

  if (!context)
    return;
  g_main_context_ref (context);
  disarm_watchdog (self);
  GST_OBJECT_LOCK (self);
  timeout_ms = self->media_timeout_ms;
  GST_OBJECT_UNLOCK (self);
  arm_watchdog (self, context, timeout_ms);
  g_main_context_unref (context);
}

static const GstTwilioStreamHandlers stream_handlers = {
  on_text, on_binary, on_closed
};

/* Make `connection` this element's call.  FALSE if it already has one. */
static gboolean
attach_connection (GstTwilioSrc * self, SoupWebsocketConnection * connection,
    GMainContext * context)
{
  GstTwilioStream *stream;
  guint max, start_timeout_ms;

  g_mutex_lock (&self->lock);
  if (self->stream || self->call_taken) {
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  self->call_taken = TRUE;
  GST_OBJECT_LOCK (self);
  max = self->max_message_size;
  start_timeout_ms = self->start_timeout_ms;
  GST_OBJECT_UNLOCK (self);
  stream = gst_twilio_stream_new (connection, context);
  gst_twilio_stream_set_max_incoming_payload_size (stream,
      MAX ((guint64) max * SOUP_PAYLOAD_FACTOR, 128 * 1024));
  gst_twilio_stream_set_handlers (stream, &stream_handlers, self);
  self->stream = stream;
  if (!gst_twilio_stream_is_open (stream))
    end_call (self, "closed");
  else
    arm_watchdog (self, context, start_timeout_ms);
  g_mutex_unlock (&self->lock);
  flush_outbox (self);
  direct_drain (self);
  return TRUE;
}

/* Drop the call's stream, closing its WebSocket.  After this, no handler of
 * ours runs. */
static void
detach_stream (GstTwilioSrc * self)
{
  GstTwilioStream *stream;

  g_mutex_lock (&self->lock);
  stream = g_steal_pointer (&self->stream);
  disarm_watchdog (self);
  g_mutex_unlock (&self->lock);
  if (!stream)
    return;
  gst_twilio_stream_set_handlers (stream, NULL, NULL);
  gst_twilio_stream_close (stream, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  /* READY→NULL is often the last thing a program does: let the close frame
   * go out first (gst-launch-1.0 exits right after) */
  if (!gst_twilio_stream_wait_closed (stream, CLOSE_WAIT_MS))
    GST_DEBUG_OBJECT (self, "the close was not sent within %u ms", CLOSE_WAIT_MS);
  g_object_unref (stream);
}

/* Forget the call (after detach_stream): the element can serve a new one. */
static void
reset_call (GstTwilioSrc * self)
{
  g_mutex_lock (&self->lock);
  g_queue_clear_full (&self->queue, (GDestroyNotify) gst_mini_object_unref);
  g_queue_clear_full (&self->outbox, (GDestroyNotify) gst_mini_object_unref);
  g_clear_pointer (&self->error_text, g_free);
  g_clear_pointer (&self->stream_sid, g_free);
  self->call_taken = FALSE;
  self->eos = self->started = self->stopped = FALSE;
  self->last_chunk = -1;
  self->next_timestamp_ms = 0;
  self->have_first = FALSE;
  self->frames = self->media = self->bytes = self->dtmf = self->marks = 0;
  self->start_timeouts = self->closed_before_start = self->media_timeouts = 0;
  memset (self->problems, 0, sizeof (self->problems));
  self->warned = 0;
  g_mutex_unlock (&self->lock);
}

/* ---- Standalone server, on the network thread ---- */

/* The token handshakes are checked with: the property, else the
 * environment's.  Object lock held. */
static const char *
auth_token (GstTwilioSrc * self)
{
  return self->auth_token ? self->auth_token : self->env_auth_token;
}

/* The HTTP status refusing this handshake, or 0 to let it upgrade. */
static guint
check_handshake (GstTwilioSrc * self, SoupServerMessage * msg)
{
  const char *signature = soup_message_headers_get_one
      (soup_server_message_get_request_headers (msg), "X-Twilio-Signature");
  gboolean taken, valid = TRUE;

  g_mutex_lock (&self->lock);
  taken = self->call_taken;
  g_mutex_unlock (&self->lock);
  if (taken) {
    GST_INFO_OBJECT (self, "refusing a second call (HTTP 503): twiliosrc serves one");
    return SOUP_STATUS_SERVICE_UNAVAILABLE;
  }

  GST_OBJECT_LOCK (self);
  if (auth_token (self) && self->public_url)
    valid = gtr_twilio_signature_validate (auth_token (self), self->public_url,
        NULL, 0, signature);
  GST_OBJECT_UNLOCK (self);
  if (!valid) {
    GST_WARNING_OBJECT (self, "refusing a handshake from %s (HTTP 403): %s "
        "X-Twilio-Signature", soup_server_message_get_remote_host (msg),
        signature ? "invalid" : "missing");
    return SOUP_STATUS_FORBIDDEN;
  }
  return 0;
}

static void
early_handler (SoupServer * server, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer user_data)
{
  guint status = check_handshake (GST_TWILIO_SRC (user_data), msg);

  if (status)
    soup_server_message_set_status (msg, status, NULL);
}

static void
websocket_handler (SoupServer * server, SoupServerMessage * msg,
    const char *path, SoupWebsocketConnection * connection, gpointer user_data)
{
  GstTwilioSrc *self = GST_TWILIO_SRC (user_data);
  GMainContext *context = gtr_netloop_ref_context ();

  if (attach_connection (self, connection, context)) {
    GST_INFO_OBJECT (self, "Media Stream connected from %s",
        soup_server_message_get_remote_host (msg));
  } else {
    /* Two handshakes raced past the early check. */
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
        "twiliosrc serves one call");
  }
  g_main_context_unref (context);
}

typedef struct
{
  GstTwilioSrc *self;
  GError *error;
} ServerCall;

static gboolean
server_start (gpointer data)
{
  ServerCall *call = data;
  GstTwilioSrc *self = call->self;
  GtrHttpGuardLimits limits;
  GtrHttpGuard *guard;
  GSocketAddress *address;
  GSList *uris;
  char *host, *path;
  gint port;

  GST_OBJECT_LOCK (self);
  host = g_strdup (self->address);
  port = self->port;
  path = g_strdup (self->path);
  GST_OBJECT_UNLOCK (self);

  self->server = soup_server_new ("server-header", PACKAGE " ", NULL);
  /* Refusals close their connection, and no connection that never
   * finishes a request holds a descriptor: see gtr-http-guard.h. */
  GST_OBJECT_LOCK (self);
  limits.handshake_timeout_ms = self->handshake_timeout_ms;
  limits.idle_timeout_ms = self->idle_timeout_ms;
  GST_OBJECT_UNLOCK (self);
  guard = gtr_http_guard_new (self->server, &limits);
  g_mutex_lock (&self->lock);
  self->guard = guard;
  g_mutex_unlock (&self->lock);
  soup_server_add_early_handler (self->server, path, early_handler, self, NULL);
  soup_server_add_websocket_handler (self->server, path, NULL, NULL,
      websocket_handler, self, NULL);
  address = g_inet_socket_address_new_from_string (host, port);
  if (!address)
    g_set_error (&call->error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' is not an IP address", host);
  else if (soup_server_listen (self->server, address, 0, &call->error)) {
    uris = soup_server_get_uris (self->server);
    g_atomic_int_set (&self->bound_port, g_uri_get_port (uris->data));
    g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  }
  g_clear_object (&address);
  g_free (host);
  g_free (path);
  return G_SOURCE_REMOVE;
}

static gboolean
server_stop (gpointer data)
{
  ServerCall *call = data;
  GstTwilioSrc *self = call->self;
  GtrHttpGuard *guard;

  g_mutex_lock (&self->lock);
  guard = g_steal_pointer (&self->guard);
  g_mutex_unlock (&self->lock);
  if (guard)
    gtr_http_guard_free (guard);
  if (self->server) {
    soup_server_disconnect (self->server);
    g_clear_object (&self->server);
  }
  g_atomic_int_set (&self->bound_port, 0);
  return G_SOURCE_REMOVE;
}

/* NULL→READY, standalone: what the listener will check with, and whether
 * that makes sense. */
static gboolean
check_settings (GstTwilioSrc * self)
{
  const char *env_token = g_getenv ("TWILIO_AUTH_TOKEN");
  gboolean have_token, have_url, bad_path;
  const char *token_from;

  GST_OBJECT_LOCK (self);
  g_clear_pointer (&self->env_auth_token, g_free);
  if (!self->auth_token && env_token && *env_token)
    self->env_auth_token = g_strdup (env_token);
  have_token = auth_token (self) != NULL;
  token_from = self->auth_token ? "auth-token" : "TWILIO_AUTH_TOKEN";
  have_url = self->public_url && *self->public_url;
  bad_path = !self->path || self->path[0] != '/';
  GST_OBJECT_UNLOCK (self);

  if (bad_path) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("path must be an absolute HTTP path such as /media"), (NULL));
    return FALSE;
  }
  if (have_token && !have_url) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("an auth token is set (%s) but public-url is not: the "
            "X-Twilio-Signature cannot be checked", token_from), (NULL));
    return FALSE;
  }
  if (have_url && !have_token)
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("public-url is set but there is no auth token (auth-token or "
            "TWILIO_AUTH_TOKEN): handshakes are not checked"), (NULL));
  return TRUE;
}

static gboolean
start_server (GstTwilioSrc * self)
{
  ServerCall call = { self, NULL };

  gtr_netloop_run_sync (NULL, server_start, &call);
  if (call.error) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not listen for Twilio on %s:%d", self->address, self->port),
        ("%s", call.error->message));
    g_error_free (call.error);
    gtr_netloop_run_sync (NULL, server_stop, &call);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "listening on %s:%d%s", self->address,
      g_atomic_int_get (&self->bound_port), self->path);
  return TRUE;
}

static void
stop_server (GstTwilioSrc * self)
{
  ServerCall call = { self, NULL };

  gtr_netloop_run_sync (NULL, server_stop, &call);
}

/* Embedded: the application's server hands the call over (`embedded`, or
 * a `connection` set before READY); the element does not listen. */
static gboolean
is_embedded (GstTwilioSrc * self)
{
  gboolean embedded;

  GST_OBJECT_LOCK (self);
  embedded = self->embedded;
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->lock);
  embedded = embedded || self->stream != NULL;
  g_mutex_unlock (&self->lock);
  return embedded;
}

static GstStateChangeReturn
gst_twilio_src_change_state (GstElement * element, GstStateChange transition)
{
  GstTwilioSrc *self = GST_TWILIO_SRC (element);
  GstStateChangeReturn ret;
  gboolean run_to_completion;

  if (transition == GST_STATE_CHANGE_NULL_TO_READY && !is_embedded (self)) {
    if (!check_settings (self) || !start_server (self))
      return GST_STATE_CHANGE_FAILURE;
  }

  GST_OBJECT_LOCK (self);
  run_to_completion = self->run_to_completion;
  GST_OBJECT_UNLOCK (self);
  if (!run_to_completion) {
    ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  } else {
    /* GstBaseSrc's own state handling is all about its task: skipped.  A
     * live source still does not preroll, and pushes only in PLAYING. */
    if (transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED) {
      g_mutex_lock (&self->lock);
      self->playing = FALSE;
      g_mutex_unlock (&self->lock);
    }
    ret = GST_ELEMENT_CLASS (g_type_class_peek (GST_TYPE_ELEMENT))->change_state
        (element, transition);
    if (ret == GST_STATE_CHANGE_SUCCESS
        && (transition == GST_STATE_CHANGE_READY_TO_PAUSED
            || transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED))
      ret = GST_STATE_CHANGE_NO_PREROLL;
    if (ret != GST_STATE_CHANGE_FAILURE
        && transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING) {
      g_mutex_lock (&self->lock);
      self->playing = TRUE;
      g_mutex_unlock (&self->lock);
      /* stream-start, caps and segment now, and what waited for PLAYING */
      direct_drain (self);
    }
  }

  if (transition == GST_STATE_CHANGE_READY_TO_NULL
      || (transition == GST_STATE_CHANGE_NULL_TO_READY
          && ret == GST_STATE_CHANGE_FAILURE)) {
    stop_server (self);
    detach_stream (self);
    reset_call (self);
    GST_OBJECT_LOCK (self);
    g_clear_pointer (&self->env_auth_token, g_free);
    GST_OBJECT_UNLOCK (self);
  }
  return ret;
}

/* ---- Streaming thread ---- */

/* PTS from Twilio's stream time: the first media message at the running time
 * it goes downstream, the rest at Twilio's spacing from it. */
static void
timestamp_buffer (GstTwilioSrc * self, GstBuffer * buffer)
{
  GstClockTime twilio_time = GST_BUFFER_PTS (buffer);

  if (!self->have_first) {
    self->have_first = TRUE;
    self->first_twilio_time = twilio_time;
    self->first_running_time = gtr_element_running_time (GST_ELEMENT (self));
  }
  GST_BUFFER_PTS (buffer) = self->first_running_time +
      (twilio_time > self->first_twilio_time ?
      twilio_time - self->first_twilio_time : 0);
}

/* GstBaseSrc sends its segment only before the first buffer; we send it at
 * once so downstream is configured before the caller speaks, and before any
 * sticky call event. */
static void
push_segment (GstTwilioSrc * self)
{
  GstBaseSrc *base = GST_BASE_SRC (self);
  GstEvent *event;

  GST_OBJECT_LOCK (self);
  event = gst_event_new_segment (&base->segment);
  GST_OBJECT_UNLOCK (self);
  gst_pad_push_event (GST_BASE_SRC_PAD (self), event);
  self->segment_sent = TRUE;
}

/* ---- run-to-completion: the network thread pushes ---- */

/* What GstBaseSrc's task sends first: stream-start, caps, segment.  Stream
 * lock held. */
static void
direct_start (GstTwilioSrc * self)
{
  GstPad *pad = GST_BASE_SRC_PAD (self);
  gchar *id = gst_pad_create_stream_id (pad, GST_ELEMENT (self), NULL);
  GstEvent *event = gst_event_new_stream_start (id);
  GstCaps *caps = gst_pad_get_pad_template_caps (pad);

  gst_event_set_group_id (event, gst_util_group_id_next ());
  gst_pad_push_event (pad, event);
  gst_pad_push_event (pad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  g_free (id);
  push_segment (self);
  self->direct_started = TRUE;
}

/* With run-to-completion, push what the call produced, on the thread that
 * produced it (the connection's: the network thread), right away: no queue
 * between threads, no streaming task.  Only in PLAYING; what comes before
 * waits until then.  Does what GstBaseSrc's loop would on a bad flow: EOS
 * downstream, and an error for not-linked or an error flow. */
static void
direct_drain (GstTwilioSrc * self)
{
  GstPad *pad = GST_BASE_SRC_PAD (self);
  gboolean go;

  g_mutex_lock (&self->lock);
  go = self->direct && self->playing && !self->direct_done;
  g_mutex_unlock (&self->lock);
  if (!go)
    return;

  GST_PAD_STREAM_LOCK (pad);
  if (!self->direct_started)
    direct_start (self);
  for (;;) {
    gpointer item = NULL;
    char *error_text = NULL;
    gboolean eos = FALSE;
    GstFlowReturn flow;

    g_mutex_lock (&self->lock);
    if (!self->direct || !self->playing || self->direct_done) {
      g_mutex_unlock (&self->lock);
      break;
    }
    if (self->error_text) {
      error_text = g_strdup (self->error_text);
      self->direct_done = TRUE;
    } else if (!(item = g_queue_pop_head (&self->queue)) && self->eos) {
      eos = self->direct_done = TRUE;
    }
    g_mutex_unlock (&self->lock);

    if (error_text) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("%s", error_text), (NULL));
      g_free (error_text);
      gst_pad_push_event (pad, gst_event_new_eos ());
      break;
    }
    if (eos) {
      gst_pad_push_event (pad, gst_event_new_eos ());
      break;
    }
    if (!item)
      break;
    if (GST_IS_EVENT (item)) {
      gst_pad_push_event (pad, item);
      continue;
    }
    timestamp_buffer (self, item);
    flow = gst_pad_push (pad, item);
    if (flow == GST_FLOW_OK || flow == GST_FLOW_FLUSHING)
      continue;   /* flushing: the next round sees the deactivation */
    GST_DEBUG_OBJECT (self, "downstream returned %s", gst_flow_get_name (flow));
    g_mutex_lock (&self->lock);
    self->direct_done = TRUE;
    g_mutex_unlock (&self->lock);
    if (flow == GST_FLOW_NOT_LINKED || flow < GST_FLOW_EOS)
      GST_ELEMENT_FLOW_ERROR (self, flow);
    gst_pad_push_event (pad, gst_event_new_eos ());
    break;
  }
  GST_PAD_STREAM_UNLOCK (pad);
}

/* The src pad's activation: GstBaseSrc's (which starts the task), unless
 * run-to-completion, where activating only allows the network thread to
 * push. */
static gboolean
gst_twilio_src_activate_mode (GstPad * pad, GstObject * parent,
    GstPadMode mode, gboolean active)
{
  GstTwilioSrc *self = GST_TWILIO_SRC (parent);
  gboolean direct;

  GST_OBJECT_LOCK (self);
  direct = self->run_to_completion;
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->lock);
  if (!active)
    direct = self->direct;
  g_mutex_unlock (&self->lock);
  if (mode != GST_PAD_MODE_PUSH || !direct)
    return self->base_activatemode (pad, parent, mode, active);

  g_mutex_lock (&self->lock);
  self->direct = active;
  self->playing = FALSE;
  self->direct_done = FALSE;
  g_mutex_unlock (&self->lock);
  /* deactivating: the pad is flushing, so a push in flight returns; wait
   * for it */
  GST_PAD_STREAM_LOCK (pad);
  self->direct_started = FALSE;
  self->segment_sent = FALSE;
  GST_PAD_STREAM_UNLOCK (pad);
  return TRUE;
}

static GstFlowReturn
gst_twilio_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstTwilioSrc *self = GST_TWILIO_SRC (psrc);
  GstFlowReturn ret;
  gpointer item;
  char *error_text = NULL;

  if (!self->segment_sent)
    push_segment (self);

  g_mutex_lock (&self->lock);
  for (;;) {
    if (self->flushing) {
      ret = GST_FLOW_FLUSHING;
      break;
    }
    if (self->error_text) {
      error_text = g_strdup (self->error_text);
      ret = GST_FLOW_ERROR;
      break;
    }
    if ((item = g_queue_pop_head (&self->queue))) {
      if (GST_IS_EVENT (item)) {
        g_mutex_unlock (&self->lock);
        gst_pad_push_event (GST_BASE_SRC_PAD (self), item);
        g_mutex_lock (&self->lock);
        continue;
      }
      timestamp_buffer (self, item);
      *outbuf = item;
      ret = GST_FLOW_OK;
      break;
    }
    if (self->eos) {
      ret = GST_FLOW_EOS;
      break;
    }
    g_cond_wait (&self->cond, &self->lock);
  }
  g_mutex_unlock (&self->lock);
  if (error_text) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("%s", error_text), (NULL));
    g_free (error_text);
  }
  return ret;
}

/* Wakes create() when it waits for the network (unlock) and lets it wait
 * again (start, unlock_stop). */
static void
set_flushing (GstTwilioSrc * self, gboolean flushing)
{
  g_mutex_lock (&self->lock);
  self->flushing = flushing;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

static gboolean
gst_twilio_src_start (GstBaseSrc * base)
{
  GstTwilioSrc *self = GST_TWILIO_SRC (base);

  self->segment_sent = FALSE;
  set_flushing (self, FALSE);
  return TRUE;
}

static gboolean
gst_twilio_src_unlock (GstBaseSrc * base)
{
  set_flushing (GST_TWILIO_SRC (base), TRUE);
  return TRUE;
}

static gboolean
gst_twilio_src_unlock_stop (GstBaseSrc * base)
{
  set_flushing (GST_TWILIO_SRC (base), FALSE);
  return TRUE;
}

static gboolean
gst_twilio_src_query (GstBaseSrc * base, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    /* Twilio sends 20 ms per message: a buffer is complete 20 ms after its
     * PTS. */
    gst_query_set_latency (query, TRUE, 20 * GST_MSECOND, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (parent_class)->query (base, query);
}

/* ---- Properties ---- */

static GstStructure *
stats_new (GstTwilioSrc * self)
{
  GstStructure *s;

  g_mutex_lock (&self->lock);
  s = gst_structure_new ("twilio/src-stats",
      "frames", G_TYPE_UINT64, self->frames,
      "media", G_TYPE_UINT64, self->media,
      "bytes", G_TYPE_UINT64, self->bytes,
      "dtmf", G_TYPE_UINT64, self->dtmf,
      "marks", G_TYPE_UINT64, self->marks,
      "start-timeouts", G_TYPE_UINT64, self->start_timeouts,
      "closed-before-start", G_TYPE_UINT64, self->closed_before_start,
      "media-timeouts", G_TYPE_UINT64, self->media_timeouts,
      "handshake-timeouts", G_TYPE_UINT64,
      self->guard ? gtr_http_guard_get_handshake_timeouts (self->guard) : 0,
      "idle-timeouts", G_TYPE_UINT64,
      self->guard ? gtr_http_guard_get_idle_timeouts (self->guard) : 0,
      "refused", G_TYPE_UINT64,
      self->guard ? gtr_http_guard_get_refused (self->guard) : 0, NULL);
  for (guint i = 0; i < N_PROBLEMS; i++)
    gst_structure_set (s, problem_name (i), G_TYPE_UINT64, self->problems[i], NULL);
  g_mutex_unlock (&self->lock);
  return s;
}

/* The listening socket is made in NULL→READY: its settings change in NULL
 * only; the others in NULL or READY. */
static gboolean
settable (GstTwilioSrc * self, GParamSpec * pspec)
{
  gboolean listen_setting = pspec->param_id == PROP_ADDRESS
      || pspec->param_id == PROP_PORT || pspec->param_id == PROP_PATH
      || pspec->param_id == PROP_EMBEDDED
      || pspec->param_id == PROP_HANDSHAKE_TIMEOUT_MS
      || pspec->param_id == PROP_IDLE_TIMEOUT_MS;
  GstState limit = listen_setting ? GST_STATE_NULL : GST_STATE_READY;
  GstState state;

  GST_OBJECT_LOCK (self);
  state = GST_STATE (self);
  GST_OBJECT_UNLOCK (self);
  if (state <= limit)
    return TRUE;
  GST_WARNING_OBJECT (self, "'%s' can only be changed in the %s state",
      pspec->name, listen_setting ? "NULL" : "NULL or READY");
  return FALSE;
}

static void
set_connection (GstTwilioSrc * self, SoupWebsocketConnection * connection)
{
  GMainContext *context;

  if (!connection)
    return;
  context = g_main_context_ref_thread_default ();
  if (!attach_connection (self, connection, context))
    GST_WARNING_OBJECT (self, "already has a call: ignoring the connection");
  g_main_context_unref (context);
}

static void
gst_twilio_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstTwilioSrc *self = GST_TWILIO_SRC (object);

  if (prop_id == PROP_CONNECTION) {
    gboolean any_state;

    GST_OBJECT_LOCK (self);
    any_state = self->embedded;
    GST_OBJECT_UNLOCK (self);
    if (any_state || GST_STATE (self) <= GST_STATE_READY)
      set_connection (self, g_value_get_object (value));
    else
      GST_WARNING_OBJECT (self, "'connection' can only be set in NULL or "
          "READY, unless 'embedded' is set");
    return;
  }
  if (prop_id == PROP_MARK_MESSAGES) {
    GST_OBJECT_LOCK (self);
    self->mark_messages = g_value_get_boolean (value);
    GST_OBJECT_UNLOCK (self);
    return;
  }
  if (!settable (self, pspec))
    return;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ADDRESS:
      g_free (self->address);
      self->address = g_value_dup_string (value);
      break;
    case PROP_PORT:
      self->port = g_value_get_int (value);
      break;
    case PROP_PATH:
      g_free (self->path);
      self->path = g_value_dup_string (value);
      break;
    case PROP_AUTH_TOKEN:
      g_free (self->auth_token);
      self->auth_token = g_value_dup_string (value);
      break;
    case PROP_PUBLIC_URL:
      g_free (self->public_url);
      self->public_url = g_value_dup_string (value);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      self->max_message_size = g_value_get_uint (value);
      break;
    case PROP_START_TIMEOUT_MS:
      self->start_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_MEDIA_TIMEOUT_MS:
      self->media_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_HANDSHAKE_TIMEOUT_MS:
      self->handshake_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_IDLE_TIMEOUT_MS:
      self->idle_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_EMBEDDED:
      self->embedded = g_value_get_boolean (value);
      break;
    case PROP_RUN_TO_COMPLETION:
      self->run_to_completion = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_twilio_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstTwilioSrc *self = GST_TWILIO_SRC (object);
  gint bound = g_atomic_int_get (&self->bound_port);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, stats_new (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_PORT:
      g_value_set_int (value, bound ? bound : self->port);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_PUBLIC_URL:
      g_value_set_string (value, self->public_url);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, self->max_message_size);
      break;
    case PROP_START_TIMEOUT_MS:
      g_value_set_uint (value, self->start_timeout_ms);
      break;
    case PROP_MEDIA_TIMEOUT_MS:
      g_value_set_uint (value, self->media_timeout_ms);
      break;
    case PROP_HANDSHAKE_TIMEOUT_MS:
      g_value_set_uint (value, self->handshake_timeout_ms);
      break;
    case PROP_IDLE_TIMEOUT_MS:
      g_value_set_uint (value, self->idle_timeout_ms);
      break;
    case PROP_EMBEDDED:
      g_value_set_boolean (value, self->embedded);
      break;
    case PROP_RUN_TO_COMPLETION:
      g_value_set_boolean (value, self->run_to_completion);
      break;
    case PROP_MARK_MESSAGES:
      g_value_set_boolean (value, self->mark_messages);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* gst-inspect-1.0 as the manual: what GObject cannot introspect, in factory
 * metadata (gtr_inspect_add_metadata, plugins/common/gtr-inspect.h). */
static const char *const inspect_example[] = {
  "$ gst-launch-1.0 twiliosrc port=8080 ! queue ! twiliosink",
  "Echo: the caller hears themselves (TwiML <Connect><Stream url=\"wss://HOST/media\"/>; a tunnel such as ngrok connects to 127.0.0.1:8080).",
  "$ gst-launch-1.0 twiliosrc port=8080 ! openairealtime ! queue ! twiliosink",
  "A voice agent (the key from OPENAI_API_KEY).",
  NULL
};

static const char *const inspect_messages[] = {
  "twilio/start: the call started (Twilio's start). stream-sid, call-sid, account-sid (string); tracks (string): "
      "comma-separated, e.g. \"inbound\"; custom-parameters (GstStructure twilio/custom-parameters): one string field "
      "per <Parameter> of the TwiML.",
  "twilio/dtmf: a key press. digit (string): 0-9, *, #, A-D; number (int): 0-15 (*=10, #=11, A-D=12-15); stream-sid (string).",
  "twilio/mark: Twilio echoed a mark: the caller has heard everything sent before it (only with mark-messages=true). name (string); stream-sid (string).",
  "twilio/stop: the call is over, EOS follows. stream-sid (string); reason (string): stop (Twilio's stop), closed "
      "(the socket closed), timeout (nothing for media-timeout-ms), start-timeout (embedded: no start within "
      "start-timeout-ms).",
  NULL
};

static const char *const inspect_events[] = {
  "src, twilio/call (sticky custom downstream, before the first buffer): stream-sid, call-sid, account-sid, tracks "
      "(string); custom-parameters (GstStructure); stream (GstTwilioStream: the call's WebSocket, for twiliosink; "
      "other elements pass it on untouched).",
  "src, dtmf-event (custom downstream, the standard DTMF event): type (int) 1, number (int) 0-15, volume (int) 10, "
      "start (boolean) TRUE, method (int) 2; no start=FALSE follows (Twilio reports a key once).",
  "src, twilio/mark (serialized custom downstream): name (string): Twilio echoed this mark.",
  "src, EOS: the call ended (stop, the socket closed, media-timeout-ms; embedded also start-timeout-ms).",
  NULL
};

static void
install_properties (GObjectClass * gobject_class)
{
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_READY;

  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "IP address to listen on (standalone mode); 0.0.0.0 or :: for every "
          "interface.  Set in NULL: the element listens from READY on", DEFAULT_ADDRESS, rw));
  g_object_class_install_property (gobject_class, PROP_PORT,
      g_param_spec_int ("port", "Port",
          "TCP port to listen on (standalone mode); 0 picks a free port.  Once "
          "the element is READY, reading it gives the bound port.  Set in NULL",
          0, 65535, DEFAULT_PORT, rw));
  g_object_class_install_property (gobject_class, PROP_PATH,
      g_param_spec_string ("path", "Path",
          "HTTP path of the Media Stream WebSocket (standalone mode), as in the "
          "TwiML <Stream url>.  Set in NULL", DEFAULT_PATH, rw));
  g_object_class_install_property (gobject_class, PROP_CONNECTION,
      g_param_spec_object ("connection", "Connection",
          "Embedded mode: an accepted Media Stream WebSocket, handed over by an "
          "application running its own SoupServer.  Set it (in NULL or READY) "
          "from the thread running the connection's GMainContext, e.g. in the "
          "SoupServer WebSocket callback; the element then does not listen",
          SOUP_TYPE_WEBSOCKET_CONNECTION,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_AUTH_TOKEN,
      g_param_spec_string ("auth-token", "Auth token",
          "Twilio auth token: with public-url set, a handshake without a valid "
          "X-Twilio-Signature is refused with HTTP 403 (standalone mode).  "
          "Unset: the TWILIO_AUTH_TOKEN environment variable, read in "
          "NULL->READY (keeps the token off command lines).  Write-only; "
          "never logged", NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PUBLIC_URL,
      g_param_spec_string ("public-url", "Public URL",
          "The wss:// URL Twilio connects to (the <Stream url>), over which "
          "Twilio computes X-Twilio-Signature (standalone mode).  Unset: "
          "handshakes are not checked, and an auth-token without it fails "
          "NULL->READY (RESOURCE/SETTINGS)", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_MAX_MESSAGE_SIZE,
      g_param_spec_uint ("max-message-size", "Max message size",
          "Largest text frame parsed, in bytes; longer ones are counted as "
          "'oversize' and ignored (frames over 16 times this close the socket)",
          1024, 16 * 1024 * 1024, DEFAULT_MAX_MESSAGE_SIZE, rw));
  g_object_class_install_property (gobject_class, PROP_START_TIMEOUT_MS,
      g_param_spec_uint ("start-timeout-ms", "Start timeout (ms)",
          "Milliseconds from the WebSocket upgrade until Twilio's 'start' "
          "(Twilio sends it at once).  A connection still silent then is "
          "closed (code 1008) and counted in stats 'start-timeouts'; "
          "standalone, the element waits for the next connection; embedded, "
          "the call ends (EOS, twilio/stop reason \"start-timeout\")",
          10, 60000, DEFAULT_START_TIMEOUT_MS, rw));
  g_object_class_install_property (gobject_class, PROP_MEDIA_TIMEOUT_MS,
      g_param_spec_uint ("media-timeout-ms", "Media timeout (ms)",
          "Once the call runs, Twilio sends a media message every 20 ms, "
          "silence included: nothing at all for this many milliseconds means "
          "a stalled connection, and the call ends (socket closed with 1001, "
          "EOS, twilio/stop reason \"timeout\", stats 'media-timeouts')",
          100, 600000, DEFAULT_MEDIA_TIMEOUT_MS, rw));
  g_object_class_install_property (gobject_class, PROP_HANDSHAKE_TIMEOUT_MS,
      g_param_spec_uint ("handshake-timeout-ms", "Handshake timeout (ms)",
          "Standalone: milliseconds a new TCP connection has to complete its "
          "HTTP request headers (the WebSocket handshake); a silent or "
          "byte-by-byte one is shut down then and counted in stats "
          "'handshake-timeouts'.  Set in NULL",
          10, 60000, DEFAULT_HANDSHAKE_TIMEOUT_MS, rw));
  g_object_class_install_property (gobject_class, PROP_IDLE_TIMEOUT_MS,
      g_param_spec_uint ("idle-timeout-ms", "Idle timeout (ms)",
          "Standalone: milliseconds a kept-alive HTTP connection may wait "
          "for its next request before it is shut down (stats "
          "'idle-timeouts').  Every refusal (403, 404, 503) closes its "
          "connection at once (stats 'refused').  Set in NULL",
          10, 60000, DEFAULT_IDLE_TIMEOUT_MS, rw));
  g_object_class_install_property (gobject_class, PROP_EMBEDDED,
      g_param_spec_boolean ("embedded", "Embedded",
          "Never listen: the application's own server hands the call over in "
          "'connection', which may then be set in any state (once), so the "
          "pipeline, and the agent's session, can be started before the "
          "Media Stream arrives.  Set in NULL",
          DEFAULT_EMBEDDED, rw));
  g_object_class_install_property (gobject_class, PROP_RUN_TO_COMPLETION,
      g_param_spec_boolean ("run-to-completion", "Run to completion",
          "Push each message's buffer or event downstream from the thread "
          "it arrived on (the network thread, or the embedding application's "
          "connection context) instead of the element's own streaming "
          "thread: no thread and no hand-off per call.  Everything "
          "downstream then runs on that thread, which every call shares, so "
          "nothing after twiliosrc may block (put a queue before a "
          "clock-synced sink).  Pushes only in PLAYING.  Set in NULL or READY",
          DEFAULT_RUN_TO_COMPLETION, rw));
  g_object_class_install_property (gobject_class, PROP_MARK_MESSAGES,
      g_param_spec_boolean ("mark-messages", "Mark messages",
          "Post a twilio/mark element message on the bus for every mark "
          "Twilio echoes (off: the twilio/mark event downstream, which "
          "openairealtime and twiliosink use, is always sent; a bus message "
          "per mark costs every call a wake-up of the bus every 100-200 ms "
          "of agent audio).  May change in any state",
          DEFAULT_MARK_MESSAGES, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters of the current call: frames, media, bytes, dtmf, marks "
          "received; start-timeouts and closed-before-start (connections "
          "that never started a call); media-timeouts (calls ended by a "
          "stalled connection); handshake-timeouts, idle-timeouts and "
          "refused (HTTP connections shut down or refused by the "
          "standalone listener, since READY); and one counter per kind of bad "
          "input (not-json, "
          "not-object, missing-field, bad-type, bad-value, bad-base64, "
          "unknown-event, oversize, unknown-field, binary-frame, before-start, "
          "second-start, wrong-stream-sid, after-stop)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
gst_twilio_src_finalize (GObject * object)
{
  GstTwilioSrc *self = GST_TWILIO_SRC (object);

  detach_stream (self);
  reset_call (self);
  g_free (self->address);
  g_free (self->path);
  g_free (self->auth_token);
  g_free (self->env_auth_token);
  g_free (self->public_url);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_twilio_src_class_init (GstTwilioSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  gobject_class->set_property = gst_twilio_src_set_property;
  gobject_class->get_property = gst_twilio_src_get_property;
  gobject_class->finalize = gst_twilio_src_finalize;
  install_properties (gobject_class);

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Twilio Media Stream source", "Source/Network/Audio",
      "Receives a phone call from a Twilio Media Stream WebSocket "
      "(<Connect><Stream>): the caller's audio as mu-law 8 kHz buffers, the "
      "call's details, key presses and echoed marks as events and messages. "
      "Standalone it listens itself (address, port, path) for one call; "
      "embedded, the application hands it the accepted WebSocket "
      "(connection).  A non-mu-law start is a STREAM/FORMAT error; other bad "
      "input is logged once per kind and counted in 'stats'.  Example, "
      "messages and events below (and in docs/elements.md)",
      "gst-twilio-realtime");
  gtr_inspect_add_metadata (element_class, "example", inspect_example);
  gtr_inspect_add_metadata (element_class, "messages", inspect_messages);
  gtr_inspect_add_metadata (element_class, "events", inspect_events);

  element_class->change_state = gst_twilio_src_change_state;
  basesrc_class->start = gst_twilio_src_start;
  basesrc_class->unlock = gst_twilio_src_unlock;
  basesrc_class->unlock_stop = gst_twilio_src_unlock_stop;
  basesrc_class->query = gst_twilio_src_query;
  pushsrc_class->create = gst_twilio_src_create;
}

static void
gst_twilio_src_init (GstTwilioSrc * self)
{
  self->address = g_strdup (DEFAULT_ADDRESS);
  self->port = DEFAULT_PORT;
  self->path = g_strdup (DEFAULT_PATH);
  self->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
  self->start_timeout_ms = DEFAULT_START_TIMEOUT_MS;
  self->media_timeout_ms = DEFAULT_MEDIA_TIMEOUT_MS;
  self->handshake_timeout_ms = DEFAULT_HANDSHAKE_TIMEOUT_MS;
  self->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
  self->embedded = DEFAULT_EMBEDDED;
  self->last_chunk = -1;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->queue);
  g_queue_init (&self->outbox);

  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  self->run_to_completion = DEFAULT_RUN_TO_COMPLETION;
  self->mark_messages = DEFAULT_MARK_MESSAGES;
  self->base_activatemode = GST_PAD_ACTIVATEMODEFUNC (GST_BASE_SRC_PAD (self));
  gst_pad_set_activatemode_function (GST_BASE_SRC_PAD (self),
      gst_twilio_src_activate_mode);
}
