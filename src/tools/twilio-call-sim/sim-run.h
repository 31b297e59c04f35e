/* twilio-call-sim: a run — `--calls N` calls from one process, their starts
 * spaced by `--ramp-ms`, all on the thread-default main context (a call is
 * timers and sockets there, never a thread).  SIGINT/SIGTERM hang up every
 * call like a caller would, and no more are placed.  Prints a summary line
 * per call, in call order, then with N > 1 one aggregate line, and writes
 * the records; with --load, only the aggregate line, holding the load
 * report (sim-load.h). */
#pragma once

#include "sim-config.h"

G_BEGIN_DECLS

/* Run the calls and return the exit code: 0 when every call succeeded,
 * else the code of the first call (in call order) that did not. */
int sim_run (const SimConfig *config, GBytes *caller_audio);

/* The record file of call `index` (0-based) for --record `spec`: the spec
 * itself for a single call; with several, its "%d" replaced by the call's
 * number (1-based), or "call-N.wav" in the directory it names. */
char *sim_run_record_path (const char *spec, guint index, guint calls);

G_END_DECLS
