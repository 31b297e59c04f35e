/* twilio-call-sim: a run of calls (see sim-run.h). */
#include "sim-run.h"
#include "sim-audio.h"
#include "sim-call.h"
#include "sim-json.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const SimConfig *cfg;
  GMainLoop *loop;
  SoupSession *session;
  GBytes *caller;
  GPtrArray *calls;     /* SimCall*, in call order, as they are placed */
  guint finished;
  guint ramp_id;
  guint sigint_id;
  guint sigterm_id;
  gboolean hanging_up;  /* a signal: no more calls are placed */
} Run;

static void
maybe_quit (Run *run)
{
  if (run->finished == run->calls->len &&
      (run->hanging_up || run->calls->len == run->cfg->calls))
    g_main_loop_quit (run->loop);
}

static void
on_call_done (SimCall *call, gpointer user_data)
{
  Run *run = user_data;

  run->finished++;
  maybe_quit (run);
}

static void
place_call (Run *run)
{
  SimCall *call = sim_call_new (run->cfg, run->calls->len, run->session,
      run->caller, on_call_done, run);

  g_ptr_array_add (run->calls, call);
  sim_call_start (call);
}

static void schedule_next (Run *run);

static gboolean
on_ramp (gpointer user_data)
{
  Run *run = user_data;

  run->ramp_id = 0;
  place_call (run);
  schedule_next (run);
  return G_SOURCE_REMOVE;
}

/* Call k (0-based) is placed k × --ramp-ms after the first, on the
 * monotonic clock its placed_us is read from: a one-shot timer per call,
 * rounded up to the millisecond, so no call is early and lateness does not
 * add up (a repeating timer would fire short intervals to catch up). */
static void
schedule_next (Run *run)
{
  gint64 base, target, now;

  if (run->calls->len >= run->cfg->calls || run->hanging_up)
    return;
  base = sim_call_placed_us (g_ptr_array_index (run->calls, 0));
  target = base + (gint64) run->calls->len * run->cfg->ramp_ms * 1000;
  now = g_get_monotonic_time ();
  run->ramp_id = g_timeout_add (target > now ? (guint) ((target - now + 999) / 1000) : 0,
      on_ramp, run);
}

/* SIGINT/SIGTERM hang up like a caller: stop, close, record, summary. */
static gboolean
on_hangup_signal (gpointer user_data)
{
  Run *run = user_data;

  run->hanging_up = TRUE;
  g_clear_handle_id (&run->ramp_id, g_source_remove);
  for (guint i = 0; i < run->calls->len; i++)
    sim_call_hang_up (g_ptr_array_index (run->calls, i));
  maybe_quit (run);
  return G_SOURCE_CONTINUE;
}

static void
place_calls (Run *run)
{
  place_call (run);
  if (run->cfg->ramp_ms == 0)
    while (run->calls->len < run->cfg->calls)
      place_call (run);
  else
    schedule_next (run);
}

char *
sim_run_record_path (const char *spec, guint index, guint calls)
{
  const char *pattern = strstr (spec, "%d");

  if (calls == 1)
    return g_strdup (spec);
  if (pattern != NULL)
    return g_strdup_printf ("%.*s%u%s", (int) (pattern - spec), spec, index + 1,
        pattern + 2);
  {
    g_autofree char *name = g_strdup_printf ("call-%u.wav", index + 1);

    return g_build_filename (spec, name, NULL);
  }
}

/* The call's record and its summary line (appended to `lines`). */
static void
report_call (Run *run, SimCall *call, guint index, GString *lines)
{
  const SimStreamStats *stats = sim_call_stats (call);
  g_autofree char *record = NULL;
  g_autofree char *json = NULL;

  if (run->cfg->record_path != NULL) {
    g_autoptr (GBytes) rec = g_bytes_new (stats->record->data, stats->record->len);
    g_autoptr (GError) error = NULL;

    record = sim_run_record_path (run->cfg->record_path, index, run->cfg->calls);
    if (!sim_audio_write_wav (record, rec, &error)) {
      g_autofree char *msg = g_strdup_printf ("could not write --record %s: %s",
          record, error->message);
      sim_call_set_output_error (call, msg);
      g_clear_pointer (&record, g_free);
    }
  }
  json = sim_call_summary_json (call, record,
      sim_call_placed_us (g_ptr_array_index (run->calls, 0)));
  g_string_append_printf (lines, "%s\n", json);
}

/* --load: the matched frames of every call placed. */
static void
add_load (Run *run, JsonBuilder *b)
{
  g_autofree SimLoad **loads = g_new (SimLoad *, MAX (run->calls->len, 1));

  for (guint i = 0; i < run->calls->len; i++)
    loads[i] = sim_call_stats (g_ptr_array_index (run->calls, i))->load;
  sim_json_add_int (b, "duration_ms", run->cfg->load_duration_ms);
  sim_load_run_to_json (loads, run->calls->len, b);
}

/* The run in one line: what a load test reads. */
static char *
aggregate_json (Run *run, int exit_code)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint connected = 0, completed = 0;
  guint64 violations = 0;

  for (guint i = 0; i < run->calls->len; i++) {
    SimCall *call = g_ptr_array_index (run->calls, i);
    int code = sim_call_exit_code (call);

    connected += sim_call_stats (call)->connected > 0;
    completed += code == SIM_EXIT_OK || code == SIM_EXIT_VIOLATIONS;
    violations += sim_call_stats (call)->violations->len;
  }
  json_builder_begin_object (b);
  sim_json_add_string (b, "type", run->cfg->load_duration_ms > 0 ? "load" : "aggregate");
  sim_json_add_int (b, "calls", run->cfg->calls);
  sim_json_add_int (b, "placed", run->calls->len);
  sim_json_add_int (b, "connected", connected);
  sim_json_add_int (b, "completed", completed);
  sim_json_add_int (b, "failed", run->calls->len - completed);
  sim_json_add_int (b, "violations", violations);
  sim_json_add_int (b, "exit_code", exit_code);
  if (run->cfg->load_duration_ms > 0)
    add_load (run, b);
  json_builder_end_object (b);
  return sim_json_line (b);
}

static int
report (Run *run)
{
  g_autoptr (GString) lines = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  int exit_code = SIM_EXIT_OK;

  for (guint i = 0; i < run->calls->len; i++) {
    SimCall *call = g_ptr_array_index (run->calls, i);

    /* --load: the one line below says it all, per call too */
    if (run->cfg->load_duration_ms == 0)
      report_call (run, call, i, lines);
    if (exit_code == SIM_EXIT_OK)
      exit_code = sim_call_exit_code (call);
  }
  if (run->cfg->calls > 1 || run->cfg->load_duration_ms > 0) {
    g_autofree char *agg = aggregate_json (run, exit_code);

    g_string_append_printf (lines, "%s\n", agg);
  }
  if (run->cfg->summary_path != NULL &&
      !g_file_set_contents (run->cfg->summary_path, lines->str, lines->len, &error)) {
    g_printerr ("twilio-call-sim: %s\n", error->message);
    if (exit_code == SIM_EXIT_OK)
      exit_code = SIM_EXIT_USAGE;
  }
  fputs (lines->str, stdout);
  fflush (stdout);
  return exit_code;
}

/* One session for every call: one connection pool, one TLS trust.  Each
 * call holds a WebSocket and may have a webhook request in flight. */
static SoupSession *
new_session (const SimConfig *cfg, GError **error)
{
  guint conns = cfg->calls * 2 + 8;
  g_autoptr (SoupSession) session = soup_session_new_with_options (
      "max-conns", conns, "max-conns-per-host", conns, NULL);

  if (cfg->ca_file != NULL) {
    g_autoptr (GTlsDatabase) db = g_tls_file_database_new (cfg->ca_file, error);

    if (db == NULL)
      return NULL;
    soup_session_set_tls_database (session, db);
  }
  return g_steal_pointer (&session);
}

int
sim_run (const SimConfig *config, GBytes *caller_audio)
{
  Run run = { .cfg = config };
  g_autoptr (GError) error = NULL;
  int exit_code;

  run.session = new_session (config, &error);
  if (run.session == NULL) {
    g_printerr ("twilio-call-sim: --ca-file: %s\n", error->message);
    return SIM_EXIT_USAGE;
  }
  run.loop = g_main_loop_new (NULL, FALSE);
  run.caller = caller_audio;
  run.calls = g_ptr_array_new_with_free_func ((GDestroyNotify) sim_call_free);
  run.sigint_id = g_unix_signal_add (SIGINT, on_hangup_signal, &run);
  run.sigterm_id = g_unix_signal_add (SIGTERM, on_hangup_signal, &run);
  place_calls (&run);
  g_main_loop_run (run.loop);
  g_clear_handle_id (&run.sigint_id, g_source_remove);
  g_clear_handle_id (&run.sigterm_id, g_source_remove);
  exit_code = report (&run);
  g_ptr_array_unref (run.calls);
  g_main_loop_unref (run.loop);
  g_object_unref (run.session);
  return exit_code;
}
