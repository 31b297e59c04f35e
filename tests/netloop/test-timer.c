/* gtr-timer: a loop's timeouts behind one source.  What a caller of
 * g_timeout_source_new() relies on — never early, in deadline order,
 * repeated while the callback says so, stopped means no more calls, the
 * notify exactly once — on a test's own context and on a pool loop stopped
 * from another thread.  GLib tests, no GStreamer. */
#include "gtr-netloop.h"
#include "gtr-timer.h"

typedef struct {
  GtrTimer *slot;
  guint ms;
  gint64 started_us;
  gint64 fired_us[8];
  gint calls;                   /* atomic where a pool loop runs it */
  gint notified;                /* atomic */
  gint repeat;                  /* calls that return CONTINUE */
  gboolean stop_inside;         /* gtr_timer_stop (&slot) from the callback */
  GtrTimer *current_inside;     /* gtr_timer_current () as the callback saw it */
  GArray *order;                /* shared: ms of each callback, in call order */
} Probe;

static gboolean
on_fire (gpointer data)
{
  Probe *p = data;
  gint n = g_atomic_int_get (&p->calls);

  if (n < (gint) G_N_ELEMENTS (p->fired_us))
    p->fired_us[n] = g_get_monotonic_time ();
  p->current_inside = gtr_timer_current ();
  if (p->order)
    g_array_append_val (p->order, p->ms);
  g_atomic_int_inc (&p->calls);
  if (p->stop_inside)
    gtr_timer_stop (&p->slot);
  return n < p->repeat ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
on_notify (gpointer data)
{
  Probe *p = data;

  g_atomic_int_inc (&p->notified);
}

static void
probe_start (Probe *p, GMainContext *context, guint ms)
{
  p->ms = ms;
  p->started_us = g_get_monotonic_time ();
  p->slot = gtr_timer_start (context, ms, on_fire, p, on_notify);
}

/* Iterate `context` until every probe is notified, or `bound_ms`. */
static void
run_until_notified (GMainContext *context, Probe *probes, guint n, guint bound_ms)
{
  gint64 end = g_get_monotonic_time () + bound_ms * 1000;

  for (;;) {
    guint done = 0;

    for (guint i = 0; i < n; i++)
      done += g_atomic_int_get (&probes[i].notified) > 0;
    if (done == n || g_get_monotonic_time () > end)
      return;
    g_main_context_iteration (context, FALSE);
    g_usleep (500);
  }
}

/* Three timers started out of order fire in deadline order, none before
 * its time, each once, each notified once; the one source goes with the
 * last of them (LeakSanitizer and the context's last unref say so). */
static void
test_order_and_never_early (void)
{
  GMainContext *context = g_main_context_new ();
  Probe p[3] = { 0 };
  guint ms[3] = { 60, 20, 40 };
  GArray *order = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < 3; i++) {
    p[i].order = order;
    probe_start (&p[i], context, ms[i]);
  }
  run_until_notified (context, p, 3, 5000);
  g_assert_cmpuint (order->len, ==, 3);
  g_assert_cmpuint (g_array_index (order, guint, 0), ==, 20);
  g_assert_cmpuint (g_array_index (order, guint, 1), ==, 40);
  g_assert_cmpuint (g_array_index (order, guint, 2), ==, 60);
  for (guint i = 0; i < 3; i++) {
    g_assert_cmpint (p[i].calls, ==, 1);
    g_assert_cmpint (p[i].notified, ==, 1);
    g_assert_cmpint (p[i].fired_us[0] - p[i].started_us, >=, ms[i] * 1000);
    g_assert_true (p[i].current_inside == p[i].slot);
    gtr_timer_stop (&p[i].slot);      /* over: drops the caller's ref only */
    g_assert_cmpint (p[i].notified, ==, 1);
  }
  g_assert_null (gtr_timer_current ());
  g_array_unref (order);
  g_main_context_unref (context);
}

/* Stopped before its deadline: never called, notified at once. */
static void
test_stop_before_fire (void)
{
  GMainContext *context = g_main_context_new ();
  Probe early = { 0 }, later = { 0 };

  probe_start (&early, context, 20);
  probe_start (&later, context, 40);
  gtr_timer_stop (&early.slot);
  g_assert_null (early.slot);
  g_assert_cmpint (early.notified, ==, 1);
  run_until_notified (context, &later, 1, 5000);
  g_assert_cmpint (early.calls, ==, 0);
  g_assert_cmpint (early.notified, ==, 1);
  g_assert_cmpint (later.calls, ==, 1);
  gtr_timer_stop (&later.slot);
  g_main_context_unref (context);
}

/* G_SOURCE_CONTINUE runs it again an interval after each call. */
static void
test_continue_repeats (void)
{
  GMainContext *context = g_main_context_new ();
  Probe p = { .repeat = 3 };

  probe_start (&p, context, 15);
  run_until_notified (context, &p, 1, 5000);
  g_assert_cmpint (p.calls, ==, 4);
  g_assert_cmpint (p.notified, ==, 1);
  g_assert_cmpint (p.fired_us[0] - p.started_us, >=, 15 * 1000);
  for (guint i = 1; i < 4; i++)
    g_assert_cmpint (p.fired_us[i] - p.fired_us[i - 1], >=, 15 * 1000);
  gtr_timer_stop (&p.slot);
  g_main_context_unref (context);
}

/* A callback that stops itself and asks for more gets no more; its notify
 * runs once, after it has returned. */
static void
test_stop_inside_callback (void)
{
  GMainContext *context = g_main_context_new ();
  Probe p = { .repeat = 100, .stop_inside = TRUE };
  Probe after = { 0 };

  probe_start (&p, context, 5);
  probe_start (&after, context, 60);
  run_until_notified (context, &after, 1, 5000);
  g_assert_cmpint (p.calls, ==, 1);
  g_assert_cmpint (p.notified, ==, 1);
  g_assert_null (p.slot);
  gtr_timer_stop (&after.slot);
  g_main_context_unref (context);
}

/* A periodic timer on a network loop, stopped from this thread: once the
 * notify has run, the callback never runs again. */
static void
test_stop_from_another_thread (void)
{
  GMainContext *loop = gtr_netloop_ref_nth (1);
  Probe p = { .repeat = G_MAXINT };
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  gint calls;

  probe_start (&p, loop, 2);
  while (g_atomic_int_get (&p.calls) < 5 && g_get_monotonic_time () < end)
    g_usleep (1000);
  g_assert_cmpint (g_atomic_int_get (&p.calls), >=, 5);
  gtr_timer_stop (&p.slot);
  while (!g_atomic_int_get (&p.notified) && g_get_monotonic_time () < end)
    g_usleep (1000);
  g_assert_cmpint (g_atomic_int_get (&p.notified), ==, 1);
  calls = g_atomic_int_get (&p.calls);
  g_usleep (50 * 1000);
  g_assert_cmpint (g_atomic_int_get (&p.calls), ==, calls);
  g_assert_cmpint (g_atomic_int_get (&p.notified), ==, 1);
  g_main_context_unref (loop);
}

/* Many timers on one loop, from several threads at once, each stopped or
 * fired exactly once: the shared ordered set and its one source hold. */
typedef struct {
  GMainContext *loop;
  Probe probes[200];
} Crowd;

static gpointer
crowd_thread (gpointer data)
{
  Crowd *c = data;

  for (guint i = 0; i < G_N_ELEMENTS (c->probes); i++) {
    /* the stopped ones are far off: a preempted thread cannot let them fire */
    probe_start (&c->probes[i], c->loop, i % 3 == 0 ? 60000 : 1 + i % 7);
    if (i % 3 == 0)
      gtr_timer_stop (&c->probes[i].slot);
  }
  return NULL;
}

static void
test_crowd_from_threads (void)
{
  static Crowd crowds[4];
  GThread *threads[4];
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (guint t = 0; t < 4; t++) {
    crowds[t].loop = gtr_netloop_ref_nth (t % 2);
    threads[t] = g_thread_new ("crowd", crowd_thread, &crowds[t]);
  }
  for (guint t = 0; t < 4; t++)
    g_thread_join (threads[t]);
  for (guint t = 0; t < 4; t++) {
    for (guint i = 0; i < G_N_ELEMENTS (crowds[t].probes); i++) {
      Probe *p = &crowds[t].probes[i];

      while (!g_atomic_int_get (&p->notified) && g_get_monotonic_time () < end)
        g_usleep (1000);
      g_assert_cmpint (g_atomic_int_get (&p->notified), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&p->calls), ==, i % 3 == 0 ? 0 : 1);
      gtr_timer_stop (&p->slot);
    }
    g_main_context_unref (crowds[t].loop);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/timer/order-and-never-early", test_order_and_never_early);
  g_test_add_func ("/timer/stop-before-fire", test_stop_before_fire);
  g_test_add_func ("/timer/continue-repeats", test_continue_repeats);
  g_test_add_func ("/timer/stop-inside-callback", test_stop_inside_callback);
  g_test_add_func ("/timer/stop-from-another-thread", test_stop_from_another_thread);
  g_test_add_func ("/timer/crowd-from-threads", test_crowd_from_threads);
  return g_test_run ();
}
