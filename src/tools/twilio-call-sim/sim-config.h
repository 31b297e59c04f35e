/* twilio-call-sim: what the command line asks for, shared read-only by every
 * call of the run, and the exit codes (docs/twilio-call-sim.md). */
#pragma once

#include "sim-tunnel.h"

#include <glib.h>

G_BEGIN_DECLS

/* Exit codes: one per way a call can fail, so a script can tell them apart. */
enum {
  SIM_EXIT_OK = 0,
  SIM_EXIT_VIOLATIONS = 1,      /* the call completed, protocol violations were received */
  SIM_EXIT_USAGE = 2,
  SIM_EXIT_CONNECT = 3,         /* a server (stream or webhook) could not be reached, or the handshake was rejected */
  SIM_EXIT_WEBHOOK_STATUS = 4,  /* the webhook answered with a status that is not 2xx */
  SIM_EXIT_WEBHOOK_TIMEOUT = 5, /* the webhook did not answer within --webhook-timeout-ms */
  SIM_EXIT_TWIML = 6,           /* the TwiML is malformed or holds what the sim cannot execute */
  SIM_EXIT_STREAM_URL = 7,      /* a <Stream url> that is not ws:// or wss:// */
};

typedef struct {
  char digit[2];
  gint64 at_ms;     /* after the first media */
} SimDtmf;

typedef struct {
  char *url;                /* --url: a Media Stream straight away */
  char *twiml_url;          /* --twiml-url: the voice webhook, as Twilio calls it */
  char *auth_token;         /* NULL: nothing is signed */
  char *signature_url;      /* --url only */
  char *public_url;         /* --twiml-url only: the origin Twilio would use */
  SimTunnel *tunnel;        /* from public_url to twiml_url's origin, or NULL */
  char *ca_file;
  char *stream_sid;         /* the bases the calls' ids are derived from */
  char *call_sid;
  char *account_sid;
  char *from;
  char *to;
  GPtrArray *param_names;   /* --url only; NULL-terminated */
  GPtrArray *param_values;  /* NULL-terminated */
  GArray *dtmf;             /* SimDtmf, sorted by at_ms */
  gint64 linger_ms;
  gint64 until_quiet_ms;    /* -1: use linger_ms */
  gboolean no_stop;
  gboolean fast;
  char *record_path;        /* a file, or with several calls a %d pattern or a directory */
  char *summary_path;
  guint calls;
  guint ramp_ms;
  guint webhook_timeout_ms;
  guint load_duration_ms;   /* --load: each call sends numbered frames this long; 0: no --load */
} SimConfig;

G_END_DECLS
