/* What /metrics shows (Prometheus text format 0.0.4), aggregated per
 * process.  The call path keeps no counters of its own: traffic figures are
 * the elements' `stats` (folded in when a call ends, read live for active
 * calls at each scrape), the rest comes from bus messages and the server's
 * own decisions (webhooks, refusals, call ends). */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum {
  SERVER_HIST_RESPONSE_LATENCY,   /* caller stops speaking → first agent audio */
  SERVER_HIST_SESSION_SETUP,      /* stream open → session confirmed */
  SERVER_HIST_FIRST_AUDIO,           /* stream open → first agent audio of the call */
  SERVER_N_HISTOGRAMS
} ServerHistogram;

typedef enum {
  SERVER_COUNT_CALLS,             /* calls taken (streams accepted) */
  SERVER_COUNT_ENDED,             /* label: reason */
  SERVER_COUNT_WEBHOOKS,          /* label: outcome */
  SERVER_COUNT_REFUSED,           /* handshakes refused; label: reason */
  SERVER_COUNT_API_ERRORS,        /* label: the API's error code */
  SERVER_N_COUNTERS
} ServerCounter;

typedef struct _ServerMetrics ServerMetrics;

/* Which element a `stats` structure comes from. */
typedef enum {
  SERVER_STATS_SRC,
  SERVER_STATS_SINK,
  SERVER_STATS_AGENT,
} ServerStatsOrigin;

ServerMetrics *server_metrics_new (void);
void server_metrics_free (ServerMetrics *metrics);

/* Any thread; never blocks on anything but a leaf lock. */
void server_metrics_count (ServerMetrics *metrics, ServerCounter counter,
    const char *label);
void server_metrics_observe (ServerMetrics *metrics, ServerHistogram histogram,
    gdouble seconds);

/* A finished call's stats, folded into the totals. */
void server_metrics_add_stats (ServerMetrics *metrics, ServerStatsOrigin origin,
    const GstStructure *stats);

/* Sums of stats, for the active calls at a scrape. */
typedef struct _ServerStatsSum ServerStatsSum;
ServerStatsSum *server_stats_sum_new (void);
void server_stats_sum_add (ServerStatsSum *sum, ServerStatsOrigin origin,
    const GstStructure *stats);
void server_stats_sum_free (ServerStatsSum *sum);

typedef struct {
  guint active;
  guint max_calls;
  gboolean draining;
  gboolean have_guard;
  guint64 handshake_timeouts, idle_timeouts, guard_refused, guard_released;
} ServerGauges;

/* The exposition text: totals plus `live` (the active calls' stats). */
char *server_metrics_render (ServerMetrics *metrics, const ServerStatsSum *live,
    const ServerGauges *gauges);

G_END_DECLS
