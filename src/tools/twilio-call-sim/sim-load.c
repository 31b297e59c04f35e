/* twilio-call-sim --load (see sim-load.h). */
#include "sim-load.h"
#include "sim-json.h"

#include <stdlib.h>
#include <string.h>

/* A frame: marker, call, number, check (each 4 bytes, big-endian), then
 * μ-law silence.  The check tells a frame from audio that happens to hold
 * the marker. */
static const guint8 marker[4] = { 'G', 'T', 'R', 'L' };
#define HEADER_BYTES 16
#define MULAW_SILENCE 0xff

static guint32
check_word (guint32 call, guint32 number)
{
  return (call * 0x9e3779b1u) ^ number ^ 0xa5a5a5a5u;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static guint32
get_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

SimLoad *
sim_load_new (guint call, guint frames)
{
  SimLoad *load = g_new0 (SimLoad, 1);

  load->call = call;
  load->frames = frames;
  load->sent_us = g_new (gint64, frames);
  load->seen = g_new0 (guint8, frames);
  load->latency_us = g_new (guint32, frames);
  load->highest = load->first_back = -1;
  load->begin_us = load->start_us = load->first_back_us = -1;
  return load;
}

void
sim_load_free (SimLoad *load)
{
  g_free (load->sent_us);
  g_free (load->seen);
  g_free (load->latency_us);
  g_free (load);
}

gboolean
sim_load_done (const SimLoad *load)
{
  return load->next >= load->frames;
}

gboolean
sim_load_all_back (const SimLoad *load)
{
  return sim_load_done (load) && load->received >= load->frames;
}

void
sim_load_next_frame (SimLoad *load, guint8 *frame, gint64 now_us)
{
  guint32 number;

  g_return_if_fail (load->next < load->frames);
  number = load->next++;
  memcpy (frame, marker, sizeof marker);
  put_be32 (frame + 4, load->call);
  put_be32 (frame + 8, number);
  put_be32 (frame + 12, check_word (load->call, number));
  memset (frame + HEADER_BYTES, MULAW_SILENCE, SIM_LOAD_FRAME_BYTES - HEADER_BYTES);
  load->sent_us[number] = now_us;
}

static void
match (SimLoad *load, guint32 call, guint32 number, gint64 now_us)
{
  if (call != load->call || number >= load->next) {
    load->foreign++;   /* another call's audio: the bridge crossed the calls */
    return;
  }
  if (load->seen[number] > 0) {
    load->duplicated++;
    load->seen[number] = MIN (load->seen[number] + 1, G_MAXUINT8);
    return;
  }
  load->seen[number] = 1;
  load->latency_us[load->received++] = (guint32) MIN (now_us - load->sent_us[number], G_MAXUINT32);
  if (load->first_back < 0) {
    load->first_back = number;
    load->first_back_us = now_us;
  }
  if ((gint64) number < load->highest)
    load->reordered++;
  else
    load->highest = number;
}

static gboolean
is_frame (const guint8 *f, guint32 *call, guint32 *number)
{
  if (memcmp (f, marker, sizeof marker) != 0)
    return FALSE;
  *call = get_be32 (f + 4);
  *number = get_be32 (f + 8);
  return get_be32 (f + 12) == check_word (*call, *number);
}

/* What is pending is no frame: drop bytes up to the next marker (or the
 * start of one at the end), as after bytes lost or added upstream. */
static void
resync (SimLoad *load)
{
  gsize skip = 1;

  while (skip < SIM_LOAD_FRAME_BYTES
      && memcmp (load->pending + skip, marker, MIN (sizeof marker, SIM_LOAD_FRAME_BYTES - skip)) != 0)
    skip++;
  memmove (load->pending, load->pending + skip, SIM_LOAD_FRAME_BYTES - skip);
  load->pending_len = SIM_LOAD_FRAME_BYTES - skip;
  load->unframed_bytes += skip;
}

void
sim_load_receive (SimLoad *load, const guint8 *data, gsize len, gint64 now_us)
{
  while (len > 0) {
    gsize n = MIN (len, SIM_LOAD_FRAME_BYTES - load->pending_len);
    guint32 call, number;

    memcpy (load->pending + load->pending_len, data, n);
    load->pending_len += n;
    data += n;
    len -= n;
    if (load->pending_len < SIM_LOAD_FRAME_BYTES)
      return;
    if (is_frame (load->pending, &call, &number)) {
      match (load, call, number, now_us);
      load->pending_len = 0;
    } else {
      resync (load);
    }
  }
}

guint
sim_load_lost (const SimLoad *load, guint *lost_in_setup)
{
  guint lost = 0, setup = 0;

  for (guint i = 0; i < load->next; i++)
    if (load->seen[i] == 0) {
      /* nothing back at all is a dead bridge, not a slow set-up */
      if (load->first_back >= 0 && (gint64) i < load->first_back)
        setup++;
      else
        lost++;
    }
  *lost_in_setup = setup;
  return lost;
}

/* ---- the report ---------------------------------------------------------- */

static int
compare_u32 (const void *a, const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

/* Nearest rank of sorted `v`. */
static guint32
percentile (const guint32 *v, guint n, guint p)
{
  guint rank = (guint) (((guint64) p * n + 99) / 100);   /* ceil (p × n / 100) */

  return n == 0 ? 0 : v[CLAMP (rank, 1, n) - 1];
}

static void
add_ms (JsonBuilder *b, const char *name, gint64 us)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, us / 1000.0);
}

/* {"p50":…,…,"max":…} of sorted `v` (µs), in ms; `all` adds p90. */
static void
add_percentiles (JsonBuilder *b, const char *name, const guint32 *v, guint n, gboolean all)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  sim_json_add_int (b, "samples", n);
  add_ms (b, "p50", percentile (v, n, 50));
  if (all)
    add_ms (b, "p90", percentile (v, n, 90));
  add_ms (b, "p99", percentile (v, n, 99));
  add_ms (b, "max", n ? v[n - 1] : 0);
  json_builder_end_object (b);
}

static gint64
interval_us (gint64 from, gint64 to)
{
  return from >= 0 && to >= 0 ? to - from : -1;
}

/* A call's set-up, ms, or null when it did not get that far. */
static void
add_interval (JsonBuilder *b, const char *name, gint64 us)
{
  if (us >= 0) {
    add_ms (b, name, us);
    return;
  }
  json_builder_set_member_name (b, name);
  json_builder_add_null_value (b);
}

static void
call_to_json (SimLoad *load, guint index, JsonBuilder *b)
{
  guint setup, lost = sim_load_lost (load, &setup);

  json_builder_begin_object (b);
  sim_json_add_int (b, "call", index + 1);
  sim_json_add_int (b, "frames_sent", load->next);
  sim_json_add_int (b, "frames_back", load->received);
  sim_json_add_int (b, "lost", lost);
  sim_json_add_int (b, "lost_in_setup", setup);
  sim_json_add_int (b, "duplicated", load->duplicated);
  sim_json_add_int (b, "reordered", load->reordered);
  sim_json_add_int (b, "foreign", load->foreign);
  qsort (load->latency_us, load->received, sizeof (guint32), compare_u32);
  add_percentiles (b, "latency_ms", load->latency_us, load->received, FALSE);
  add_interval (b, "to_start_ms", interval_us (load->begin_us, load->start_us));
  add_interval (b, "to_first_frame_ms", interval_us (load->start_us, load->first_back_us));
  json_builder_end_object (b);
}

/* The calls' set-up intervals that happened, sorted. */
static guint
setup_sample (SimLoad *const *loads, guint n, gboolean first_frame, guint32 *out)
{
  guint k = 0;

  for (guint i = 0; i < n; i++) {
    gint64 us = first_frame ? interval_us (loads[i]->start_us, loads[i]->first_back_us)
        : interval_us (loads[i]->begin_us, loads[i]->start_us);

    if (us >= 0)
      out[k++] = (guint32) MIN (us, G_MAXUINT32);
  }
  qsort (out, k, sizeof (guint32), compare_u32);
  return k;
}

void
sim_load_run_to_json (SimLoad *const *loads, guint n, JsonBuilder *b)
{
  guint64 sent = 0, back = 0, lost = 0, setup = 0, dup = 0, reord = 0, foreign = 0, unframed = 0;
  g_autofree guint32 *all = NULL;
  g_autofree guint32 *sample = g_new (guint32, MAX (n, 1));
  guint k = 0;

  for (guint i = 0; i < n; i++) {
    guint s;

    sent += loads[i]->next;
    back += loads[i]->received;
    lost += sim_load_lost (loads[i], &s);
    setup += s;
    dup += loads[i]->duplicated;
    reord += loads[i]->reordered;
    foreign += loads[i]->foreign;
    unframed += loads[i]->unframed_bytes;
  }
  all = g_new (guint32, MAX (back, 1));
  for (guint i = 0; i < n; i++) {
    memcpy (all + k, loads[i]->latency_us, loads[i]->received * sizeof (guint32));
    k += loads[i]->received;
  }
  qsort (all, k, sizeof (guint32), compare_u32);

  sim_json_add_int (b, "frames_sent", sent);
  sim_json_add_int (b, "frames_back", back);
  sim_json_add_int (b, "lost", lost);
  sim_json_add_int (b, "lost_in_setup", setup);
  sim_json_add_int (b, "duplicated", dup);
  sim_json_add_int (b, "reordered", reord);
  sim_json_add_int (b, "foreign", foreign);
  sim_json_add_int (b, "unframed_bytes", unframed);
  add_percentiles (b, "latency_ms", all, k, TRUE);
  json_builder_set_member_name (b, "setup_ms");
  json_builder_begin_object (b);
  k = setup_sample (loads, n, FALSE, sample);
  add_percentiles (b, "to_start", sample, k, FALSE);
  k = setup_sample (loads, n, TRUE, sample);
  add_percentiles (b, "to_first_frame", sample, k, FALSE);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "per_call");
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    call_to_json (loads[i], i, b);   /* sorts its latencies */
  json_builder_end_array (b);
}
