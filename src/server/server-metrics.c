/* /metrics: see server-metrics.h and docs/server.md ("Metrics"). */
#include "server-metrics.h"

#include <string.h>

#define PREFIX "twilio_realtime_"

static const gdouble bucket_bounds[] = {
  0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0
};
#define N_BUCKETS G_N_ELEMENTS (bucket_bounds)

typedef struct {
  guint64 buckets[N_BUCKETS];   /* observations <= bound, not cumulative */
  guint64 count;
  gdouble sum;
} Histogram;

struct _ServerStatsSum {
  GHashTable *values;           /* "origin/field" → guint64 * */
};

struct _ServerMetrics {
  GMutex lock;                  /* a leaf: nothing else is taken under it */
  GHashTable *counters[SERVER_N_COUNTERS];   /* label → guint64 * */
  Histogram histograms[SERVER_N_HISTOGRAMS];
  ServerStatsSum *totals;       /* stats of finished calls */
};

static const char *const origin_names[] = { "src", "sink", "agent" };

/* The stats fields that have a metric of their own; the twiliosrc fields not
 * listed are its bad-input kinds, any other unlisted field is exported as
 * element_counter_total. */
static const struct {
  ServerStatsOrigin origin;
  const char *field;
  const char *metric;
  const char *help;
} stat_metrics[] = {
  { SERVER_STATS_SRC, "frames", "twilio_frames_received_total", "WebSocket frames received from Twilio, valid or not" },
  { SERVER_STATS_SRC, "media", "twilio_media_received_total", "media messages received from Twilio" },
  { SERVER_STATS_SRC, "bytes", "twilio_audio_bytes_received_total", "caller audio received (mu-law bytes)" },
  { SERVER_STATS_SRC, "dtmf", "twilio_dtmf_received_total", "key presses received" },
  { SERVER_STATS_SRC, "marks", "twilio_marks_echoed_total", "marks Twilio echoed (played to the caller)" },
  { SERVER_STATS_SINK, "media", "twilio_media_sent_total", "media messages sent to Twilio" },
  { SERVER_STATS_SINK, "bytes", "twilio_audio_bytes_sent_total", "agent audio sent to Twilio (mu-law bytes)" },
  { SERVER_STATS_SINK, "marks", "twilio_marks_sent_total", "marks sent to Twilio" },
  { SERVER_STATS_SINK, "clears", "twilio_clears_sent_total", "clear messages sent to Twilio (barge-in)" },
  { SERVER_STATS_SINK, "dropped", "twilio_messages_dropped_total", "messages not sent: the caller had hung up" },
  { SERVER_STATS_AGENT, "barge-ins", "barge_ins_total", "times a caller interrupted the agent" },
  { SERVER_STATS_AGENT, "bad-frames", "api_bad_frames_total", "bad frames from the agent API (not JSON, binary, bad base64)" },
  { SERVER_STATS_AGENT, "audio-in-bytes", "api_audio_bytes_sent_total", "caller audio sent to the agent API (bytes)" },
  { SERVER_STATS_AGENT, "audio-out-bytes", "api_audio_bytes_received_total", "agent audio received from the API (bytes)" },
  { SERVER_STATS_AGENT, "responses", "api_responses_total", "agent responses completed" },
  { SERVER_STATS_AGENT, "function-calls", "api_function_calls_total", "tool calls made by the agent" },
};

/* Reasons a call ends, always exported (0 until they happen). */
static const char *const end_reasons[] = {
  "stop", "closed", "start-timeout", "timeout", "api-closed", "error",
  "drain-timeout", "abandoned", NULL
};

static const struct {
  const char *name;
  const char *label;
  const char *help;
} counter_info[SERVER_N_COUNTERS] = {
  [SERVER_COUNT_CALLS] = { "calls_total", NULL, "calls taken (Media Streams accepted)" },
  [SERVER_COUNT_ENDED] = { "calls_ended_total", "reason", "calls ended, by reason: stop (Twilio's stop), closed (the socket closed), start-timeout (no start), timeout (Twilio went quiet), api-closed, error, drain-timeout, abandoned" },
  [SERVER_COUNT_WEBHOOKS] = { "webhooks_total", "outcome", "voice webhooks (POST /twiml, and /twiml/after once a stream ends), by outcome: connect, busy, draining, forbidden, bad-request, dial, hangup" },
  [SERVER_COUNT_REFUSED] = { "handshakes_refused_total", "reason", "Media Stream handshakes refused: forbidden (signature), busy, not-websocket" },
  [SERVER_COUNT_API_ERRORS] = { "api_errors_total", "code", "errors reported by the agent API, by its error code" },
};

static const struct {
  const char *name;
  const char *help;
} histogram_info[SERVER_N_HISTOGRAMS] = {
  [SERVER_HIST_RESPONSE_LATENCY] = { "response_latency_seconds", "caller stops speaking to first agent audio (from the agent element's openai-realtime/response-latency message)" },
  [SERVER_HIST_SESSION_SETUP] = { "session_setup_seconds", "stream open to session confirmed (openai-realtime/session); 0 when the session was ready first" },
  [SERVER_HIST_FIRST_AUDIO] = { "first_audio_seconds", "stream open to the first agent audio sent to the caller" },
};

ServerStatsSum *
server_stats_sum_new (void)
{
  ServerStatsSum *sum = g_new0 (ServerStatsSum, 1);

  sum->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return sum;
}

void
server_stats_sum_free (ServerStatsSum *sum)
{
  if (!sum)
    return;
  g_hash_table_unref (sum->values);
  g_free (sum);
}

static void
sum_add_value (ServerStatsSum *sum, const char *key, guint64 value)
{
  guint64 *slot = g_hash_table_lookup (sum->values, key);

  if (!slot) {
    slot = g_new0 (guint64, 1);
    g_hash_table_insert (sum->values, g_strdup (key), slot);
  }
  *slot += value;
}

typedef struct {
  ServerStatsSum *sum;
  ServerStatsOrigin origin;
} AddArgs;

static gboolean
add_field (GQuark field, const GValue *value, gpointer data)
{
  AddArgs *args = data;
  char key[128];

  if (!G_VALUE_HOLDS_UINT64 (value))
    return TRUE;
  g_snprintf (key, sizeof (key), "%s/%s", origin_names[args->origin],
      g_quark_to_string (field));
  sum_add_value (args->sum, key, g_value_get_uint64 (value));
  return TRUE;
}

void
server_stats_sum_add (ServerStatsSum *sum, ServerStatsOrigin origin,
    const GstStructure *stats)
{
  AddArgs args = { sum, origin };

  if (stats)
    gst_structure_foreach (stats, add_field, &args);
}

static guint64
sum_get (const ServerStatsSum *sum, ServerStatsOrigin origin, const char *field)
{
  char key[128];
  guint64 *slot;

  g_snprintf (key, sizeof (key), "%s/%s", origin_names[origin], field);
  slot = g_hash_table_lookup (sum->values, key);
  return slot ? *slot : 0;
}

ServerMetrics *
server_metrics_new (void)
{
  ServerMetrics *m = g_new0 (ServerMetrics, 1);

  g_mutex_init (&m->lock);
  for (guint i = 0; i < SERVER_N_COUNTERS; i++)
    m->counters[i] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; end_reasons[i]; i++)
    g_hash_table_insert (m->counters[SERVER_COUNT_ENDED],
        g_strdup (end_reasons[i]), g_new0 (guint64, 1));
  m->totals = server_stats_sum_new ();
  return m;
}

void
server_metrics_free (ServerMetrics *m)
{
  for (guint i = 0; i < SERVER_N_COUNTERS; i++)
    g_hash_table_unref (m->counters[i]);
  server_stats_sum_free (m->totals);
  g_mutex_clear (&m->lock);
  g_free (m);
}

void
server_metrics_count (ServerMetrics *m, ServerCounter counter, const char *label)
{
  GHashTable *table = m->counters[counter];
  guint64 *slot;

  g_mutex_lock (&m->lock);
  label = label ? label : "";
  if (!(slot = g_hash_table_lookup (table, label))) {
    slot = g_new0 (guint64, 1);
    g_hash_table_insert (table, g_strdup (label), slot);
  }
  (*slot)++;
  g_mutex_unlock (&m->lock);
}

void
server_metrics_observe (ServerMetrics *m, ServerHistogram which, gdouble seconds)
{
  Histogram *h = &m->histograms[which];
  guint i;

  seconds = MAX (seconds, 0.0);
  g_mutex_lock (&m->lock);
  for (i = 0; i < N_BUCKETS && seconds > bucket_bounds[i]; i++);
  if (i < N_BUCKETS)
    h->buckets[i]++;
  h->count++;
  h->sum += seconds;
  g_mutex_unlock (&m->lock);
}

void
server_metrics_add_stats (ServerMetrics *m, ServerStatsOrigin origin,
    const GstStructure *stats)
{
  g_mutex_lock (&m->lock);
  server_stats_sum_add (m->totals, origin, stats);
  g_mutex_unlock (&m->lock);
}

/* ---- Rendering ---- */

static void
append_label_value (GString *out, const char *value)
{
  for (const char *p = value; *p; p++) {
    if (*p == '\\' || *p == '"')
      g_string_append_c (out, '\\');
    if (*p == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *p);
  }
}

static void
family (GString *out, const char *name, const char *type, const char *help)
{
  g_string_append_printf (out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n",
      name, help, name, type);
}

static void
sample (GString *out, const char *name, const char *label, const char *value,
    guint64 number)
{
  g_string_append_printf (out, PREFIX "%s", name);
  if (label) {
    g_string_append_printf (out, "{%s=\"", label);
    append_label_value (out, value);
    g_string_append (out, "\"}");
  }
  g_string_append_printf (out, " %" G_GUINT64_FORMAT "\n", number);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The keys of `table`, sorted, so the output is stable. */
static GPtrArray *
sorted_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;

  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_strings);
  return keys;
}

static void
render_counter (GString *out, ServerMetrics *m, ServerCounter c)
{
  GHashTable *table = m->counters[c];
  GPtrArray *keys;

  family (out, counter_info[c].name, "counter", counter_info[c].help);
  if (!counter_info[c].label) {
    guint64 *slot = g_hash_table_lookup (table, "");
    sample (out, counter_info[c].name, NULL, NULL, slot ? *slot : 0);
    return;
  }
  keys = sorted_keys (table);
  for (guint i = 0; i < keys->len; i++) {
    const char *label = g_ptr_array_index (keys, i);
    sample (out, counter_info[c].name, counter_info[c].label, label,
        *(guint64 *) g_hash_table_lookup (table, label));
  }
  g_ptr_array_unref (keys);
}

static void
render_histogram (GString *out, const Histogram *h, const char *name,
    const char *help)
{
  char bound[G_ASCII_DTOSTR_BUF_SIZE], sum[G_ASCII_DTOSTR_BUF_SIZE];
  guint64 cumulative = 0;

  family (out, name, "histogram", help);
  for (guint i = 0; i < N_BUCKETS; i++) {
    cumulative += h->buckets[i];
    g_string_append_printf (out, PREFIX "%s_bucket{le=\"%s\"} %" G_GUINT64_FORMAT "\n",
        name, g_ascii_formatd (bound, sizeof (bound), "%g", bucket_bounds[i]),
        cumulative);
  }
  g_string_append_printf (out, PREFIX "%s_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n"
      PREFIX "%s_sum %s\n" PREFIX "%s_count %" G_GUINT64_FORMAT "\n",
      name, h->count, name, g_ascii_formatd (sum, sizeof (sum), "%.6f", h->sum),
      name, h->count);
}

static gboolean
has_own_metric (ServerStatsOrigin origin, const char *field)
{
  for (guint i = 0; i < G_N_ELEMENTS (stat_metrics); i++)
    if (stat_metrics[i].origin == origin && g_str_equal (stat_metrics[i].field, field))
      return TRUE;
  return FALSE;
}

/* The stats fields without a metric of their own: twiliosrc's are bad-input
 * kinds, the others generic element counters. */
static void
render_other_stats (GString *out, const ServerStatsSum *all)
{
  GPtrArray *keys = sorted_keys (all->values);

  family (out, "twilio_bad_messages_total", "counter",
      "bad messages from Twilio, by kind (twiliosrc's stats)");
  for (guint pass = 0; pass < 2; pass++) {
    if (pass == 1)
      family (out, "element_counter_total", "counter",
          "other counters of the call's elements ('stats'), by element and counter");
    for (guint i = 0; i < keys->len; i++) {
      const char *key = g_ptr_array_index (keys, i);
      const char *slash = strchr (key, '/');
      g_autofree char *origin_name = g_strndup (key, slash - key);
      ServerStatsOrigin origin = g_str_equal (origin_name, "src") ? SERVER_STATS_SRC
          : g_str_equal (origin_name, "sink") ? SERVER_STATS_SINK : SERVER_STATS_AGENT;
      guint64 value = *(guint64 *) g_hash_table_lookup (all->values, key);

      if (has_own_metric (origin, slash + 1))
        continue;
      if (pass == 0 && origin == SERVER_STATS_SRC)
        sample (out, "twilio_bad_messages_total", "kind", slash + 1, value);
      else if (pass == 1 && origin != SERVER_STATS_SRC) {
        g_string_append_printf (out, PREFIX "element_counter_total{element=\"%s\",counter=\"",
            origin_name);
        append_label_value (out, slash + 1);
        g_string_append_printf (out, "\"} %" G_GUINT64_FORMAT "\n", value);
      }
    }
  }
  g_ptr_array_unref (keys);
}

static void
render_stats (GString *out, const ServerStatsSum *all)
{
  for (guint i = 0; i < G_N_ELEMENTS (stat_metrics); i++) {
    family (out, stat_metrics[i].metric, "counter", stat_metrics[i].help);
    sample (out, stat_metrics[i].metric, NULL, NULL,
        sum_get (all, stat_metrics[i].origin, stat_metrics[i].field));
  }
  /* what Twilio receives: every media, mark and clear message */
  family (out, "twilio_frames_sent_total", "counter",
      "WebSocket frames sent to Twilio (media, mark, clear)");
  sample (out, "twilio_frames_sent_total", NULL, NULL,
      sum_get (all, SERVER_STATS_SINK, "media") + sum_get (all, SERVER_STATS_SINK, "marks")
      + sum_get (all, SERVER_STATS_SINK, "clears"));
  render_other_stats (out, all);
}

static void
render_gauges (GString *out, const ServerGauges *g)
{
  family (out, "calls_active", "gauge", "calls in progress");
  sample (out, "calls_active", NULL, NULL, g->active);
  family (out, "calls_max", "gauge", "--max-calls");
  sample (out, "calls_max", NULL, NULL, g->max_calls);
  family (out, "draining", "gauge", "1 while draining (after SIGTERM/SIGINT)");
  sample (out, "draining", NULL, NULL, g->draining ? 1 : 0);
  if (!g->have_guard)
    return;
  family (out, "http_handshake_timeouts_total", "counter",
      "HTTP connections closed for not completing a request in time");
  sample (out, "http_handshake_timeouts_total", NULL, NULL, g->handshake_timeouts);
  family (out, "http_idle_timeouts_total", "counter",
      "idle keep-alive HTTP connections closed");
  sample (out, "http_idle_timeouts_total", NULL, NULL, g->idle_timeouts);
  family (out, "http_refused_closed_total", "counter",
      "HTTP answers >= 400 whose connection was closed");
  sample (out, "http_refused_closed_total", NULL, NULL, g->guard_refused);
  family (out, "http_released_total", "counter",
      "kept-alive HTTP connections whose descriptor was released after the peer left");
  sample (out, "http_released_total", NULL, NULL, g->guard_released);
}

char *
server_metrics_render (ServerMetrics *m, const ServerStatsSum *live,
    const ServerGauges *gauges)
{
  GString *out = g_string_new (NULL);
  ServerStatsSum *all = server_stats_sum_new ();
  GHashTableIter it;
  gpointer key, value;

  g_mutex_lock (&m->lock);
  g_hash_table_iter_init (&it, m->totals->values);
  while (g_hash_table_iter_next (&it, &key, &value))
    sum_add_value (all, key, *(guint64 *) value);
  render_gauges (out, gauges);
  for (guint c = 0; c < SERVER_N_COUNTERS; c++)
    render_counter (out, m, c);
  for (guint h = 0; h < SERVER_N_HISTOGRAMS; h++)
    render_histogram (out, &m->histograms[h], histogram_info[h].name,
        histogram_info[h].help);
  g_mutex_unlock (&m->lock);

  if (live) {
    g_hash_table_iter_init (&it, live->values);
    while (g_hash_table_iter_next (&it, &key, &value))
      sum_add_value (all, key, *(guint64 *) value);
  }
  render_stats (out, all);
  server_stats_sum_free (all);
  return g_string_free (out, FALSE);
}
