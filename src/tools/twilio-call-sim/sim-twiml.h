/* twilio-call-sim: a TwiML document, parsed with GMarkup into the verbs the
 * sim executes.
 *
 * Twilio parses the whole document before it executes any of it: a document
 * that is not well-formed XML, whose root is not <Response>, or that holds a
 * verb or noun the sim does not know fails here, before anything happens.
 * Whether a <Stream url> can be connected to is checked when the <Connect>
 * is reached (sim_twiml_check_stream_url), as Twilio does: the verbs before
 * it are executed.  No I/O here: the call drives it, the unit test checks it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SIM_TWIML_ERROR (sim_twiml_error_quark ())
GQuark sim_twiml_error_quark (void);

typedef enum {
  SIM_TWIML_ERROR_MALFORMED,    /* not XML, not <Response>, an unknown or misplaced element, a bad attribute */
  SIM_TWIML_ERROR_STREAM_URL,   /* a <Stream url> that is not ws:// or wss:// */
} SimTwimlError;

typedef enum {
  SIM_VERB_SAY,        /* text: what is said (SSML children's text included) */
  SIM_VERB_PAUSE,      /* pause_ms */
  SIM_VERB_HANGUP,
  SIM_VERB_REDIRECT,   /* text: the URL as written; method */
  SIM_VERB_DIAL,       /* text: the target (a number, or the first <Number>/<Sip>/<Client>) */
  SIM_VERB_CONNECT,    /* text: the <Stream url>; params; action and method (may be NULL) */
} SimVerbType;

typedef struct {
  SimVerbType type;
  char *text;
  char *method;            /* "POST" or "GET" (Redirect, Connect action) */
  char *action;            /* Connect: where to ask for TwiML when the stream ends, or NULL */
  gint64 pause_ms;
  GPtrArray *param_names;  /* Connect: the <Parameter>s, NULL-terminated */
  GPtrArray *param_values;
} SimVerb;

/* The verb's TwiML name ("Say", "Connect", …), for the summary. */
const char *sim_verb_name (const SimVerb *verb);

/* The verbs of `text`, in document order (SimVerb*, freed with the array),
 * or NULL with a SIM_TWIML_ERROR_MALFORMED naming the line. */
GPtrArray *sim_twiml_parse (const char *text, gssize len, GError **error);

/* FALSE with SIM_TWIML_ERROR_STREAM_URL unless `url` is an absolute ws:// or
 * wss:// URL with a host and no query string (Twilio allows none). */
gboolean sim_twiml_check_stream_url (const char *url, GError **error);

G_END_DECLS
