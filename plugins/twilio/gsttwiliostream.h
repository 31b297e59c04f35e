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

/* Queue a text frame (takes ownership of `text`).  FALSE (and `text` freed)
 * when the WebSocket is already closed. */
gboolean gst_twilio_stream_send_text (GstTwilioStream * stream, char *text);

/* Close the WebSocket (on its context) and drop the connection's signal
 * handlers.  Idempotent. */
void gst_twilio_stream_close (GstTwilioStream * stream, gushort code, const char *reason);

gboolean gst_twilio_stream_is_open (GstTwilioStream * stream);

/* The raw limit libsoup applies before a frame reaches us (a frame beyond it
 * closes the socket with 1009); elements set it above their own parse limit
 * so that an oversize frame is counted, not fatal. */
void gst_twilio_stream_set_max_incoming_payload_size (GstTwilioStream * stream, guint64 size);

G_END_DECLS
