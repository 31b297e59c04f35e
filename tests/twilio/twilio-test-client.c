#include "twilio-test-client.h"

#include "gtr-protocol.h"

#include <string.h>

static void
on_message (SoupWebsocketConnection *conn, gint type, GBytes *message,
    TestClient *client)
{
  if (type == SOUP_WEBSOCKET_DATA_TEXT) {
    gsize len;
    const char *data = g_bytes_get_data (message, &len);
    g_ptr_array_add (client->received, g_strndup (data, len));
  } else {
    client->binary_received++;
  }
}

static void
on_closed (SoupWebsocketConnection *conn, TestClient *client)
{
  client->closed = TRUE;
}

typedef struct {
  TestClient *client;
  SoupMessage *msg;
  gboolean done;
} Handshake;

static void
connected (GObject *source, GAsyncResult *result, gpointer data)
{
  Handshake *hs = data;
  GError *error = NULL;

  hs->client->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source),
      result, &error);
  hs->client->status = soup_message_get_status (hs->msg);
  if (error) {
    GST_INFO ("handshake failed (HTTP %u): %s", hs->client->status, error->message);
    g_error_free (error);
  }
  hs->done = TRUE;
}

static gboolean
pump_until (TestClient *client, gboolean (*done) (TestClient *, gpointer),
    gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  gboolean ok = TRUE;

  /* libsoup and GIO attach follow-up sources to the thread-default context
   * of the moment: keep ours the default while it runs. */
  g_main_context_push_thread_default (client->context);
  while (!done (client, data)) {
    if (g_get_monotonic_time () > deadline) {
      ok = FALSE;
      break;
    }
    if (!g_main_context_iteration (client->context, FALSE))
      g_usleep (1000);
  }
  g_main_context_pop_thread_default (client->context);
  return ok;
}

static gboolean
handshake_done (TestClient *client, gpointer data)
{
  return ((Handshake *) data)->done;
}

TestClient *
test_client_connect (guint port, const char *path, const char *signature)
{
  GMainContext *context = g_main_context_new ();
  TestClient *client = test_client_connect_on (port, path, signature, context);

  g_main_context_unref (context);
  return client;
}

TestClient *
test_client_connect_on (guint port, const char *path, const char *signature,
    GMainContext *context)
{
  TestClient *client = g_new0 (TestClient, 1);
  Handshake hs = { client, NULL, FALSE };
  char *uri = g_strdup_printf ("ws://127.0.0.1:%u%s", port, path);

  client->context = g_main_context_ref (context);
  client->received = g_ptr_array_new_with_free_func (g_free);
  g_main_context_push_thread_default (client->context);
  client->session = soup_session_new ();
  hs.msg = soup_message_new (SOUP_METHOD_GET, uri);
  if (signature)
    soup_message_headers_replace (soup_message_get_request_headers (hs.msg),
        "X-Twilio-Signature", signature);
  soup_session_websocket_connect_async (client->session, hs.msg, NULL, NULL,
      G_PRIORITY_DEFAULT, NULL, connected, &hs);
  g_main_context_pop_thread_default (client->context);
  g_assert_true (pump_until (client, handshake_done, &hs, 5000));
  if (client->conn) {
    /* Large enough for the oversize tests' echoes, if any. */
    soup_websocket_connection_set_max_incoming_payload_size (client->conn, 0);
    g_signal_connect (client->conn, "message", G_CALLBACK (on_message), client);
    g_signal_connect (client->conn, "closed", G_CALLBACK (on_closed), client);
  }
  g_object_unref (hs.msg);
  g_free (uri);
  return client;
}

static gboolean
is_closed (TestClient *client, gpointer data)
{
  return client->closed;
}

void
test_client_free (TestClient *client)
{
  if (client->conn) {
    if (soup_websocket_connection_get_state (client->conn) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (client->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    pump_until (client, is_closed, NULL, 2000);
    g_signal_handlers_disconnect_by_data (client->conn, client);
    g_object_unref (client->conn);
  }
  g_object_unref (client->session);
  /* Let libsoup finish closing its sockets. */
  test_client_pump (client, 0);
  g_main_context_unref (client->context);
  g_ptr_array_unref (client->received);
  g_free (client);
}

void
test_client_send (TestClient *client, const char *text)
{
  g_assert_nonnull (client->conn);
  /* libsoup attaches the source that finishes a partial write to the
   * thread-default context: it must be the client's, or a frame larger
   * than the socket buffer never leaves. */
  g_main_context_push_thread_default (client->context);
  soup_websocket_connection_send_text (client->conn, text);
  g_main_context_pop_thread_default (client->context);
  test_client_pump (client, 0);
}

void
test_client_send_take (TestClient *client, char *text)
{
  test_client_send (client, text);
  g_free (text);
}

void
test_client_send_binary (TestClient *client, gconstpointer data, gsize len)
{
  g_assert_nonnull (client->conn);
  g_main_context_push_thread_default (client->context);
  soup_websocket_connection_send_binary (client->conn, data, len);
  g_main_context_pop_thread_default (client->context);
  test_client_pump (client, 0);
}

static gboolean
time_passed (TestClient *client, gpointer data)
{
  return g_get_monotonic_time () >= *(gint64 *) data;
}

void
test_client_pump (TestClient *client, guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  pump_until (client, time_passed, &until, ms + 1000);
}

static gboolean
enough_frames (TestClient *client, gpointer data)
{
  return client->received->len >= GPOINTER_TO_UINT (data);
}

gboolean
test_client_wait_frames (TestClient *client, guint n, guint timeout_ms)
{
  return pump_until (client, enough_frames, GUINT_TO_POINTER (n), timeout_ms);
}

gboolean
test_client_wait_closed (TestClient *client, guint timeout_ms)
{
  return pump_until (client, is_closed, NULL, timeout_ms);
}

GstMessage *
test_client_wait_message (TestClient *client, GstBus *bus, GstMessageType types,
    const char *name, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  GstMessage *msg;

  while (g_get_monotonic_time () < deadline) {
    while ((msg = gst_bus_pop_filtered (bus, types))) {
      if (!name || (gst_message_get_structure (msg)
              && gst_message_has_name (msg, name)))
        return msg;
      gst_message_unref (msg);
    }
    if (client)
      test_client_pump (client, 5);
    else
      g_usleep (5000);
  }
  return NULL;
}

char *
test_twilio_start (void)
{
  const char *const names[] = { "caller", "lang", NULL };
  const char *const values[] = { "+15550100", "fr", NULL };

  return gtr_twilio_build_start (1, TEST_STREAM_SID, TEST_ACCOUNT_SID,
      TEST_CALL_SID, names, values);
}

void
test_audio_pattern (gint64 chunk, guint8 *audio, gsize len)
{
  for (gsize i = 0; i < len; i++)
    audio[i] = (guint8) (chunk * 31 + i * 7);
}

char *
test_twilio_media (gint64 chunk, guint8 *audio_out)
{
  guint8 audio[160];

  test_audio_pattern (chunk, audio, sizeof audio);
  if (audio_out)
    memcpy (audio_out, audio, sizeof audio);
  return gtr_twilio_build_inbound_media (chunk + 1, TEST_STREAM_SID, chunk,
      (chunk - 1) * 20, audio, sizeof audio);
}
