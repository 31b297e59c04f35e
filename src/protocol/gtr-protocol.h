/* gst-twilio-realtime — the wire protocols, without GStreamer.
 *
 * Include this one header: it pulls in the error domain shared by both
 * protocols, the Twilio Media Streams messages (gtr-twilio.h), the
 * X-Twilio-Signature check (gtr-signature.h), the OpenAI Realtime GA
 * events (gtr-realtime.h) and the OpenAI GPT-Live events (gtr-live.h).
 *
 * Every function here is pure (no I/O, no global state but the event-id
 * counter), so the elements, the server and the tools share one tested,
 * fuzzed implementation.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GTR_PROTOCOL_ERROR (gtr_protocol_error_quark ())
GQuark gtr_protocol_error_quark (void);

/* Why a message was rejected.  The message of the GError names the field
 * ("media.payload", "start.mediaFormat.sampleRate", …). */
typedef enum {
  GTR_PROTOCOL_ERROR_NOT_JSON,      /* not parseable as JSON (or not UTF-8) */
  GTR_PROTOCOL_ERROR_NOT_OBJECT,    /* JSON, but the top level is not an object */
  GTR_PROTOCOL_ERROR_MISSING_FIELD, /* a required field is absent (or null) */
  GTR_PROTOCOL_ERROR_BAD_TYPE,      /* a field has the wrong JSON type */
  GTR_PROTOCOL_ERROR_BAD_VALUE,     /* right type, impossible value ("abc" as a number, negative chunk) */
  GTR_PROTOCOL_ERROR_BAD_BASE64,    /* a payload that is not valid base64 */
  GTR_PROTOCOL_ERROR_UNKNOWN_EVENT, /* well-formed, but an event we don't know: callers may ignore it */
  GTR_PROTOCOL_ERROR_OVERSIZE,      /* text longer than the caller's limit; not parsed at all */
  GTR_PROTOCOL_ERROR_UNKNOWN_FIELD, /* strict parsers only (the simulators): a field the peer never sends */
} GtrProtocolError;

/* A short stable name for each code ("not-json", "bad-base64", …): used as
 * the key of the elements' `stats` counters and in log lines. */
const char *gtr_protocol_error_code_name (GtrProtocolError code);

G_END_DECLS

#include "gtr-twilio.h"
#include "gtr-signature.h"
#include "gtr-realtime.h"
#include "gtr-live.h"
