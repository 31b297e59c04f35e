/* gtr-netloop, the pool of network threads: which loop a caller gets, on
 * which thread work runs.  GLib tests, no GStreamer, no sockets. */
#include "gtr-netloop.h"

typedef struct {
  GMainContext *seen;      /* gtr_netloop_ref_context() on the loop's thread */
  GThread *thread;
  gboolean owner;          /* the thread runs the loop it got */
} Probe;

static gboolean
probe (gpointer data)
{
  Probe *p = data;

  p->seen = gtr_netloop_ref_context ();
  p->thread = g_thread_self ();
  p->owner = g_main_context_is_owner (p->seen);
  return G_SOURCE_REMOVE;
}

/* Off the network threads: loop 0, the default of every element made by
 * an application or gst-launch-1.0. */
static void
test_default_is_loop_zero (void)
{
  GMainContext *def = gtr_netloop_ref_context ();
  GMainContext *zero = gtr_netloop_ref_nth (0);

  g_assert_true (def == zero);
  g_assert_false (g_main_context_is_owner (zero));
  g_main_context_unref (def);
  g_main_context_unref (zero);
}

/* Each loop is its own thread, and what is made on it takes it. */
static void
test_each_loop_its_own_thread (void)
{
  GMainContext *loops[3];
  Probe probes[3] = { 0 };

  for (guint i = 0; i < 3; i++) {
    loops[i] = gtr_netloop_ref_nth (i);
    gtr_netloop_run_sync (loops[i], probe, &probes[i]);
  }
  for (guint i = 0; i < 3; i++) {
    g_assert_true (probes[i].seen == loops[i]);
    g_assert_true (probes[i].owner);
    g_assert_true (probes[i].thread != g_thread_self ());
    for (guint j = 0; j < i; j++) {
      g_assert_true (loops[i] != loops[j]);
      g_assert_true (probes[i].thread != probes[j].thread);
    }
  }
  /* asked again, the same loops: the pool is made once */
  for (guint i = 0; i < 3; i++) {
    GMainContext *again = gtr_netloop_ref_nth (i);

    g_assert_true (again == loops[i]);
    g_main_context_unref (again);
    g_main_context_unref (probes[i].seen);
    g_main_context_unref (loops[i]);
  }
}

typedef struct {
  GMainContext *target;
  Probe inner;
} Nested;

/* run_sync from a loop towards the same loop runs at once (no wait on
 * itself); towards another loop it runs there. */
static gboolean
nested (gpointer data)
{
  Nested *n = data;

  gtr_netloop_run_sync (n->target, probe, &n->inner);
  return G_SOURCE_REMOVE;
}

static void
test_run_sync_from_a_loop (void)
{
  GMainContext *zero = gtr_netloop_ref_nth (0);
  GMainContext *one = gtr_netloop_ref_nth (1);
  Probe on_one = { 0 };
  Nested same = { one }, other = { one };

  gtr_netloop_run_sync (one, probe, &on_one);
  gtr_netloop_run_sync (one, nested, &same);
  g_assert_true (same.inner.thread == on_one.thread);
  gtr_netloop_run_sync (zero, nested, &other);
  g_assert_true (other.inner.thread == on_one.thread);
  g_assert_true (other.inner.seen == one);
  g_main_context_unref (on_one.seen);
  g_main_context_unref (same.inner.seen);
  g_main_context_unref (other.inner.seen);
  g_main_context_unref (zero);
  g_main_context_unref (one);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/netloop/default-is-loop-zero", test_default_is_loop_zero);
  g_test_add_func ("/netloop/each-loop-its-own-thread", test_each_loop_its_own_thread);
  g_test_add_func ("/netloop/run-sync-from-a-loop", test_run_sync_from_a_loop);
  return g_test_run ();
}
