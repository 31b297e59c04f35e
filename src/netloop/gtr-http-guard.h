/* HTTP-server hygiene for every SoupServer of the project (docs/architecture.md,
 * "HTTP servers: refusals and bounds").
 *
 * A guard watches every connection a SoupServer accepts and
 *  - closes the connection after every answer with status >= 400
 *    (`Connection: close`), whoever set it: an early handler, a handler,
 *    libsoup's own 404;
 *  - bounds a request's headers (`handshake_timeout_ms`, from the accept on a
 *    new connection, from the first byte on a kept-alive one) and the wait of
 *    a kept-alive connection for its next request (`idle_timeout_ms`); on
 *    expiry the socket is shut down, so libsoup sees EOF;
 *  - releases the descriptor of a kept-alive connection that libsoup 3.2.3
 *    would otherwise hold forever once the peer has hung up.
 * Everything happens on the server's thread; the counters may be read from
 * any thread.
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct {
  guint handshake_timeout_ms;  /* a new connection: request headers complete within this (0: no bound) */
  guint idle_timeout_ms;       /* a kept-alive connection: next request starts arriving within this (0: no bound) */
} GtrHttpGuardLimits;

typedef struct _GtrHttpGuard GtrHttpGuard;

/* Watches every connection `server` accepts from now on.  Call on the thread
 * running the server's GMainContext, before listening. */
GtrHttpGuard *gtr_http_guard_new (SoupServer *server, const GtrHttpGuardLimits *limits);

/* Stops watching (on the server's thread, before the server is disposed);
 * timers removed. */
void gtr_http_guard_free (GtrHttpGuard *guard);

/* Counters, readable from any thread. */
guint64 gtr_http_guard_get_handshake_timeouts (GtrHttpGuard *guard);
guint64 gtr_http_guard_get_idle_timeouts (GtrHttpGuard *guard);
guint64 gtr_http_guard_get_refused (GtrHttpGuard *guard);   /* answers >= 400 closed by the guard */
/* Kept-alive connections whose descriptor the guard closed after libsoup had
 * given up on them (the peer hung up, or an idle timeout shut them down). */
guint64 gtr_http_guard_get_released (GtrHttpGuard *guard);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GtrHttpGuard, gtr_http_guard_free)

G_END_DECLS
