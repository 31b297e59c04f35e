/* The event contract between twiliosrc, openairealtime and twiliosink
 * (see docs/architecture.md).  Names only: each element builds and reads
 * these structures itself, so this header needs nothing but GStreamer.
 *
 * | structure          | carrier                                   | from → to                          |
 * | GTR_EVENT_CALL     | GST_EVENT_CUSTOM_DOWNSTREAM_STICKY        | twiliosrc → openairealtime → sink  |
 * | "dtmf-event"       | GST_EVENT_CUSTOM_DOWNSTREAM (standard)    | twiliosrc → downstream             |
 * | GTR_EVENT_SEND_MARK| GST_EVENT_CUSTOM_DOWNSTREAM (serialized)  | openairealtime → twiliosink        |
 * | GTR_EVENT_MARK     | GST_EVENT_CUSTOM_DOWNSTREAM (serialized)  | twiliosrc → openairealtime         |
 * | flush              | FLUSH_START/FLUSH_STOP                    | openairealtime → twiliosink (clear)|
 * | call over          | EOS                                       | twiliosrc / openairealtime         |
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Sticky.  Fields:
 *   stream-sid   (string)  Twilio's streamSid
 *   call-sid     (string)
 *   account-sid  (string)
 *   tracks       (string)  comma-separated, e.g. "inbound"
 *   custom-parameters (GstStructure named "twilio/custom-parameters",
 *                 one string field per <Parameter>; names kept as Twilio sent them)
 *   stream       (GObject) the GstTwilioStream that owns the call's WebSocket;
 *                 twiliosink sends on it.  Other elements must not touch it.
 * The same structure (without "stream") is posted as element message
 * GTR_MESSAGE_START. */
#define GTR_EVENT_CALL          "twilio/call"

/* Ask twiliosink to send a Twilio `mark` once the audio before it is sent.
 * Field: name (string). */
#define GTR_EVENT_SEND_MARK     "twilio/send-mark"

/* Twilio echoed a mark: the caller has heard everything before it.
 * Field: name (string). */
#define GTR_EVENT_MARK          "twilio/mark"

/* Element messages posted by twiliosrc. */
#define GTR_MESSAGE_START       "twilio/start"      /* fields as GTR_EVENT_CALL, minus stream */
#define GTR_MESSAGE_DTMF        "twilio/dtmf"       /* digit (string), number (int), stream-sid */
#define GTR_MESSAGE_MARK        "twilio/mark"       /* name (string), stream-sid */
#define GTR_MESSAGE_STOP        "twilio/stop"       /* stream-sid, reason (string: "stop", "closed") */

/* The standard DTMF event (as rtpdtmfdepay/dtmfsrc use): type=1, number
 * (0-15), volume (0-36), start (boolean), method (int, 2 = out-of-band). */
#define GTR_EVENT_DTMF          "dtmf-event"

G_END_DECLS
