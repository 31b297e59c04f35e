/* Twilio Media Streams (bidirectional), as Twilio documents it.
 *
 * Inbound (Twilio → us): connected, start, media, dtmf, mark, stop.
 * Outbound (us → Twilio): media, mark, clear — nothing else.
 *
 * sequenceNumber, chunk and timestamp arrive as strings; the parser also
 * accepts numbers.  sampleRate and channels are numbers.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The largest media.timestamp accepted: beyond it, milliseconds no longer
 * fit a signed 64-bit count of nanoseconds (a GStreamer time). */
#define GTR_TWILIO_MAX_TIMESTAMP_MS (G_MAXINT64 / 1000000)

typedef enum {
  GTR_TWILIO_EVENT_CONNECTED,
  GTR_TWILIO_EVENT_START,
  GTR_TWILIO_EVENT_MEDIA,
  GTR_TWILIO_EVENT_DTMF,
  GTR_TWILIO_EVENT_MARK,
  GTR_TWILIO_EVENT_STOP,
  /* outbound only (the app → Twilio) */
  GTR_TWILIO_EVENT_CLEAR,
} GtrTwilioEventType;

/* "connected", "start", … */
const char *gtr_twilio_event_type_name (GtrTwilioEventType type);

typedef struct {
  GtrTwilioEventType type;
  char *stream_sid;          /* NULL for connected */
  gint64 sequence_number;    /* -1 when absent (connected has none) */

  /* connected */
  char *protocol;            /* "Call" */
  char *version;             /* "1.0.0" */

  /* start, and stop (account_sid, call_sid) */
  char *account_sid;
  char *call_sid;
  char **tracks;             /* start.tracks, NULL-terminated */
  char **custom_parameter_names;   /* start.customParameters, in order, NULL-terminated; */
  char **custom_parameter_values;  /* values as strings (numbers/bools are stringified) */
  char *encoding;            /* start.mediaFormat.encoding ("audio/x-mulaw") */
  gint sample_rate;          /* start.mediaFormat.sampleRate */
  gint channels;             /* start.mediaFormat.channels */

  /* media, dtmf */
  char *track;               /* "inbound" / "inbound_track" (may be NULL for dtmf) */
  gint64 chunk;              /* media.chunk, -1 when absent */
  gint64 timestamp_ms;       /* media.timestamp (ms since the stream began), -1 when absent;
                              * at most GTR_TWILIO_MAX_TIMESTAMP_MS */
  GBytes *payload;           /* media.payload, base64-decoded (may be empty) */
  char *digit;               /* dtmf.digit: "0"-"9", "*", "#", "A"-"D" */

  /* mark (inbound echo, or outbound request) */
  char *name;
} GtrTwilioMessage;

void gtr_twilio_message_free (GtrTwilioMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GtrTwilioMessage, gtr_twilio_message_free)

/* Parse one text frame Twilio sent.  `len` may be -1 for NUL-terminated
 * text.  Texts longer than `max_len` bytes (0 = no limit) fail with
 * GTR_PROTOCOL_ERROR_OVERSIZE before any parsing.  Unknown extra fields are
 * tolerated (Twilio may add some); an unknown "event" gives
 * GTR_PROTOCOL_ERROR_UNKNOWN_EVENT.  Every event but connected requires
 * streamSid; what else each requires is listed at the top of gtr-twilio.c.
 * Error messages begin with the field's path ("media.payload: …", or
 * "message: …" for the text as a whole). */
GtrTwilioMessage *gtr_twilio_message_parse (const char *text, gssize len,
    gsize max_len, GError **error);

/* Parse, strictly, one frame an app sent to Twilio (media, mark, clear):
 * every required field present with its type, a non-empty streamSid, valid
 * base64, and no field Twilio doesn't define (GTR_PROTOCOL_ERROR_UNKNOWN_FIELD).
 * This is what twilio-call-sim checks; Twilio logs 31950/31951 for these. */
GtrTwilioMessage *gtr_twilio_outbound_parse (const char *text, gssize len,
    gsize max_len, GError **error);

/* The three messages an app sends.  Return newly allocated JSON text in
 * Twilio's exact envelope (compact, fields in Twilio's order). */
char *gtr_twilio_build_media (const char *stream_sid, const guint8 *audio, gsize len);
char *gtr_twilio_build_mark (const char *stream_sid, const char *name);
char *gtr_twilio_build_clear (const char *stream_sid);

/* The messages Twilio sends, built field for field as Twilio does (strings
 * where Twilio sends strings).  Used by twilio-call-sim and the tests.
 * A negative seq, chunk or timestamp_ms leaves that field out. */
char *gtr_twilio_build_connected (void);
char *gtr_twilio_build_start (gint64 seq, const char *stream_sid,
    const char *account_sid, const char *call_sid,
    const char *const *custom_names, const char *const *custom_values);
char *gtr_twilio_build_inbound_media (gint64 seq, const char *stream_sid,
    gint64 chunk, gint64 timestamp_ms, const guint8 *audio, gsize len);
char *gtr_twilio_build_dtmf (gint64 seq, const char *stream_sid, const char *digit);
char *gtr_twilio_build_mark_echo (gint64 seq, const char *stream_sid, const char *name);
char *gtr_twilio_build_stop (gint64 seq, const char *stream_sid,
    const char *account_sid, const char *call_sid);

/* DTMF digit ↔ the event number of the standard "dtmf-event"
 * (0-9, * = 10, # = 11, A-D = 12-15).  -1 / NULL when invalid. */
gint gtr_twilio_dtmf_digit_to_number (const char *digit);
const char *gtr_twilio_dtmf_number_to_digit (gint number);

G_END_DECLS
