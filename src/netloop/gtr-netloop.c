#include "gtr-netloop.h"

#include <glib-object.h>

/* The shared pool, found through the qdata of a GType so that the copies of
 * this file in the twilio and openai plugins (each a separate .so) agree on
 * one set of threads. */
typedef struct {
  GMutex lock;                          /* starting a loop */
  GMainContext *contexts[GTR_NETLOOP_MAX];   /* set once, never cleared */
  guint n;                              /* atomic: contexts[0..n) are set */
} NetLoops;

static gpointer
netloop_thread (gpointer data)
{
  GMainContext *context = data;
  GMainLoop *ml;

  /* what gtr_netloop_ref_context() and libsoup look at */
  g_main_context_push_thread_default (context);
  ml = g_main_loop_new (context, FALSE);
  g_main_loop_run (ml);           /* never quits: the process's network */
  g_main_loop_unref (ml);
  return NULL;
}

static NetLoops *
netloops_get (void)
{
  static NetLoops *cached;
  static GMutex lock;
  NetLoops *loops;

  if ((loops = g_atomic_pointer_get (&cached)))
    return loops;

  g_mutex_lock (&lock);
  if (!cached) {
    GQuark quark = g_quark_from_static_string ("gtr-netloops");
    GType anchor;

    /* GType registration is process-wide and serialized by GLib: the copy
     * that registers the anchor first creates the pool and hangs it on the
     * type; a copy that loses the race waits until the qdata appears. */
    anchor = g_type_from_name ("GtrNetLoopAnchor");
    if (!anchor) {
      anchor = g_pointer_type_register_static ("GtrNetLoopAnchor");
      if (anchor) {
        NetLoops *fresh = g_new0 (NetLoops, 1);
        g_mutex_init (&fresh->lock);
        g_type_set_qdata (anchor, quark, fresh);
      } else {
        anchor = g_type_from_name ("GtrNetLoopAnchor");
      }
    }
    while (!(loops = g_type_get_qdata (anchor, quark)))
      g_thread_yield ();
    g_atomic_pointer_set (&cached, loops);
  }
  g_mutex_unlock (&lock);
  return cached;
}

static GMainContext *
loop_nth (guint index)
{
  NetLoops *loops = netloops_get ();

  g_return_val_if_fail (index < GTR_NETLOOP_MAX, NULL);
  if (index < (guint) g_atomic_int_get (&loops->n))
    return loops->contexts[index];
  g_mutex_lock (&loops->lock);
  while (loops->n <= index) {
    GMainContext *context = g_main_context_new ();
    g_autofree char *name = loops->n ? g_strdup_printf ("gtr-network-%u", loops->n)
        : g_strdup ("gtr-network");
    GThread *thread = g_thread_new (name, netloop_thread, context);

    g_thread_unref (thread);
    loops->contexts[loops->n] = context;
    g_atomic_int_set (&loops->n, loops->n + 1);
  }
  g_mutex_unlock (&loops->lock);
  return loops->contexts[index];
}

/* The loop whose thread this is, or NULL. */
static GMainContext *
loop_current (void)
{
  NetLoops *loops = netloops_get ();
  GMainContext *here = g_main_context_get_thread_default ();
  guint n = g_atomic_int_get (&loops->n);

  if (!here)
    return NULL;
  for (guint i = 0; i < n; i++)
    if (loops->contexts[i] == here && g_main_context_is_owner (here))
      return here;
  return NULL;
}

GMainContext *
gtr_netloop_ref_context (void)
{
  GMainContext *here = loop_current ();

  return g_main_context_ref (here ? here : loop_nth (0));
}

GMainContext *
gtr_netloop_ref_nth (guint index)
{
  GMainContext *context = loop_nth (index);

  return context ? g_main_context_ref (context) : NULL;
}

typedef struct {
  GSourceFunc func;
  gpointer data;
  GMutex lock;
  GCond cond;
  gboolean done;
} SyncCall;

static gboolean
sync_call_run (gpointer data)
{
  SyncCall *call = data;

  call->func (call->data);
  g_mutex_lock (&call->lock);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
  return G_SOURCE_REMOVE;
}

void
gtr_netloop_run_sync (GMainContext *context, GSourceFunc func, gpointer data)
{
  SyncCall call = { func, data };

  if (!context)
    context = loop_nth (0);
  if (g_main_context_is_owner (context)) {
    func (data);
    return;
  }
  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  g_main_context_invoke (context, sync_call_run, &call);
  g_mutex_lock (&call.lock);
  while (!call.done)
    g_cond_wait (&call.cond, &call.lock);
  g_mutex_unlock (&call.lock);
  g_mutex_clear (&call.lock);
  g_cond_clear (&call.cond);
}
