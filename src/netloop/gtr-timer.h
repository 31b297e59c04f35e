/* Timeouts on a network loop, all of a loop's in one GSource
 * (docs/performance.md, "Per-message work").
 *
 * A GMainContext looks at every one of its sources on every iteration,
 * ready or not, and a network loop iterates for each message it reads.  A
 * call's bounds on its peers — twiliosrc's watchdog, an agent's liveness
 * check, its session's age limit — were a timeout source each: half of the
 * sources on a loop, walked thousands of times a second for deadlines
 * seconds or an hour away.  Here a loop's deadlines sit in one ordered set
 * behind one source whose ready time is the nearest of them, so the walk
 * costs one source per loop (and per plugin: each plugin has its own copy
 * of this code and its own source).
 *
 * Semantics are g_timeout_source_new()'s, used as GLib's own: `func` runs
 * on the context's thread `ms` after the start (never earlier); returning
 * G_SOURCE_CONTINUE runs it again `ms` after that dispatch; `notify` frees
 * `data` once the timer is over (G_SOURCE_REMOVE, or stopped), outside
 * any lock of ours.  Any context works (a pool loop, an application's, a
 * test's): its one source is made with its first timer and destroyed with
 * its last, and holds a reference on the context meanwhile — stop a
 * context's timers before dropping it, as every element does on its way
 * to NULL.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GtrTimer GtrTimer;

/* Starts a timer; returns the caller's reference (gtr_timer_stop() drops
 * it).  Any thread. */
GtrTimer *gtr_timer_start (GMainContext *context, guint ms, GSourceFunc func,
    gpointer data, GDestroyNotify notify);

/* Stops `*slot` (NULL: nothing) and clears it.  On the context's thread,
 * outside its own callback, `func` will not run again.  From another thread
 * its callback may be running: a callback that must know compares
 * gtr_timer_current() with the slot, under the caller's lock, as code using
 * GSources compares g_main_current_source(). */
void gtr_timer_stop (GtrTimer **slot);

/* The timer whose callback is running on this thread, or NULL. */
GtrTimer *gtr_timer_current (void);

/* The context `timer` runs on (no new reference). */
GMainContext *gtr_timer_get_context (GtrTimer *timer);

G_END_DECLS
