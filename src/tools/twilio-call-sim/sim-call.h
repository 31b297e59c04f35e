/* twilio-call-sim: one phone call, placed as Twilio places it.
 *
 * With --url: a Media Stream straight away.  With --twiml-url: the voice
 * webhook is asked for TwiML (POST, form-encoded, signed) and its verbs are
 * executed in order — <Say> is recorded, <Pause> waits, <Hangup/> ends,
 * <Redirect> asks the next URL, <Dial> records the transfer and ends,
 * <Connect><Stream> runs a Media Stream; when the server ends the stream,
 * the verbs after <Connect> follow (or its action URL is asked).  The call
 * runs on the thread-default main context beside the run's other calls.
 */
#pragma once

#include "sim-config.h"
#include "sim-stream.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _SimCall SimCall;

/* Called once when the call is over (possibly from inside sim_call_hang_up). */
typedef void (*SimCallDone) (SimCall *call, gpointer user_data);

/* Call number `index` (0-based) of the run; nothing happens before start. */
SimCall *sim_call_new (const SimConfig *config, guint index, SoupSession *session,
    GBytes *caller_audio, SimCallDone done, gpointer user_data);
void sim_call_start (SimCall *call);

/* The caller hangs up: a stream sends stop and closes, a webhook request or
 * a <Pause> is abandoned.  The call then ends normally (exit code 0). */
void sim_call_hang_up (SimCall *call);

/* Meaningful once done: the call's exit code (SIM_EXIT_*), whether a Media
 * Stream connected, what its streams did, and the summary line. */
int sim_call_exit_code (const SimCall *call);
const SimStreamStats *sim_call_stats (const SimCall *call);
/* `record` is the record file written for this call, or NULL. */
/* `epoch_us`: the monotonic time `placed_ms` counts from (the run's first call). */
char *sim_call_summary_json (const SimCall *call, const char *record, gint64 epoch_us);
/* The monotonic time (µs) sim_call_start() placed the call. */
gint64 sim_call_placed_us (const SimCall *call);

/* A failure after the call (its record could not be written). */
void sim_call_set_output_error (SimCall *call, const char *message);

void sim_call_free (SimCall *call);

G_END_DECLS
