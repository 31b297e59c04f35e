#include "gtr-netloop.h"

#include <glib-object.h>

/* The shared state, found through the qdata of a GType so that the copies of
 * this file in the twilio and openai plugins (each a separate .so) agree on
 * one thread. */
typedef struct {
  GMainContext *context;
  GThread *thread;
} NetLoop;

static gpointer
netloop_thread (gpointer data)
{
  NetLoop *loop = data;
  GMainLoop *ml;

  g_main_context_push_thread_default (loop->context);
  ml = g_main_loop_new (loop->context, FALSE);
  g_main_loop_run (ml);           /* never quits: the process's network */
  g_main_loop_unref (ml);
  return NULL;
}

static NetLoop *
netloop_get (void)
{
  static NetLoop *cached;
  static GMutex lock;
  NetLoop *loop;

  if ((loop = g_atomic_pointer_get (&cached)))
    return loop;

  g_mutex_lock (&lock);
  if (!cached) {
    GQuark quark = g_quark_from_static_string ("gtr-netloop");
    GType anchor;

    /* GType registration is process-wide and serialized by GLib: the copy
     * that registers the anchor first creates the thread and hangs it on the
     * type; a copy that loses the race waits until the qdata appears. */
    anchor = g_type_from_name ("GtrNetLoopAnchor");
    if (!anchor) {
      anchor = g_pointer_type_register_static ("GtrNetLoopAnchor");
      if (anchor) {
        NetLoop *fresh = g_new0 (NetLoop, 1);
        fresh->context = g_main_context_new ();
        fresh->thread = g_thread_new ("gtr-network", netloop_thread, fresh);
        g_type_set_qdata (anchor, quark, fresh);
      } else {
        anchor = g_type_from_name ("GtrNetLoopAnchor");
      }
    }
    while (!(loop = g_type_get_qdata (anchor, quark)))
      g_thread_yield ();
    g_atomic_pointer_set (&cached, loop);
  }
  g_mutex_unlock (&lock);
  return cached;
}

GMainContext *
gtr_netloop_ref_context (void)
{
  return g_main_context_ref (netloop_get ()->context);
}

gboolean
gtr_netloop_is_current (void)
{
  return g_main_context_is_owner (netloop_get ()->context);
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
gtr_netloop_run_sync (GSourceFunc func, gpointer data)
{
  NetLoop *loop = netloop_get ();
  SyncCall call = { func, data };

  if (g_main_context_is_owner (loop->context)) {
    func (data);
    return;
  }
  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  g_main_context_invoke (loop->context, sync_call_run, &call);
  g_mutex_lock (&call.lock);
  while (!call.done)
    g_cond_wait (&call.cond, &call.lock);
  g_mutex_unlock (&call.lock);
  g_mutex_clear (&call.lock);
  g_cond_clear (&call.cond);
}
