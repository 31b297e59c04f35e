/* OpenAI GPT-Live: client-event builders and the server-event parser.
 * See gtr-live.h.
 *
 * Builders assemble a JsonObject and serialize it, so every string is
 * escaped by json-glib.  The session builder has one function per schema
 * sub-object and names only the schema's fields; tools given as JSON text
 * are checked against the schema's tool shapes before they are copied in,
 * so no path through the builder emits a field the strict server rejects.
 */
#include "gtr-protocol.h"
#include "gtr-json-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define MAX_INPUT_ITEMS 128

/* ------------------------------------------------------------------ */
/* Audio formats                                                        */

const char *
gtr_live_audio_format_type_name (GtrLiveAudioFormat format)
{
  switch (format) {
    case GTR_LIVE_FORMAT_PCMU: return "audio/pcmu";
    case GTR_LIVE_FORMAT_PCMA: return "audio/pcma";
    case GTR_LIVE_FORMAT_PCM16K:
    case GTR_LIVE_FORMAT_PCM24K: return "audio/pcm";
    case GTR_LIVE_FORMAT_UNSET: break;
  }
  return NULL;
}

guint
gtr_live_audio_format_rate (GtrLiveAudioFormat format)
{
  switch (format) {
    case GTR_LIVE_FORMAT_PCMU:
    case GTR_LIVE_FORMAT_PCMA: return 8000;
    case GTR_LIVE_FORMAT_PCM16K: return 16000;
    case GTR_LIVE_FORMAT_PCM24K: return 24000;
    case GTR_LIVE_FORMAT_UNSET: break;
  }
  return 0;
}

guint
gtr_live_audio_format_bytes_per_ms (GtrLiveAudioFormat format)
{
  switch (format) {
    case GTR_LIVE_FORMAT_PCMU:
    case GTR_LIVE_FORMAT_PCMA: return 8;
    case GTR_LIVE_FORMAT_PCM16K:
    case GTR_LIVE_FORMAT_PCM24K: return gtr_live_audio_format_rate (format) / 1000 * 2;
    case GTR_LIVE_FORMAT_UNSET: break;
  }
  return 0;
}

char *
gtr_live_audio_format_describe (GtrLiveAudioFormat format)
{
  const char *type = gtr_live_audio_format_type_name (format);

  if (type == NULL)
    return g_strdup ("unset");
  return g_strdup_printf ("%s %u Hz", type, gtr_live_audio_format_rate (format));
}

GtrLiveAudioFormat
gtr_live_audio_format_from_type_rate (const char *type, gint64 rate)
{
  if (type == NULL)
    return GTR_LIVE_FORMAT_UNSET;
  if (strcmp (type, "audio/pcmu") == 0 && rate == 8000)
    return GTR_LIVE_FORMAT_PCMU;
  if (strcmp (type, "audio/pcma") == 0 && rate == 8000)
    return GTR_LIVE_FORMAT_PCMA;
  if (strcmp (type, "audio/pcm") == 0 && rate == 16000)
    return GTR_LIVE_FORMAT_PCM16K;
  if (strcmp (type, "audio/pcm") == 0 && rate == 24000)
    return GTR_LIVE_FORMAT_PCM24K;
  return GTR_LIVE_FORMAT_UNSET;
}

/* ------------------------------------------------------------------ */
/* Session configuration                                                */

typedef struct {
  GtrLiveRole role;
  char *text;
} InputItem;

static void
input_item_free (gpointer data)
{
  InputItem *item = data;

  g_free (item->text);
  g_free (item);
}

void
gtr_live_responses_config_init (GtrLiveResponsesConfig *responses)
{
  g_return_if_fail (responses != NULL);

  memset (responses, 0, sizeof (*responses));
}

void
gtr_live_responses_config_clear (GtrLiveResponsesConfig *responses)
{
  g_return_if_fail (responses != NULL);

  g_free (responses->model);
  g_free (responses->instructions);
  g_free (responses->tools_json);
  g_free (responses->tool_choice);
  gtr_live_responses_config_init (responses);
}

void
gtr_live_session_config_init (GtrLiveSessionConfig *config)
{
  g_return_if_fail (config != NULL);

  memset (config, 0, sizeof (*config));
  config->store = -1;
  gtr_live_responses_config_init (&config->responses);
}

void
gtr_live_session_config_clear (GtrLiveSessionConfig *config)
{
  g_return_if_fail (config != NULL);

  g_free (config->model);
  g_free (config->instructions);
  g_free (config->voice);
  g_free (config->custom_voice_id);
  gtr_live_responses_config_clear (&config->responses);
  g_clear_pointer (&config->input, g_ptr_array_unref);
  gtr_live_session_config_init (config);
}

void
gtr_live_session_config_add_input (GtrLiveSessionConfig *config,
    GtrLiveRole role, const char *text)
{
  InputItem *item;

  g_return_if_fail (config != NULL);
  g_return_if_fail (text != NULL);

  if (config->input == NULL)
    config->input = g_ptr_array_new_with_free_func (input_item_free);
  item = g_new0 (InputItem, 1);
  item->role = role;
  item->text = g_strdup (text);
  g_ptr_array_add (config->input, item);
}

/* ------------------------------------------------------------------ */
/* Client events: the envelope is gtr_json_event_new/_finish (the schema's
 * client field is `event_id`; the server echoes it as `client_event_id`) */

static gboolean
build_error (GError **error, GtrProtocolError code, const char *field,
    const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
build_error (GError **error, GtrProtocolError code, const char *field,
    const char *fmt, ...)
{
  va_list ap;
  char *why;

  va_start (ap, fmt);
  why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, GTR_PROTOCOL_ERROR, code, "%s: %s", field, why);
  g_free (why);
  return FALSE;
}

static gboolean
is_set (const char *s)
{
  return s != NULL && s[0] != '\0';
}

/* ------------------------------------------------------------------ */
/* Tools of the Responses backend                                       */

static gboolean
node_is (JsonNode *node, GType type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* A member that must be `type` or null. */
static gboolean
check_nullable (JsonObject *tool, const char *member, GType type, gboolean object,
    const char *field, guint i, GError **error)
{
  JsonNode *node = json_object_get_member (tool, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (object ? JSON_NODE_HOLDS_OBJECT (node) : node_is (node, type))
    return TRUE;
  return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field,
      "tool %u: \"%s\" is %s", i, member, gtr_json_describe_node (node));
}

/* {"type":"function","name",…}: only the schema's five fields. */
static gboolean
check_function_tool (JsonObject *tool, const char *field, guint i, GError **error)
{
  static const char *const known[] = {
    "type", "name", "description", "parameters", "strict", NULL
  };
  g_autoptr (GList) members = json_object_get_members (tool);

  for (GList *l = members; l != NULL; l = l->next) {
    if (!g_strv_contains (known, l->data))
      return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field,
          "tool %u: function tools have no field \"%s\"", i, (const char *) l->data);
  }
  if (!node_is (json_object_get_member (tool, "name"), G_TYPE_STRING))
    return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field,
        "tool %u: a function tool needs a string \"name\"", i);
  return check_nullable (tool, "description", G_TYPE_STRING, FALSE, field, i, error) &&
      check_nullable (tool, "parameters", G_TYPE_INVALID, TRUE, field, i, error) &&
      check_nullable (tool, "strict", G_TYPE_BOOLEAN, FALSE, field, i, error);
}

/* Checks one tool against the schema's ResponsesTool (start) or
 * ResponsesUpdateTool (update) union. */
static gboolean
check_tool (JsonNode *node, gboolean for_update, const char *field, guint i,
    GError **error)
{
  static const char *const open_types[] = {
    "file_search", "code_interpreter", "image_generation", NULL
  };
  JsonObject *tool;
  JsonNode *type_node;
  const char *type;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field,
        "tool %u is %s, not an object", i, gtr_json_describe_node (node));
  tool = json_node_get_object (node);
  type_node = json_object_get_member (tool, "type");
  if (!node_is (type_node, G_TYPE_STRING))
    return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field,
        "tool %u has no string \"type\"", i);
  type = json_node_get_string (type_node);
  if (strcmp (type, "function") == 0)
    return check_function_tool (tool, field, i, error);
  if (strcmp (type, "web_search") == 0) {
    if (json_object_get_size (tool) != 1)
      return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field,
          "tool %u: web_search has no field but \"type\"", i);
    return TRUE;
  }
  if (!for_update && g_strv_contains (open_types, type))
    return TRUE;
  if (!for_update && strcmp (type, "shell") == 0) {
    JsonNode *env = json_object_get_member (tool, "environment");

    if (env == NULL || !JSON_NODE_HOLDS_OBJECT (env))
      return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field,
          "tool %u: a shell tool needs an \"environment\" object", i);
    return TRUE;
  }
  return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field,
      "tool %u: type \"%s\" is not one the %s accepts", i, type,
      for_update ? "session.update (function, web_search)" : "Responses backend");
}

static gboolean
add_tools (JsonObject *responses, const char *tools_json, gboolean for_update,
    const char *field, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local = NULL;
  JsonArray *array;

  if (tools_json == NULL)
    return TRUE;
  root = json_from_string (tools_json, &local);
  if (root == NULL)
    return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field, "not JSON: %s",
        local != NULL ? local->message : "empty text");
  if (!JSON_NODE_HOLDS_ARRAY (root))
    return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field,
        "%s, not a JSON array", gtr_json_describe_node (root));
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    if (!check_tool (json_array_get_element (array, i), for_update, field, i, error))
      return FALSE;
  }
  json_object_set_array_member (responses, "tools", json_array_ref (array));
  return TRUE;
}

static gboolean
add_tool_choice (JsonObject *responses, const char *choice, const char *field,
    GError **error)
{
  static const char *const modes[] = { "auto", "none", "required", NULL };
  JsonObject *fn;

  if (choice == NULL)
    return TRUE;
  if (choice[0] == '\0')
    return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, field, "empty function name");
  if (g_strv_contains (modes, choice)) {
    json_object_set_string_member (responses, "tool_choice", choice);
    return TRUE;
  }
  fn = json_object_new ();
  json_object_set_string_member (fn, "type", "function");
  json_object_set_string_member (fn, "name", choice);
  json_object_set_object_member (responses, "tool_choice", fn);
  return TRUE;
}

/* The `responses` object of a delegation (start: model required). */
static JsonObject *
responses_object (const GtrLiveResponsesConfig *r, gboolean for_update, GError **error)
{
  JsonObject *obj = json_object_new ();

  if (is_set (r->model))
    json_object_set_string_member (obj, "model", r->model);
  else if (!for_update) {
    build_error (error, GTR_PROTOCOL_ERROR_MISSING_FIELD,
        "session.delegation.responses.model", "a Responses backend needs a model");
    goto fail;
  }
  if (r->instructions != NULL)
    json_object_set_string_member (obj, "instructions", r->instructions);
  if (!add_tools (obj, r->tools_json, for_update, "session.delegation.responses.tools", error) ||
      !add_tool_choice (obj, r->tool_choice, "session.delegation.responses.tool_choice", error))
    goto fail;
  if (for_update && json_object_get_size (obj) == 0) {
    build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.delegation.responses",
        "nothing to update");
    goto fail;
  }
  return obj;

fail:
  json_object_unref (obj);
  return NULL;
}

static JsonObject *
delegation_object (const char *type, JsonObject *responses)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "type", type);
  if (responses != NULL)
    json_object_set_object_member (obj, "responses", responses);
  return obj;
}

static gboolean
add_delegation (JsonObject *session, const GtrLiveSessionConfig *c, GError **error)
{
  JsonObject *responses;

  switch (c->delegation) {
    case GTR_LIVE_DELEGATION_UNSET:
      return TRUE;
    case GTR_LIVE_DELEGATION_CLIENT:
      json_object_set_object_member (session, "delegation", delegation_object ("client", NULL));
      return TRUE;
    case GTR_LIVE_DELEGATION_RESPONSES:
      responses = responses_object (&c->responses, FALSE, error);
      if (responses == NULL)
        return FALSE;
      json_object_set_object_member (session, "delegation",
          delegation_object ("responses", responses));
      return TRUE;
  }
  return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.delegation",
      "unknown value %d", (int) c->delegation);
}

static gboolean
add_audio (JsonObject *session, const GtrLiveSessionConfig *c, GError **error)
{
  JsonObject *audio, *output = NULL;

  if (c->format != GTR_LIVE_FORMAT_UNSET && gtr_live_audio_format_type_name (c->format) == NULL)
    return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.audio.format",
        "unknown format %d", (int) c->format);
  if (is_set (c->voice) && is_set (c->custom_voice_id))
    return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.audio.output.voice",
        "a voice name and a custom voice id are both set");
  audio = json_object_new ();
  if (c->format != GTR_LIVE_FORMAT_UNSET) {
    JsonObject *format = json_object_new ();

    json_object_set_string_member (format, "type", gtr_live_audio_format_type_name (c->format));
    json_object_set_int_member (format, "rate", gtr_live_audio_format_rate (c->format));
    json_object_set_object_member (audio, "format", format);
  }
  if (is_set (c->voice)) {
    output = json_object_new ();
    json_object_set_string_member (output, "voice", c->voice);
  } else if (is_set (c->custom_voice_id)) {
    JsonObject *voice = json_object_new ();

    json_object_set_string_member (voice, "id", c->custom_voice_id);
    output = json_object_new ();
    json_object_set_object_member (output, "voice", voice);
  }
  if (output != NULL)
    json_object_set_object_member (audio, "output", output);
  if (json_object_get_size (audio) > 0)
    json_object_set_object_member (session, "audio", audio);
  else
    json_object_unref (audio);
  return TRUE;
}

/* {"type":"message","role":…,"content":[{"type":"input_text"|"output_text","text":…}]} */
static gboolean
add_input (JsonObject *session, GPtrArray *input, GError **error)
{
  JsonArray *items;

  if (input == NULL || input->len == 0)
    return TRUE;
  if (input->len > MAX_INPUT_ITEMS)
    return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.input",
        "%u messages, the limit is %d", input->len, MAX_INPUT_ITEMS);
  items = json_array_new ();
  for (guint i = 0; i < input->len; i++) {
    const InputItem *in = g_ptr_array_index (input, i);
    static const char *const roles[] = { "developer", "user", "assistant" };
    JsonObject *item, *part;
    JsonArray *content;

    if ((guint) in->role >= G_N_ELEMENTS (roles)) {
      json_array_unref (items);
      return build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.input",
          "message %u: unknown role %d", i, (int) in->role);
    }
    part = json_object_new ();
    json_object_set_string_member (part, "type",
        in->role == GTR_LIVE_ROLE_ASSISTANT ? "output_text" : "input_text");
    json_object_set_string_member (part, "text", in->text);
    content = json_array_new ();
    json_array_add_object_element (content, part);
    item = json_object_new ();
    json_object_set_string_member (item, "type", "message");
    json_object_set_string_member (item, "role", roles[in->role]);
    json_object_set_array_member (item, "content", content);
    json_array_add_object_element (items, item);
  }
  json_object_set_array_member (session, "input", items);
  return TRUE;
}

static JsonObject *
session_object (const GtrLiveSessionConfig *c, GError **error)
{
  JsonObject *session;

  if (!is_set (c->model)) {
    build_error (error, GTR_PROTOCOL_ERROR_MISSING_FIELD, "session.model",
        "the model is required");
    return NULL;
  }
  if (c->store < -1 || c->store > 1) {
    build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "session.store",
        "%d is not -1 (unset), 0 or 1", c->store);
    return NULL;
  }
  session = json_object_new ();
  json_object_set_string_member (session, "model", c->model);
  if (is_set (c->instructions))
    json_object_set_string_member (session, "instructions", c->instructions);
  if (!add_input (session, c->input, error) ||
      !add_audio (session, c, error) ||
      !add_delegation (session, c, error)) {
    json_object_unref (session);
    return NULL;
  }
  if (c->store != -1)
    json_object_set_boolean_member (session, "store", c->store == 1);
  return session;
}

char *
gtr_live_build_session_start (const GtrLiveSessionConfig *config,
    char **event_id, GError **error)
{
  JsonObject *session, *event;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  session = session_object (config, error);
  if (session == NULL)
    return NULL;
  event = gtr_json_event_new ("session.start", event_id);
  json_object_set_object_member (event, "session", session);
  return gtr_json_object_to_text (event);
}

char *
gtr_live_build_session_update (const GtrLiveResponsesConfig *responses,
    char **event_id, GError **error)
{
  JsonObject *obj, *session, *event;

  g_return_val_if_fail (responses != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  obj = responses_object (responses, TRUE, error);
  if (obj == NULL)
    return NULL;
  session = json_object_new ();
  json_object_set_object_member (session, "delegation", delegation_object ("responses", obj));
  event = gtr_json_event_new ("session.update", event_id);
  json_object_set_object_member (event, "session", session);
  return gtr_json_object_to_text (event);
}

/* ------------------------------------------------------------------ */
/* Other client events                                                  */

char *
gtr_live_build_input_audio_append (const guint8 *audio, gsize len, char **event_id)
{
  JsonObject *event;
  char *b64;

  g_return_val_if_fail (audio != NULL || len == 0, NULL);

  event = gtr_json_audio_event_new ("session.input_audio.append", event_id);
  b64 = g_base64_encode (audio, len);
  json_object_set_string_member (event, "audio", b64);
  g_free (b64);
  return gtr_json_object_to_text (event);
}

char *
gtr_live_build_input_audio_mute (char **event_id)
{
  return gtr_json_object_to_text (gtr_json_event_new ("session.input_audio.mute", event_id));
}

char *
gtr_live_build_input_audio_unmute (char **event_id)
{
  return gtr_json_object_to_text (gtr_json_event_new ("session.input_audio.unmute", event_id));
}

char *
gtr_live_build_append (GtrLiveAppendKind kind, const char *content,
    const char *delegation_id, char **event_id)
{
  static const char *const types[] = {
    "session.instructions.append", "session.thinking.append", "session.commentary.append"
  };
  JsonObject *event;

  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (types), NULL);
  g_return_val_if_fail (content != NULL, NULL);

  event = gtr_json_event_new (types[kind], event_id);
  json_object_set_string_member (event, "content", content);
  if (delegation_id != NULL)
    json_object_set_string_member (event, "delegation_id", delegation_id);
  else
    json_object_set_null_member (event, "delegation_id");
  return gtr_json_object_to_text (event);
}

static char *
build_item_create (JsonObject *item, char **event_id)
{
  JsonObject *event = gtr_json_event_new ("response.item.create", event_id);

  json_object_set_object_member (event, "item", item);
  return gtr_json_object_to_text (event);
}

char *
gtr_live_build_response_item_create (const char *item_json, char **event_id,
    GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local = NULL;
  JsonObject *item;
  JsonNode *type;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (item_json == NULL) {
    build_error (error, GTR_PROTOCOL_ERROR_MISSING_FIELD, "item", "no item");
    return NULL;
  }
  root = gtr_json_parse_object (item_json, strlen (item_json), 0, "item", &local);
  if (root == NULL) {
    g_set_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE, "%s", local->message);
    return NULL;
  }
  item = json_node_get_object (root);
  type = json_object_get_member (item, "type");
  if (!node_is (type, G_TYPE_STRING)) {
    build_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "item.type", "is %s, not a string",
        type != NULL ? gtr_json_describe_node (type) : "missing");
    return NULL;
  }
  return build_item_create (json_object_ref (item), event_id);
}

char *
gtr_live_build_function_call_output (const char *call_id, const char *output,
    char **event_id)
{
  JsonObject *item;

  g_return_val_if_fail (call_id != NULL, NULL);
  g_return_val_if_fail (output != NULL, NULL);

  item = json_object_new ();
  json_object_set_string_member (item, "type", "function_call_output");
  json_object_set_string_member (item, "call_id", call_id);
  json_object_set_string_member (item, "output", output);
  return build_item_create (item, event_id);
}

char *
gtr_live_build_response_create (char **event_id)
{
  return gtr_json_object_to_text (gtr_json_event_new ("response.create", event_id));
}

char *
gtr_live_build_session_close (char **event_id)
{
  return gtr_json_object_to_text (gtr_json_event_new ("session.close", event_id));
}

/* ------------------------------------------------------------------ */
/* Server events: field readers                                         */

void
gtr_live_server_event_free (GtrLiveServerEvent *ev)
{
  if (ev == NULL)
    return;
  g_free (ev->type_name);
  g_free (ev->event_id);
  g_free (ev->client_event_id);
  g_free (ev->session_id);
  g_free (ev->model);
  g_free (ev->status);
  g_free (ev->instructions);
  g_free (ev->format_desc);
  g_free (ev->voice);
  g_free (ev->custom_voice_id);
  g_free (ev->delegation_type);
  g_free (ev->session_json);
  g_free (ev->reason);
  g_clear_pointer (&ev->audio, g_bytes_unref);
  g_free (ev->delta);
  g_free (ev->delegation_id);
  g_free (ev->delegation_target);
  g_free (ev->response_id);
  g_free (ev->response_event_type);
  g_free (ev->response_event_json);
  g_free (ev->call_name);
  g_free (ev->call_id);
  g_free (ev->call_arguments);
  g_free (ev->error_type);
  g_free (ev->error_code);
  g_free (ev->error_message);
  g_free (ev->error_param);
  g_free (ev->error_client_event_id);
  g_free (ev->info_code);
  g_free (ev->info_message);
  g_free (ev->raw_json);
  g_free (ev);
}

const char *
gtr_live_server_event_error_client_event_id (const GtrLiveServerEvent *ev)
{
  g_return_val_if_fail (ev != NULL, NULL);

  return ev->error_client_event_id != NULL ? ev->error_client_event_id : ev->client_event_id;
}

typedef enum { OPTIONAL, REQUIRED } Need;

/* Where a reader is looking: the object and its dotted path for error
 * texts ("" at the top level, "session.audio", …).  Nesting is fixed by
 * the readers below, so the path always fits. */
typedef struct {
  JsonObject *obj;
  char path[64];
} Scope;

static char *
field_path (const Scope *s, const char *member)
{
  return s->path[0] != '\0' ? g_strconcat (s->path, ".", member, NULL)
      : g_strdup (member);
}

static gboolean
field_error (const Scope *s, const char *member, GtrProtocolError code,
    const char *what, GError **error)
{
  char *path = field_path (s, member);

  g_set_error (error, GTR_PROTOCOL_ERROR, code, "field \"%s\" %s", path, what);
  g_free (path);
  return FALSE;
}

/* The member's node, or NULL when absent or null (then fails if required). */
static JsonNode *
get_node (const Scope *s, const char *member, Need need, gboolean *ok, GError **error)
{
  JsonNode *node = s->obj != NULL ? json_object_get_member (s->obj, member) : NULL;

  *ok = TRUE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node)) {
    if (need == REQUIRED)
      *ok = field_error (s, member, GTR_PROTOCOL_ERROR_MISSING_FIELD, "is missing", error);
    return NULL;
  }
  return node;
}

static gboolean
read_string (const Scope *s, const char *member, Need need, char **out, GError **error)
{
  gboolean ok;
  JsonNode *node = get_node (s, member, need, &ok, error);

  if (node == NULL)
    return ok;
  if (!node_is (node, G_TYPE_STRING))
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_TYPE, "is not a string", error);
  g_free (*out);
  *out = json_node_dup_string (node);
  return TRUE;
}

static gboolean
read_int64 (const Scope *s, const char *member, Need need, gint64 *out, GError **error)
{
  gboolean ok;
  JsonNode *node = get_node (s, member, need, &ok, error);

  if (node == NULL)
    return ok;
  if (!node_is (node, G_TYPE_INT64))
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_TYPE, "is not an integer", error);
  if (json_node_get_int (node) < 0)
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_VALUE, "is negative", error);
  *out = json_node_get_int (node);
  return TRUE;
}

/* A number, integer or not (usage.seconds is 61.4 or 30). */
static gboolean
read_number (const Scope *s, const char *member, Need need, gdouble *out, GError **error)
{
  gboolean ok;
  JsonNode *node = get_node (s, member, need, &ok, error);
  gdouble v;

  if (node == NULL)
    return ok;
  if (node_is (node, G_TYPE_INT64))
    v = (gdouble) json_node_get_int (node);
  else if (node_is (node, G_TYPE_DOUBLE))
    v = json_node_get_double (node);
  else
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_TYPE, "is not a number", error);
  if (v < 0.0)
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_VALUE, "is negative", error);
  *out = v;
  return TRUE;
}

static gboolean
read_boolean (const Scope *s, const char *member, gint *out, GError **error)
{
  gboolean ok;
  JsonNode *node = get_node (s, member, OPTIONAL, &ok, error);

  if (node == NULL)
    return ok;
  if (!node_is (node, G_TYPE_BOOLEAN))
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_TYPE, "is not a boolean", error);
  *out = json_node_get_boolean (node) ? 1 : 0;
  return TRUE;
}

/* An object member as a Scope (obj NULL when optional and absent). */
static gboolean
read_object (const Scope *s, const char *member, Need need, Scope *out, GError **error)
{
  gboolean ok;
  JsonNode *node = get_node (s, member, need, &ok, error);
  char *path = field_path (s, member);

  out->obj = NULL;
  g_strlcpy (out->path, path, sizeof (out->path));
  g_free (path);
  if (node == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_TYPE, "is not an object", error);
  out->obj = json_node_get_object (node);
  return TRUE;
}

static char *
serialize_member (JsonObject *obj, const char *member)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, member) : NULL;

  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? gtr_json_to_text (node) : NULL;
}

static gboolean
read_base64 (const Scope *s, const char *member, GBytes **out, GError **error)
{
  char *text = NULL;
  gsize len, decoded_len = 0;

  if (!read_string (s, member, REQUIRED, &text, error))
    return FALSE;
  len = strlen (text);
  if (!gtr_base64_is_strict (text, len)) {
    g_free (text);
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_BASE64, "is not valid base64", error);
  }
  if (len == 0) {
    g_free (text);
    *out = g_bytes_new (NULL, 0);
  } else {
    g_base64_decode_inplace (text, &decoded_len);
    *out = g_bytes_new_take (text, decoded_len);
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Server events: one reader per type                                   */

/* session.audio.format: a shape error fails; a well-formed format the
 * schema does not allow is UNSET, described as the server said it. */
static gboolean
read_format (const Scope *audio, GtrLiveServerEvent *ev, GError **error)
{
  Scope format;
  gint64 rate = -1;

  if (!read_object (audio, "format", OPTIONAL, &format, error))
    return FALSE;
  if (format.obj == NULL)
    return TRUE;
  g_free (ev->format_desc);
  ev->format_desc = NULL;
  if (!read_string (&format, "type", REQUIRED, &ev->format_desc, error) ||
      !read_int64 (&format, "rate", OPTIONAL, &rate, error))
    return FALSE;
  ev->format = gtr_live_audio_format_from_type_rate (ev->format_desc, rate);
  if (rate >= 0) {
    char *desc = g_strdup_printf ("%s %" G_GINT64_FORMAT " Hz", ev->format_desc, rate);
    g_free (ev->format_desc);
    ev->format_desc = desc;
  }
  return TRUE;
}

/* session.audio.output.voice: a name or {"id":…}. */
static gboolean
read_voice (const Scope *output, GtrLiveServerEvent *ev, GError **error)
{
  JsonNode *node;
  Scope voice;

  if (output->obj == NULL)
    return TRUE;
  node = json_object_get_member (output->obj, "voice");
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (node_is (node, G_TYPE_STRING))
    return read_string (output, "voice", OPTIONAL, &ev->voice, error);
  if (!read_object (output, "voice", OPTIONAL, &voice, error))
    return FALSE;
  return read_string (&voice, "id", REQUIRED, &ev->custom_voice_id, error);
}

static gboolean
read_session (const Scope *top, Need need, GtrLiveServerEvent *ev, GError **error)
{
  Scope session, audio, output, delegation;

  if (!read_object (top, "session", need, &session, error))
    return FALSE;
  if (session.obj == NULL)
    return TRUE;
  ev->session_json = serialize_member (top->obj, "session");
  return read_string (&session, "id", REQUIRED, &ev->session_id, error) &&
      read_string (&session, "model", OPTIONAL, &ev->model, error) &&
      read_string (&session, "status", OPTIONAL, &ev->status, error) &&
      read_int64 (&session, "expires_at", OPTIONAL, &ev->expires_at, error) &&
      read_string (&session, "instructions", OPTIONAL, &ev->instructions, error) &&
      read_boolean (&session, "store", &ev->store, error) &&
      read_object (&session, "audio", OPTIONAL, &audio, error) &&
      read_format (&audio, ev, error) &&
      read_object (&audio, "output", OPTIONAL, &output, error) &&
      read_voice (&output, ev, error) &&
      read_object (&session, "delegation", OPTIONAL, &delegation, error) &&
      read_string (&delegation, "type", delegation.obj != NULL ? REQUIRED : OPTIONAL,
          &ev->delegation_type, error);
}

static gboolean
parse_session (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  return read_session (top, REQUIRED, ev, error);
}

static gboolean
parse_closed (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  Scope usage;

  return read_string (top, "reason", REQUIRED, &ev->reason, error) &&
      read_object (top, "usage", REQUIRED, &usage, error) &&
      read_number (&usage, "seconds", REQUIRED, &ev->usage_seconds, error) &&
      read_session (top, OPTIONAL, ev, error);
}

static gboolean
parse_usage (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  Scope usage, window;

  return read_object (top, "usage", REQUIRED, &usage, error) &&
      read_number (&usage, "seconds", REQUIRED, &ev->usage_seconds, error) &&
      read_object (top, "context_window", OPTIONAL, &window, error) &&
      read_number (&window, "usage_ratio", OPTIONAL, &ev->context_usage_ratio, error);
}

/* error.{type, code, message, param, client_event_id}.  Only the message is
 * required: an error whose code is missing is still an error to report. */
static gboolean
parse_error (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  Scope err;

  return read_object (top, "error", REQUIRED, &err, error) &&
      read_string (&err, "message", REQUIRED, &ev->error_message, error) &&
      read_string (&err, "type", OPTIONAL, &ev->error_type, error) &&
      read_string (&err, "code", OPTIONAL, &ev->error_code, error) &&
      read_string (&err, "param", OPTIONAL, &ev->error_param, error) &&
      read_string (&err, "client_event_id", OPTIONAL, &ev->error_client_event_id, error);
}

static gboolean
parse_info (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  return read_string (top, "code", OPTIONAL, &ev->info_code, error) &&
      read_string (top, "message", OPTIONAL, &ev->info_message, error);
}

static gboolean
parse_appended (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  return read_int64 (top, "start_ms", REQUIRED, &ev->start_ms, error) &&
      read_int64 (top, "end_ms", REQUIRED, &ev->end_ms, error);
}

static gboolean
parse_output_audio (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  return read_base64 (top, "delta", &ev->audio, error) &&
      read_int64 (top, "start_ms", OPTIONAL, &ev->start_ms, error) &&
      read_int64 (top, "end_ms", OPTIONAL, &ev->end_ms, error);
}

static gboolean
parse_input_audio (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  return read_base64 (top, "audio", &ev->audio, error);
}

static gboolean
parse_transcript (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  return read_string (top, "delta", REQUIRED, &ev->delta, error) &&
      parse_appended (top, ev, error);
}

static gboolean
parse_delegation (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  Scope delegation;

  return read_int64 (top, "offset_ms", OPTIONAL, &ev->offset_ms, error) &&
      read_object (top, "delegation", REQUIRED, &delegation, error) &&
      read_string (&delegation, "id", REQUIRED, &ev->delegation_id, error) &&
      read_string (&delegation, "target", OPTIONAL, &ev->delegation_target, error) &&
      read_string (&delegation, "response_id", OPTIONAL, &ev->response_id, error);
}

/* A nested Responses event; a function_call item in it is a tool call. */
static gboolean
parse_response_event (const Scope *top, GtrLiveServerEvent *ev, GError **error)
{
  Scope nested, item, response;
  g_autofree char *item_type = NULL;

  if (!read_string (top, "delegation_id", OPTIONAL, &ev->delegation_id, error) ||
      !read_object (top, "event", REQUIRED, &nested, error) ||
      !read_string (&nested, "type", REQUIRED, &ev->response_event_type, error) ||
      !read_object (&nested, "response", OPTIONAL, &response, error) ||
      !read_string (&response, "id", OPTIONAL, &ev->response_id, error) ||
      !read_string (&nested, "response_id", OPTIONAL, &ev->response_id, error) ||
      !read_object (&nested, "item", OPTIONAL, &item, error) ||
      !read_string (&item, "type", OPTIONAL, &item_type, error))
    return FALSE;
  ev->response_event_json = serialize_member (top->obj, "event");
  if (g_strcmp0 (item_type, "function_call") != 0)
    return TRUE;
  return read_string (&item, "call_id", REQUIRED, &ev->call_id, error) &&
      read_string (&item, "name", REQUIRED, &ev->call_name, error) &&
      read_string (&item, "arguments", OPTIONAL, &ev->call_arguments, error);
}

typedef gboolean (*ParseFunc) (const Scope *top, GtrLiveServerEvent *ev, GError **error);

static const struct {
  const char *name;
  GtrLiveEventType type;
  ParseFunc parse;              /* NULL: nothing but the envelope */
} event_table[] = {
  { "error", GTR_LIVE_EVENT_ERROR, parse_error },
  { "session.started", GTR_LIVE_EVENT_SESSION_STARTED, parse_session },
  { "session.updated", GTR_LIVE_EVENT_SESSION_UPDATED, parse_session },
  { "session.closed", GTR_LIVE_EVENT_SESSION_CLOSED, parse_closed },
  { "session.input_audio.muted", GTR_LIVE_EVENT_INPUT_AUDIO_MUTED, NULL },
  { "session.input_audio.unmuted", GTR_LIVE_EVENT_INPUT_AUDIO_UNMUTED, NULL },
  { "session.instructions.appended", GTR_LIVE_EVENT_INSTRUCTIONS_APPENDED, parse_appended },
  { "session.thinking.appended", GTR_LIVE_EVENT_THINKING_APPENDED, parse_appended },
  { "session.commentary.appended", GTR_LIVE_EVENT_COMMENTARY_APPENDED, parse_appended },
  { "session.output_audio.delta", GTR_LIVE_EVENT_OUTPUT_AUDIO_DELTA, parse_output_audio },
  { "session.input_audio.append", GTR_LIVE_EVENT_INPUT_AUDIO_APPEND, parse_input_audio },
  { "session.input_transcript.delta", GTR_LIVE_EVENT_INPUT_TRANSCRIPT_DELTA, parse_transcript },
  { "session.output_transcript.delta", GTR_LIVE_EVENT_OUTPUT_TRANSCRIPT_DELTA, parse_transcript },
  { "session.delegation.created", GTR_LIVE_EVENT_DELEGATION_CREATED, parse_delegation },
  { "response.event", GTR_LIVE_EVENT_RESPONSE_EVENT, parse_response_event },
  { "session.usage.updated", GTR_LIVE_EVENT_USAGE_UPDATED, parse_usage },
  { "info", GTR_LIVE_EVENT_INFO, parse_info },
};

/* ------------------------------------------------------------------ */
/* Server events: the parser                                            */

static GtrLiveServerEvent *
server_event_new (void)
{
  GtrLiveServerEvent *ev = g_new0 (GtrLiveServerEvent, 1);

  ev->expires_at = -1;
  ev->store = -1;
  ev->usage_seconds = -1.0;
  ev->context_usage_ratio = -1.0;
  ev->start_ms = -1;
  ev->end_ms = -1;
  ev->offset_ms = -1;
  return ev;
}

static gboolean
dispatch (const Scope *top, const char *text, gsize len,
    GtrLiveServerEvent *ev, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (event_table); i++) {
    if (strcmp (event_table[i].name, ev->type_name) != 0)
      continue;
    ev->type = event_table[i].type;
    return event_table[i].parse == NULL || event_table[i].parse (top, ev, error);
  }
  ev->type = GTR_LIVE_EVENT_OTHER;
  ev->raw_json = g_strndup (text, len);
  return TRUE;
}

GtrLiveServerEvent *
gtr_live_server_event_parse (const char *text, gssize len, gsize max_len,
    GError **error)
{
  GtrLiveServerEvent *ev;
  JsonNode *root;
  Scope top = { NULL, "" };
  gboolean ok;

  g_return_val_if_fail (text != NULL || len <= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (text == NULL)
    text = "";
  if (len < 0)
    len = (gssize) strlen (text);
  root = gtr_json_parse_object (text, (gsize) len, max_len, "event", error);
  if (root == NULL)
    return NULL;

  top.obj = json_node_get_object (root);
  ev = server_event_new ();
  ok = read_string (&top, "type", REQUIRED, &ev->type_name, error) &&
      read_string (&top, "event_id", OPTIONAL, &ev->event_id, error) &&
      read_string (&top, "client_event_id", OPTIONAL, &ev->client_event_id, error) &&
      dispatch (&top, text, (gsize) len, ev, error);
  json_node_unref (root);
  if (!ok)
    g_clear_pointer (&ev, gtr_live_server_event_free);
  return ev;
}
