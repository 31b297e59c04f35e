/* embed-call: one phone call, the elements embedded in a GLib application.
 *
 *   twiliosrc ! openairealtime ! queue ! twiliosink
 *
 * built in code, not with gst_parse_launch.  The application
 *   - takes transcripts from the bus (openai-realtime/transcript messages,
 *     on the main loop's thread),
 *   - answers function calls from the "function-call" signal with the
 *     "function-result" action signal (the signal comes on the network
 *     thread: answer at once, never block there),
 *   - ends the call with the "hang-up" action signal after the agent's Nth
 *     final transcript (--hang-up-after),
 *   - reads the elements' "stats" when the call is over.
 * Everything it receives is printed as one JSON object per line on stdout.
 *
 *   OPENAI_API_KEY=sk-… embed-call --port 8080
 *   twilio-call-sim --url ws://127.0.0.1:8080/media …      # or Twilio itself
 *
 * Exit code 0 when the call ended cleanly (EOS), 1 on a pipeline error
 * (message on stderr and an "error" line), 2 on a usage error.
 * docs/embedding.md explains it; tests/embedding runs it. */
#include <gst/gst.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
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
  GstElement *pipeline, *src, *agent, *sink;
  gint hang_up_after;           /* final agent transcripts; 0: never */
  gint agent_finals;
  gboolean hung_up;
  int exit_code;
} App;

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
line_begin (const char *type)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
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
print_message (const char *type, const GstStructure *s)
{
  JsonBuilder *b = line_begin (type);

  gst_structure_foreach (s, add_field, b);
  line_end (b);
}

/* ---- The function call: on the network thread ---- */

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

static void
on_function_call (GstElement *agent, const char *name, const char *call_id,
    const char *arguments, gpointer user_data)
{
  g_autofree char *output = NULL;
  JsonBuilder *b;

  if (g_str_equal (name, "get_weather"))
    output = get_weather (arguments);
  else
    output = g_strdup_printf ("{\"error\":\"no function named %s\"}", name);
  /* Any thread may emit it; the agent speaks with the result. */
  g_signal_emit_by_name (agent, "function-result", call_id, output);

  b = line_begin ("function-call");
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

/* ---- The bus: on the main loop's thread ---- */

static void
hang_up (App *app, const char *reason)
{
  JsonBuilder *b;

  if (app->hung_up)
    return;
  app->hung_up = TRUE;
  /* The agent finishes what it is saying, then EOS; twiliosink posts EOS
   * once Twilio has played it all. */
  g_signal_emit_by_name (app->agent, "hang-up", reason);
  b = line_begin ("hang-up-requested");
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, reason);
  line_end (b);
}

static void
print_stats (App *app)
{
  GstElement *elements[] = { app->src, app->agent, app->sink };
  JsonBuilder *b = line_begin ("stats");

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
on_element_message (App *app, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  const char *name = gst_structure_get_name (s);

  if (g_str_equal (name, "openai-realtime/transcript")) {
    gboolean final = FALSE;

    gst_structure_get_boolean (s, "final", &final);
    if (!final)
      return;                   /* the agent's deltas: only the whole text */
    print_message ("transcript", s);
    if (g_strcmp0 (gst_structure_get_string (s, "role"), "assistant") == 0
        && ++app->agent_finals == app->hang_up_after)
      hang_up (app, "the application is done");
  } else if (g_str_equal (name, "openai-realtime/session")) {
    JsonBuilder *b = line_begin ("session");

    json_builder_set_member_name (b, "input-format");
    json_builder_add_string_value (b, gst_structure_get_string (s, "input-format"));
    json_builder_set_member_name (b, "output-format");
    json_builder_add_string_value (b, gst_structure_get_string (s, "output-format"));
    line_end (b);
  } else if (g_str_equal (name, "twilio/start")) {
    print_message ("call", s);
  } else if (g_str_equal (name, "openai-realtime/hang-up")) {
    print_message ("hang-up", s);
  } else if (g_str_equal (name, "twilio/stop")) {
    print_message ("stop", s);
  } else if (g_str_equal (name, "openai-realtime/error")) {
    print_message ("api-error", s);
  }
}

static void
finish (App *app, int exit_code)
{
  app->exit_code = exit_code;
  g_main_loop_quit (app->loop);
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  App *app = user_data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      on_element_message (app, msg);
      break;
    case GST_MESSAGE_EOS:{
      JsonBuilder *b;

      /* Read before NULL, which resets them. */
      print_stats (app);
      b = line_begin ("end");
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, "eos");
      json_builder_set_member_name (b, "hung-up");
      json_builder_add_boolean_value (b, app->hung_up);
      line_end (b);
      finish (app, 0);
      break;
    }
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;
      JsonBuilder *b = line_begin ("error");

      gst_message_parse_error (msg, &error, &debug);
      json_builder_set_member_name (b, "source");
      json_builder_add_string_value (b, GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)));
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, error->message);
      line_end (b);
      g_printerr ("embed-call: error from %s: %s\n",
          GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), error->message);
      if (debug)
        g_printerr ("embed-call: %s\n", debug);
      finish (app, 1);
      break;
    }
    case GST_MESSAGE_WARNING:{
      g_autoptr (GError) error = NULL;

      gst_message_parse_warning (msg, &error, NULL);
      g_printerr ("embed-call: warning from %s: %s\n",
          GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), error->message);
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* SIGINT/SIGTERM: end the call as the agent would; a second one quits. */
static gboolean
on_signal (gpointer user_data)
{
  App *app = user_data;

  if (app->hung_up) {
    g_printerr ("embed-call: interrupted\n");
    finish (app, 1);
  } else
    hang_up (app, "the application was stopped");
  return G_SOURCE_CONTINUE;
}

/* ---- The pipeline ---- */

static GstElement *
make (const char *factory, const char *name)
{
  GstElement *e = gst_element_factory_make (factory, name);

  if (!e)
    g_printerr ("embed-call: no element %s: is GST_PLUGIN_PATH set to the "
        "plugins (build/plugins)?\n", factory);
  return e;
}

int
main (int argc, char **argv)
{
  App app = { 0 };
  gint port = 8080;
  g_autofree char *uri = NULL, *transcription = NULL, *instructions = NULL;
  GOptionEntry entries[] = {
    {"port", 0, 0, G_OPTION_ARG_INT, &port,
        "Port of the Media Stream WebSocket on 127.0.0.1 (0: any free one; "
          "the \"listening\" line says which)", "N"},
    {"uri", 0, 0, G_OPTION_ARG_STRING, &uri,
        "Realtime API URI (default: OpenAI's)", "URI"},
    {"hang-up-after", 0, 0, G_OPTION_ARG_INT, &app.hang_up_after,
        "Hang up after the agent's Nth final transcript (default 1; 0: "
          "never, the call ends when the caller hangs up)", "N"},
    {"transcription-model", 0, 0, G_OPTION_ARG_STRING, &transcription,
        "Caller transcription model (default gpt-4o-transcribe)", "MODEL"},
    {"instructions", 0, 0, G_OPTION_ARG_STRING, &instructions,
        "The agent's instructions", "TEXT"},
    {NULL}
  };
  g_autoptr (GOptionContext) options = NULL;
  g_autoptr (GError) error = NULL;
  GstElement *queue;
  GstBus *bus;
  guint bus_watch;
  gboolean ran = FALSE;

  app.hang_up_after = 1;
  options = g_option_context_new ("- one phone call through openairealtime");
  g_option_context_add_main_entries (options, entries, NULL);
  g_option_context_add_group (options, gst_init_get_option_group ());
  if (!g_option_context_parse (options, &argc, &argv, &error)) {
    g_printerr ("embed-call: %s (see --help)\n", error->message);
    return 2;
  }
  if (port < 0 || port > 65535 || app.hang_up_after < 0) {
    g_printerr ("embed-call: --port is 0-65535, --hang-up-after 0 or more "
        "(see --help)\n");
    return 2;
  }

  app.pipeline = gst_pipeline_new ("call");
  app.src = make ("twiliosrc", "src");
  app.agent = make ("openairealtime", "agent");
  queue = make ("queue", NULL);
  app.sink = make ("twiliosink", "sink");
  if (!app.src || !app.agent || !queue || !app.sink)
    return 1;
  g_object_set (app.src, "address", "127.0.0.1", "port", port, NULL);
  g_object_set (app.agent, "tools", tools_json,
      "transcription-model", transcription ? transcription : "gpt-4o-transcribe",
      NULL);
  if (uri)
    g_object_set (app.agent, "uri", uri, NULL);
  if (instructions)
    g_object_set (app.agent, "instructions", instructions, NULL);
  /* The key: OPENAI_API_KEY, read by the element (or the "api-key" property). */
  gst_bin_add_many (GST_BIN (app.pipeline), app.src, app.agent, queue,
      app.sink, NULL);
  if (!gst_element_link_many (app.src, app.agent, queue, app.sink, NULL)) {
    g_printerr ("embed-call: could not link the elements\n");
    return 1;
  }
  g_signal_connect (app.agent, "function-call", G_CALLBACK (on_function_call),
      &app);

  app.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (app.pipeline);
  bus_watch = gst_bus_add_watch (bus, on_bus, &app);
  gst_object_unref (bus);
  g_unix_signal_add (SIGINT, on_signal, &app);
  g_unix_signal_add (SIGTERM, on_signal, &app);

  /* twiliosrc listens from READY on: the bound port can be read then. */
  if (gst_element_set_state (app.pipeline, GST_STATE_READY)
      == GST_STATE_CHANGE_FAILURE) {
    app.exit_code = 1;
  } else {
    JsonBuilder *b = line_begin ("listening");
    g_autofree char *url = NULL;

    g_object_get (app.src, "port", &port, NULL);
    url = g_strdup_printf ("ws://127.0.0.1:%d/media", port);
    json_builder_set_member_name (b, "url");
    json_builder_add_string_value (b, url);
    line_end (b);
    if (gst_element_set_state (app.pipeline, GST_STATE_PLAYING)
        == GST_STATE_CHANGE_FAILURE)
      app.exit_code = 1;
    else {
      ran = TRUE;
      g_main_loop_run (app.loop);
    }
  }
  if (!ran) {
    /* a failed state change posted its error: say it */
    while (TRUE) {
      g_autoptr (GstMessage) msg = gst_bus_pop_filtered (
          GST_ELEMENT_BUS (app.pipeline), GST_MESSAGE_ERROR);

      if (!msg)
        break;
      on_bus (NULL, msg, &app);
    }
  }

  /* NULL closes the API session and the WebSocket (1000).  twiliosrc
   * writes the close frame on its network thread after this returns: a
   * program that exits at once may drop the connection before it
   * (docs/embedding.md). */
  gst_element_set_state (app.pipeline, GST_STATE_NULL);
  g_source_remove (bus_watch);
  gst_object_unref (app.pipeline);
  g_main_loop_unref (app.loop);
  return app.exit_code;
}
