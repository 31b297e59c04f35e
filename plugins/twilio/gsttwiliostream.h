/* GstTwilioStream: one Twilio Media Stream = one WebSocket, shared by
 * twiliosrc (which reads it) and twiliosink (which writes it), the way
 * gst-plugins-bad's GstSRTObject is shared by srtsrc and srtsink.
 *
 * libsoup objects are not thread-safe: the connection is only ever touched on
 * the GMainContext it was created on.  Every function here may be called from
 * any thread; writes are queued and flushed on that context in order, never
 * blocking the caller on the network.
 */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define GST_TYPE_TWILIO_STREAM (gst_twilio_stream_get_type ())
G_DECLARE_FINAL_TYPE (GstTwilioStream, gst_twilio_stream, GST, TWILIO_STREAM, GObject)

/* What the reader (twiliosrc) is told, always on the stream's context. */
typedef struct {
  /* A text frame; `text` is not necessarily NUL-terminated. */
  void (*text) (GstTwilioStream * stream, const char *text, gsize len, gpointer user_data);
  /* A binary frame (Twilio never sends one). */
  void (*binary) (GstTwilioStream * stream, gsize len, gpointer user_data);
  /* The WebSocket is closed (by the peer, or by an error). */
  void (*closed) (GstTwilioStream * stream, gushort code, gpointer user_data);
} GstTwilioStreamHandlers;

/* Takes a reference on `connection`; `context` is the context the connection
 * was created on (where its signals are emitted).  Frames that arrive before
 * handlers are set are dropped, so set them right after creating. */
GstTwilioStream *gst_twilio_stream_new (SoupWebsocketConnection * connection,
    GMainContext * context);

/* Install (or with NULL, remove) the reader's handlers.  Once this returns,
 * the previous handlers are not running and will not be called again. */
void gst_twilio_stream_set_handlers (GstTwilioStream * stream,
    const GstTwilioStreamHandlers * handlers, gpointer user_data);

/* Twilio's streamSid, known once `start` arrived (NULL before). */
void gst_twilio_stream_set_stream_sid (GstTwilioStream * stream, const char *stream_sid);
char *gst_twilio_stream_dup_stream_sid (GstTwilioStream * stream);

/* Send a text frame (takes ownership of `text`): at once on the stream's
 * thread when nothing is queued, else queued for it.  FALSE (and `text` freed)
 * when the WebSocket is already closed. */
gboolean gst_twilio_stream_send_text (GstTwilioStream * stream, char *text);

/* Close the WebSocket (on its context) and drop the connection's signal
 * handlers.  Idempotent. */
void gst_twilio_stream_close (GstTwilioStream * stream, gushort code, const char *reason);
/* After gst_twilio_stream_close(): wait (at most `timeout_ms`) until the
 * close frame has been handed to libsoup on the socket's context, so a
 * process that exits next still says goodbye.  On that context's own
 * thread it does not wait (the close runs once the caller returns).  TRUE
 * if it was handed over. */
gboolean gst_twilio_stream_wait_closed (GstTwilioStream * stream, guint timeout_ms);

/* TRUE until the WebSocket closes or the call is stopped (below). */
gboolean gst_twilio_stream_is_open (GstTwilioStream * stream);

/* twiliosrc: Twilio said `stop`: the caller is gone, though the socket may
 * not be closed yet.  Nothing sent now will be heard. */
void gst_twilio_stream_set_stopped (GstTwilioStream * stream);

/* Playback drain, for twiliosink's EOS: twiliosrc reports every mark Twilio
 * echoes (the caller has heard everything before it) ... */
void gst_twilio_stream_mark_echoed (GstTwilioStream * stream, const char *name);

/* ... and `func` is called once, later, with no lock held, with how the
 * wait ended (on the stream's context, or on the thread that closes or
 * stops the stream).  One watch at a time: a new one (or
 * gst_twilio_stream_cancel_echo_watch) drops the previous without calling
 * it; `notify` frees `user_data` either way. */
typedef enum {
  GST_TWILIO_ECHO_HEARD,        /* the mark came back: all before it was played */
  GST_TWILIO_ECHO_GONE,         /* the call ended first (stop, or the socket closed) */
  GST_TWILIO_ECHO_TIMED_OUT,    /* timeout_ms passed */
} GstTwilioEchoResult;
typedef void (*GstTwilioStreamEchoFunc) (GstTwilioStream * stream,
    GstTwilioEchoResult result, gpointer user_data);
void gst_twilio_stream_watch_echo (GstTwilioStream * stream, const char *name,
    guint timeout_ms, GstTwilioStreamEchoFunc func, gpointer user_data,
    GDestroyNotify notify);
void gst_twilio_stream_cancel_echo_watch (GstTwilioStream * stream);

/* The raw limit libsoup applies before a frame reaches us (a frame beyond it
 * closes the socket with 1009); elements set it above their own parse limit
 * so that an oversize frame is counted, not fatal. */
void gst_twilio_stream_set_max_incoming_payload_size (GstTwilioStream * stream, guint64 size);

G_END_DECLS
