/* A raw TCP client for HTTP-server tests: the test controls every byte
 * (GSocketClient, blocking, each wait bounded), and counts descriptors.
 * Used by tests/netloop and tests/realtime-mock. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The WebSocket handshake request for `path` (a valid key and version). */
char *raw_upgrade_request (const char *path, const char *extra_headers);

/* Connected to 127.0.0.1:port; asserts success. */
GSocketConnection *raw_connect (guint16 port);

void raw_send (GSocketConnection *conn, const char *bytes, gsize len);

/* Reads one response, head and Content-Length body, within timeout_ms (less
 * at EOF): what came, maybe nothing. */
char *raw_read_response (GSocketConnection *conn, guint timeout_ms);

/* The status code of a response's status line, 0 when there is none. */
guint raw_status_of (const char *response);

/* TRUE when the head has the line `header` ("Name: value"), case aside. */
gboolean raw_has_header (const char *response, const char *header);

/* raw_read_response()'s status. */
guint raw_read_status (GSocketConnection *conn, guint timeout_ms);

typedef enum { RAW_OPEN, RAW_EOF, RAW_RESET } RawEnd;

/* Waits up to timeout_ms for the peer to close: how it ended, or RAW_OPEN
 * when it is still open then.  Bytes that arrive meanwhile are discarded. */
RawEnd raw_wait_closed (GSocketConnection *conn, guint timeout_ms);

/* Sends without asserting: FALSE once the peer has closed. */
gboolean raw_try_send (GSocketConnection *conn, const char *bytes, gsize len);

/* connect, send `request`, read the status, close: the status. */
guint raw_request_status (guint16 port, const char *request);

/* Open descriptors of process `pid` (0: this one), from /proc/PID/fd. */
guint raw_count_fds (GPid pid);

/* Waits up to timeout_ms for `pid`'s descriptor count to be <= `target`;
 * returns the last count seen. */
guint raw_wait_fds_at_most (GPid pid, guint target, guint timeout_ms);

G_END_DECLS
