/* GstTwilioStream: the WebSocket of one Twilio Media Stream, shared by
 * twiliosrc and twiliosink.  See gsttwiliostream.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gsttwiliostream.h"

GST_DEBUG_CATEGORY_STATIC (gst_twilio_stream_debug);
#define GST_CAT_DEFAULT gst_twilio_stream_debug

struct _GstTwilioStream
{
  GObject parent;

  /* Immutable after construction. */
  SoupWebsocketConnection *connection;
  GMainContext *context;

  /* Held while a reader handler runs, so that removing the handlers waits
   * for a running one and no call happens afterwards. */
  GMutex handler_lock;
  GstTwilioStreamHandlers handlers;
  gpointer handler_data;

  GMutex lock;                  /* protects what follows */
  char *stream_sid;
  GQueue outgoing;              /* char * text frames not yet written */
  gboolean flush_scheduled;
  gboolean closed;              /* closed by us or by the peer */
  gboolean stopped;             /* Twilio said stop */
  gboolean signals_connected;
  struct EchoWatch *echo_watch; /* see gst_twilio_stream_watch_echo */
  gboolean close_queued;        /* gst_twilio_stream_close() asked for our close frame */
  gboolean close_sent;          /* ... and it was handed to libsoup */
  GCond close_cond;             /* signalled with close_sent */
};

typedef struct EchoWatch
{
  GstTwilioStream *stream;
  char *name;
  GSource *timeout;
  GstTwilioStreamEchoFunc func;
  gpointer user_data;
  GDestroyNotify notify;
} EchoWatch;

static void echo_watch_end (GstTwilioStream * self, GstTwilioEchoResult result);

G_DEFINE_TYPE_WITH_CODE (GstTwilioStream, gst_twilio_stream, G_TYPE_OBJECT,
    GST_DEBUG_CATEGORY_INIT (gst_twilio_stream_debug, "twiliostream", 0,
        "Twilio Media Stream WebSocket"));

/* Run `func` on the stream's context, after everything queued before. */
static void
stream_invoke (GstTwilioStream * self, GSourceFunc func)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, g_object_ref (self), g_object_unref);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static void
on_message (SoupWebsocketConnection * conn, gint type, GBytes * message,
    GstTwilioStream * self)
{
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  g_mutex_lock (&self->handler_lock);
  if (type == SOUP_WEBSOCKET_DATA_TEXT && self->handlers.text)
    self->handlers.text (self, data, len, self->handler_data);
  else if (type != SOUP_WEBSOCKET_DATA_TEXT && self->handlers.binary)
    self->handlers.binary (self, len, self->handler_data);
  g_mutex_unlock (&self->handler_lock);
}

static void
on_error (SoupWebsocketConnection * conn, GError * error, GstTwilioStream * self)
{
  /* Followed by "closed"; the reader learns of the end there. */
  GST_DEBUG_OBJECT (self, "WebSocket error: %s", error->message);
}

static void disconnect_signals (GstTwilioStream * self);

static void
on_closed (SoupWebsocketConnection * conn, GstTwilioStream * self)
{
  gushort code = soup_websocket_connection_get_close_code (conn);

  GST_INFO_OBJECT (self, "WebSocket closed (code %u)", code);
  g_mutex_lock (&self->lock);
  self->closed = TRUE;
  g_mutex_unlock (&self->lock);
  echo_watch_end (self, GST_TWILIO_ECHO_GONE);

  g_mutex_lock (&self->handler_lock);
  if (self->handlers.closed)
    self->handlers.closed (self, code, self->handler_data);
  g_mutex_unlock (&self->handler_lock);
  disconnect_signals (self);
}

/* The connection's handlers each hold a reference on the stream (released
 * when they are disconnected), so a frame being delivered never meets a
 * finalized stream.  The cycle is broken by close or by the peer's close. */
static void
connect_signals (GstTwilioStream * self)
{
  static const struct
  {
    const char *name;
    GCallback callback;
  } signals[] = {
    {"message", G_CALLBACK (on_message)},
    {"error", G_CALLBACK (on_error)},
    {"closed", G_CALLBACK (on_closed)},
  };

  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    g_signal_connect_data (self->connection, signals[i].name,
        signals[i].callback, g_object_ref (self),
        (GClosureNotify) (void (*)(void)) g_object_unref, 0);
  self->signals_connected = TRUE;
}

static void
disconnect_signals (GstTwilioStream * self)
{
  gboolean connected;

  g_mutex_lock (&self->lock);
  connected = self->signals_connected;
  self->signals_connected = FALSE;
  g_mutex_unlock (&self->lock);
  /* Safe from any thread: a handler being emitted keeps its closure (and
   * thus its reference on us) alive until it returns. */
  if (connected)
    g_signal_handlers_disconnect_by_data (self->connection, self);
}

GstTwilioStream *
gst_twilio_stream_new (SoupWebsocketConnection * connection, GMainContext * context)
{
  GstTwilioStream *self;

  g_return_val_if_fail (SOUP_IS_WEBSOCKET_CONNECTION (connection), NULL);
  g_return_val_if_fail (context != NULL, NULL);

  self = g_object_new (GST_TYPE_TWILIO_STREAM, NULL);
  self->connection = g_object_ref (connection);
  self->context = g_main_context_ref (context);
  if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
    connect_signals (self);
  else
    self->closed = TRUE;
  return self;
}

void
gst_twilio_stream_set_handlers (GstTwilioStream * self,
    const GstTwilioStreamHandlers * handlers, gpointer user_data)
{
  static const GstTwilioStreamHandlers none = { NULL, NULL, NULL };

  g_return_if_fail (GST_IS_TWILIO_STREAM (self));

  g_mutex_lock (&self->handler_lock);
  self->handlers = handlers ? *handlers : none;
  self->handler_data = handlers ? user_data : NULL;
  g_mutex_unlock (&self->handler_lock);
}

void
gst_twilio_stream_set_stream_sid (GstTwilioStream * self, const char *stream_sid)
{
  g_return_if_fail (GST_IS_TWILIO_STREAM (self));

  g_mutex_lock (&self->lock);
  g_free (self->stream_sid);
  self->stream_sid = g_strdup (stream_sid);
  g_mutex_unlock (&self->lock);
}

char *
gst_twilio_stream_dup_stream_sid (GstTwilioStream * self)
{
  char *sid;

  g_return_val_if_fail (GST_IS_TWILIO_STREAM (self), NULL);

  g_mutex_lock (&self->lock);
  sid = g_strdup (self->stream_sid);
  g_mutex_unlock (&self->lock);
  return sid;
}

gboolean
gst_twilio_stream_is_open (GstTwilioStream * self)
{
  gboolean open;

  g_return_val_if_fail (GST_IS_TWILIO_STREAM (self), FALSE);

  g_mutex_lock (&self->lock);
  open = !self->closed && !self->stopped;
  g_mutex_unlock (&self->lock);
  return open;
}

/* On the context: one frame to the socket, unless the peer closed it. */
static void
write_frame (GstTwilioStream * self, const char *text)
{
  if (soup_websocket_connection_get_state (self->connection) ==
      SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (self->connection, text);
  else
    GST_LOG_OBJECT (self, "dropping a frame: the WebSocket is closed");
}

/* On the context: write every queued frame, in order.  A socket the peer
 * closed meanwhile is not written to. */
static gboolean
flush_outgoing (gpointer data)
{
  GstTwilioStream *self = data;
  GQueue frames = G_QUEUE_INIT;
  char *text;

  g_mutex_lock (&self->lock);
  frames = self->outgoing;
  g_queue_init (&self->outgoing);
  self->flush_scheduled = FALSE;
  g_mutex_unlock (&self->lock);

  while ((text = g_queue_pop_head (&frames))) {
    write_frame (self, text);
    g_free (text);
  }
  return G_SOURCE_REMOVE;
}

/* Sent at once on the stream's own thread when nothing is queued before
 * it (run to completion: the message read from the API is written to
 * Twilio in the same dispatch, no source and no loop iteration of its
 * own); queued and flushed on the context from any other thread. */
gboolean
gst_twilio_stream_send_text (GstTwilioStream * self, char *text)
{
  gboolean schedule = FALSE, now = FALSE;

  g_return_val_if_fail (GST_IS_TWILIO_STREAM (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  g_mutex_lock (&self->lock);
  if (self->closed) {
    g_mutex_unlock (&self->lock);
    g_free (text);
    return FALSE;
  }
  if (!self->flush_scheduled && g_main_context_is_owner (self->context)) {
    now = TRUE;
  } else {
    g_queue_push_tail (&self->outgoing, text);
    schedule = !self->flush_scheduled;
    self->flush_scheduled = TRUE;
  }
  g_mutex_unlock (&self->lock);

  if (now) {
    write_frame (self, text);
    g_free (text);
  }
  if (schedule)
    stream_invoke (self, flush_outgoing);
  return TRUE;
}

/* ---- Playback drain ---- */

static void
echo_watch_free (EchoWatch * watch)
{
  if (watch->timeout) {
    g_source_destroy (watch->timeout);
    g_source_unref (watch->timeout);
  }
  if (watch->notify)
    watch->notify (watch->user_data);
  g_object_unref (watch->stream);
  g_free (watch->name);
  g_free (watch);
}

/* Take the watch (when `name` is NULL or its own) and report to it. */
static void
echo_watch_end_if (GstTwilioStream * self, const char *name,
    GstTwilioEchoResult result)
{
  EchoWatch *watch;

  g_mutex_lock (&self->lock);
  watch = self->echo_watch;
  if (watch && (!name || g_str_equal (watch->name, name)))
    self->echo_watch = NULL;
  else
    watch = NULL;
  g_mutex_unlock (&self->lock);
  if (!watch)
    return;
  GST_DEBUG_OBJECT (self, "mark '%s': %s", watch->name,
      result == GST_TWILIO_ECHO_HEARD ? "echoed" : result == GST_TWILIO_ECHO_GONE
      ? "the call ended first" : "timed out");
  watch->func (self, result, watch->user_data);
  echo_watch_free (watch);
}

static void
echo_watch_end (GstTwilioStream * self, GstTwilioEchoResult result)
{
  echo_watch_end_if (self, NULL, result);
}

static gboolean
echo_timed_out (gpointer data)
{
  echo_watch_end (GST_TWILIO_STREAM (data), GST_TWILIO_ECHO_TIMED_OUT);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  GstTwilioStream *stream;
  char *name;
} EchoReport;

static gboolean
echo_report_run (gpointer data)
{
  EchoReport *report = data;

  echo_watch_end_if (report->stream, report->name, GST_TWILIO_ECHO_HEARD);
  return G_SOURCE_REMOVE;
}

static void
echo_report_free (gpointer data)
{
  EchoReport *report = data;

  g_object_unref (report->stream);
  g_free (report->name);
  g_free (report);
}

void
gst_twilio_stream_mark_echoed (GstTwilioStream * self, const char *name)
{
  EchoReport *report;
  GSource *source;
  gboolean watched;

  g_return_if_fail (GST_IS_TWILIO_STREAM (self));

  g_mutex_lock (&self->lock);
  watched = self->echo_watch && g_strcmp0 (self->echo_watch->name, name) == 0;
  g_mutex_unlock (&self->lock);
  if (!watched)
    return;
  /* Reported from an idle source: the caller (twiliosrc, holding its own
   * lock) must not run the watcher's code, which posts on the bus. */
  report = g_new0 (EchoReport, 1);
  report->stream = g_object_ref (self);
  report->name = g_strdup (name);
  source = g_idle_source_new ();
  g_source_set_callback (source, echo_report_run, report, echo_report_free);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

void
gst_twilio_stream_watch_echo (GstTwilioStream * self, const char *name,
    guint timeout_ms, GstTwilioStreamEchoFunc func, gpointer user_data,
    GDestroyNotify notify)
{
  EchoWatch *watch = g_new0 (EchoWatch, 1), *previous;
  gboolean gone;

  g_return_if_fail (GST_IS_TWILIO_STREAM (self));

  watch->stream = g_object_ref (self);
  watch->name = g_strdup (name);
  watch->func = func;
  watch->user_data = user_data;
  watch->notify = notify;
  watch->timeout = g_timeout_source_new (timeout_ms);
  /* The source holds no reference: the watch removes it when it ends. */
  g_source_set_callback (watch->timeout, echo_timed_out, self, NULL);

  g_mutex_lock (&self->lock);
  previous = self->echo_watch;
  self->echo_watch = watch;
  gone = self->closed || self->stopped;
  g_mutex_unlock (&self->lock);
  g_source_attach (watch->timeout, self->context);
  if (previous)
    echo_watch_free (previous);
  if (gone)
    echo_watch_end (self, GST_TWILIO_ECHO_GONE);
}

void
gst_twilio_stream_set_stopped (GstTwilioStream * self)
{
  g_return_if_fail (GST_IS_TWILIO_STREAM (self));

  g_mutex_lock (&self->lock);
  self->stopped = TRUE;
  g_mutex_unlock (&self->lock);
  echo_watch_end (self, GST_TWILIO_ECHO_GONE);
}

void
gst_twilio_stream_cancel_echo_watch (GstTwilioStream * self)
{
  EchoWatch *watch;

  g_return_if_fail (GST_IS_TWILIO_STREAM (self));

  g_mutex_lock (&self->lock);
  watch = g_steal_pointer (&self->echo_watch);
  g_mutex_unlock (&self->lock);
  if (watch)
    echo_watch_free (watch);
}

typedef struct
{
  GstTwilioStream *stream;
  gushort code;
  char *reason;
} CloseRequest;

static gboolean
close_on_context (gpointer data)
{
  CloseRequest *req = data;
  SoupWebsocketConnection *conn = req->stream->connection;

  /* Frames queued before the close go out first. */
  flush_outgoing (req->stream);
  if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (conn, req->code, req->reason);
  g_mutex_lock (&req->stream->lock);
  req->stream->close_sent = TRUE;
  g_cond_broadcast (&req->stream->close_cond);
  g_mutex_unlock (&req->stream->lock);
  return G_SOURCE_REMOVE;
}

static void
close_request_free (gpointer data)
{
  CloseRequest *req = data;

  g_object_unref (req->stream);
  g_free (req->reason);
  g_free (req);
}

void
gst_twilio_stream_close (GstTwilioStream * self, gushort code, const char *reason)
{
  CloseRequest *req;
  GSource *source;
  gboolean was_closed;

  g_return_if_fail (GST_IS_TWILIO_STREAM (self));

  g_mutex_lock (&self->lock);
  was_closed = self->closed;
  self->closed = TRUE;
  if (!was_closed)
    self->close_queued = TRUE;
  g_mutex_unlock (&self->lock);

  disconnect_signals (self);
  if (!was_closed)
    echo_watch_end (self, GST_TWILIO_ECHO_GONE);
  if (was_closed)
    return;

  GST_INFO_OBJECT (self, "closing the WebSocket (code %u)", code);
  req = g_new0 (CloseRequest, 1);
  req->stream = g_object_ref (self);
  req->code = code;
  req->reason = g_strdup (reason);
  source = g_idle_source_new ();
  g_source_set_callback (source, close_on_context, req, close_request_free);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

gboolean
gst_twilio_stream_wait_closed (GstTwilioStream * self, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  gboolean sent;

  g_return_val_if_fail (GST_IS_TWILIO_STREAM (self), FALSE);

  /* on the socket's own thread the close can only run after we return */
  if (g_main_context_is_owner (self->context))
    return self->close_sent;
  g_mutex_lock (&self->lock);
  /* nothing to wait for when the peer closed first */
  while (self->close_queued && !self->close_sent
      && g_cond_wait_until (&self->close_cond, &self->lock, deadline));
  sent = !self->close_queued || self->close_sent;
  g_mutex_unlock (&self->lock);
  return sent;
}

typedef struct
{
  GstTwilioStream *stream;
  guint64 size;
} PayloadSizeRequest;

static gboolean
set_payload_size_on_context (gpointer data)
{
  PayloadSizeRequest *req = data;

  soup_websocket_connection_set_max_incoming_payload_size (req->stream->connection,
      req->size);
  return G_SOURCE_REMOVE;
}

static void
payload_size_request_free (gpointer data)
{
  PayloadSizeRequest *req = data;

  g_object_unref (req->stream);
  g_free (req);
}

void
gst_twilio_stream_set_max_incoming_payload_size (GstTwilioStream * self, guint64 size)
{
  PayloadSizeRequest *req;

  g_return_if_fail (GST_IS_TWILIO_STREAM (self));

  req = g_new0 (PayloadSizeRequest, 1);
  req->stream = g_object_ref (self);
  req->size = size;
  /* Direct when we are on the context already (the usual case: the stream is
   * made in the WebSocket handler), so no frame slips in before. */
  g_main_context_invoke_full (self->context, G_PRIORITY_HIGH,
      set_payload_size_on_context, req, payload_size_request_free);
}

static gboolean
unref_on_context (gpointer object)
{
  g_object_unref (object);
  return G_SOURCE_REMOVE;
}

static void
gst_twilio_stream_finalize (GObject * object)
{
  GstTwilioStream *self = GST_TWILIO_STREAM (object);

  g_queue_clear_full (&self->outgoing, g_free);
  /* libsoup objects die on their own context too. */
  g_main_context_invoke (self->context, unref_on_context, self->connection);
  self->connection = NULL;
  g_main_context_unref (self->context);
  g_free (self->stream_sid);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->handler_lock);
  g_cond_clear (&self->close_cond);

  G_OBJECT_CLASS (gst_twilio_stream_parent_class)->finalize (object);
}

/* So that the twilio/call event prints (gst-launch -v, debug logs). */
static void
stream_to_string (const GValue * src, GValue * dest)
{
  GstTwilioStream *self = g_value_get_object (src);
  char *sid = self ? gst_twilio_stream_dup_stream_sid (self) : NULL;

  g_value_take_string (dest, g_strdup_printf ("GstTwilioStream(%s)",
          sid ? sid : "-"));
  g_free (sid);
}

static void
gst_twilio_stream_class_init (GstTwilioStreamClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = gst_twilio_stream_finalize;
  g_value_register_transform_func (GST_TYPE_TWILIO_STREAM, G_TYPE_STRING,
      stream_to_string);
}

static void
gst_twilio_stream_init (GstTwilioStream * self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->handler_lock);
  g_cond_init (&self->close_cond);
  g_queue_init (&self->outgoing);
}
