#include "raw-http-client.h"

#include <string.h>

char *
raw_upgrade_request (const char *path, const char *extra_headers)
{
  return g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n%s\r\n", path, extra_headers ? extra_headers : "");
}

GSocketConnection *
raw_connect (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, port);
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn;

  g_socket_client_set_enable_proxy (client, FALSE);   /* no resolver: its descriptors would stay */
  conn = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (addr), NULL, &error);

  g_assert_no_error (error);
  return conn;
}

void
raw_send (GSocketConnection *conn, const char *bytes, gsize len)
{
  g_autoptr (GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), bytes, len, NULL, NULL, &error);
  g_assert_no_error (error);
}

gboolean
raw_try_send (GSocketConnection *conn, const char *bytes, gsize len)
{
  return g_socket_send (g_socket_connection_get_socket (conn), bytes, len, NULL, NULL) == (gssize) len;
}

#define READ_TIMEOUT (-1)
#define READ_RESET (-2)

/* One read of whatever is there, within the deadline: bytes read, 0 at EOF,
 * READ_RESET, or READ_TIMEOUT at the deadline. */
static gssize
read_some (GSocket *socket, char *buf, gsize size, gint64 deadline)
{
  gint64 left = deadline - g_get_monotonic_time ();
  g_autoptr (GError) error = NULL;
  gssize n;

  if (left <= 0 || !g_socket_condition_timed_wait (socket, G_IO_IN, left, NULL, NULL))
    return READ_TIMEOUT;
  n = g_socket_receive_with_blocking (socket, buf, size, FALSE, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return read_some (socket, buf, size, deadline);
  return n < 0 ? READ_RESET : n;
}

/* The Content-Length of the response head, 0 without one. */
static gsize
content_length (const char *head)
{
  g_autofree char *lower = g_ascii_strdown (head, -1);
  const char *field = strstr (lower, "\r\ncontent-length:");

  return field ? (gsize) g_ascii_strtoull (field + strlen ("\r\ncontent-length:"), NULL, 10) : 0;
}

char *
raw_read_response (GSocketConnection *conn, guint timeout_ms)
{
  GSocket *socket = g_socket_connection_get_socket (conn);
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  g_autoptr (GString) head = g_string_new (NULL);
  const char *end;
  char buf[1024];
  gssize n = 1;

  while (!(end = strstr (head->str, "\r\n\r\n")) && (n = read_some (socket, buf, sizeof buf, deadline)) > 0)
    g_string_append_len (head, buf, n);
  if (end) {
    /* Read the body too, so that the next answer on the connection starts
     * with its status line. */
    gsize header_len = end + 4 - head->str, want = content_length (head->str);
    while (head->len - header_len < want && (n = read_some (socket, buf, sizeof buf, deadline)) > 0)
      g_string_append_len (head, buf, n);
  }
  return g_string_free (g_steal_pointer (&head), FALSE);
}

guint
raw_status_of (const char *response)
{
  if (g_str_has_prefix (response, "HTTP/1.1 ") || g_str_has_prefix (response, "HTTP/1.0 "))
    return (guint) g_ascii_strtoull (response + 9, NULL, 10);
  return 0;
}

gboolean
raw_has_header (const char *response, const char *header)
{
  g_autofree char *lower = g_ascii_strdown (response, -1);
  g_autofree char *line = g_strdup_printf ("\r\n%s\r\n", header);
  g_autofree char *lower_line = g_ascii_strdown (line, -1);

  return strstr (lower, lower_line) != NULL;
}

guint
raw_read_status (GSocketConnection *conn, guint timeout_ms)
{
  g_autofree char *response = raw_read_response (conn, timeout_ms);

  return raw_status_of (response);
}

RawEnd
raw_wait_closed (GSocketConnection *conn, guint timeout_ms)
{
  GSocket *socket = g_socket_connection_get_socket (conn);
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  char buf[1024];
  gssize n;

  while ((n = read_some (socket, buf, sizeof buf, deadline)) > 0)
    ;
  return n == 0 ? RAW_EOF : n == READ_RESET ? RAW_RESET : RAW_OPEN;
}

guint
raw_request_status (guint16 port, const char *request)
{
  g_autoptr (GSocketConnection) conn = raw_connect (port);
  guint status;

  raw_send (conn, request, strlen (request));
  status = raw_read_status (conn, 5000);
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  return status;
}

guint
raw_count_fds (GPid pid)
{
  g_autofree char *path = pid ? g_strdup_printf ("/proc/%d/fd", (int) pid) : g_strdup ("/proc/self/fd");
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir))
    n++;
  return pid ? n : n - 1;   /* our own count leaves out the GDir's descriptor */
}

guint
raw_wait_fds_at_most (GPid pid, guint target, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  guint n;

  while ((n = raw_count_fds (pid)) > target && g_get_monotonic_time () < deadline)
    g_usleep (10 * G_TIME_SPAN_MILLISECOND);
  return n;
}
