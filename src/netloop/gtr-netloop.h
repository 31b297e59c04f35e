/* The process's network threads (docs/architecture.md, "Threads").
 *
 * A small pool of GMainContexts, each run by one thread of its own, shared by
 * every socket the process owns.  Loop 0 is the default: a standalone
 * twiliosrc's SoupServer, every agent element made outside a network thread
 * (gst-launch, an application).  twilio-realtime-server starts one loop per
 * core and makes each call's pipeline on the loop that will carry it, so a
 * call's two sockets share one thread and calls spread across the cores
 * (server.h).  Both plugins link this code, yet the pool is one per process:
 * the first copy to run registers it under a GType that the other copy finds.
 * The threads live as long as the process.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GTR_NETLOOP_MAX 64

/* The calling thread's loop when it is a network thread, else loop 0.  What
 * an element takes at creation.  Returns a new reference. */
GMainContext *gtr_netloop_ref_context (void);

/* Loop `index` (< GTR_NETLOOP_MAX), started on first use.  New reference. */
GMainContext *gtr_netloop_ref_nth (guint index);

/* Run `func` on the thread of `context` (a network loop's; NULL: loop 0) and
 * wait for it to return (at once when already on it).  For setting up and
 * tearing down sockets from a streaming or application thread.  Never called
 * from one network thread for another's loop while that one could be waiting
 * for the first: the server does it only from loop 0 towards the others,
 * which never wait on loop 0. */
void gtr_netloop_run_sync (GMainContext *context, GSourceFunc func, gpointer data);

G_END_DECLS
