/* realtime-mock: GPT-Live client events as C tables.  See mock-live-schema.h.
 * The tables mirror tests/data/openai-live/live.schema.json (ClientEvent,
 * SessionConfig, SessionUpdateConfig). */
#include "mock-live-schema.h"

#include <string.h>

typedef enum {
  L_ANY,
  L_OBJECT,     /* members from `fields`; unknown members refused unless F_OPEN */
  L_TAGGED,     /* an object whose "type" selects one of `variants` */
  L_STRING,
  L_INTEGER,
  L_BOOLEAN,
  L_ENUM,       /* a string from `values` */
  L_INT_ENUM,   /* an integer from `ints` (0-terminated) */
  L_ARRAY,      /* every item an `items`, at most `max_items` (0: no bound) */
  L_CUSTOM,
} LKind;

enum {
  F_NULLABLE = 1 << 0,
  F_REQUIRED = 1 << 1,
  F_OPEN = 1 << 2,
};

typedef struct _LField LField;
typedef struct {
  const char *tag;
  const LField *fields;
  guint flags;                 /* F_OPEN */
} LVariant;
typedef gboolean (*LCheck) (JsonNode *node, const char *path, MockApiError *err);

struct _LField {
  const char *name;
  LKind kind;
  guint flags;
  const LField *fields;
  const LVariant *variants;
  const char *const *values;
  const gint64 *ints;
  const LField *items;
  guint max_items;
  LCheck check;
};

static gboolean check_node (const LField *f, JsonNode *node, const char *path, MockApiError *err);

static gboolean
fail (MockApiError *err, const char *code, const char *param, char *message)
{
  mock_api_error_clear (err);
  err->code = code;
  err->param = g_strdup (param);
  err->message = message;
  return FALSE;
}

static char *
join_path (const char *path, const char *name)
{
  return (path && *path) ? g_strdup_printf ("%s.%s", path, name) : g_strdup (name);
}

static const char *
kind_noun (LKind kind)
{
  switch (kind) {
    case L_OBJECT: case L_TAGGED: return "an object";
    case L_ARRAY: return "an array";
    case L_INTEGER: case L_INT_ENUM: return "an integer";
    case L_BOOLEAN: return "a boolean";
    default: return "a string";
  }
}

static const char *
node_noun (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node)) {
    case JSON_NODE_OBJECT: return "an object";
    case JSON_NODE_ARRAY: return "an array";
    case JSON_NODE_NULL: return "null";
    default: break;
  }
  switch (json_node_get_value_type (node)) {
    case G_TYPE_INT64: return "an integer";
    case G_TYPE_DOUBLE: return "a decimal";
    case G_TYPE_BOOLEAN: return "a boolean";
    default: return "a string";
  }
}

static gboolean
fail_type (MockApiError *err, const char *path, const char *expected, JsonNode *node)
{
  return fail (err, "invalid_type", path,
      g_strdup_printf ("Invalid type for '%s': expected %s, but got %s instead.",
          path, expected, node_noun (node)));
}

/* "Invalid value: 'x'. Supported values are: 'a', 'b', and 'c'." — the
 * Realtime side's wording; integers go unquoted. */
static gboolean
fail_values (MockApiError *err, const char *path, const char *value, GPtrArray *values)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "Invalid value: %s. Supported values are: ", value);
  for (guint i = 0; i < values->len; i++) {
    if (i > 0)
      g_string_append (s, values->len > 2 ? ", " : " ");
    if (i > 0 && i == values->len - 1)
      g_string_append (s, "and ");
    g_string_append (s, values->pdata[i]);
  }
  g_string_append_c (s, '.');
  return fail (err, "invalid_value", path, g_string_free (s, FALSE));
}

static gboolean
fail_enum (MockApiError *err, const char *path, const char *value, const char *const *values)
{
  g_autoptr (GPtrArray) quoted = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *v = g_strdup_printf ("'%s'", value);

  for (guint i = 0; values[i]; i++)
    g_ptr_array_add (quoted, g_strdup_printf ("'%s'", values[i]));
  return fail_values (err, path, v, quoted);
}

static gboolean
is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
check_enum (const char *const *values, JsonNode *node, const char *path, MockApiError *err)
{
  if (!is_string (node))
    return fail_type (err, path, "a string", node);
  if (!g_strv_contains (values, json_node_get_string (node)))
    return fail_enum (err, path, json_node_get_string (node), values);
  return TRUE;
}

static gboolean
check_int_enum (const gint64 *ints, JsonNode *node, const char *path, MockApiError *err)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *v = NULL;
  gint64 value;

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return fail_type (err, path, "an integer", node);
  value = json_node_get_int (node);
  for (guint i = 0; ints[i]; i++) {
    if (ints[i] == value)
      return TRUE;
    g_ptr_array_add (names, g_strdup_printf ("%" G_GINT64_FORMAT, ints[i]));
  }
  v = g_strdup_printf ("%" G_GINT64_FORMAT, value);
  return fail_values (err, path, v, names);
}

static gboolean
check_object (const LField *fields, guint flags, JsonNode *node, const char *path,
    MockApiError *err)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_type (err, path, "an object", node);
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &name, &member)) {
    const LField *f = fields;
    g_autofree char *sub = join_path (path, name);

    while (f->name && strcmp (f->name, name) != 0)
      f++;
    if (!f->name) {
      if (flags & F_OPEN)
        continue;
      return fail (err, "unknown_parameter", sub, g_strdup_printf ("Unknown parameter: '%s'.", sub));
    }
    if (!check_node (f, member, sub, err))
      return FALSE;
  }
  for (const LField *f = fields; f->name; f++) {
    g_autofree char *sub = join_path (path, f->name);
    if ((f->flags & F_REQUIRED) && !json_object_has_member (json_node_get_object (node), f->name))
      return fail (err, "missing_required_parameter", sub,
          g_strdup_printf ("Missing required parameter: '%s'.", sub));
  }
  return TRUE;
}

static gboolean
check_tagged (const LVariant *variants, JsonNode *node, const char *path, MockApiError *err)
{
  g_autofree char *type_path = join_path (path, "type");
  g_autoptr (GPtrArray) tags = g_ptr_array_new ();
  JsonNode *type;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_type (err, path, "an object", node);
  type = json_object_get_member (json_node_get_object (node), "type");
  if (!type)
    return fail (err, "missing_required_parameter", type_path,
        g_strdup_printf ("Missing required parameter: '%s'.", type_path));
  if (!is_string (type))
    return fail_type (err, type_path, "a string", type);
  for (const LVariant *v = variants; v->tag; v++) {
    if (strcmp (v->tag, json_node_get_string (type)) == 0)
      return check_object (v->fields, v->flags, node, path, err);
    g_ptr_array_add (tags, (gpointer) v->tag);
  }
  g_ptr_array_add (tags, NULL);
  return fail_enum (err, type_path, json_node_get_string (type), (const char *const *) tags->pdata);
}

static gboolean
check_array (const LField *f, JsonNode *node, const char *path, MockApiError *err)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail_type (err, path, "an array", node);
  array = json_node_get_array (node);
  if (f->max_items && json_array_get_length (array) > f->max_items)
    return fail (err, "invalid_value", path, g_strdup_printf ("Invalid '%s': array too long. "
            "Expected an array with maximum length %u, but got an array with length %u instead.",
            path, f->max_items, json_array_get_length (array)));
  for (guint i = 0; i < json_array_get_length (array); i++) {
    g_autofree char *sub = g_strdup_printf ("%s[%u]", path, i);
    if (!check_node (f->items, json_array_get_element (array, i), sub, err))
      return FALSE;
  }
  return TRUE;
}

static gboolean
check_node (const LField *f, JsonNode *node, const char *path, MockApiError *err)
{
  if (JSON_NODE_HOLDS_NULL (node) && (f->flags & F_NULLABLE))
    return TRUE;
  switch (f->kind) {
    case L_ANY: return TRUE;
    case L_OBJECT: return check_object (f->fields, f->flags, node, path, err);
    case L_TAGGED: return check_tagged (f->variants, node, path, err);
    case L_ENUM: return check_enum (f->values, node, path, err);
    case L_INT_ENUM: return check_int_enum (f->ints, node, path, err);
    case L_ARRAY: return check_array (f, node, path, err);
    case L_CUSTOM: return f->check (node, path, err);
    case L_INTEGER:
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
        return TRUE;
      return fail_type (err, path, kind_noun (f->kind), node);
    case L_STRING:
      return is_string (node) ? TRUE : fail_type (err, path, "a string", node);
    case L_BOOLEAN:
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        return TRUE;
      return fail_type (err, path, "a boolean", node);
  }
  return TRUE;
}

/* ---------- the session configuration ---------- */

#define TYPE_FIELD { "type", L_STRING, F_REQUIRED }

static const gint64 pcm_rates[] = { 16000, 24000, 0 };
static const gint64 g711_rates[] = { 8000, 0 };
static const LField pcm_fields[] = {
  TYPE_FIELD, { "rate", L_INT_ENUM, F_REQUIRED, .ints = pcm_rates }, { NULL } };
static const LField g711_fields[] = {
  TYPE_FIELD, { "rate", L_INT_ENUM, F_REQUIRED, .ints = g711_rates }, { NULL } };
static const LVariant format_variants[] = {
  { "audio/pcm", pcm_fields }, { "audio/pcmu", g711_fields }, { "audio/pcma", g711_fields },
  { NULL } };

/* The newest SDK list; `shida` too, as the docs' voice table spells it. */
static const char *const voices[] = { "alloy", "ash", "aube", "ballad", "beacon", "bossa",
  "brise", "cedar", "cinder", "coral", "delta", "echo", "flitz", "gleam", "harema", "juni",
  "marin", "meridian", "nira", "noeul", "nuri", "quartz", "ripple", "sage", "shimmer", "shitan",
  "shida", "sillage", "stone", "tempo", "verse", "vesper", "willow", NULL };
static const LField custom_voice_fields[] = { { "id", L_STRING, F_REQUIRED }, { NULL } };

static gboolean
check_voice (JsonNode *node, const char *path, MockApiError *err)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return check_object (custom_voice_fields, 0, node, path, err);
  return check_enum (voices, node, path, err);
}

static const LField output_fields[] = {
  { "voice", L_CUSTOM, 0, .check = check_voice }, { NULL } };
static const LField audio_fields[] = {
  { "format", L_TAGGED, 0, .variants = format_variants },
  { "output", L_OBJECT, 0, .fields = output_fields }, { NULL } };

/* InitialItem: selected by role; exactly one text part. */
static const char *const roles[] = { "developer", "user", "assistant", NULL };
static const char *const message_type[] = { "message", NULL };
static const char *const item_statuses[] = { "incomplete", "completed", NULL };
static const char *const input_text[] = { "input_text", NULL };
static const char *const output_text[] = { "text", "output_text", NULL };
static const LField input_part_fields[] = {
  { "text", L_STRING, F_REQUIRED }, { "type", L_ENUM, 0, .values = input_text }, { NULL } };
static const LField output_part_fields[] = {
  { "text", L_STRING, F_REQUIRED }, { "type", L_ENUM, 0, .values = output_text }, { NULL } };
static const LField input_part = { "", L_OBJECT, 0, .fields = input_part_fields };
static const LField output_part = { "", L_OBJECT, 0, .fields = output_part_fields };

#define ITEM_FIELDS(part) \
  { "role", L_ENUM, F_REQUIRED, .values = roles }, \
  { "type", L_ENUM, 0, .values = message_type }, \
  { "content", L_ARRAY, F_REQUIRED, .items = &part, .max_items = 1 }, \
  { "id", L_STRING, F_NULLABLE }, \
  { "status", L_ENUM, F_NULLABLE, .values = item_statuses }, { NULL }
static const LField input_item_fields[] = { ITEM_FIELDS (input_part) };
static const LField assistant_item_fields[] = { ITEM_FIELDS (output_part) };

static gboolean
check_initial_item (JsonNode *node, const char *path, MockApiError *err)
{
  JsonNode *role, *content;
  gboolean assistant;
  g_autofree char *role_path = join_path (path, "role");
  g_autofree char *content_path = join_path (path, "content");

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_type (err, path, "an object", node);
  role = json_object_get_member (json_node_get_object (node), "role");
  if (!role)
    return fail (err, "missing_required_parameter", role_path,
        g_strdup_printf ("Missing required parameter: '%s'.", role_path));
  if (!check_enum (roles, role, role_path, err))
    return FALSE;
  assistant = g_str_equal (json_node_get_string (role), "assistant");
  if (!check_object (assistant ? assistant_item_fields : input_item_fields, 0, node, path, err))
    return FALSE;
  content = json_object_get_member (json_node_get_object (node), "content");
  if (json_array_get_length (json_node_get_array (content)) != 1)
    return fail (err, "invalid_value", content_path, g_strdup_printf ("Invalid '%s': "
            "expected exactly one text content part, but got %u.", content_path,
            json_array_get_length (json_node_get_array (content))));
  return TRUE;
}

static const LField initial_item = { "", L_CUSTOM, .check = check_initial_item };

/* The Responses backend. */
static const char *const efforts[] = { "none", "minimal", "low", "medium", "high", "xhigh", NULL };
static const char *const summaries[] = { "concise", "detailed", "auto", NULL };
static const char *const verbosities[] = { "low", "medium", "high", NULL };
static const char *const service_tiers[] = { "auto", "default", "fast_tier_temp_pilot", "flex",
  "priority", "ultrafast", NULL };
static const char *const tool_choice_modes[] = { "auto", "none", "required", NULL };
static const LField reasoning_fields[] = {
  { "effort", L_ENUM, F_NULLABLE, .values = efforts },
  { "summary", L_ENUM, F_NULLABLE, .values = summaries }, { NULL } };
static const LField text_fields[] = {
  { "verbosity", L_ENUM, F_NULLABLE, .values = verbosities }, { NULL } };
static const LField choice_function_fields[] = {
  TYPE_FIELD, { "name", L_STRING, F_REQUIRED }, { NULL } };
static const LField choice_mcp_fields[] = {
  TYPE_FIELD, { "name", L_STRING, F_REQUIRED }, { "server_label", L_STRING, F_REQUIRED }, { NULL } };
static const LVariant choice_variants[] = {
  { "function", choice_function_fields }, { "mcp", choice_mcp_fields }, { NULL } };

static gboolean
check_tool_choice (JsonNode *node, const char *path, MockApiError *err)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return check_tagged (choice_variants, node, path, err);
  return check_enum (tool_choice_modes, node, path, err);
}

static const LField no_fields[] = { { NULL } };   /* with F_OPEN: any object */
static const LField function_tool_fields[] = {
  TYPE_FIELD, { "name", L_STRING, F_REQUIRED }, { "description", L_STRING, F_NULLABLE },
  { "parameters", L_OBJECT, F_NULLABLE | F_OPEN, .fields = no_fields },
  { "strict", L_BOOLEAN, F_NULLABLE }, { NULL } };
static const LField bare_tool_fields[] = { TYPE_FIELD, { NULL } };
static const LField shell_tool_fields[] = {
  TYPE_FIELD, { "environment", L_OBJECT, F_REQUIRED | F_OPEN, .fields = no_fields },
  { NULL } };
static const LVariant tool_variants[] = {
  { "function", function_tool_fields }, { "web_search", bare_tool_fields },
  { "file_search", bare_tool_fields, F_OPEN }, { "code_interpreter", bare_tool_fields, F_OPEN },
  { "shell", shell_tool_fields, F_OPEN }, { "image_generation", bare_tool_fields, F_OPEN },
  { NULL } };
static const LVariant update_tool_variants[] = {
  { "function", function_tool_fields }, { "web_search", bare_tool_fields }, { NULL } };
static const LField tool_item = { "", L_TAGGED, .variants = tool_variants };
static const LField update_tool_item = { "", L_TAGGED, .variants = update_tool_variants };

#define RESPONSES_FIELDS(model_flags, tool) \
  { "model", L_STRING, model_flags }, \
  { "instructions", L_STRING, F_NULLABLE }, \
  { "max_output_tokens", L_INTEGER, F_NULLABLE }, \
  { "parallel_tool_calls", L_BOOLEAN, F_NULLABLE }, \
  { "reasoning", L_OBJECT, F_NULLABLE, .fields = reasoning_fields }, \
  { "service_tier", L_ENUM, F_NULLABLE, .values = service_tiers }, \
  { "text", L_OBJECT, F_NULLABLE, .fields = text_fields }, \
  { "tool_choice", L_CUSTOM, 0, .check = check_tool_choice }, \
  { "tools", L_ARRAY, 0, .items = &tool }, { NULL }
static const LField responses_fields[] = { RESPONSES_FIELDS (F_REQUIRED, tool_item) };
static const LField responses_update_fields[] = { RESPONSES_FIELDS (0, update_tool_item) };

static const LField client_delegation_fields[] = { TYPE_FIELD, { NULL } };
static const LField responses_delegation_fields[] = {
  TYPE_FIELD, { "responses", L_OBJECT, F_REQUIRED, .fields = responses_fields }, { NULL } };
static const LField responses_delegation_update_fields[] = {
  TYPE_FIELD, { "responses", L_OBJECT, 0, .fields = responses_update_fields }, { NULL } };
static const LVariant delegation_variants[] = {
  { "client", client_delegation_fields }, { "responses", responses_delegation_fields }, { NULL } };
static const LVariant delegation_update_variants[] = {
  { "client", client_delegation_fields }, { "responses", responses_delegation_update_fields },
  { NULL } };

/* client: WebRTC data-channel permissions (checked for shape here; a
 * primary WebSocket refuses it in mock_live_check_session). */
static gboolean
check_allowed (JsonNode *node, const char *path, MockApiError *err)
{
  static const char *const all[] = { "all", NULL };
  static const LField entry_fields[] = {
    { "type", L_STRING, F_REQUIRED }, { "response_event", L_STRING }, { NULL } };
  static const LField entry = { "", L_OBJECT, 0, .fields = entry_fields };
  static const LField list = { "", L_ARRAY, 0, .items = &entry };

  if (JSON_NODE_HOLDS_ARRAY (node))
    return check_node (&list, node, path, err);
  return check_enum (all, node, path, err);
}

static const LField data_channel_fields[] = {
  { "allowed_client_events", L_CUSTOM, 0, .check = check_allowed },
  { "allowed_server_events", L_CUSTOM, 0, .check = check_allowed }, { NULL } };
static const LField client_fields[] = {
  { "data_channel", L_OBJECT, F_REQUIRED, .fields = data_channel_fields }, { NULL } };

static const LField session_fields[] = {
  { "model", L_STRING, F_REQUIRED },
  { "instructions", L_STRING, F_NULLABLE },
  { "input", L_ARRAY, 0, .items = &initial_item, .max_items = 128 },
  { "audio", L_OBJECT, 0, .fields = audio_fields },
  { "delegation", L_TAGGED, F_NULLABLE, .variants = delegation_variants },
  { "store", L_BOOLEAN },
  { "client", L_OBJECT, 0, .fields = client_fields }, { NULL } };
static const LField session_update_fields[] = {
  { "delegation", L_TAGGED, F_NULLABLE, .variants = delegation_update_variants }, { NULL } };

/* ---------- the client events ---------- */

#define EVENT_ID_FIELD { "event_id", L_STRING, F_NULLABLE }

static const LField start_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "session", L_OBJECT, F_REQUIRED, .fields = session_fields }, { NULL } };
static const LField update_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "session", L_OBJECT, F_REQUIRED, .fields = session_update_fields }, { NULL } };
static const LField append_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "audio", L_STRING, F_REQUIRED }, { NULL } };
static const LField bare_fields[] = { TYPE_FIELD, EVENT_ID_FIELD, { NULL } };
static const LField text_append_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "content", L_STRING, F_REQUIRED }, { "delegation_id", L_STRING, F_REQUIRED | F_NULLABLE },
  { NULL } };
static const LField item_fields[] = { TYPE_FIELD, { NULL } };
static const LField item_create_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "item", L_OBJECT, F_REQUIRED | F_OPEN, .fields = item_fields }, { NULL } };

static const LVariant client_events[] = {
  { "session.start", start_fields },
  { "session.update", update_fields },
  { "session.input_audio.append", append_fields },
  { "session.input_audio.mute", bare_fields },
  { "session.input_audio.unmute", bare_fields },
  { "session.instructions.append", text_append_fields },
  { "session.thinking.append", text_append_fields },
  { "session.commentary.append", text_append_fields },
  { "response.item.create", item_create_fields },
  { "response.create", bare_fields },
  { "session.close", bare_fields },
  { NULL } };

gboolean
mock_live_check_client_event (JsonObject *event, MockApiError *err)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), event);

  return check_tagged (client_events, node, "", err);
}

/* ---------- beyond the shape ---------- */

gboolean
mock_live_check_session (JsonObject *config, gboolean azure, MockApiError *err)
{
  const char *model = json_object_get_string_member (config, "model");

  /* On OpenAI's path only the GPT-Live models are served (Realtime models
   * live on /v1/realtime); Azure takes a deployment name. */
  if (!azure && !g_str_has_prefix (model, "gpt-live-"))
    return fail (err, "invalid_model", "session.model", g_strdup_printf ("The model '%s' is not "
            "supported on /v1/live/sessions: use a GPT-Live model (gpt-live-1, gpt-live-1.1).", model));
  if (json_object_has_member (config, "client"))
    return fail (err, "unsupported_parameter", "session.client", g_strdup ("Unsupported "
            "parameter: 'session.client' applies to WebRTC sessions only, not to a WebSocket."));
  return TRUE;
}

static void
set_default (JsonObject *obj, const char *name, const char *json)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (!node || JSON_NODE_HOLDS_NULL (node))
    json_object_set_member (obj, name, json_from_string (json, NULL));
}

static JsonObject *
ensure_object (JsonObject *obj, const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (!node || !JSON_NODE_HOLDS_OBJECT (node))
    json_object_set_object_member (obj, name, json_object_new ());
  return json_object_get_object_member (obj, name);
}

JsonObject *
mock_live_resolve_session (JsonObject *config, const char *id, gint64 expires_at)
{
  g_autoptr (JsonNode) src = json_node_init_object (json_node_alloc (), config);
  g_autofree char *text = json_to_string (src, FALSE);
  g_autoptr (JsonNode) copy = json_from_string (text, NULL);   /* deep */
  JsonObject *session = json_object_ref (json_node_get_object (copy));
  JsonObject *audio;

  json_object_set_string_member (session, "id", id);
  json_object_set_int_member (session, "expires_at", expires_at);
  json_object_set_string_member (session, "status", "active");
  if (!json_object_has_member (session, "instructions"))
    json_object_set_null_member (session, "instructions");
  set_default (session, "input", "[]");
  audio = ensure_object (session, "audio");
  set_default (audio, "format", "{\"type\":\"audio/pcm\",\"rate\":24000}");
  set_default (ensure_object (audio, "output"), "voice", "\"marin\"");
  set_default (session, "delegation", "{\"type\":\"client\"}");
  set_default (session, "store", "false");
  return session;
}
