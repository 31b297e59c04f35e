/* realtime-mock: the GA event shapes as C tables, checked as the API does.
 * See mock-schema.h.  The tables mirror tests/data/realtime.strict.schema.json
 * (RealtimeClientEvent*, RealtimeSessionCreateRequestGA). */
#include "mock-schema.h"

#include <string.h>

typedef enum {
  K_ANY,        /* accepted as is (prompt, tracing, metadata, …) */
  K_OBJECT,     /* members from `fields` */
  K_TAGGED,     /* an object whose "type" selects one of `variants` */
  K_STRING,
  K_INTEGER,
  K_NUMBER,
  K_BOOLEAN,
  K_ENUM,       /* a string from `values` */
  K_ARRAY,      /* every item is an `items` */
  K_CUSTOM,     /* `check` decides (unions the tables cannot say) */
} Kind;

enum {
  F_NULLABLE = 1 << 0,
  F_REQUIRED = 1 << 1,
  F_RANGE = 1 << 2,          /* K_INTEGER/K_NUMBER: min ≤ value ≤ max */
};

typedef struct _Field Field;
typedef struct {
  const char *tag;
  const Field *fields;
} Variant;
typedef gboolean (*CheckFunc) (JsonNode *node, const char *path, MockApiError *err);

struct _Field {
  const char *name;
  Kind kind;
  guint flags;
  const Field *fields;
  const Variant *variants;
  const char *const *values;
  const Field *items;
  gdouble min, max;
  CheckFunc check;
};

static gboolean check_node (const Field *field, JsonNode *node, const char *path, MockApiError *err);
static void normalise (JsonObject *session);

void
mock_api_error_clear (MockApiError *err)
{
  g_clear_pointer (&err->message, g_free);
  g_clear_pointer (&err->param, g_free);
  err->code = NULL;
}

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

/* ---------- wording ---------- */

static const char *
kind_noun (Kind kind)
{
  switch (kind) {
    case K_OBJECT: case K_TAGGED: return "an object";
    case K_ARRAY: return "an array";
    case K_INTEGER: return "an integer";
    case K_NUMBER: return "a decimal";
    case K_BOOLEAN: return "a boolean";
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

/* "Invalid value: 'x'. Supported values are: 'a', 'b', and 'c'." */
static gboolean
fail_enum (MockApiError *err, const char *path, const char *value, const char *const *values)
{
  GString *s = g_string_new (NULL);
  guint n = g_strv_length ((char **) values);

  g_string_append_printf (s, "Invalid value: '%s'. Supported values are: ", value);
  for (guint i = 0; i < n; i++) {
    if (i > 0)
      g_string_append (s, n > 2 ? ", " : " ");
    if (i > 0 && i == n - 1)
      g_string_append (s, "and ");
    g_string_append_printf (s, "'%s'", values[i]);
  }
  g_string_append_c (s, '.');
  return fail (err, "invalid_value", path, g_string_free (s, FALSE));
}

/* ---------- checks by kind ---------- */

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
check_number (const Field *field, JsonNode *node, const char *path, MockApiError *err)
{
  GType t = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  gboolean integer = field->kind == K_INTEGER;
  gdouble v;
  char got[G_ASCII_DTOSTR_BUF_SIZE];

  if (!(t == G_TYPE_INT64 || (t == G_TYPE_DOUBLE && !integer)))
    return fail_type (err, path, kind_noun (field->kind), node);
  if (!(field->flags & F_RANGE))
    return TRUE;
  v = json_node_get_double (node);
  if (v >= field->min && v <= field->max)
    return TRUE;
  g_ascii_dtostr (got, sizeof got, v);
  return fail (err, "invalid_value", path,
      g_strdup_printf ("Invalid '%s': %s %s value. Expected a value %s %g, but got %s instead.",
          path, integer ? "integer" : "decimal",
          v > field->max ? "above maximum" : "below minimum",
          v > field->max ? "<=" : ">=", v > field->max ? field->max : field->min, got));
}

static gboolean
check_object (const Field *fields, JsonNode *node, const char *path, MockApiError *err)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_type (err, path, "an object", node);
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &name, &member)) {
    const Field *f = fields;
    g_autofree char *sub = join_path (path, name);

    while (f->name && strcmp (f->name, name) != 0)
      f++;
    if (!f->name)
      return fail (err, "unknown_parameter", sub,
          g_strdup_printf ("Unknown parameter: '%s'.", sub));
    if (!check_node (f, member, sub, err))
      return FALSE;
  }
  for (const Field *f = fields; f->name; f++) {
    g_autofree char *sub = join_path (path, f->name);
    if ((f->flags & F_REQUIRED) && !json_object_has_member (json_node_get_object (node), f->name))
      return fail (err, "missing_required_parameter", sub,
          g_strdup_printf ("Missing required parameter: '%s'.", sub));
  }
  return TRUE;
}

static gboolean
check_tagged (const Variant *variants, JsonNode *node, const char *path, MockApiError *err)
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
  for (const Variant *v = variants; v->tag; v++) {
    if (strcmp (v->tag, json_node_get_string (type)) == 0)
      return check_object (v->fields, node, path, err);
    g_ptr_array_add (tags, (gpointer) v->tag);
  }
  g_ptr_array_add (tags, NULL);
  return fail_enum (err, type_path, json_node_get_string (type), (const char *const *) tags->pdata);
}

static gboolean
check_array (const Field *items, JsonNode *node, const char *path, MockApiError *err)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail_type (err, path, "an array", node);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    g_autofree char *sub = g_strdup_printf ("%s[%u]", path, i);
    if (!check_node (items, json_array_get_element (array, i), sub, err))
      return FALSE;
  }
  return TRUE;
}

static gboolean
check_node (const Field *field, JsonNode *node, const char *path, MockApiError *err)
{
  if (JSON_NODE_HOLDS_NULL (node) && (field->flags & F_NULLABLE))
    return TRUE;
  switch (field->kind) {
    case K_ANY: return TRUE;
    case K_OBJECT: return check_object (field->fields, node, path, err);
    case K_TAGGED: return check_tagged (field->variants, node, path, err);
    case K_ENUM: return check_enum (field->values, node, path, err);
    case K_ARRAY: return check_array (field->items, node, path, err);
    case K_CUSTOM: return field->check (node, path, err);
    case K_INTEGER: case K_NUMBER: return check_number (field, node, path, err);
    case K_STRING:
      return is_string (node) ? TRUE : fail_type (err, path, "a string", node);
    case K_BOOLEAN:
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        return TRUE;
      return fail_type (err, path, "a boolean", node);
  }
  return TRUE;
}

/* ---------- unions the tables cannot say ---------- */

static const char *const voices[] = { "alloy", "ash", "ballad", "coral", "echo", "sage",
  "shimmer", "verse", "marin", "cedar", NULL };
static const char *const tool_choice_modes[] = { "none", "auto", "required", NULL };
static const char *const inf_only[] = { "inf", NULL };

static const Field custom_voice_fields[] = {
  { "id", K_STRING, F_REQUIRED }, { NULL } };

static gboolean
check_voice (JsonNode *node, const char *path, MockApiError *err)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return check_object (custom_voice_fields, node, path, err);
  return check_enum (voices, node, path, err);
}

static gboolean
check_max_output_tokens (JsonNode *node, const char *path, MockApiError *err)
{
  static const Field range = { "max_output_tokens", K_INTEGER, F_RANGE, .min = 1, .max = 4096 };

  if (is_string (node))
    return check_enum (inf_only, node, path, err);
  return check_number (&range, node, path, err);
}

static const Field tool_choice_function_fields[] = {
  { "type", K_STRING, F_REQUIRED }, { "name", K_STRING, F_REQUIRED }, { NULL } };
static const Field tool_choice_mcp_fields[] = {
  { "type", K_STRING, F_REQUIRED }, { "server_label", K_STRING, F_REQUIRED },
  { "name", K_STRING, F_NULLABLE }, { NULL } };
static const Variant tool_choice_variants[] = {
  { "function", tool_choice_function_fields }, { "mcp", tool_choice_mcp_fields }, { NULL } };

static gboolean
check_tool_choice (JsonNode *node, const char *path, MockApiError *err)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return check_tagged (tool_choice_variants, node, path, err);
  return check_enum (tool_choice_modes, node, path, err);
}

/* ---------- the tables ---------- */

#define TYPE_FIELD { "type", K_STRING, F_REQUIRED }

static const Field pcm_fields[] = {
  TYPE_FIELD, { "rate", K_INTEGER, F_RANGE, .min = 24000, .max = 24000 }, { NULL } };
static const Field g711_fields[] = { TYPE_FIELD, { NULL } };
static const Variant format_variants[] = {
  { "audio/pcm", pcm_fields }, { "audio/pcmu", g711_fields }, { "audio/pcma", g711_fields }, { NULL } };

static const char *const noise_types[] = { "near_field", "far_field", NULL };
static const Field noise_fields[] = { { "type", K_ENUM, 0, .values = noise_types }, { NULL } };

static const char *const delays[] = { "minimal", "low", "medium", "high", "xhigh", NULL };
static const Field string_item = { "", K_STRING };
static const Field transcription_fields[] = {
  { "model", K_STRING }, { "language", K_STRING }, { "prompt", K_STRING },
  { "delay", K_ENUM, 0, .values = delays },
  { "keywords", K_ARRAY, 0, .items = &string_item },
  { "languages", K_ARRAY, 0, .items = &string_item }, { NULL } };

/* RealtimeReasoning: { effort: RealtimeReasoningEffort } */
static const char *const reasoning_efforts[] = { "minimal", "low", "medium", "high", "xhigh",
  NULL };
static const Field reasoning_fields[] = {
  { "effort", K_ENUM, 0, .values = reasoning_efforts }, { NULL } };

static const char *const eagerness[] = { "low", "medium", "high", "auto", NULL };
static const Field server_vad_fields[] = {
  TYPE_FIELD,
  { "threshold", K_NUMBER, F_RANGE, .min = 0.0, .max = 1.0 },
  { "prefix_padding_ms", K_INTEGER, F_RANGE, .min = 0, .max = 10000 },
  { "silence_duration_ms", K_INTEGER, F_RANGE, .min = 0, .max = 10000 },
  { "create_response", K_BOOLEAN }, { "interrupt_response", K_BOOLEAN },
  { "idle_timeout_ms", K_INTEGER, F_NULLABLE | F_RANGE, .min = 5000, .max = 30000 }, { NULL } };
static const Field semantic_vad_fields[] = {
  TYPE_FIELD, { "eagerness", K_ENUM, 0, .values = eagerness },
  { "create_response", K_BOOLEAN }, { "interrupt_response", K_BOOLEAN }, { NULL } };
static const Variant turn_detection_variants[] = {
  { "server_vad", server_vad_fields }, { "semantic_vad", semantic_vad_fields }, { NULL } };

static const Field input_fields[] = {
  { "format", K_TAGGED, 0, .variants = format_variants },
  { "noise_reduction", K_OBJECT, F_NULLABLE, .fields = noise_fields },
  { "transcription", K_OBJECT, F_NULLABLE, .fields = transcription_fields },
  { "turn_detection", K_TAGGED, F_NULLABLE, .variants = turn_detection_variants }, { NULL } };
static const Field output_fields[] = {
  { "format", K_TAGGED, 0, .variants = format_variants },
  { "voice", K_CUSTOM, 0, .check = check_voice },
  { "speed", K_NUMBER, F_RANGE, .min = 0.25, .max = 1.5 }, { NULL } };
static const Field audio_fields[] = {
  { "input", K_OBJECT, 0, .fields = input_fields },
  { "output", K_OBJECT, 0, .fields = output_fields }, { NULL } };

static const Field function_tool_fields[] = {
  TYPE_FIELD, { "name", K_STRING }, { "description", K_STRING }, { "parameters", K_ANY },
  { NULL } };
static const Field mcp_tool_fields[] = { TYPE_FIELD, { "server_label", K_STRING, F_REQUIRED },
  { "server_url", K_STRING }, { "connector_id", K_STRING }, { "authorization", K_STRING },
  { "headers", K_ANY }, { "allowed_tools", K_ANY }, { "require_approval", K_ANY },
  { "server_description", K_STRING }, { NULL } };
static const Variant tool_variants[] = {
  { "function", function_tool_fields }, { "mcp", mcp_tool_fields }, { NULL } };
static const Field tool_item = { "", K_TAGGED, 0, .variants = tool_variants };

static const char *const modalities[] = { "text", "audio", NULL };
static const Field modality_item = { "", K_ENUM, 0, .values = modalities };
static const char *const session_types[] = { "realtime", NULL };
static const char *const includes[] = { "item.input_audio_transcription.logprobs", NULL };
static const Field include_item = { "", K_ENUM, 0, .values = includes };

static const Field session_fields[] = {
  { "type", K_ENUM, F_REQUIRED, .values = session_types },
  { "audio", K_OBJECT, 0, .fields = audio_fields },
  { "include", K_ARRAY, 0, .items = &include_item },
  { "instructions", K_STRING },
  { "max_output_tokens", K_CUSTOM, 0, .check = check_max_output_tokens },
  { "model", K_STRING },
  { "output_modalities", K_ARRAY, 0, .items = &modality_item },
  { "parallel_tool_calls", K_BOOLEAN },
  { "prompt", K_ANY }, { "reasoning", K_OBJECT, 0, .fields = reasoning_fields }, { "tracing", K_ANY }, { "truncation", K_ANY },
  { "tool_choice", K_CUSTOM, 0, .check = check_tool_choice },
  { "tools", K_ARRAY, 0, .items = &tool_item }, { NULL } };

/* client events */
#define EVENT_ID_FIELD { "event_id", K_STRING }

static const char *const roles[] = { "user", "assistant", "system", NULL };
static const char *const statuses[] = { "completed", "incomplete", "in_progress", NULL };
static const char *const object_item[] = { "realtime.item", NULL };
static const Field content_item = { "", K_ANY };
static const Field message_item_fields[] = {
  TYPE_FIELD, { "id", K_STRING }, { "object", K_ENUM, 0, .values = object_item },
  { "role", K_ENUM, F_REQUIRED, .values = roles }, { "status", K_ENUM, 0, .values = statuses },
  { "content", K_ARRAY, F_REQUIRED, .items = &content_item }, { NULL } };
static const Field function_call_item_fields[] = {
  TYPE_FIELD, { "id", K_STRING }, { "object", K_ENUM, 0, .values = object_item },
  { "status", K_ENUM, 0, .values = statuses }, { "call_id", K_STRING },
  { "name", K_STRING, F_REQUIRED }, { "arguments", K_STRING, F_REQUIRED }, { NULL } };
static const Field function_output_item_fields[] = {
  TYPE_FIELD, { "id", K_STRING }, { "object", K_ENUM, 0, .values = object_item },
  { "status", K_ENUM, 0, .values = statuses },
  { "call_id", K_STRING, F_REQUIRED }, { "output", K_STRING, F_REQUIRED }, { NULL } };
static const Variant item_variants[] = {
  { "message", message_item_fields }, { "function_call", function_call_item_fields },
  { "function_call_output", function_output_item_fields }, { NULL } };
static const Field item_any = { "", K_TAGGED, 0, .variants = item_variants };

static const Field response_output_fields[] = {
  { "format", K_TAGGED, 0, .variants = format_variants },
  { "voice", K_CUSTOM, 0, .check = check_voice }, { NULL } };
static const Field response_audio_fields[] = {
  { "output", K_OBJECT, 0, .fields = response_output_fields }, { NULL } };
static const Field response_fields[] = {
  { "audio", K_OBJECT, 0, .fields = response_audio_fields },
  { "conversation", K_STRING }, { "input", K_ARRAY, 0, .items = &item_any },
  { "instructions", K_STRING }, { "metadata", K_ANY },
  { "max_output_tokens", K_CUSTOM, 0, .check = check_max_output_tokens },
  { "output_modalities", K_ARRAY, 0, .items = &modality_item },
  { "parallel_tool_calls", K_BOOLEAN }, { "prompt", K_ANY }, { "reasoning", K_OBJECT, 0, .fields = reasoning_fields },
  { "tool_choice", K_CUSTOM, 0, .check = check_tool_choice },
  { "tools", K_ARRAY, 0, .items = &tool_item }, { NULL } };

static const Field session_update_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "session", K_OBJECT, F_REQUIRED, .fields = session_fields }, { NULL } };
static const Field append_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "audio", K_STRING, F_REQUIRED }, { NULL } };
static const Field bare_fields[] = { TYPE_FIELD, EVENT_ID_FIELD, { NULL } };
static const Field item_create_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "previous_item_id", K_STRING, F_NULLABLE },
  { "item", K_TAGGED, F_REQUIRED, .variants = item_variants }, { NULL } };
static const Field item_id_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "item_id", K_STRING, F_REQUIRED }, { NULL } };
static const Field truncate_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "item_id", K_STRING, F_REQUIRED },
  { "content_index", K_INTEGER, F_REQUIRED | F_RANGE, .min = 0, .max = 0 },
  { "audio_end_ms", K_INTEGER, F_REQUIRED | F_RANGE, .min = 0, .max = G_MAXINT32 }, { NULL } };
static const Field response_create_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "response", K_OBJECT, 0, .fields = response_fields }, { NULL } };
static const Field response_cancel_fields[] = { TYPE_FIELD, EVENT_ID_FIELD,
  { "response_id", K_STRING }, { NULL } };

static const Variant client_events[] = {
  { "session.update", session_update_fields },
  { "input_audio_buffer.append", append_fields },
  { "input_audio_buffer.commit", bare_fields },
  { "input_audio_buffer.clear", bare_fields },
  { "output_audio_buffer.clear", bare_fields },
  { "conversation.item.create", item_create_fields },
  { "conversation.item.retrieve", item_id_fields },
  { "conversation.item.delete", item_id_fields },
  { "conversation.item.truncate", truncate_fields },
  { "response.create", response_create_fields },
  { "response.cancel", response_cancel_fields },
  { NULL } };

gboolean
mock_schema_check_client_event (JsonObject *event, MockApiError *err)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), event);

  return check_tagged (client_events, node, "", err);
}

/* ---------- what depends on the model ---------- */

/* The schema describes `reasoning` as the configuration of "reasoning-capable
 * Realtime models such as gpt-realtime-2"; the mock takes every
 * gpt-realtime-2* name for one and refuses `reasoning` for any other model,
 * with the answer OpenAI's APIs give a parameter the model does not support. */
static gboolean
is_reasoning_model (const char *model)
{
  return model && g_str_has_prefix (model, "gpt-realtime-2");
}

gboolean
mock_schema_check_for_model (JsonObject *update, const char *model, MockApiError *err)
{
  JsonNode *m = json_object_get_member (update, "model");

  if (m && is_string (m))
    model = json_node_get_string (m);
  if (json_object_has_member (update, "reasoning") && !is_reasoning_model (model))
    return fail (err, "unsupported_parameter", "session.reasoning",
        g_strdup_printf ("Unsupported parameter: 'session.reasoning' is not supported "
            "with this model (%s).", model ? model : "unknown"));
  return TRUE;
}

/* ---------- the session ---------- */

static JsonNode *
parse_literal (const char *json)
{
  return json_from_string (json, NULL);
}

JsonObject *
mock_schema_default_session (const char *session_id, const char *model)
{
  /* The GA defaults as session.created shows them: PCM 24 kHz both ways and
   * server VAD — exactly what turns into noise on a μ-law phone line. */
  g_autoptr (JsonNode) node = parse_literal (
      "{\"type\":\"realtime\",\"object\":\"realtime.session\","
      "\"output_modalities\":[\"audio\"],"
      "\"instructions\":\"Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI.\","
      "\"tools\":[],\"tool_choice\":\"auto\",\"max_output_tokens\":\"inf\","
      "\"tracing\":null,\"truncation\":\"auto\","
      "\"audio\":{\"input\":{\"format\":{\"type\":\"audio/pcm\",\"rate\":24000},"
      "\"transcription\":null,\"noise_reduction\":null,"
      "\"turn_detection\":{\"type\":\"server_vad\"}},"
      "\"output\":{\"format\":{\"type\":\"audio/pcm\",\"rate\":24000},"
      "\"voice\":\"alloy\",\"speed\":1.0}}}");
  JsonObject *session = json_object_ref (json_node_get_object (node));

  json_object_set_string_member (session, "id", session_id);
  json_object_set_string_member (session, "model", model);
  json_object_set_int_member (session, "expires_at", g_get_real_time () / G_USEC_PER_SEC + 3600);
  normalise (session);
  return session;
}

static const Field *
find_field (const Field *fields, const char *name)
{
  for (; fields && fields->name; fields++)
    if (strcmp (fields->name, name) == 0)
      return fields;
  return NULL;
}

static void
merge_object (JsonObject *dst, JsonObject *src, const Field *fields)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init (&iter, src);
  while (json_object_iter_next (&iter, &name, &member)) {
    const Field *f = find_field (fields, name);
    JsonNode *old = json_object_get_member (dst, name);

    if (f && f->kind == K_OBJECT && !(f->flags & F_NULLABLE) && old
        && JSON_NODE_HOLDS_OBJECT (old) && JSON_NODE_HOLDS_OBJECT (member) && old != member)
      merge_object (json_node_get_object (old), json_node_get_object (member), f->fields);
    else if (old != member)
      json_object_set_member (dst, name, json_node_copy (member));
  }
}

static JsonObject *
get_object (JsonObject *obj, const char *name)
{
  JsonNode *node = obj ? json_object_get_member (obj, name) : NULL;
  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static void
set_default (JsonObject *obj, const char *json_defaults)
{
  g_autoptr (JsonNode) defaults = parse_literal (json_defaults);
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init (&iter, json_node_get_object (defaults));
  while (json_object_iter_next (&iter, &name, &member))
    if (!json_object_has_member (obj, name))
      json_object_set_member (obj, name, json_node_copy (member));
}

static void
normalise_format (JsonObject *format)
{
  if (format && g_strcmp0 (json_object_get_string_member_with_default (format, "type", ""),
          "audio/pcm") == 0)
    set_default (format, "{\"rate\":24000}");
}

static void
normalise (JsonObject *session)
{
  JsonObject *input = get_object (get_object (session, "audio"), "input");
  JsonObject *output = get_object (get_object (session, "audio"), "output");
  JsonObject *td = get_object (input, "turn_detection");

  normalise_format (get_object (input, "format"));
  normalise_format (get_object (output, "format"));
  if (td && g_strcmp0 (json_object_get_string_member (td, "type"), "server_vad") == 0)
    set_default (td, "{\"threshold\":0.5,\"prefix_padding_ms\":300,\"silence_duration_ms\":500,"
        "\"idle_timeout_ms\":null,\"create_response\":true,\"interrupt_response\":true}");
  else if (td)
    set_default (td, "{\"eagerness\":\"auto\",\"create_response\":true,\"interrupt_response\":true}");
}

void
mock_schema_merge_session (JsonObject *session, JsonObject *update)
{
  merge_object (session, update, session_fields);
  normalise (session);
}

JsonNode *
mock_schema_session_view (JsonObject *session)
{
  g_autoptr (JsonNode) src = json_node_init_object (json_node_alloc (), session);
  JsonNode *view = json_node_copy (src);
  JsonObject *input = get_object (get_object (json_node_get_object (view), "audio"), "input");

  /* The strict schema types these two as objects only: "off" is shown by
   * leaving them out. */
  if (input) {
    JsonNode *n = json_object_get_member (input, "transcription");
    if (n && JSON_NODE_HOLDS_NULL (n))
      json_object_remove_member (input, "transcription");
    n = json_object_get_member (input, "noise_reduction");
    if (n && JSON_NODE_HOLDS_NULL (n))
      json_object_remove_member (input, "noise_reduction");
  }
  return view;
}
