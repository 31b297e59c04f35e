/* Shared by the tools and their tests: a clean end of process. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* GLib keeps an idle thread-pool worker for 15 s after its last task; a TLS
 * handshake (glib-networking runs it in a GTask thread) leaves one behind.
 * Stop the idle workers and wait (at most 1 s) until they are gone:
 * LeakSanitizer's end-of-process scan stops every thread and reads its
 * dynamic TLS, and on that worker's (gnutls) it crashes ("Tracer caught
 * signal 11", GCC 12's libasan).  Call last, before returning from main(). */
void gtr_stop_idle_pool_threads (void);

G_END_DECLS
