/* The process-wide network thread (docs/architecture.md, "Threads").
 *
 * One GMainContext, run by one thread, shared by every socket the process
 * owns: a standalone twiliosrc's SoupServer, every openairealtime
 * SoupSession.  Both plugins link this code, yet there is one thread per
 * process: the first copy to run registers it under a GType that the other
 * copy finds.  The thread lives as long as the process.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The shared context, started on first use.  Returns a new reference. */
GMainContext *gtr_netloop_ref_context (void);

/* TRUE when called on the network thread. */
gboolean gtr_netloop_is_current (void);

/* Run `func` on the network thread and wait for it to return (at once when
 * already on it).  For setting up and tearing down sockets from a streaming
 * or application thread. */
void gtr_netloop_run_sync (GSourceFunc func, gpointer data);

G_END_DECLS
