/* twilio-call-sim: one Media Stream call, played as Twilio plays it.
 *
 * Connects, sends connected and start, streams the caller's audio as media
 * every 20 ms (or as fast as possible), sends dtmf at the given times, plays
 * what comes back through Twilio's playback buffer at 8000 bytes/s, echoes
 * marks, validates every frame it receives, then sends stop and closes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit codes (docs/twilio-call-sim.md) */
enum {
  SIM_EXIT_OK = 0,
  SIM_EXIT_VIOLATIONS = 1,
  SIM_EXIT_USAGE = 2,
  SIM_EXIT_CONNECT = 3,
};

typedef struct {
  char digit[2];
  gint64 at_ms;     /* after the first media */
} SimDtmf;

typedef struct {
  char *url;
  char *auth_token;
  char *signature_url;
  char *ca_file;
  char *stream_sid;
  char *call_sid;
  char *account_sid;
  GPtrArray *param_names;   /* NULL-terminated */
  GPtrArray *param_values;  /* NULL-terminated */
  GArray *dtmf;             /* SimDtmf, sorted by at_ms */
  gint64 linger_ms;
  gint64 until_quiet_ms;    /* -1: use linger_ms */
  gboolean no_stop;
  gboolean fast;
  char *record_path;
  char *summary_path;
} SimConfig;

/* Place the call with `caller_audio` (raw μ-law, 8 kHz) and return the exit
 * code.  Prints the summary on stdout. */
int sim_call_run (const SimConfig *config, GBytes *caller_audio);

G_END_DECLS
