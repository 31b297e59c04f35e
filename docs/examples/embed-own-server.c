/* embed-own-server: the application runs its own HTTP server and accepts
 * Twilio's Media Stream WebSocket itself; each accepted connection gets a
 * pipeline of its own,
 *
 *   twiliosrc connection=… ! openairealtime ! queue ! twiliosink
 *
 * built in code.  twiliosrc does not listen: the application hands it the
 * SoupWebsocketConnection in its "connection" property (embedded mode).
 *
 * The SoupServer runs on the main thread's GMainContext (the default one,
 * which the GMainLoop below iterates).  twiliosrc takes the connection's
 * context to be the thread-default context of the thread that sets
 * "connection" — here the WebSocket callback, on that same main thread — and
 * reads, writes and closes the WebSocket there for the whole call.  So that
 * loop must keep running until the connection is closed, and nothing on it
 * may block: a blocked main loop is a stalled call.
 *
 * As embed-call does, it prints what it receives (transcripts, function
 * calls answered with "function-result", the hang-up, each call's "stats")
 * as JSON lines on stdout, each with the call's number; it ends a call with
 * the "hang-up" action signal after the agent's Nth final transcript.
 *
 *   OPENAI_API_KEY=sk-… embed-own-server --port 8080
 *   twilio-call-sim --url ws://127.0.0.1:8080/media --calls 2 …
 *
 * Exit code 0 when every call ended cleanly (EOS), 1 when one ended with an
 * error (message on stderr and an "error" line), 2 on a usage error.
 * docs/embedding.md explains it; tests/embedding runs it. */
#include <gst/gst.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>

/* The one function the agent is offered. */
static const char *tools_json =
    "[{\"type\":\"function\",\"name\":\"get_weather\","
    "\"description\":\"The current weather in a city.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":"
    "{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}]";

typedef struct
{
  GMainLoop *loop;
  SoupServer *server;
  char *uri, *transcription, *instructions;
  gint hang_up_after;           /* final agent transcripts; 0: never */
  gint calls_wanted;            /* quit after this many calls; 0: never */
  guint next_id;
  gint calls_over;              /* pipeline gone and WebSocket closed */
  gboolean stopping;
  GList *calls;
  int exit_code;
} App;

/* One call: one connection, one pipeline. */
typedef struct
{
  App *app;
  guint id;
  GstElement *pipeline, *src, *agent, *sink;
  SoupWebsocketConnection *connection;
  guint bus_watch;
  gint agent_finals;
  gboolean hung_up, ended;
} Call;

static GMutex print_lock;       /* lines come from two threads */

/* ---- JSON lines ---- */

static void
print_object (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);

  g_mutex_lock (&print_lock);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  g_mutex_unlock (&print_lock);
}

static void add_structure (JsonBuilder *b, const GstStructure *s);

static gboolean
add_field (GQuark field, const GValue *value, gpointer user_data)
{
  JsonBuilder *b = user_data;

  json_builder_set_member_name (b, g_quark_to_string (field));
  if (G_VALUE_HOLDS_STRING (value))
    json_builder_add_string_value (b, g_value_get_string (value));
  else if (G_VALUE_HOLDS_BOOLEAN (value))
    json_builder_add_boolean_value (b, g_value_get_boolean (value));
  else if (G_VALUE_HOLDS_INT (value))
    json_builder_add_int_value (b, g_value_get_int (value));
  else if (G_VALUE_HOLDS_UINT (value))
    json_builder_add_int_value (b, g_value_get_uint (value));
  else if (G_VALUE_HOLDS_INT64 (value))
    json_builder_add_int_value (b, g_value_get_int64 (value));
  else if (G_VALUE_HOLDS_UINT64 (value))
    json_builder_add_int_value (b, (gint64) g_value_get_uint64 (value));
  else if (GST_VALUE_HOLDS_STRUCTURE (value))
    add_structure (b, gst_value_get_structure (value));
  else {
    g_autofree char *text = gst_value_serialize (value);

    json_builder_add_string_value (b, text ? text : "");
  }
  return TRUE;
}

/* A GstStructure as a JSON object of its fields. */
static void
add_structure (JsonBuilder *b, const GstStructure *s)
{
  json_builder_begin_object (b);
  if (s)
    gst_structure_foreach (s, add_field, b);
  json_builder_end_object (b);
}

static JsonBuilder *
line_begin (const char *type, guint call)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  if (call) {
    json_builder_set_member_name (b, "call");
    json_builder_add_int_value (b, call);
  }
  return b;
}

static void
line_end (JsonBuilder *b)
{
  json_builder_end_object (b);
  print_object (b);
  g_object_unref (b);
}

/* A line with the fields of an element message, e.g. a transcript. */
static void
print_message (const char *type, guint call, const GstStructure *s)
{
  JsonBuilder *b = line_begin (type, call);

  gst_structure_foreach (s, add_field, b);
  line_end (b);
}

/* ---- The function call's answer ---- */

/* Whatever the application's function does; here, a fixed answer. */
static char *
get_weather (const char *arguments)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *city = "unknown";
  JsonNode *root;

  if (json_parser_load_from_data (parser, arguments, -1, NULL)
      && (root = json_parser_get_root (parser)) && JSON_NODE_HOLDS_OBJECT (root))
    city = json_object_get_string_member_with_default (
        json_node_get_object (root), "city", city);
  return g_strdup_printf ("{\"city\":\"%s\",\"temperature_c\":21,"
      "\"conditions\":\"sunny\"}", city);
}

/* ---- The function call: on the network thread ---- */

static void
on_function_call (GstElement *agent, const char *name, const char *call_id,
    const char *arguments, gpointer user_data)
{
  Call *call = user_data;
  g_autofree char *output = NULL;
  JsonBuilder *b;

  if (g_str_equal (name, "get_weather"))
    output = get_weather (arguments);
  else
    output = g_strdup_printf ("{\"error\":\"no function named %s\"}", name);
  /* Any thread may emit it; the agent speaks with the result. */
  g_signal_emit_by_name (agent, "function-result", call_id, output);

  b = line_begin ("function-call", call->id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "call-id");
  json_builder_add_string_value (b, call_id);
  json_builder_set_member_name (b, "arguments");
  json_builder_add_string_value (b, arguments);
  json_builder_set_member_name (b, "output");
  json_builder_add_string_value (b, output);
  line_end (b);
}

/* ---- A call's end: on the main thread ---- */

static void
hang_up (Call *call, const char *reason)
{
  JsonBuilder *b;

  if (call->hung_up || call->ended)
    return;
  call->hung_up = TRUE;
  /* The agent finishes what it is saying, then EOS; twiliosink posts EOS
   * once Twilio has played it all. */
  g_signal_emit_by_name (call->agent, "hang-up", reason);
  b = line_begin ("hang-up-requested", call->id);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, reason);
  line_end (b);
}

static void
print_stats (Call *call)
{
  GstElement *elements[] = { call->src, call->agent, call->sink };
  JsonBuilder *b = line_begin ("stats", call->id);

  for (guint i = 0; i < G_N_ELEMENTS (elements); i++) {
    GstStructure *stats = NULL;

    g_object_get (elements[i], "stats", &stats, NULL);
    json_builder_set_member_name (b,
        gst_plugin_feature_get_name (gst_element_get_factory (elements[i])));
    add_structure (b, stats);
    if (stats)
      gst_structure_free (stats);
  }
  line_end (b);
}

static void
maybe_quit (App *app)
{
  if (app->calls_wanted && app->calls_over >= app->calls_wanted)
    app->stopping = TRUE;
  if (app->stopping && app->calls == NULL)
    g_main_loop_quit (app->loop);
}

/* The call is over once its WebSocket is closed: the close handshake runs
 * on this thread's context, after the pipeline is gone. */
static void
call_free (Call *call)
{
  App *app = call->app;

  app->calls = g_list_remove (app->calls, call);
  app->calls_over++;
  g_signal_handlers_disconnect_by_data (call->connection, call);
  g_object_unref (call->connection);
  g_free (call);
  maybe_quit (app);
}

static void
on_connection_closed (SoupWebsocketConnection *connection, gpointer user_data)
{
  Call *call = user_data;

  if (call->ended)
    call_free (call);
}

/* EOS or error: stats, then NULL, which closes the WebSocket (1000). */
static void
call_end (Call *call, const char *reason, int exit_code)
{
  JsonBuilder *b;

  if (call->ended)
    return;
  call->ended = TRUE;
  if (exit_code)
    call->app->exit_code = exit_code;
  print_stats (call);           /* read before NULL, which resets them */
  b = line_begin ("end", call->id);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, reason);
  json_builder_set_member_name (b, "hung-up");
  json_builder_add_boolean_value (b, call->hung_up);
  line_end (b);

  gst_element_set_state (call->pipeline, GST_STATE_NULL);
  g_source_remove (call->bus_watch);
  gst_object_unref (call->pipeline);
  call->pipeline = call->src = call->agent = call->sink = NULL;
  if (soup_websocket_connection_get_state (call->connection)
      == SOUP_WEBSOCKET_STATE_CLOSED)
    call_free (call);
  /* else on_connection_closed, when the close handshake is done (libsoup
   * bounds it) */
}

static void
on_element_message (Call *call, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  const char *name = gst_structure_get_name (s);

  if (g_str_equal (name, "openai-realtime/transcript")) {
    gboolean final = FALSE;

    gst_structure_get_boolean (s, "final", &final);
    if (!final)
      return;                   /* the agent's deltas: only the whole text */
    print_message ("transcript", call->id, s);
    if (g_strcmp0 (gst_structure_get_string (s, "role"), "assistant") == 0
        && ++call->agent_finals == call->app->hang_up_after)
      hang_up (call, "the application is done");
  } else if (g_str_equal (name, "openai-realtime/session")) {
    JsonBuilder *b = line_begin ("session", call->id);

    json_builder_set_member_name (b, "input-format");
    json_builder_add_string_value (b, gst_structure_get_string (s, "input-format"));
    json_builder_set_member_name (b, "output-format");
    json_builder_add_string_value (b, gst_structure_get_string (s, "output-format"));
    line_end (b);
  } else if (g_str_equal (name, "twilio/start")) {
    print_message ("call", call->id, s);
  } else if (g_str_equal (name, "openai-realtime/hang-up")) {
    print_message ("hang-up", call->id, s);
  } else if (g_str_equal (name, "twilio/stop")) {
    print_message ("stop", call->id, s);
  } else if (g_str_equal (name, "openai-realtime/error")) {
    print_message ("api-error", call->id, s);
  }
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  Call *call = user_data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      on_element_message (call, msg);
      break;
    case GST_MESSAGE_EOS:
      call_end (call, "eos", 0);
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;
      JsonBuilder *b = line_begin ("error", call->id);

      gst_message_parse_error (msg, &error, &debug);
      json_builder_set_member_name (b, "source");
      json_builder_add_string_value (b, GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)));
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, error->message);
      line_end (b);
      g_printerr ("embed-own-server: call %u: error from %s: %s\n", call->id,
          GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), error->message);
      if (debug)
        g_printerr ("embed-own-server: %s\n", debug);
      call_end (call, "error", 1);
      return G_SOURCE_REMOVE;
    }
    case GST_MESSAGE_WARNING:{
      g_autoptr (GError) error = NULL;

      gst_message_parse_warning (msg, &error, NULL);
      g_printerr ("embed-own-server: call %u: warning from %s: %s\n",
          call->id, GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), error->message);
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* ---- A call's start: the WebSocket callback, on the main thread ---- */

static gboolean
build_pipeline (Call *call)
{
  App *app = call->app;
  g_autofree char *name = g_strdup_printf ("call-%u", call->id);
  GstElement *queue;
  GstBus *bus;

  call->pipeline = gst_pipeline_new (name);
  call->src = gst_element_factory_make ("twiliosrc", NULL);
  call->agent = gst_element_factory_make ("openairealtime", NULL);
  queue = gst_element_factory_make ("queue", NULL);
  call->sink = gst_element_factory_make ("twiliosink", NULL);
  if (!call->src || !call->agent || !queue || !call->sink) {
    g_printerr ("embed-own-server: the elements are missing: is "
        "GST_PLUGIN_PATH set to the plugins (build/plugins)?\n");
    gst_clear_object (&call->src);
    gst_clear_object (&call->agent);
    gst_clear_object (&queue);
    gst_clear_object (&call->sink);
    gst_clear_object (&call->pipeline);
    return FALSE;
  }
  g_object_set (call->agent, "tools", tools_json, "transcription-model",
      app->transcription ? app->transcription : "gpt-4o-transcribe", NULL);
  if (app->uri)
    g_object_set (call->agent, "uri", app->uri, NULL);
  if (app->instructions)
    g_object_set (call->agent, "instructions", app->instructions, NULL);
  gst_bin_add_many (GST_BIN (call->pipeline), call->src, call->agent, queue,
      call->sink, NULL);
  if (!gst_element_link_many (call->src, call->agent, queue, call->sink, NULL)) {
    g_printerr ("embed-own-server: could not link the elements\n");
    gst_clear_object (&call->pipeline);
    return FALSE;
  }
  g_signal_connect (call->agent, "function-call",
      G_CALLBACK (on_function_call), call);
  bus = gst_element_get_bus (call->pipeline);
  call->bus_watch = gst_bus_add_watch (bus, on_bus, call);
  gst_object_unref (bus);
  return TRUE;
}

static void
on_media_stream (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *connection, gpointer user_data)
{
  App *app = user_data;
  Call *call;
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  g_autofree char *remote_text = remote
      ? g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote)) : NULL;
  JsonBuilder *b;

  if (app->stopping) {
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
        "shutting down");
    return;
  }
  call = g_new0 (Call, 1);
  call->app = app;
  call->id = ++app->next_id;
  call->connection = g_object_ref (connection);
  b = line_begin ("accepted", call->id);
  json_builder_set_member_name (b, "remote");
  json_builder_add_string_value (b, remote_text ? remote_text : "");
  line_end (b);
  if (!build_pipeline (call)) {
    app->exit_code = 1;
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR,
        NULL);
    g_object_unref (call->connection);
    g_free (call);
    return;
  }
  app->calls = g_list_prepend (app->calls, call);
  g_signal_connect (connection, "closed", G_CALLBACK (on_connection_closed), call);
  /* Here, on the thread running the server's context: twiliosrc reads the
   * connection there.  The element refs it; frames that arrive before
   * PLAYING are queued. */
  g_object_set (call->src, "connection", connection, NULL);
  if (gst_element_set_state (call->pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    g_printerr ("embed-own-server: call %u: the pipeline did not start\n",
        call->id);
    /* its ERROR message is on the bus: on_bus ends the call */
  }
}

/* SIGINT/SIGTERM: hang up every call as the agent would; no new ones; a
 * second signal quits. */
static gboolean
on_signal (gpointer user_data)
{
  App *app = user_data;

  if (app->stopping) {
    g_printerr ("embed-own-server: interrupted\n");
    app->exit_code = 1;
    g_main_loop_quit (app->loop);
    return G_SOURCE_CONTINUE;
  }
  app->stopping = TRUE;
  for (GList *l = app->calls; l; l = l->next)
    hang_up (l->data, "the application was stopped");
  maybe_quit (app);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  App app = { 0 };
  gint port = 8080;
  GOptionEntry entries[] = {
    {"port", 0, 0, G_OPTION_ARG_INT, &port,
        "Port of the HTTP server on 127.0.0.1 (0: any free one; the "
          "\"listening\" line says which)", "N"},
    {"uri", 0, 0, G_OPTION_ARG_STRING, &app.uri,
        "Realtime API URI (default: OpenAI's)", "URI"},
    {"hang-up-after", 0, 0, G_OPTION_ARG_INT, &app.hang_up_after,
        "Hang up after the agent's Nth final transcript of a call (default "
          "1; 0: never, a call ends when the caller hangs up)", "N"},
    {"calls", 0, 0, G_OPTION_ARG_INT, &app.calls_wanted,
        "Exit once this many calls are over (default 0: run until SIGINT "
          "or SIGTERM)", "N"},
    {"transcription-model", 0, 0, G_OPTION_ARG_STRING, &app.transcription,
        "Caller transcription model (default gpt-4o-transcribe)", "MODEL"},
    {"instructions", 0, 0, G_OPTION_ARG_STRING, &app.instructions,
        "The agent's instructions", "TEXT"},
    {NULL}
  };
  g_autoptr (GOptionContext) options = NULL;
  g_autoptr (GError) error = NULL;
  GSList *uris;
  JsonBuilder *b;
  g_autofree char *url = NULL;

  app.hang_up_after = 1;
  options = g_option_context_new ("- a Media Stream server, one pipeline per call");
  g_option_context_add_main_entries (options, entries, NULL);
  g_option_context_add_group (options, gst_init_get_option_group ());
  if (!g_option_context_parse (options, &argc, &argv, &error)) {
    g_printerr ("embed-own-server: %s (see --help)\n", error->message);
    return 2;
  }
  if (port < 0 || port > 65535 || app.hang_up_after < 0 || app.calls_wanted < 0) {
    g_printerr ("embed-own-server: --port is 0-65535, --hang-up-after and "
        "--calls 0 or more (see --help)\n");
    return 2;
  }

  /* On the default context, which the main loop runs: the callbacks (and
   * so every call's WebSocket) are on this thread. */
  app.loop = g_main_loop_new (NULL, FALSE);
  app.server = soup_server_new ("server-header", "embed-own-server ", NULL);
  /* A real server checks X-Twilio-Signature here, in an early handler for
   * /media, before the upgrade (docs/twilio-elements.md). */
  soup_server_add_websocket_handler (app.server, "/media", NULL, NULL,
      on_media_stream, &app, NULL);
  {
    g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, port);

    if (!soup_server_listen (app.server, address, 0, &error)) {
      g_printerr ("embed-own-server: cannot listen on 127.0.0.1:%d: %s\n",
          port, error->message);
      return 1;
    }
  }
  uris = soup_server_get_uris (app.server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  url = g_strdup_printf ("ws://127.0.0.1:%d/media", port);
  b = line_begin ("listening", 0);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, url);
  line_end (b);

  g_unix_signal_add (SIGINT, on_signal, &app);
  g_unix_signal_add (SIGTERM, on_signal, &app);
  g_main_loop_run (app.loop);

  /* a second signal: calls still running are torn down */
  while (app.calls) {
    Call *call = app.calls->data;

    if (!call->ended)
      call_end (call, "interrupted", 1);
    if (g_list_find (app.calls, call))
      call_free (call);
  }
  soup_server_disconnect (app.server);
  g_object_unref (app.server);
  g_main_loop_unref (app.loop);
  g_free (app.uri);
  g_free (app.transcription);
  g_free (app.instructions);
  return app.exit_code;
}
