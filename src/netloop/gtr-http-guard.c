/* The guard of a SoupServer (gtr-http-guard.h).
 *
 * Why it exists: libsoup 3.2.3 leaks the descriptor of every kept-alive
 * connection whose peer hangs up before sending its next request.
 *
 *  - A connection's FIRST message is created at accept, and
 *    SoupServerConnection::request-started is emitted for it at once
 *    (soup_server_connection_accepted); SoupServer's request_started_cb
 *    then calls soup_server_message_read_request(), which gives the
 *    message its completion callback, request_finished() in soup-server.c.
 *    request_finished() is what disconnects a connection that is not to be
 *    kept (soup_server_connection_disconnect: the socket is closed and the
 *    connection leaves the server's list).
 *  - When an answer is kept alive (HTTP/1.1 without `Connection: close`),
 *    soup_server_message_io_http1_finished() creates the NEXT message and
 *    polls the socket, but request-started, and so read_request() and the
 *    completion callback, come only when its first byte has been read
 *    (io_read(): `is_first_read && read_header_buf->len > 0`).
 *  - A peer that closes instead: io_read() reads EOF ("Connection
 *    terminated unexpectedly"), io_run() sets 500 and finishes the message,
 *    soup_server_message_io_http1_finished() finds no completion callback
 *    and calls nothing.  No one disconnects the connection: the socket sits
 *    in CLOSE_WAIT, its descriptor held until the server is disposed.
 *
 * Every 403/404/503 a WebSocket server answers is kept alive (101 is not: the
 * WebSocket steals the connection; 400 from libsoup's own parser carries
 * `Connection: close`), and a refused client hangs up, so each refusal held a
 * descriptor: 245 of them exhaust `ulimit -n 256`.  libsoup fixed it upstream
 * in 3.3.0 (commit d20c6601, "server: do not leak idle connections closed by
 * the client"); the guard is correct on both.
 *
 * What the guard does about it:
 *  1. An answer >= 400 gets `Connection: close`, so request_finished()
 *     disconnects it: libsoup itself closes the socket and forgets the
 *     connection.  Added on got-headers and got-body (our handlers run
 *     after the server's own, which are connected before request-started
 *     is emitted, so after early handlers, handlers and libsoup's 404: the
 *     header goes on the wire), and again on wrote-headers for a status set
 *     later by a paused handler (then only libsoup's decision sees it).
 *  2. Any other kept-alive connection is watched between requests: when
 *     its socket turns readable and holds nothing but EOF, libsoup (whose
 *     source runs first, at a higher priority) has ended its pending message
 *     without disconnecting, and the guard closes the socket.  The
 *     connection object stays in libsoup's list until the server is
 *     disposed; the descriptor does not.
 *  3. Bounds: a request's headers within handshake_timeout_ms of its start,
 *     the next request on a kept-alive connection within idle_timeout_ms.
 *     Expiry shuts the socket down: libsoup reads EOF and ends the request
 *     (1st message: it disconnects; a kept-alive wait: 2. closes it).
 *
 * Nothing here holds a message: messages are watched through weak refs; a
 * socket is held only while its kept-alive wait lasts, which ends when the
 * peer has gone.
 */
#include "gtr-http-guard.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* After libsoup's own sources (G_PRIORITY_DEFAULT): the watch of an idle
 * connection must see the socket only once libsoup has read from it. */
#define IDLE_WATCH_PRIORITY G_PRIORITY_DEFAULT_IDLE

struct _GtrHttpGuard {
  SoupServer *server;          /* not owned: the guard lives inside its life */
  GtrHttpGuardLimits limits;
  GMainContext *context;       /* the server's, where the timers run */
  gulong started_id, finished_id;
  GHashTable *requests;        /* SoupServerMessage* → Request*, each message alive */
  GHashTable *idle;            /* GSocket* → Idle*, each kept-alive connection between requests */
  atomic_uint_fast64_t handshake_timeouts, idle_timeouts, refused, released;
};

typedef struct {
  GtrHttpGuard *guard;
  SoupServerMessage *msg;      /* weak */
  GSource *headers_timer;      /* until the headers are complete */
} Request;

typedef struct {
  GtrHttpGuard *guard;
  GSocket *socket;             /* held while the connection waits */
  GSource *timer;              /* idle_timeout_ms */
  GSource *watch;              /* readable: the next request, or EOF */
} Idle;

static GSource *
add_timeout (GtrHttpGuard *guard, guint ms, GSourceFunc func, gpointer data)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, guard->context);
  return source;
}

static void
clear_source (GSource **source)
{
  if (*source) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

static void
shut_down (GSocket *socket)
{
  /* libsoup still owns the descriptor; it reads EOF and ends the request. */
  if (socket && !g_socket_is_closed (socket))
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
}

/* Whether libsoup will keep the connection after this answer: the test of
 * soup_server_message_is_keepalive() (soup-server-message.c, 3.2.3), which
 * libsoup does not export. */
static gboolean
keeps_alive (SoupServerMessage *msg)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);

  if (soup_server_message_get_status (msg) == SOUP_STATUS_OK
      && g_strcmp0 (soup_server_message_get_method (msg), SOUP_METHOD_CONNECT) == 0)
    return TRUE;
  switch (soup_server_message_get_http_version (msg)) {
  case SOUP_HTTP_2_0:
    return TRUE;
  case SOUP_HTTP_1_0:
    return soup_message_headers_get_encoding (response) != SOUP_ENCODING_EOF
        && soup_message_headers_header_contains (response, "Connection", "Keep-Alive");
  default:
    return soup_message_headers_get_encoding (response) != SOUP_ENCODING_EOF
        && !soup_message_headers_header_contains (request, "Connection", "close")
        && !soup_message_headers_header_contains (response, "Connection", "close");
  }
}

/* ---------- kept-alive connections between requests ---------- */

static void
idle_free (Idle *idle)
{
  clear_source (&idle->timer);
  clear_source (&idle->watch);
  g_object_unref (idle->socket);
  g_free (idle);
}

static void
idle_end (Idle *idle)
{
  g_hash_table_remove (idle->guard->idle, idle->socket);   /* frees it */
}

static gboolean
idle_readable (GSocket *socket, GIOCondition condition, gpointer data)
{
  Idle *idle = data;
  char byte;
  gssize n;

  if (g_socket_is_closed (socket)) {   /* libsoup disconnected it (3.3.0 and later) */
    idle_end (idle);
    return G_SOURCE_REMOVE;
  }
  n = recv (g_socket_get_fd (socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n > 0) {
    /* The next request's bytes, which libsoup reads and then emits
     * request-started (ending this wait); the timer still bounds it. */
    g_clear_pointer (&idle->watch, g_source_unref);
    return G_SOURCE_REMOVE;
  }
  /* EOF or a reset: libsoup has ended its pending message and will not
   * disconnect (see the top of this file). */
  g_debug ("http-guard: releasing kept-alive socket %d after EOF", g_socket_get_fd (socket));
  atomic_fetch_add (&idle->guard->released, 1);   /* before: a reader may be waiting for the close */
  g_socket_close (socket, NULL);
  g_clear_pointer (&idle->watch, g_source_unref);
  idle_end (idle);
  return G_SOURCE_REMOVE;
}

static void
idle_watch (Idle *idle)
{
  idle->watch = g_socket_create_source (idle->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_priority (idle->watch, IDLE_WATCH_PRIORITY);
  g_source_set_callback (idle->watch, (GSourceFunc) (GCallback) idle_readable, idle, NULL);
  g_source_attach (idle->watch, idle->guard->context);
}

static gboolean
idle_expired (gpointer data)
{
  Idle *idle = data;

  g_debug ("http-guard: kept-alive socket %d idle for %u ms, shutting down",
      g_socket_get_fd (idle->socket), idle->guard->limits.idle_timeout_ms);
  atomic_fetch_add (&idle->guard->idle_timeouts, 1);
  g_clear_pointer (&idle->timer, g_source_unref);
  shut_down (idle->socket);
  if (!idle->watch)
    idle_watch (idle);   /* to close it once libsoup has read the EOF */
  return G_SOURCE_REMOVE;
}

static void
idle_begin (GtrHttpGuard *guard, GSocket *socket)
{
  Idle *idle = g_new0 (Idle, 1);

  idle->guard = guard;
  idle->socket = g_object_ref (socket);
  g_hash_table_replace (guard->idle, socket, idle);
  idle_watch (idle);
  if (guard->limits.idle_timeout_ms)
    idle->timer = add_timeout (guard, guard->limits.idle_timeout_ms, idle_expired, idle);
}

/* SoupServer::request-finished: the answer is written, and libsoup keeps
 * the connection when the message says keep-alive. */
static void
request_finished (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  GtrHttpGuard *guard = data;
  GSocket *socket = soup_server_message_get_socket (msg);

  if (socket && !g_socket_is_closed (socket) && keeps_alive (msg))
    idle_begin (guard, socket);
}

/* ---------- each request ---------- */

static void
close_if_refused (SoupServerMessage *msg, gpointer data)
{
  Request *request = data;

  if (soup_server_message_get_status (msg) < 400 || !keeps_alive (msg))
    return;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
  atomic_fetch_add (&request->guard->refused, 1);
}

static void
headers_complete (SoupServerMessage *msg, gpointer data)
{
  Request *request = data;

  clear_source (&request->headers_timer);
  close_if_refused (msg, request);
}

static gboolean
headers_expired (gpointer data)
{
  Request *request = data;

  g_debug ("http-guard: request headers incomplete after %u ms, shutting down",
      request->guard->limits.handshake_timeout_ms);
  atomic_fetch_add (&request->guard->handshake_timeouts, 1);
  g_clear_pointer (&request->headers_timer, g_source_unref);
  shut_down (soup_server_message_get_socket (request->msg));
  return G_SOURCE_REMOVE;
}

static void
request_free (Request *request)
{
  clear_source (&request->headers_timer);
  g_free (request);
}

/* The message is gone (its signal handlers with it). */
static void
request_gone (gpointer data, GObject *where_msg_was)
{
  Request *request = data;

  g_hash_table_steal (request->guard->requests, where_msg_was);
  request_free (request);
}

/* SoupServer::request-started: at accept for a new connection, at the first
 * byte of the next request on a kept-alive one. */
static void
request_started (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  GtrHttpGuard *guard = data;
  GSocket *socket = soup_server_message_get_socket (msg);
  Idle *idle = socket ? g_hash_table_lookup (guard->idle, socket) : NULL;
  Request *request = g_new0 (Request, 1);

  if (idle)
    idle_end (idle);   /* in time */
  request->guard = guard;
  request->msg = msg;
  g_object_weak_ref (G_OBJECT (msg), request_gone, request);
  g_hash_table_insert (guard->requests, msg, request);
  g_signal_connect (msg, "got-headers", G_CALLBACK (headers_complete), request);
  g_signal_connect (msg, "got-body", G_CALLBACK (close_if_refused), request);
  g_signal_connect (msg, "wrote-headers", G_CALLBACK (close_if_refused), request);
  if (guard->limits.handshake_timeout_ms)
    request->headers_timer = add_timeout (guard, guard->limits.handshake_timeout_ms, headers_expired, request);
}

/* ---------- the guard ---------- */

GtrHttpGuard *
gtr_http_guard_new (SoupServer *server, const GtrHttpGuardLimits *limits)
{
  GtrHttpGuard *guard;

  g_return_val_if_fail (SOUP_IS_SERVER (server), NULL);
  g_return_val_if_fail (limits != NULL, NULL);

  guard = g_new0 (GtrHttpGuard, 1);
  guard->server = server;
  guard->limits = *limits;
  guard->context = g_main_context_ref_thread_default ();
  guard->requests = g_hash_table_new (NULL, NULL);
  guard->idle = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) idle_free);
  guard->started_id = g_signal_connect (server, "request-started", G_CALLBACK (request_started), guard);
  guard->finished_id = g_signal_connect (server, "request-finished", G_CALLBACK (request_finished), guard);
  return guard;
}

void
gtr_http_guard_free (GtrHttpGuard *guard)
{
  GHashTableIter iter;
  gpointer msg, request;

  if (!guard)
    return;
  g_signal_handler_disconnect (guard->server, guard->started_id);
  g_signal_handler_disconnect (guard->server, guard->finished_id);
  g_hash_table_iter_init (&iter, guard->requests);
  while (g_hash_table_iter_next (&iter, &msg, &request)) {
    g_signal_handlers_disconnect_by_data (msg, request);
    g_object_weak_unref (msg, request_gone, request);
    request_free (request);
  }
  g_hash_table_unref (guard->requests);
  g_hash_table_unref (guard->idle);   /* sockets handed back to libsoup as they are */
  g_main_context_unref (guard->context);
  g_free (guard);
}

guint64
gtr_http_guard_get_handshake_timeouts (GtrHttpGuard *guard)
{
  return atomic_load (&guard->handshake_timeouts);
}

guint64
gtr_http_guard_get_idle_timeouts (GtrHttpGuard *guard)
{
  return atomic_load (&guard->idle_timeouts);
}

guint64
gtr_http_guard_get_refused (GtrHttpGuard *guard)
{
  return atomic_load (&guard->refused);
}

guint64
gtr_http_guard_get_released (GtrHttpGuard *guard)
{
  return atomic_load (&guard->released);
}
