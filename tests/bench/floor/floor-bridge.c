/* The floor of the benchmark (docs/performance.md, "The floor"): the
 * reference bridge's logic (tests/bench/reference/bridge.js) in C on the
 * libraries twilio-realtime-server stands on — libsoup 3 for both
 * WebSockets, json-glib for every message, one GLib main loop — and nothing
 * else: no GStreamer, no base64 decode (the payload passes through as text),
 * no checks, no metrics.  What it costs per call is what those libraries
 * cost for the six messages of an echoed frame; the server's cost above it
 * is ours.  Not a product: a measuring stick, built for tests/bench/run only.
 *
 *   floor-bridge --port 0 --realtime-url ws://127.0.0.1:P/v1/realtime
 *
 * Prints "floor-bridge listening on ws://127.0.0.1:PORT/media" once it
 * listens.  The API key comes from OPENAI_API_KEY.  SIGTERM/SIGINT quit. */
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

typedef struct {
  gint refs;
  SoupWebsocketConnection *twilio;
  SoupWebsocketConnection *api;     /* NULL until connected */
  GCancellable *cancel;             /* the API connect */
  JsonParser *parser;
  char *stream_sid;
  guint marks;
} Bridge;

static SoupSession *session;
static const char *realtime_url;
static char *session_update;

static Bridge *
bridge_ref (Bridge *b)
{
  b->refs++;
  return b;
}

static void
bridge_unref (Bridge *b)
{
  if (--b->refs)
    return;
  g_clear_object (&b->twilio);
  g_clear_object (&b->api);
  g_object_unref (b->cancel);
  g_object_unref (b->parser);
  g_free (b->stream_sid);
  g_free (b);
}

static void
bridge_unref_notify (gpointer data, GClosure *closure)
{
  bridge_unref (data);
}

/* The root object of a text message, or NULL. */
static JsonObject *
parse (Bridge *b, GBytes *message)
{
  gsize len;
  const char *text = g_bytes_get_data (message, &len);
  JsonNode *root;

  if (!json_parser_load_from_data (b->parser, text, len, NULL))
    return NULL;
  root = json_parser_get_root (b->parser);
  return root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
}

static void
send_built (SoupWebsocketConnection *ws, JsonBuilder *builder)
{
  JsonNode *root = json_builder_get_root (builder);
  char *text = json_to_string (root, FALSE);

  soup_websocket_connection_send_text (ws, text);
  g_free (text);
  json_node_unref (root);
}

/* {"event": EVENT, "streamSid": SID, EVENT: {MEMBER: VALUE}}: Twilio's shape
 * for both `media` and `mark`. */
static void
send_to_twilio (Bridge *b, const char *event, const char *member, const char *value)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, event);
  json_builder_set_member_name (builder, "streamSid");
  json_builder_add_string_value (builder, b->stream_sid);
  json_builder_set_member_name (builder, event);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, member);
  json_builder_add_string_value (builder, value);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  send_built (b->twilio, builder);
}

static void
on_api_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  Bridge *b = data;
  JsonObject *event = parse (b, message);
  const char *kind = event ? json_object_get_string_member_with_default (event, "type", "") : "";
  g_autofree char *mark = NULL;

  if (!b->stream_sid || g_strcmp0 (kind, "response.output_audio.delta") != 0)
    return;
  send_to_twilio (b, "media", "payload",
      json_object_get_string_member_with_default (event, "delta", ""));
  mark = g_strdup_printf ("m%u", ++b->marks);
  send_to_twilio (b, "mark", "name", mark);
}

static void
on_api_closed (SoupWebsocketConnection *ws, gpointer data)
{
  Bridge *b = data;

  if (soup_websocket_connection_get_state (b->twilio) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (b->twilio, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

static void
api_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  Bridge *b = data;
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *api = soup_session_websocket_connect_finish
      (SOUP_SESSION (source), result, &error);

  if (!api) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      g_printerr ("floor-bridge: API connect: %s\n", error->message);
    on_api_closed (NULL, b);
    bridge_unref (b);
    return;
  }
  b->api = api;
  soup_websocket_connection_set_max_incoming_payload_size (api, 0);
  g_signal_connect (api, "message", G_CALLBACK (on_api_message), b);
  g_signal_connect_data (api, "closed", G_CALLBACK (on_api_closed), bridge_ref (b),
      bridge_unref_notify, 0);
  soup_websocket_connection_send_text (api, session_update);
  bridge_unref (b);
}

static void
on_twilio_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  Bridge *b = data;
  JsonObject *msg = parse (b, message);
  const char *event = msg ? json_object_get_string_member_with_default (msg, "event", "") : "";

  if (g_str_equal (event, "start")) {
    JsonObject *start = json_object_get_object_member (msg, "start");

    if (start && !b->stream_sid)
      b->stream_sid = g_strdup (json_object_get_string_member_with_default (start,
              "streamSid", ""));
  } else if (g_str_equal (event, "media")) {
    JsonObject *media = json_object_get_object_member (msg, "media");
    g_autoptr (JsonBuilder) builder = NULL;

    if (!b->api || !media)
      return;
    builder = json_builder_new ();
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "type");
    json_builder_add_string_value (builder, "input_audio_buffer.append");
    json_builder_set_member_name (builder, "audio");
    json_builder_add_string_value (builder,
        json_object_get_string_member_with_default (media, "payload", ""));
    json_builder_end_object (builder);
    send_built (b->api, builder);
  } else if (g_str_equal (event, "stop")) {
    if (b->api && soup_websocket_connection_get_state (b->api) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (b->api, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  }
}

static void
on_twilio_closed (SoupWebsocketConnection *ws, gpointer data)
{
  Bridge *b = data;

  g_cancellable_cancel (b->cancel);
  if (b->api && soup_websocket_connection_get_state (b->api) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (b->api, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
}

static void
on_media (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *connection, gpointer data)
{
  Bridge *b = g_new0 (Bridge, 1);
  SoupMessage *request = soup_message_new (SOUP_METHOD_GET, realtime_url);
  g_autofree char *auth = g_strconcat ("Bearer ", g_getenv ("OPENAI_API_KEY") ?: "", NULL);

  b->refs = 1;
  b->twilio = g_object_ref (connection);
  b->cancel = g_cancellable_new ();
  b->parser = json_parser_new_immutable ();
  g_signal_connect (connection, "message", G_CALLBACK (on_twilio_message), b);
  /* the server's ref: dropped when the Twilio socket closes */
  g_signal_connect_data (connection, "closed", G_CALLBACK (on_twilio_closed), b,
      bridge_unref_notify, 0);
  soup_message_headers_replace (soup_message_get_request_headers (request),
      "Authorization", auth);
  soup_session_websocket_connect_async (session, request, NULL, NULL, G_PRIORITY_DEFAULT,
      b->cancel, api_connected, bridge_ref (b));
  g_object_unref (request);
}

static gboolean
on_signal (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  gint port = 0;
  g_autofree char *url = NULL;
  const GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "Port on 127.0.0.1 (0: any)", "PORT" },
    { "realtime-url", 0, 0, G_OPTION_ARG_STRING, &url, "The API's WebSocket URL", "URL" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- the benchmark's floor bridge");
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupServer) server = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  GSList *uris;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || !url) {
    g_printerr ("floor-bridge: %s\n", error ? error->message : "--realtime-url is required");
    return 2;
  }
  realtime_url = url;
  /* the reference's session.update: μ-law both ways, the payload passes through */
  session_update = g_strdup ("{\"type\":\"session.update\",\"session\":{\"type\":\"realtime\","
      "\"output_modalities\":[\"audio\"],\"audio\":{\"input\":{\"format\":{\"type\":"
      "\"audio/pcmu\"},\"turn_detection\":{\"type\":\"server_vad\"}},\"output\":{\"format\":"
      "{\"type\":\"audio/pcmu\"},\"voice\":\"marin\"}},\"instructions\":"
      "\"You are a helpful assistant.\"}}");
  session = soup_session_new_with_options ("max-conns", 100000, "max-conns-per-host", 100000,
      NULL);
  server = soup_server_new (NULL, NULL);
  soup_server_remove_websocket_extension (server, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_websocket_handler (server, "/media", NULL, NULL, on_media, NULL, NULL);
  if (!soup_server_listen_local (server, port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error)) {
    g_printerr ("floor-bridge: %s\n", error->message);
    return 1;
  }
  uris = soup_server_get_uris (server);
  g_print ("floor-bridge listening on ws://127.0.0.1:%d/media\n", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_main_loop_run (loop);
  soup_server_disconnect (server);
  g_object_unref (session);
  g_free (session_update);
  return 0;
}
