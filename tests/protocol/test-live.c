/* Tests of the GPT-Live half of src/protocol: every builder's output read
 * back with json-glib (and compared with the shared client examples), every
 * line of the shared server-examples.jsonl parsed, each server event type's
 * fields, malformed input rejected with its code and the field named, and
 * unknown event types kept.  live-check-schema.py validates the builders'
 * output against the strict schema separately.
 */
#include "gtr-protocol.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

static JsonNode *
parse_json (const char *text)
{
  GError *error = NULL;
  JsonNode *node;

  g_assert_nonnull (text);
  node = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return node;
}

/* The node at a dotted path ("session.audio.format.type"; array elements
 * by index: "session.input.0.role"); NULL if absent. */
static JsonNode *
node_at (JsonNode *root, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonNode *node = root;

  for (guint i = 0; parts[i] != NULL && node != NULL; i++) {
    if (JSON_NODE_HOLDS_OBJECT (node)) {
      node = json_object_get_member (json_node_get_object (node), parts[i]);
    } else if (JSON_NODE_HOLDS_ARRAY (node)) {
      JsonArray *array = json_node_get_array (node);
      guint idx = (guint) g_ascii_strtoull (parts[i], NULL, 10);
      node = idx < json_array_get_length (array) ? json_array_get_element (array, idx) : NULL;
    } else {
      node = NULL;
    }
  }
  return node;
}

static void
assert_string_at (JsonNode *root, const char *path, const char *expected)
{
  JsonNode *node = node_at (root, path);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    g_error ("%s: expected the string \"%s\"", path, expected);
  g_assert_cmpstr (json_node_get_string (node), ==, expected);
}

static void
assert_int_at (JsonNode *root, const char *path, gint64 expected)
{
  JsonNode *node = node_at (root, path);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    g_error ("%s: expected the integer %" G_GINT64_FORMAT, path, expected);
  g_assert_cmpint (json_node_get_int (node), ==, expected);
}

static void
assert_bool_at (JsonNode *root, const char *path, gboolean expected)
{
  JsonNode *node = node_at (root, path);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    g_error ("%s: expected a boolean", path);
  g_assert_cmpint (json_node_get_boolean (node), ==, expected);
}

static void
assert_null_at (JsonNode *root, const char *path)
{
  JsonNode *node = node_at (root, path);

  if (node == NULL || !JSON_NODE_HOLDS_NULL (node))
    g_error ("%s: expected null", path);
}

static void
assert_absent (JsonNode *root, const char *path)
{
  if (node_at (root, path) != NULL)
    g_error ("%s: expected no such field", path);
}

static guint
size_at (JsonNode *root, const char *path)
{
  JsonNode *node = path[0] ? node_at (root, path) : root;

  g_assert_nonnull (node);
  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_array_get_length (json_node_get_array (node));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_get_size (json_node_get_object (node));
}

/* The lines of tests/data/openai-live/NAME. */
static GStrv
read_examples (const char *name)
{
  const char *dir = g_getenv ("GTR_TESTS_DATA");
  g_autofree char *path = NULL, *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) lines = g_ptr_array_new ();
  g_auto (GStrv) all = NULL;

  g_assert_nonnull (dir);
  path = g_build_filename (dir, "openai-live", name, NULL);
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  all = g_strsplit (contents, "\n", -1);
  for (guint i = 0; all[i] != NULL; i++) {
    if (all[i][0] != '\0')
      g_ptr_array_add (lines, g_strdup (all[i]));
  }
  g_assert_cmpuint (lines->len, >, 0);
  g_ptr_array_add (lines, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&lines), FALSE);
}

/* The client example whose type is `type`. */
static const char *
client_example (GStrv examples, const char *type)
{
  g_autofree char *needle = g_strdup_printf ("{\"type\":\"%s\"", type);

  for (guint i = 0; examples[i] != NULL; i++) {
    if (g_str_has_prefix (examples[i], needle))
      return examples[i];
  }
  g_error ("no client example of type %s", type);
  return NULL;
}

static void
drop_member (JsonNode *root, const char *member)
{
  json_object_remove_member (json_node_get_object (root), member);
}

/* `built` equals `expected` but for event_id (ours are generated). */
static void
assert_same_event (const char *built, const char *expected)
{
  g_autoptr (JsonNode) a = parse_json (built);
  g_autoptr (JsonNode) b = parse_json (expected);

  drop_member (a, "event_id");
  drop_member (b, "event_id");
  if (!json_node_equal (a, b))
    g_error ("built %s\nexpected %s", built, expected);
}

/* Checks `text` carries `id` as its event_id, then frees both. */
static void
assert_event_id (const char *text, char *id)
{
  g_autoptr (JsonNode) root = parse_json (text);

  g_assert_nonnull (id);
  g_assert_true (g_str_has_prefix (id, "evt_"));
  assert_string_at (root, "event_id", id);
  g_free (id);
}

static void
assert_build_fails (const GtrLiveSessionConfig *c, GtrProtocolError code, const char *field)
{
  g_autoptr (GError) error = NULL;
  char *text = gtr_live_build_session_start (c, NULL, &error);

  if (text != NULL)
    g_error ("built %s, expected %s naming %s", text, gtr_protocol_error_code_name (code), field);
  g_assert_error (error, GTR_PROTOCOL_ERROR, (gint) code);
  if (strstr (error->message, field) == NULL)
    g_error ("\"%s\" does not name %s", error->message, field);
}

/* ------------------------------------------------------------------ */
/* Formats                                                              */

static void
test_formats (void)
{
  g_autofree char *d = NULL;

  g_assert_cmpstr (gtr_live_audio_format_type_name (GTR_LIVE_FORMAT_PCMU), ==, "audio/pcmu");
  g_assert_cmpstr (gtr_live_audio_format_type_name (GTR_LIVE_FORMAT_PCMA), ==, "audio/pcma");
  g_assert_cmpstr (gtr_live_audio_format_type_name (GTR_LIVE_FORMAT_PCM16K), ==, "audio/pcm");
  g_assert_cmpstr (gtr_live_audio_format_type_name (GTR_LIVE_FORMAT_PCM24K), ==, "audio/pcm");
  g_assert_null (gtr_live_audio_format_type_name (GTR_LIVE_FORMAT_UNSET));
  g_assert_null (gtr_live_audio_format_type_name ((GtrLiveAudioFormat) 42));
  g_assert_cmpuint (gtr_live_audio_format_rate (GTR_LIVE_FORMAT_PCMU), ==, 8000);
  g_assert_cmpuint (gtr_live_audio_format_rate (GTR_LIVE_FORMAT_PCM16K), ==, 16000);
  g_assert_cmpuint (gtr_live_audio_format_rate (GTR_LIVE_FORMAT_PCM24K), ==, 24000);
  g_assert_cmpuint (gtr_live_audio_format_rate (GTR_LIVE_FORMAT_UNSET), ==, 0);
  g_assert_cmpuint (gtr_live_audio_format_bytes_per_ms (GTR_LIVE_FORMAT_PCMA), ==, 8);
  g_assert_cmpuint (gtr_live_audio_format_bytes_per_ms (GTR_LIVE_FORMAT_PCM16K), ==, 32);
  g_assert_cmpuint (gtr_live_audio_format_bytes_per_ms (GTR_LIVE_FORMAT_PCM24K), ==, 48);
  g_assert_cmpuint (gtr_live_audio_format_bytes_per_ms (GTR_LIVE_FORMAT_UNSET), ==, 0);
  d = gtr_live_audio_format_describe (GTR_LIVE_FORMAT_PCM16K);
  g_assert_cmpstr (d, ==, "audio/pcm 16000 Hz");
  g_clear_pointer (&d, g_free);
  d = gtr_live_audio_format_describe (GTR_LIVE_FORMAT_UNSET);
  g_assert_cmpstr (d, ==, "unset");

  /* Exactly the schema's pairs. */
  g_assert_cmpint (gtr_live_audio_format_from_type_rate ("audio/pcmu", 8000), ==, GTR_LIVE_FORMAT_PCMU);
  g_assert_cmpint (gtr_live_audio_format_from_type_rate ("audio/pcma", 8000), ==, GTR_LIVE_FORMAT_PCMA);
  g_assert_cmpint (gtr_live_audio_format_from_type_rate ("audio/pcm", 16000), ==, GTR_LIVE_FORMAT_PCM16K);
  g_assert_cmpint (gtr_live_audio_format_from_type_rate ("audio/pcm", 24000), ==, GTR_LIVE_FORMAT_PCM24K);
  g_assert_cmpint (gtr_live_audio_format_from_type_rate ("audio/pcmu", 16000), ==, GTR_LIVE_FORMAT_UNSET);
  g_assert_cmpint (gtr_live_audio_format_from_type_rate ("audio/pcm", 8000), ==, GTR_LIVE_FORMAT_UNSET);
  g_assert_cmpint (gtr_live_audio_format_from_type_rate ("audio/pcm", 48000), ==, GTR_LIVE_FORMAT_UNSET);
  g_assert_cmpint (gtr_live_audio_format_from_type_rate ("audio/pcm", -1), ==, GTR_LIVE_FORMAT_UNSET);
  g_assert_cmpint (gtr_live_audio_format_from_type_rate ("audio/opus", 24000), ==, GTR_LIVE_FORMAT_UNSET);
  g_assert_cmpint (gtr_live_audio_format_from_type_rate (NULL, 8000), ==, GTR_LIVE_FORMAT_UNSET);
}

/* ------------------------------------------------------------------ */
/* session.start                                                        */

static void
test_start_minimal (void)
{
  GtrLiveSessionConfig c;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  char *id = NULL, *text;

  gtr_live_session_config_init (&c);
  c.model = g_strdup ("gpt-live-1");
  text = gtr_live_build_session_start (&c, &id, &error);
  g_assert_no_error (error);
  root = parse_json (text);
  assert_string_at (root, "type", "session.start");
  assert_string_at (root, "session.model", "gpt-live-1");
  /* Nothing unset leaks in: no audio, no delegation, no store, no input. */
  g_assert_cmpuint (size_at (root, ""), ==, 3);
  g_assert_cmpuint (size_at (root, "session"), ==, 1);
  assert_event_id (text, id);
  g_free (text);

  /* Blank instructions are unset (the server default applies either way). */
  c.instructions = g_strdup ("");
  text = gtr_live_build_session_start (&c, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&root, json_node_unref);
  root = parse_json (text);
  assert_absent (root, "session.instructions");
  g_free (text);
  gtr_live_session_config_clear (&c);
}

/* The shared example: μ-law 8 kHz, voice marin, client delegation. */
static void
test_start_example (void)
{
  g_auto (GStrv) examples = read_examples ("client-examples.jsonl");
  GtrLiveSessionConfig c;
  g_autoptr (GError) error = NULL;
  char *text;

  gtr_live_session_config_init (&c);
  c.model = g_strdup ("gpt-live-1");
  c.instructions = g_strdup ("You answer phone calls for Acme Plumbing. Speak briefly. "
      "If the caller asks for something you cannot do, say so.");
  c.format = GTR_LIVE_FORMAT_PCMU;
  c.voice = g_strdup ("marin");
  c.delegation = GTR_LIVE_DELEGATION_CLIENT;
  text = gtr_live_build_session_start (&c, NULL, &error);
  g_assert_no_error (error);
  assert_same_event (text, client_example (examples, "session.start"));
  g_free (text);
  gtr_live_session_config_clear (&c);
}

static void
test_start_full (void)
{
  GtrLiveSessionConfig c;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  char *text;

  gtr_live_session_config_init (&c);
  c.model = g_strdup ("gpt-live-1.1");
  c.instructions = g_strdup ("Be \"brief\".\n");
  c.format = GTR_LIVE_FORMAT_PCM16K;
  c.custom_voice_id = g_strdup ("voice_123");
  c.store = 0;
  gtr_live_session_config_add_input (&c, GTR_LIVE_ROLE_DEVELOPER, "Greet the caller: Acme Plumbing, hello!");
  gtr_live_session_config_add_input (&c, GTR_LIVE_ROLE_USER, "Hi");
  gtr_live_session_config_add_input (&c, GTR_LIVE_ROLE_ASSISTANT, "Hello, how can I help?");
  c.delegation = GTR_LIVE_DELEGATION_RESPONSES;
  c.responses.model = g_strdup ("gpt-5.2");
  c.responses.instructions = g_strdup ("Book appointments.");
  c.responses.tools_json = g_strdup ("[{\"type\":\"function\",\"name\":\"book\","
      "\"description\":\"Book a slot\",\"parameters\":{\"type\":\"object\"},\"strict\":true},"
      "{\"type\":\"web_search\"},{\"type\":\"shell\",\"environment\":{\"type\":\"container_auto\"}}]");
  c.responses.tool_choice = g_strdup ("book");
  text = gtr_live_build_session_start (&c, NULL, &error);
  g_assert_no_error (error);
  root = parse_json (text);
  assert_string_at (root, "session.model", "gpt-live-1.1");
  assert_string_at (root, "session.instructions", "Be \"brief\".\n");
  assert_string_at (root, "session.audio.format.type", "audio/pcm");
  assert_int_at (root, "session.audio.format.rate", 16000);
  assert_string_at (root, "session.audio.output.voice.id", "voice_123");
  g_assert_cmpuint (size_at (root, "session.audio.output.voice"), ==, 1);
  assert_bool_at (root, "session.store", FALSE);
  g_assert_cmpuint (size_at (root, "session.input"), ==, 3);
  assert_string_at (root, "session.input.0.type", "message");
  assert_string_at (root, "session.input.0.role", "developer");
  assert_string_at (root, "session.input.0.content.0.type", "input_text");
  assert_string_at (root, "session.input.0.content.0.text", "Greet the caller: Acme Plumbing, hello!");
  assert_string_at (root, "session.input.1.role", "user");
  assert_string_at (root, "session.input.1.content.0.type", "input_text");
  assert_string_at (root, "session.input.2.role", "assistant");
  assert_string_at (root, "session.input.2.content.0.type", "output_text");
  assert_string_at (root, "session.delegation.type", "responses");
  assert_string_at (root, "session.delegation.responses.model", "gpt-5.2");
  assert_string_at (root, "session.delegation.responses.instructions", "Book appointments.");
  g_assert_cmpuint (size_at (root, "session.delegation.responses.tools"), ==, 3);
  assert_string_at (root, "session.delegation.responses.tools.0.name", "book");
  assert_bool_at (root, "session.delegation.responses.tools.0.strict", TRUE);
  assert_string_at (root, "session.delegation.responses.tool_choice.type", "function");
  assert_string_at (root, "session.delegation.responses.tool_choice.name", "book");
  g_free (text);

  /* store true; a voice name; tool_choice as a mode. */
  g_clear_pointer (&c.custom_voice_id, g_free);
  c.voice = g_strdup ("cedar");
  c.store = 1;
  g_free (c.responses.tool_choice);
  c.responses.tool_choice = g_strdup ("required");
  text = gtr_live_build_session_start (&c, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&root, json_node_unref);
  root = parse_json (text);
  assert_string_at (root, "session.audio.output.voice", "cedar");
  assert_bool_at (root, "session.store", TRUE);
  assert_string_at (root, "session.delegation.responses.tool_choice", "required");
  g_free (text);
  gtr_live_session_config_clear (&c);
}

static void
test_start_formats (void)
{
  static const struct { GtrLiveAudioFormat f; const char *type; gint rate; } cases[] = {
    { GTR_LIVE_FORMAT_PCMU, "audio/pcmu", 8000 },
    { GTR_LIVE_FORMAT_PCMA, "audio/pcma", 8000 },
    { GTR_LIVE_FORMAT_PCM16K, "audio/pcm", 16000 },
    { GTR_LIVE_FORMAT_PCM24K, "audio/pcm", 24000 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    GtrLiveSessionConfig c;
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = NULL;
    char *text;

    gtr_live_session_config_init (&c);
    c.model = g_strdup ("gpt-live-1");
    c.format = cases[i].f;
    text = gtr_live_build_session_start (&c, NULL, &error);
    g_assert_no_error (error);
    root = parse_json (text);
    assert_string_at (root, "session.audio.format.type", cases[i].type);
    /* rate is required for every type, G.711 included. */
    assert_int_at (root, "session.audio.format.rate", cases[i].rate);
    g_assert_cmpuint (size_at (root, "session.audio"), ==, 1);
    g_free (text);
    gtr_live_session_config_clear (&c);
  }
}

static void
test_start_rejects (void)
{
  GtrLiveSessionConfig c;
  static const struct { const char *tools; const char *why; } bad_tools[] = {
    { "not json", "not JSON" },
    { "{\"type\":\"web_search\"}", "not a JSON array" },
    { "[1]", "tool 0 is a number" },
    { "[{\"name\":\"x\"}]", "no string \"type\"" },
    /* The Chat Completions shape: a nested "function" object. */
    { "[{\"type\":\"function\",\"function\":{\"name\":\"x\"}}]", "no field \"function\"" },
    { "[{\"type\":\"function\"}]", "needs a string \"name\"" },
    { "[{\"type\":\"function\",\"name\":\"x\",\"strict\":\"yes\"}]", "\"strict\" is a string" },
    { "[{\"type\":\"function\",\"name\":\"x\",\"parameters\":[]}]", "\"parameters\" is an array" },
    { "[{\"type\":\"web_search\",\"filters\":{}}]", "web_search has no field" },
    { "[{\"type\":\"shell\"}]", "environment" },
    { "[{\"type\":\"web_search\"},{\"type\":\"mcp\"}]", "tool 1: type \"mcp\"" },
  };

  gtr_live_session_config_init (&c);
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_MISSING_FIELD, "session.model");
  c.model = g_strdup ("");
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_MISSING_FIELD, "session.model");
  g_free (c.model);
  c.model = g_strdup ("gpt-live-1");

  c.format = (GtrLiveAudioFormat) 42;
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.audio.format");
  c.format = GTR_LIVE_FORMAT_PCMU;

  c.voice = g_strdup ("marin");
  c.custom_voice_id = g_strdup ("v1");
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.audio.output.voice");
  g_clear_pointer (&c.custom_voice_id, g_free);

  c.store = 2;
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.store");
  c.store = -1;

  c.delegation = (GtrLiveDelegation) 9;
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.delegation");
  c.delegation = GTR_LIVE_DELEGATION_RESPONSES;
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_MISSING_FIELD, "session.delegation.responses.model");
  c.responses.model = g_strdup ("gpt-5.2");

  for (guint i = 0; i < G_N_ELEMENTS (bad_tools); i++) {
    g_autoptr (GError) error = NULL;
    char *text;

    g_free (c.responses.tools_json);
    c.responses.tools_json = g_strdup (bad_tools[i].tools);
    text = gtr_live_build_session_start (&c, NULL, &error);
    if (text != NULL)
      g_error ("tools %s built %s", bad_tools[i].tools, text);
    g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE);
    g_assert_true (g_str_has_prefix (error->message, "session.delegation.responses.tools: "));
    if (strstr (error->message, bad_tools[i].why) == NULL)
      g_error ("tools %s: \"%s\" does not say %s", bad_tools[i].tools, error->message, bad_tools[i].why);
  }
  g_clear_pointer (&c.responses.tools_json, g_free);

  c.responses.tool_choice = g_strdup ("");
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.delegation.responses.tool_choice");
  g_clear_pointer (&c.responses.tool_choice, g_free);

  for (guint i = 0; i < 129; i++)
    gtr_live_session_config_add_input (&c, GTR_LIVE_ROLE_USER, "x");
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.input");
  g_ptr_array_set_size (c.input, 128);
  {
    g_autoptr (GError) error = NULL;
    char *text = gtr_live_build_session_start (&c, NULL, &error);

    g_assert_no_error (error);
    g_free (text);
  }
  gtr_live_session_config_add_input (&c, (GtrLiveRole) 7, "x");
  g_ptr_array_remove_index (c.input, 0);
  assert_build_fails (&c, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.input");
  gtr_live_session_config_clear (&c);
}

/* ------------------------------------------------------------------ */
/* session.update                                                       */

static void
test_update (void)
{
  GtrLiveResponsesConfig r;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  char *id = NULL, *text;

  gtr_live_responses_config_init (&r);
  text = gtr_live_build_session_update (&r, NULL, &error);
  g_assert_null (text);
  g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE);
  g_assert_nonnull (strstr (error->message, "session.delegation.responses"));
  g_clear_error (&error);

  /* Sparse: only the instructions, no model. */
  r.instructions = g_strdup ("Now also take cancellations.");
  text = gtr_live_build_session_update (&r, &id, &error);
  g_assert_no_error (error);
  root = parse_json (text);
  assert_string_at (root, "type", "session.update");
  g_assert_cmpuint (size_at (root, "session"), ==, 1);
  assert_string_at (root, "session.delegation.type", "responses");
  g_assert_cmpuint (size_at (root, "session.delegation.responses"), ==, 1);
  assert_string_at (root, "session.delegation.responses.instructions", "Now also take cancellations.");
  assert_event_id (text, id);
  g_free (text);

  /* session.update takes function and web_search tools only. */
  r.tools_json = g_strdup ("[{\"type\":\"function\",\"name\":\"cancel\"},{\"type\":\"web_search\"}]");
  r.tool_choice = g_strdup ("auto");
  text = gtr_live_build_session_update (&r, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&root, json_node_unref);
  root = parse_json (text);
  g_assert_cmpuint (size_at (root, "session.delegation.responses.tools"), ==, 2);
  assert_string_at (root, "session.delegation.responses.tool_choice", "auto");
  g_free (text);
  g_free (r.tools_json);
  r.tools_json = g_strdup ("[{\"type\":\"file_search\"}]");
  text = gtr_live_build_session_update (&r, NULL, &error);
  g_assert_null (text);
  g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE);
  g_assert_nonnull (strstr (error->message, "session.delegation.responses.tools"));
  g_assert_nonnull (strstr (error->message, "file_search"));
  gtr_live_responses_config_clear (&r);
}

/* ------------------------------------------------------------------ */
/* Other client events                                                  */

static void
test_build_audio (void)
{
  g_auto (GStrv) examples = read_examples ("client-examples.jsonl");
  guint8 frame[160], bytes[] = { 0x00, 0xff, 0x7f, 0x80, 0x01 };
  g_autoptr (JsonNode) root = NULL;
  g_autofree guchar *decoded = NULL;
  gsize decoded_len = 0;
  char *id = NULL, *text;

  memset (frame, 0xff, sizeof (frame));
  text = gtr_live_build_input_audio_append (frame, sizeof (frame), NULL);
  assert_same_event (text, client_example (examples, "session.input_audio.append"));
  g_free (text);

  text = gtr_live_build_input_audio_append (bytes, sizeof (bytes), &id);
  root = parse_json (text);
  assert_string_at (root, "type", "session.input_audio.append");
  decoded = g_base64_decode (json_node_get_string (node_at (root, "audio")), &decoded_len);
  g_assert_cmpmem (decoded, decoded_len, bytes, sizeof (bytes));
  g_assert_cmpuint (size_at (root, ""), ==, 3);
  /* an append's id says what it is (gtr_realtime_event_id_is_audio) */
  g_assert_true (gtr_realtime_event_id_is_audio (id));
  assert_string_at (root, "event_id", id);
  g_free (id);
  g_free (text);

  text = gtr_live_build_input_audio_append (NULL, 0, NULL);
  g_clear_pointer (&root, json_node_unref);
  root = parse_json (text);
  assert_string_at (root, "audio", "");
  g_free (text);
}

static void
test_build_bare (void)
{
  static const struct { char *(*build) (char **); const char *type; } cases[] = {
    { gtr_live_build_input_audio_mute, "session.input_audio.mute" },
    { gtr_live_build_input_audio_unmute, "session.input_audio.unmute" },
    { gtr_live_build_response_create, "response.create" },
    { gtr_live_build_session_close, "session.close" },
  };
  g_auto (GStrv) examples = read_examples ("client-examples.jsonl");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (JsonNode) root = NULL;
    char *id = NULL, *text = cases[i].build (&id);

    root = parse_json (text);
    assert_string_at (root, "type", cases[i].type);
    g_assert_cmpuint (size_at (root, ""), ==, 2);
    assert_event_id (text, id);
    g_free (text);
  }
  {
    char *text = gtr_live_build_session_close (NULL);
    assert_same_event (text, client_example (examples, "session.close"));
    g_free (text);
  }
}

static void
test_build_appends (void)
{
  static const char *const types[] = {
    "session.instructions.append", "session.thinking.append", "session.commentary.append"
  };
  g_auto (GStrv) examples = read_examples ("client-examples.jsonl");
  char *text;

  for (guint k = 0; k < G_N_ELEMENTS (types); k++) {
    g_autoptr (JsonNode) root = NULL, root2 = NULL;
    char *id = NULL;

    text = gtr_live_build_append ((GtrLiveAppendKind) k, "The caller pressed 5.", NULL, &id);
    root = parse_json (text);
    assert_string_at (root, "type", types[k]);
    assert_string_at (root, "content", "The caller pressed 5.");
    /* Required and nullable: null for general context. */
    assert_null_at (root, "delegation_id");
    g_assert_cmpuint (size_at (root, ""), ==, 4);
    assert_event_id (text, id);
    g_free (text);

    text = gtr_live_build_append ((GtrLiveAppendKind) k, "", "dlg_7", NULL);
    root2 = parse_json (text);
    assert_string_at (root2, "delegation_id", "dlg_7");
    assert_string_at (root2, "content", "");
    g_free (text);
  }
  text = gtr_live_build_append (GTR_LIVE_APPEND_COMMENTARY,
      "The next free appointment is Thursday at 9 a.m.", "dlg_01", NULL);
  assert_same_event (text, client_example (examples, "session.commentary.append"));
  g_free (text);
}

static void
test_build_items (void)
{
  static const struct { const char *json; const char *field; } bad[] = {
    { "not json", "item" },
    { "[1,2]", "item" },
    { "{\"call_id\":\"c\"}", "item.type" },
    { "{\"type\":3}", "item.type" },
  };
  g_autoptr (JsonNode) root = NULL, root2 = NULL;
  char *id = NULL, *text;

  text = gtr_live_build_function_call_output ("call_1", "{\"ok\":true}", &id);
  root = parse_json (text);
  assert_string_at (root, "type", "response.item.create");
  assert_string_at (root, "item.type", "function_call_output");
  assert_string_at (root, "item.call_id", "call_1");
  assert_string_at (root, "item.output", "{\"ok\":true}");
  g_assert_cmpuint (size_at (root, "item"), ==, 3);
  assert_event_id (text, id);
  g_free (text);

  text = gtr_live_build_response_item_create (
      "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}",
      NULL, NULL);
  root2 = parse_json (text);
  assert_string_at (root2, "item.type", "message");
  assert_string_at (root2, "item.content.0.text", "hi");
  g_free (text);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;

    text = gtr_live_build_response_item_create (bad[i].json, NULL, &error);
    g_assert_null (text);
    g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE);
    g_assert_true (g_str_has_prefix (error->message, bad[i].field));
  }
  {
    g_autoptr (GError) error = NULL;

    g_assert_null (gtr_live_build_response_item_create (NULL, NULL, &error));
    g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_MISSING_FIELD);
  }
}

static void
test_event_ids_unique (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < 500; i++) {
    char *id = NULL, *text = gtr_live_build_session_close (&id);

    g_assert_true (g_hash_table_add (seen, id));
    g_free (text);
  }
}

/* ------------------------------------------------------------------ */
/* Server events                                                        */

static GtrLiveServerEvent *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  GtrLiveServerEvent *ev = gtr_live_server_event_parse (text, -1, 0, &error);

  if (ev == NULL)
    g_error ("%s: %s", text, error->message);
  return ev;
}

static void
test_parse_examples (void)
{
  g_auto (GStrv) lines = read_examples ("server-examples.jsonl");
  guint n_types = 0;
  gboolean seen[GTR_LIVE_EVENT_INFO + 1] = { FALSE };

  for (guint i = 0; lines[i] != NULL; i++) {
    g_autoptr (GtrLiveServerEvent) ev = parse_ok (lines[i]);

    /* Every example is a type we know. */
    g_assert_cmpint (ev->type, !=, GTR_LIVE_EVENT_OTHER);
    g_assert_null (ev->raw_json);
    g_assert_nonnull (ev->type_name);
    if (!seen[ev->type])
      n_types++;
    seen[ev->type] = TRUE;

    switch (ev->type) {
      case GTR_LIVE_EVENT_SESSION_STARTED:
        g_assert_cmpstr (ev->event_id, ==, "event_A1");
        g_assert_cmpstr (ev->client_event_id, ==, "evt_start_1");
        g_assert_cmpstr (ev->session_id, ==, "live_sess_01");
        g_assert_cmpstr (ev->model, ==, "gpt-live-1");
        g_assert_cmpstr (ev->status, ==, "active");
        g_assert_cmpint (ev->expires_at, ==, 1796180400);
        g_assert_true (g_str_has_prefix (ev->instructions, "You answer phone calls"));
        g_assert_cmpint (ev->format, ==, GTR_LIVE_FORMAT_PCMU);
        g_assert_cmpstr (ev->format_desc, ==, "audio/pcmu 8000 Hz");
        g_assert_cmpstr (ev->voice, ==, "marin");
        g_assert_null (ev->custom_voice_id);
        g_assert_cmpstr (ev->delegation_type, ==, "client");
        g_assert_cmpint (ev->store, ==, 0);
        g_assert_nonnull (strstr (ev->session_json, "\"live_sess_01\""));
        break;
      case GTR_LIVE_EVENT_OUTPUT_AUDIO_DELTA:
        g_assert_null (ev->event_id);
        g_assert_cmpuint (g_bytes_get_size (ev->audio), ==, 160);
        g_assert_cmpint (((const guint8 *) g_bytes_get_data (ev->audio, NULL))[159], ==, 0xff);
        g_assert_cmpint (ev->start_ms, ==, -1);
        break;
      case GTR_LIVE_EVENT_INPUT_TRANSCRIPT_DELTA:
        g_assert_cmpstr (ev->delta, ==, "I need someone to look at a leak");
        g_assert_cmpint (ev->start_ms, ==, 5120);
        g_assert_cmpint (ev->end_ms, ==, 6840);
        break;
      case GTR_LIVE_EVENT_OUTPUT_TRANSCRIPT_DELTA:
        g_assert_cmpstr (ev->event_id, ==, "event_B9");
        g_assert_cmpstr (ev->delta, ==, "Sure, let me check the calendar.");
        g_assert_cmpint (ev->start_ms, ==, 7200);
        g_assert_cmpint (ev->end_ms, ==, 8900);
        break;
      case GTR_LIVE_EVENT_DELEGATION_CREATED:
        g_assert_cmpstr (ev->delegation_id, ==, "dlg_01");
        g_assert_cmpstr (ev->delegation_target, ==, "client");
        g_assert_null (ev->response_id);
        g_assert_cmpint (ev->offset_ms, ==, 9010);
        break;
      case GTR_LIVE_EVENT_USAGE_UPDATED:
        g_assert_cmpfloat_with_epsilon (ev->usage_seconds, 30.0, 1e-9);
        g_assert_cmpfloat_with_epsilon (ev->context_usage_ratio, 0.04, 1e-9);
        break;
      case GTR_LIVE_EVENT_ERROR:
        g_assert_cmpstr (ev->error_type, ==, "invalid_request_error");
        g_assert_cmpstr (ev->error_code, ==, "unknown_parameter");
        g_assert_cmpstr (ev->error_message, ==, "Unknown parameter: 'session.temperature'.");
        g_assert_cmpstr (ev->error_param, ==, "session.temperature");
        g_assert_cmpstr (ev->error_client_event_id, ==, "evt_start_1");
        g_assert_cmpstr (ev->client_event_id, ==, "evt_start_1");
        g_assert_cmpstr (gtr_live_server_event_error_client_event_id (ev), ==, "evt_start_1");
        break;
      case GTR_LIVE_EVENT_SESSION_CLOSED:
        g_assert_cmpstr (ev->reason, ==, "close_requested");
        g_assert_cmpfloat_with_epsilon (ev->usage_seconds, 61.4, 1e-9);
        g_assert_cmpstr (ev->client_event_id, ==, "evt_close_1");
        g_assert_cmpstr (ev->session_id, ==, "live_sess_01");
        g_assert_cmpint (ev->format, ==, GTR_LIVE_FORMAT_UNSET);
        g_assert_null (ev->format_desc);
        break;
      default:
        g_error ("an example of an unexpected type: %s", lines[i]);
    }
  }
  g_assert_cmpuint (n_types, ==, 8);
  g_assert_cmpuint (g_strv_length (lines), ==, 8);
}

static void
test_parse_session_formats (void)
{
  static const struct { const char *format; GtrLiveAudioFormat f; const char *desc; } cases[] = {
    { "{\"type\":\"audio/pcm\",\"rate\":24000}", GTR_LIVE_FORMAT_PCM24K, "audio/pcm 24000 Hz" },
    { "{\"type\":\"audio/pcm\",\"rate\":16000}", GTR_LIVE_FORMAT_PCM16K, "audio/pcm 16000 Hz" },
    { "{\"type\":\"audio/pcma\",\"rate\":8000}", GTR_LIVE_FORMAT_PCMA, "audio/pcma 8000 Hz" },
    /* Well formed but not a format the schema allows: UNSET, described. */
    { "{\"type\":\"audio/pcm\",\"rate\":22050}", GTR_LIVE_FORMAT_UNSET, "audio/pcm 22050 Hz" },
    { "{\"type\":\"audio/pcmu\",\"rate\":16000}", GTR_LIVE_FORMAT_UNSET, "audio/pcmu 16000 Hz" },
    { "{\"type\":\"audio/pcm\"}", GTR_LIVE_FORMAT_UNSET, "audio/pcm" },
    { "{\"type\":\"audio/opus\",\"rate\":48000}", GTR_LIVE_FORMAT_UNSET, "audio/opus 48000 Hz" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *text = g_strdup_printf ("{\"type\":\"session.started\",\"event_id\":\"e\","
        "\"session\":{\"id\":\"s\",\"expires_at\":1,\"model\":\"m\",\"status\":\"active\","
        "\"audio\":{\"format\":%s,\"output\":{\"voice\":{\"id\":\"cv_9\"}}},\"delegation\":null}}",
        cases[i].format);
    g_autoptr (GtrLiveServerEvent) ev = parse_ok (text);

    g_assert_cmpint (ev->type, ==, GTR_LIVE_EVENT_SESSION_STARTED);
    g_assert_cmpint (ev->format, ==, cases[i].f);
    g_assert_cmpstr (ev->format_desc, ==, cases[i].desc);
    g_assert_null (ev->voice);
    g_assert_cmpstr (ev->custom_voice_id, ==, "cv_9");
    g_assert_null (ev->delegation_type);
    g_assert_cmpint (ev->store, ==, -1);
  }
  {
    /* session.updated carries the session too; no audio at all is UNSET. */
    g_autoptr (GtrLiveServerEvent) ev = parse_ok ("{\"type\":\"session.updated\",\"event_id\":\"e\","
        "\"client_event_id\":\"evt_u\",\"session\":{\"id\":\"s\",\"delegation\":{\"type\":\"responses\"}}}");

    g_assert_cmpint (ev->type, ==, GTR_LIVE_EVENT_SESSION_UPDATED);
    g_assert_cmpint (ev->format, ==, GTR_LIVE_FORMAT_UNSET);
    g_assert_null (ev->format_desc);
    g_assert_cmpstr (ev->delegation_type, ==, "responses");
    g_assert_cmpstr (ev->client_event_id, ==, "evt_u");
    g_assert_cmpint (ev->expires_at, ==, -1);
  }
}

static void
test_parse_other_types (void)
{
  g_autoptr (GtrLiveServerEvent) muted = parse_ok (
      "{\"type\":\"session.input_audio.muted\",\"event_id\":\"e1\",\"client_event_id\":\"evt_m\"}");
  g_autoptr (GtrLiveServerEvent) unmuted = parse_ok (
      "{\"type\":\"session.input_audio.unmuted\",\"event_id\":\"e2\"}");
  g_autoptr (GtrLiveServerEvent) appended = parse_ok (
      "{\"type\":\"session.commentary.appended\",\"event_id\":\"e3\",\"client_event_id\":\"evt_c\","
      "\"start_ms\":100,\"end_ms\":100}");
  g_autoptr (GtrLiveServerEvent) instr = parse_ok (
      "{\"type\":\"session.instructions.appended\",\"event_id\":\"e4\",\"start_ms\":1,\"end_ms\":2}");
  g_autoptr (GtrLiveServerEvent) thinking = parse_ok (
      "{\"type\":\"session.thinking.appended\",\"event_id\":\"e5\",\"start_ms\":3,\"end_ms\":4}");
  g_autoptr (GtrLiveServerEvent) info = parse_ok (
      "{\"type\":\"info\",\"event_id\":\"e6\",\"code\":\"data_channel_permissions\",\"message\":\"m\"}");
  g_autoptr (GtrLiveServerEvent) reflected = parse_ok (
      "{\"type\":\"session.input_audio.append\",\"audio\":\"AAEC\"}");
  g_autoptr (GtrLiveServerEvent) sideband = parse_ok (
      "{\"type\":\"session.output_audio.delta\",\"delta\":\"\",\"start_ms\":20,\"end_ms\":40}");
  g_autoptr (GtrLiveServerEvent) call = parse_ok (
      "{\"type\":\"response.event\",\"event_id\":\"e7\",\"delegation_id\":\"dlg_2\",\"event\":"
      "{\"type\":\"response.output_item.done\",\"response_id\":\"resp_1\",\"output_index\":0,\"item\":"
      "{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_9\",\"name\":\"book\","
      "\"arguments\":\"{\\\"day\\\":\\\"thu\\\"}\",\"status\":\"completed\"}}}");
  g_autoptr (GtrLiveServerEvent) created = parse_ok (
      "{\"type\":\"response.event\",\"event_id\":\"e8\",\"event\":"
      "{\"type\":\"response.created\",\"response\":{\"id\":\"resp_2\",\"status\":\"in_progress\"}}}");
  g_autoptr (GtrLiveServerEvent) delegated = parse_ok (
      "{\"type\":\"session.delegation.created\",\"event_id\":\"e9\",\"offset_ms\":0,\"delegation\":"
      "{\"id\":\"dlg_3\",\"type\":\"delegation\",\"target\":\"responses\",\"response_id\":\"resp_3\"}}");
  g_autoptr (GtrLiveServerEvent) expired = parse_ok (
      "{\"type\":\"session.closed\",\"event_id\":\"e10\",\"reason\":\"expired\",\"usage\":{\"seconds\":3600}}");

  g_assert_cmpint (muted->type, ==, GTR_LIVE_EVENT_INPUT_AUDIO_MUTED);
  g_assert_cmpstr (muted->client_event_id, ==, "evt_m");
  g_assert_cmpint (unmuted->type, ==, GTR_LIVE_EVENT_INPUT_AUDIO_UNMUTED);
  g_assert_cmpint (appended->type, ==, GTR_LIVE_EVENT_COMMENTARY_APPENDED);
  g_assert_cmpint (appended->start_ms, ==, 100);
  g_assert_cmpint (appended->end_ms, ==, 100);
  g_assert_cmpint (instr->type, ==, GTR_LIVE_EVENT_INSTRUCTIONS_APPENDED);
  g_assert_cmpint (thinking->type, ==, GTR_LIVE_EVENT_THINKING_APPENDED);
  g_assert_cmpint (thinking->end_ms, ==, 4);
  g_assert_cmpint (info->type, ==, GTR_LIVE_EVENT_INFO);
  g_assert_cmpstr (info->info_code, ==, "data_channel_permissions");
  g_assert_cmpstr (info->info_message, ==, "m");
  g_assert_cmpint (reflected->type, ==, GTR_LIVE_EVENT_INPUT_AUDIO_APPEND);
  g_assert_cmpmem (g_bytes_get_data (reflected->audio, NULL), g_bytes_get_size (reflected->audio),
      "\x00\x01\x02", 3);
  g_assert_cmpint (sideband->type, ==, GTR_LIVE_EVENT_OUTPUT_AUDIO_DELTA);
  g_assert_cmpuint (g_bytes_get_size (sideband->audio), ==, 0);
  g_assert_cmpint (sideband->start_ms, ==, 20);
  g_assert_cmpint (sideband->end_ms, ==, 40);

  g_assert_cmpint (call->type, ==, GTR_LIVE_EVENT_RESPONSE_EVENT);
  g_assert_cmpstr (call->delegation_id, ==, "dlg_2");
  g_assert_cmpstr (call->response_event_type, ==, "response.output_item.done");
  g_assert_cmpstr (call->response_id, ==, "resp_1");
  g_assert_cmpstr (call->call_id, ==, "call_9");
  g_assert_cmpstr (call->call_name, ==, "book");
  g_assert_cmpstr (call->call_arguments, ==, "{\"day\":\"thu\"}");
  g_assert_nonnull (strstr (call->response_event_json, "\"fc_1\""));
  g_assert_cmpint (created->type, ==, GTR_LIVE_EVENT_RESPONSE_EVENT);
  g_assert_cmpstr (created->response_event_type, ==, "response.created");
  g_assert_cmpstr (created->response_id, ==, "resp_2");
  g_assert_null (created->call_id);
  g_assert_cmpstr (delegated->delegation_target, ==, "responses");
  g_assert_cmpstr (delegated->response_id, ==, "resp_3");
  g_assert_cmpint (delegated->offset_ms, ==, 0);
  g_assert_cmpint (expired->type, ==, GTR_LIVE_EVENT_SESSION_CLOSED);
  g_assert_cmpstr (expired->reason, ==, "expired");
  g_assert_cmpfloat_with_epsilon (expired->usage_seconds, 3600.0, 1e-9);
  g_assert_null (expired->session_id);
}

static void
test_parse_error_ids (void)
{
  /* Only the top-level id; then neither. */
  g_autoptr (GtrLiveServerEvent) top = parse_ok ("{\"type\":\"error\",\"event_id\":\"e\","
      "\"client_event_id\":\"evt_7\",\"error\":{\"type\":\"invalid_request_error\","
      "\"code\":\"immutable_field_update\",\"message\":\"no\",\"param\":\"session.delegation.type\"}}");
  g_autoptr (GtrLiveServerEvent) none = parse_ok ("{\"type\":\"error\",\"event_id\":\"e\","
      "\"error\":{\"message\":\"busy\",\"param\":null}}");

  g_assert_cmpstr (top->error_code, ==, "immutable_field_update");
  g_assert_cmpstr (top->error_param, ==, "session.delegation.type");
  g_assert_null (top->error_client_event_id);
  g_assert_cmpstr (gtr_live_server_event_error_client_event_id (top), ==, "evt_7");
  g_assert_cmpstr (none->error_message, ==, "busy");
  g_assert_null (none->error_code);
  g_assert_null (none->error_param);
  g_assert_null (gtr_live_server_event_error_client_event_id (none));
}

static void
test_parse_unknown (void)
{
  static const char *const unknown[] = {
    "{\"type\":\"transport.dtmf.received\",\"event_id\":\"e\",\"event\":\"5\"}",
    "{\"type\":\"session.something_new\",\"event_id\":\"e\",\"whatever\":[1,{\"a\":null}]}",
    /* A Realtime event on a Live socket is just unknown here. */
    "{\"type\":\"response.output_audio.delta\",\"delta\":\"not base64!\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++) {
    g_autoptr (GtrLiveServerEvent) ev = parse_ok (unknown[i]);
    g_autoptr (JsonNode) a = parse_json (unknown[i]);
    g_autoptr (JsonNode) b = NULL;

    g_assert_cmpint (ev->type, ==, GTR_LIVE_EVENT_OTHER);
    g_assert_true (g_str_has_prefix (unknown[i] + strlen ("{\"type\":\""), ev->type_name));
    b = parse_json (ev->raw_json);
    g_assert_true (json_node_equal (a, b));
  }
}

static void
test_parse_malformed (void)
{
  static const struct {
    const char *text;
    GtrProtocolError code;
    const char *field;   /* what the message must name */
  } cases[] = {
    { "", GTR_PROTOCOL_ERROR_NOT_JSON, "event" },
    { "{\"type\":", GTR_PROTOCOL_ERROR_NOT_JSON, "event" },
    { "\xff\xfe", GTR_PROTOCOL_ERROR_NOT_JSON, "UTF-8" },
    { "[\"session.started\"]", GTR_PROTOCOL_ERROR_NOT_OBJECT, "an array" },
    { "\"error\"", GTR_PROTOCOL_ERROR_NOT_OBJECT, "a string" },
    { "{}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"type\"" },
    { "{\"type\":null}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"type\"" },
    { "{\"type\":7}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"type\"" },
    { "{\"type\":\"x\",\"event_id\":1}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"event_id\"" },
    { "{\"type\":\"x\",\"client_event_id\":{}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"client_event_id\"" },
    { "{\"type\":\"x\",\"s\":\"a\\u0000b\"}", GTR_PROTOCOL_ERROR_BAD_VALUE, "NUL" },
    /* session.started */
    { "{\"type\":\"session.started\",\"event_id\":\"e\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"session\"" },
    { "{\"type\":\"session.started\",\"session\":[]}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session\"" },
    { "{\"type\":\"session.started\",\"session\":{}}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"session.id\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"expires_at\":\"soon\"}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.expires_at\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"expires_at\":-5}}",
      GTR_PROTOCOL_ERROR_BAD_VALUE, "\"session.expires_at\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"store\":\"no\"}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.store\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"audio\":\"pcmu\"}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.audio\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"audio\":{\"format\":\"audio/pcmu\"}}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.audio.format\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"audio\":{\"format\":{\"rate\":8000}}}}",
      GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"session.audio.format.type\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"audio\":{\"format\":{\"type\":\"audio/pcm\",\"rate\":24000.5}}}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.audio.format.rate\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"audio\":{\"format\":{\"type\":\"audio/pcm\",\"rate\":\"24000\"}}}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.audio.format.rate\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"audio\":{\"output\":{\"voice\":7}}}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.audio.output.voice\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"audio\":{\"output\":{\"voice\":{}}}}}",
      GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"session.audio.output.voice.id\"" },
    { "{\"type\":\"session.started\",\"session\":{\"id\":\"s\",\"delegation\":{\"type\":1}}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.delegation.type\"" },
    { "{\"type\":\"session.updated\",\"session\":{\"id\":3}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.id\"" },
    /* audio */
    { "{\"type\":\"session.output_audio.delta\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"delta\"" },
    { "{\"type\":\"session.output_audio.delta\",\"delta\":5}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"delta\"" },
    { "{\"type\":\"session.output_audio.delta\",\"delta\":\"abc\"}", GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
    { "{\"type\":\"session.output_audio.delta\",\"delta\":\"ab$d\"}", GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
    { "{\"type\":\"session.output_audio.delta\",\"delta\":\"a=bc\"}", GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
    { "{\"type\":\"session.output_audio.delta\",\"delta\":\"AAAA\",\"start_ms\":-1}", GTR_PROTOCOL_ERROR_BAD_VALUE, "\"start_ms\"" },
    { "{\"type\":\"session.input_audio.append\",\"audio\":\"A===\"}", GTR_PROTOCOL_ERROR_BAD_BASE64, "\"audio\"" },
    /* transcripts and appends */
    { "{\"type\":\"session.input_transcript.delta\",\"event_id\":\"e\",\"start_ms\":1,\"end_ms\":2}",
      GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"delta\"" },
    { "{\"type\":\"session.output_transcript.delta\",\"event_id\":\"e\",\"delta\":\"x\",\"end_ms\":2}",
      GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"start_ms\"" },
    { "{\"type\":\"session.output_transcript.delta\",\"event_id\":\"e\",\"delta\":\"x\",\"start_ms\":1,\"end_ms\":\"2\"}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"end_ms\"" },
    { "{\"type\":\"session.thinking.appended\",\"event_id\":\"e\",\"start_ms\":1.5,\"end_ms\":2}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"start_ms\"" },
    /* delegation, response.event */
    { "{\"type\":\"session.delegation.created\",\"event_id\":\"e\",\"offset_ms\":1}",
      GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"delegation\"" },
    { "{\"type\":\"session.delegation.created\",\"delegation\":{\"type\":\"delegation\"}}",
      GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"delegation.id\"" },
    { "{\"type\":\"response.event\",\"event_id\":\"e\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"event\"" },
    { "{\"type\":\"response.event\",\"event\":{}}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"event.type\"" },
    { "{\"type\":\"response.event\",\"event\":{\"type\":\"response.output_item.done\",\"item\":{\"type\":\"function_call\",\"name\":\"f\"}}}",
      GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"event.item.call_id\"" },
    { "{\"type\":\"response.event\",\"event\":{\"type\":\"response.output_item.done\",\"item\":{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":{}}}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"event.item.arguments\"" },
    /* usage, closed */
    { "{\"type\":\"session.usage.updated\",\"event_id\":\"e\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"usage\"" },
    { "{\"type\":\"session.usage.updated\",\"usage\":{\"seconds\":\"30\"}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"usage.seconds\"" },
    { "{\"type\":\"session.usage.updated\",\"usage\":{\"seconds\":-1.5}}", GTR_PROTOCOL_ERROR_BAD_VALUE, "\"usage.seconds\"" },
    { "{\"type\":\"session.usage.updated\",\"usage\":{\"seconds\":1},\"context_window\":{\"usage_ratio\":true}}",
      GTR_PROTOCOL_ERROR_BAD_TYPE, "\"context_window.usage_ratio\"" },
    { "{\"type\":\"session.closed\",\"event_id\":\"e\",\"usage\":{\"seconds\":1}}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"reason\"" },
    { "{\"type\":\"session.closed\",\"reason\":\"expired\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"usage\"" },
    { "{\"type\":\"session.closed\",\"reason\":\"expired\",\"usage\":{}}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"usage.seconds\"" },
    { "{\"type\":\"session.closed\",\"reason\":\"expired\",\"usage\":{\"seconds\":1},\"session\":{}}",
      GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"session.id\"" },
    /* error, info */
    { "{\"type\":\"error\",\"event_id\":\"e\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"error\"" },
    { "{\"type\":\"error\",\"error\":\"boom\"}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"error\"" },
    { "{\"type\":\"error\",\"error\":{\"code\":\"x\"}}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"error.message\"" },
    { "{\"type\":\"error\",\"error\":{\"message\":\"m\",\"code\":404}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"error.code\"" },
    { "{\"type\":\"error\",\"error\":{\"message\":\"m\",\"client_event_id\":[]}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"error.client_event_id\"" },
    { "{\"type\":\"info\",\"code\":1}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"code\"" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    GtrLiveServerEvent *ev = gtr_live_server_event_parse (cases[i].text, -1, 0, &error);

    if (ev != NULL)
      g_error ("case %u parsed: %s", i, cases[i].text);
    if (error->code != (gint) cases[i].code)
      g_error ("case %u (%s): %s, expected %s: %s", i, cases[i].text,
          gtr_protocol_error_code_name (error->code),
          gtr_protocol_error_code_name (cases[i].code), error->message);
    g_assert_error (error, GTR_PROTOCOL_ERROR, (gint) cases[i].code);
    if (strstr (error->message, cases[i].field) == NULL)
      g_error ("case %u (%s): \"%s\" does not name %s", i, cases[i].text, error->message, cases[i].field);
  }
}

static void
test_parse_length (void)
{
  const char *text = "{\"type\":\"session.close\"}trailing";
  g_autoptr (GError) error = NULL;
  g_autoptr (GtrLiveServerEvent) ev = NULL;
  GtrLiveServerEvent *big;

  /* An explicit length ends the text there (no NUL needed). */
  ev = gtr_live_server_event_parse (text, 24, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ev->type, ==, GTR_LIVE_EVENT_OTHER);
  g_assert_cmpstr (ev->type_name, ==, "session.close");
  g_assert_cmpstr (ev->raw_json, ==, "{\"type\":\"session.close\"}");

  big = gtr_live_server_event_parse (text, 24, 23, &error);
  g_assert_null (big);
  g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_OVERSIZE);
  g_clear_error (&error);
  big = gtr_live_server_event_parse (NULL, 0, 0, &error);
  g_assert_null (big);
  g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_NOT_JSON);
}

/* What a client gets from a server event can go straight into a builder
 * (the delegation id into an append, a call id into its output). */
static void
test_parse_to_build (void)
{
  g_auto (GStrv) lines = read_examples ("server-examples.jsonl");

  for (guint i = 0; lines[i] != NULL; i++) {
    g_autoptr (GtrLiveServerEvent) ev = parse_ok (lines[i]);
    g_autoptr (JsonNode) root = NULL;
    char *text;

    if (ev->type != GTR_LIVE_EVENT_DELEGATION_CREATED)
      continue;
    text = gtr_live_build_append (GTR_LIVE_APPEND_COMMENTARY, "done", ev->delegation_id, NULL);
    root = parse_json (text);
    assert_string_at (root, "delegation_id", "dlg_01");
    g_free (text);
    return;
  }
  g_assert_not_reached ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/live/formats", test_formats);
  g_test_add_func ("/live/session-start/minimal", test_start_minimal);
  g_test_add_func ("/live/session-start/example", test_start_example);
  g_test_add_func ("/live/session-start/full", test_start_full);
  g_test_add_func ("/live/session-start/formats", test_start_formats);
  g_test_add_func ("/live/session-start/rejects", test_start_rejects);
  g_test_add_func ("/live/session-update", test_update);
  g_test_add_func ("/live/build/audio-append", test_build_audio);
  g_test_add_func ("/live/build/bare-events", test_build_bare);
  g_test_add_func ("/live/build/appends", test_build_appends);
  g_test_add_func ("/live/build/response-items", test_build_items);
  g_test_add_func ("/live/build/event-ids-unique", test_event_ids_unique);
  g_test_add_func ("/live/parse/examples", test_parse_examples);
  g_test_add_func ("/live/parse/session-formats", test_parse_session_formats);
  g_test_add_func ("/live/parse/other-types", test_parse_other_types);
  g_test_add_func ("/live/parse/error-ids", test_parse_error_ids);
  g_test_add_func ("/live/parse/unknown", test_parse_unknown);
  g_test_add_func ("/live/parse/malformed", test_parse_malformed);
  g_test_add_func ("/live/parse/length", test_parse_length);
  g_test_add_func ("/live/parse/to-build", test_parse_to_build);
  return g_test_run ();
}
