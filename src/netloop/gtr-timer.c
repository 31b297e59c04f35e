#include "gtr-timer.h"

/* One wheel per context that has timers, made on the first and destroyed
 * with the last: a GSource without prepare or check whose ready time is the
 * nearest deadline, so GLib's walk over it is one comparison.  All wheels of
 * this copy of the code share one lock: timers start and stop a few times
 * per call, not per message, and a dispatch takes it once per due timer.
 *
 * Lock order: ours, then a context's (g_source_set_ready_time).  GLib never
 * holds a context's lock while calling into a source's dispatch, so the
 * order is never reversed.  Callbacks and notifies run without our lock. */

typedef struct {
  GSource source;
  GMainContext *context;        /* a ref while the wheel is in `wheels` */
  GSequence *pending;           /* GtrTimer *, by (deadline, serial) */
  guint live;                   /* timers pending or running */
  gboolean dead;                /* out of `wheels`: being destroyed */
} Wheel;

struct _GtrTimer {
  gint refs;                    /* atomic: the caller's, and the wheel's */
  Wheel *wheel;                 /* while pending or running */
  GMainContext *context;
  GSequenceIter *iter;          /* while pending */
  gint64 deadline;              /* monotonic µs */
  guint64 serial;               /* start order: equal deadlines fire in it */
  guint interval_ms;
  GSourceFunc func;
  gpointer data;
  GDestroyNotify notify;
  gboolean running;             /* its callback is on the stack */
  gboolean stopped;             /* gtr_timer_stop() was called */
};

G_LOCK_DEFINE_STATIC (timers);
static GHashTable *wheels;      /* GMainContext * -> Wheel * */
static guint64 next_serial;
static GPrivate current;        /* the GtrTimer whose callback runs here */

static void
timer_unref (GtrTimer *timer)
{
  if (g_atomic_int_dec_and_test (&timer->refs))
    g_free (timer);
}

static gint
timer_cmp (gconstpointer a, gconstpointer b, gpointer unused)
{
  const GtrTimer *x = a, *y = b;

  if (x->deadline != y->deadline)
    return x->deadline < y->deadline ? -1 : 1;
  return x->serial < y->serial ? -1 : x->serial > y->serial;
}

/* Lock held. */
static void
wheel_update (Wheel *wheel)
{
  GSequenceIter *head = g_sequence_get_begin_iter (wheel->pending);

  if (wheel->dead)
    return;
  g_source_set_ready_time (&wheel->source, g_sequence_iter_is_end (head) ? -1
      : ((GtrTimer *) g_sequence_get (head))->deadline);
}

/* A timer has left `wheel` for good.  Lock held; returns the wheel when it
 * was the last, for wheel_destroy() once the lock is released. */
static Wheel *
wheel_release (Wheel *wheel)
{
  if (--wheel->live || wheel->dead)
    return NULL;
  wheel->dead = TRUE;
  g_hash_table_remove (wheels, wheel->context);
  return wheel;
}

static void
wheel_destroy (Wheel *wheel)
{
  GMainContext *context;

  if (!wheel)
    return;
  context = wheel->context;
  g_source_destroy (&wheel->source);
  g_source_unref (&wheel->source);
  g_main_context_unref (context);
}

static gboolean
wheel_dispatch (GSource *source, GSourceFunc unused, gpointer unused_data)
{
  Wheel *wheel = (Wheel *) source;
  gint64 now = g_source_get_time (source);

  G_LOCK (timers);
  while (!wheel->dead) {
    GSequenceIter *head = g_sequence_get_begin_iter (wheel->pending);
    GtrTimer *timer, *outer;
    GDestroyNotify notify = NULL;
    Wheel *last = NULL;
    gboolean again;

    if (g_sequence_iter_is_end (head))
      break;
    timer = g_sequence_get (head);
    if (timer->deadline > now)
      break;
    g_sequence_remove (head);
    timer->iter = NULL;
    timer->running = TRUE;
    G_UNLOCK (timers);

    outer = g_private_get (&current);
    g_private_set (&current, timer);
    again = timer->func (timer->data);
    g_private_set (&current, outer);

    G_LOCK (timers);
    timer->running = FALSE;
    if (again && !timer->stopped) {
      timer->deadline = now + (gint64) timer->interval_ms * 1000;
      timer->serial = next_serial++;
      timer->iter = g_sequence_insert_sorted (wheel->pending, timer, timer_cmp,
          NULL);
      continue;
    }
    notify = timer->notify;
    timer->wheel = NULL;
    last = wheel_release (wheel);
    G_UNLOCK (timers);
    if (notify)
      notify (timer->data);
    timer_unref (timer);        /* the wheel's */
    wheel_destroy (last);
    G_LOCK (timers);
  }
  wheel_update (wheel);
  G_UNLOCK (timers);
  return G_SOURCE_CONTINUE;
}

static void
wheel_finalize (GSource *source)
{
  Wheel *wheel = (Wheel *) source;

  /* only the last timer's departure destroys a wheel */
  g_sequence_free (wheel->pending);
}

static GSourceFuncs wheel_funcs = {
  NULL, NULL, wheel_dispatch, wheel_finalize, NULL, NULL
};

GtrTimer *
gtr_timer_start (GMainContext *context, guint ms, GSourceFunc func,
    gpointer data, GDestroyNotify notify)
{
  GtrTimer *timer = g_new0 (GtrTimer, 1);
  Wheel *wheel;

  g_return_val_if_fail (context != NULL && func != NULL, NULL);
  g_atomic_int_set (&timer->refs, 2);
  timer->context = context;
  timer->interval_ms = ms;
  timer->func = func;
  timer->data = data;
  timer->notify = notify;
  timer->deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  G_LOCK (timers);
  if (!wheels)
    wheels = g_hash_table_new (NULL, NULL);
  wheel = g_hash_table_lookup (wheels, context);
  if (!wheel) {
    wheel = (Wheel *) g_source_new (&wheel_funcs, sizeof (Wheel));
    g_source_set_static_name (&wheel->source, "gtr-timer");
    wheel->context = g_main_context_ref (context);
    wheel->pending = g_sequence_new (NULL);
    g_source_set_ready_time (&wheel->source, -1);
    g_source_attach (&wheel->source, context);
    g_hash_table_insert (wheels, context, wheel);
  }
  wheel->live++;
  timer->wheel = wheel;
  timer->serial = next_serial++;
  timer->iter = g_sequence_insert_sorted (wheel->pending, timer, timer_cmp,
      NULL);
  if (g_sequence_iter_is_begin (timer->iter))
    wheel_update (wheel);
  G_UNLOCK (timers);
  return timer;
}

void
gtr_timer_stop (GtrTimer **slot)
{
  GtrTimer *timer = g_steal_pointer (slot);
  GDestroyNotify notify = NULL;
  Wheel *last = NULL;
  gboolean dropped = FALSE;

  if (!timer)
    return;
  G_LOCK (timers);
  timer->stopped = TRUE;
  if (timer->iter) {
    /* pending: out of the wheel now; running: the dispatch finishes it */
    Wheel *wheel = timer->wheel;
    gboolean was_head = g_sequence_iter_is_begin (timer->iter);

    g_sequence_remove (timer->iter);
    timer->iter = NULL;
    notify = timer->notify;
    timer->wheel = NULL;
    dropped = TRUE;
    if (was_head)
      wheel_update (wheel);
    last = wheel_release (wheel);
  }
  G_UNLOCK (timers);
  if (notify)
    notify (timer->data);
  if (dropped)
    timer_unref (timer);        /* the wheel's */
  wheel_destroy (last);
  timer_unref (timer);          /* the caller's */
}

GtrTimer *
gtr_timer_current (void)
{
  return g_private_get (&current);
}

GMainContext *
gtr_timer_get_context (GtrTimer *timer)
{
  return timer->context;
}
