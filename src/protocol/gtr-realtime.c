/* OpenAI Realtime API, GA interface: client-event builders and the
 * server-event parser.  See gtr-realtime.h.
 *
 * Builders assemble a JsonObject and serialize it, so every string is
 * escaped by json-glib; the session builder has one function per GA
 * sub-object and no code path that names a beta field or "temperature".
 */
#include "gtr-protocol.h"
#include "gtr-json-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Audio formats                                                        */

#define GTR_PCM_RATE 24000

const char *
gtr_audio_format_type_name (GtrAudioFormat format)
{
  switch (format) {
    case GTR_AUDIO_FORMAT_PCMU: return "audio/pcmu";
    case GTR_AUDIO_FORMAT_PCMA: return "audio/pcma";
    case GTR_AUDIO_FORMAT_PCM24K: return "audio/pcm";
    case GTR_AUDIO_FORMAT_UNSET: break;
  }
  return NULL;
}

char *
gtr_audio_format_describe (GtrAudioFormat format)
{
  switch (format) {
    case GTR_AUDIO_FORMAT_PCMU: return g_strdup ("audio/pcmu 8000 Hz");
    case GTR_AUDIO_FORMAT_PCMA: return g_strdup ("audio/pcma 8000 Hz");
    case GTR_AUDIO_FORMAT_PCM24K: return g_strdup_printf ("audio/pcm %d Hz", GTR_PCM_RATE);
    case GTR_AUDIO_FORMAT_UNSET: break;
  }
  return g_strdup ("unset");
}

guint
gtr_audio_format_bytes_per_ms (GtrAudioFormat format)
{
  switch (format) {
    case GTR_AUDIO_FORMAT_PCMU:
    case GTR_AUDIO_FORMAT_PCMA: return 8;
    case GTR_AUDIO_FORMAT_PCM24K: return GTR_PCM_RATE / 1000 * 2;
    case GTR_AUDIO_FORMAT_UNSET: break;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Session configuration                                                */

void
gtr_realtime_session_config_init (GtrRealtimeSessionConfig *config)
{
  g_return_if_fail (config != NULL);

  memset (config, 0, sizeof (*config));
  config->vad_threshold = -1.0;
  config->prefix_padding_ms = -1;
  config->silence_duration_ms = -1;
  config->idle_timeout_ms = 0;
  config->create_response = -1;
  config->interrupt_response = -1;
  config->speed = 0.0;
  config->max_output_tokens = 0;
}

void
gtr_realtime_session_config_clear (GtrRealtimeSessionConfig *config)
{
  g_return_if_fail (config != NULL);

  g_free (config->transcription_model);
  g_free (config->transcription_language);
  g_free (config->transcription_prompt);
  g_free (config->eagerness);
  g_free (config->voice);
  g_free (config->instructions);
  g_free (config->tools_json);
  g_free (config->tool_choice);
  gtr_realtime_session_config_init (config);
}

/* ------------------------------------------------------------------ */
/* Event ids                                                            */

/* The random tag tells processes (and restarts) apart in logs; the
 * counter makes ids unique within the process. */
static guint
process_tag (void)
{
  static gsize tag = 0;

  if (g_once_init_enter (&tag))
    g_once_init_leave (&tag, (gsize) g_random_int () | 1);
  return (guint) tag;
}

static gsize
next_event_number (void)
{
  static gsize counter = 0;

  return (gsize) g_atomic_pointer_add (&counter, 1);
}

char *
gtr_realtime_new_event_id (void)
{
  return g_strdup_printf ("evt_%08x_%" G_GSIZE_FORMAT "_%04x", process_tag (),
      next_event_number (), g_random_int_range (0, 0x10000));
}

/* No random part: the counter is unique, and GLib's random source is one
 * lock for the whole process, taken 50 times a second per call. */
char *
gtr_realtime_new_audio_event_id (void)
{
  return g_strdup_printf ("aud_%08x_%" G_GSIZE_FORMAT, process_tag (),
      next_event_number ());
}

gboolean
gtr_realtime_event_id_is_audio (const char *event_id)
{
  char prefix[sizeof "aud_00000000_"];

  if (event_id == NULL)
    return FALSE;
  g_snprintf (prefix, sizeof prefix, "aud_%08x_", process_tag ());
  return g_str_has_prefix (event_id, prefix)
      && event_id[sizeof prefix - 1] != '\0';
}

/* ------------------------------------------------------------------ */
/* session.update (every client event's envelope: gtr_json_event_new)  */

static gboolean
bad_value (GError **error, const char *field, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
bad_value (GError **error, const char *field, const char *fmt, ...)
{
  va_list ap;
  char *why;

  va_start (ap, fmt);
  why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE,
      "%s: %s", field, why);
  g_free (why);
  return FALSE;
}

static gboolean
is_set (const char *s)
{
  return s != NULL && s[0] != '\0';
}

/* {"type":"audio/pcmu"} / {"type":"audio/pcma"} / {"type":"audio/pcm","rate":24000} */
static JsonObject *
format_object (GtrAudioFormat format)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "type", gtr_audio_format_type_name (format));
  if (format == GTR_AUDIO_FORMAT_PCM24K)
    json_object_set_int_member (obj, "rate", GTR_PCM_RATE);
  return obj;
}

static gboolean
add_format (JsonObject *parent, GtrAudioFormat format, const char *field,
    GError **error)
{
  if (format == GTR_AUDIO_FORMAT_UNSET)
    return TRUE;
  if (gtr_audio_format_type_name (format) == NULL)
    return bad_value (error, field, "unknown format %d", (int) format);
  json_object_set_object_member (parent, "format", format_object (format));
  return TRUE;
}

/* An object, or nothing: never a string, which makes the API reject the
 * whole session.update (the classic "vacuum cleaner" bug).  OFF emits
 * nothing: a new session's noise reduction is already off, and the official
 * schema types the field as an object only, so a null is not sent either. */
static gboolean
add_noise_reduction (JsonObject *input, GtrNoiseReduction nr, GError **error)
{
  JsonObject *obj;

  switch (nr) {
    case GTR_NOISE_REDUCTION_UNSET:
    case GTR_NOISE_REDUCTION_OFF:
      return TRUE;
    case GTR_NOISE_REDUCTION_NEAR_FIELD:
    case GTR_NOISE_REDUCTION_FAR_FIELD:
      obj = json_object_new ();
      json_object_set_string_member (obj, "type",
          nr == GTR_NOISE_REDUCTION_NEAR_FIELD ? "near_field" : "far_field");
      json_object_set_object_member (input, "noise_reduction", obj);
      return TRUE;
  }
  return bad_value (error, "session.audio.input.noise_reduction",
      "unknown value %d", (int) nr);
}

static void
add_transcription (JsonObject *input, const GtrRealtimeSessionConfig *config)
{
  JsonObject *obj;

  if (!is_set (config->transcription_model))
    return;
  obj = json_object_new ();
  json_object_set_string_member (obj, "model", config->transcription_model);
  if (is_set (config->transcription_language))
    json_object_set_string_member (obj, "language", config->transcription_language);
  if (is_set (config->transcription_prompt))
    json_object_set_string_member (obj, "prompt", config->transcription_prompt);
  json_object_set_object_member (input, "transcription", obj);
}

static gboolean
add_tristate (JsonObject *obj, const char *member, gint value, GError **error)
{
  if (value == -1)
    return TRUE;
  if (value != 0 && value != 1) {
    char *field = g_strconcat ("session.audio.input.turn_detection.", member, NULL);
    bad_value (error, field, "%d is not -1 (unset), 0 or 1", value);
    g_free (field);
    return FALSE;
  }
  json_object_set_boolean_member (obj, member, value == 1);
  return TRUE;
}

static gboolean
fill_server_vad (JsonObject *td, const GtrRealtimeSessionConfig *c, GError **error)
{
  json_object_set_string_member (td, "type", "server_vad");
  if (c->vad_threshold >= 0.0 || c->vad_threshold != c->vad_threshold) {
    if (!(c->vad_threshold <= 1.0))
      return bad_value (error, "session.audio.input.turn_detection.threshold",
          "%g is out of range [0, 1]", c->vad_threshold);
    json_object_set_double_member (td, "threshold", c->vad_threshold);
  }
  if (c->prefix_padding_ms >= 0)
    json_object_set_int_member (td, "prefix_padding_ms", c->prefix_padding_ms);
  if (c->silence_duration_ms >= 0)
    json_object_set_int_member (td, "silence_duration_ms", c->silence_duration_ms);
  if (!add_tristate (td, "create_response", c->create_response, error) ||
      !add_tristate (td, "interrupt_response", c->interrupt_response, error))
    return FALSE;
  if (c->idle_timeout_ms > 0) {
    if (c->idle_timeout_ms < 5000 || c->idle_timeout_ms > 30000)
      return bad_value (error, "session.audio.input.turn_detection.idle_timeout_ms",
          "%d is out of range [5000, 30000]", c->idle_timeout_ms);
    json_object_set_int_member (td, "idle_timeout_ms", c->idle_timeout_ms);
  }
  return TRUE;
}

static gboolean
fill_semantic_vad (JsonObject *td, const GtrRealtimeSessionConfig *c, GError **error)
{
  static const char *const eagerness[] = { "low", "medium", "high", "auto", NULL };

  json_object_set_string_member (td, "type", "semantic_vad");
  if (c->eagerness != NULL) {
    if (!g_strv_contains (eagerness, c->eagerness))
      return bad_value (error, "session.audio.input.turn_detection.eagerness",
          "\"%s\" is not one of low, medium, high, auto", c->eagerness);
    json_object_set_string_member (td, "eagerness", c->eagerness);
  }
  return add_tristate (td, "create_response", c->create_response, error) &&
      add_tristate (td, "interrupt_response", c->interrupt_response, error);
}

static gboolean
add_turn_detection (JsonObject *input, const GtrRealtimeSessionConfig *c, GError **error)
{
  JsonObject *td;
  gboolean ok;

  switch (c->turn_detection) {
    case GTR_TURN_DETECTION_UNSET:
      return TRUE;
    case GTR_TURN_DETECTION_NONE:
      json_object_set_null_member (input, "turn_detection");
      return TRUE;
    case GTR_TURN_DETECTION_SERVER_VAD:
    case GTR_TURN_DETECTION_SEMANTIC_VAD:
      td = json_object_new ();
      ok = c->turn_detection == GTR_TURN_DETECTION_SERVER_VAD ?
          fill_server_vad (td, c, error) : fill_semantic_vad (td, c, error);
      if (ok)
        json_object_set_object_member (input, "turn_detection", td);
      else
        json_object_unref (td);
      return ok;
  }
  return bad_value (error, "session.audio.input.turn_detection",
      "unknown value %d", (int) c->turn_detection);
}

static gboolean
add_output_audio (JsonObject *output, const GtrRealtimeSessionConfig *c, GError **error)
{
  if (!add_format (output, c->output_format, "session.audio.output.format", error))
    return FALSE;
  if (is_set (c->voice))
    json_object_set_string_member (output, "voice", c->voice);
  if (c->speed > 0.0 || c->speed != c->speed) {
    if (!(c->speed >= 0.25 && c->speed <= 1.5))
      return bad_value (error, "session.audio.output.speed",
          "%g is out of range [0.25, 1.5]", c->speed);
    json_object_set_double_member (output, "speed", c->speed);
  }
  return TRUE;
}

/* Adds `child` to `parent` as `member` when it has members; consumes it. */
static void
set_object_if_not_empty (JsonObject *parent, const char *member, JsonObject *child)
{
  if (json_object_get_size (child) > 0)
    json_object_set_object_member (parent, member, child);
  else
    json_object_unref (child);
}

static gboolean
add_audio (JsonObject *session, const GtrRealtimeSessionConfig *c, GError **error)
{
  JsonObject *audio = json_object_new ();
  JsonObject *input = json_object_new ();
  JsonObject *output = json_object_new ();
  gboolean ok;

  ok = add_format (input, c->input_format, "session.audio.input.format", error) &&
      add_noise_reduction (input, c->noise_reduction, error) &&
      add_turn_detection (input, c, error) &&
      add_output_audio (output, c, error);
  if (ok)
    add_transcription (input, c);
  set_object_if_not_empty (audio, "input", input);
  set_object_if_not_empty (audio, "output", output);
  set_object_if_not_empty (session, "audio", audio);
  return ok;
}

static gboolean
add_max_output_tokens (JsonObject *session, gint max, GError **error)
{
  if (max == 0)
    return TRUE;
  if (max == -1) {
    json_object_set_string_member (session, "max_output_tokens", "inf");
    return TRUE;
  }
  if (max < 1 || max > 4096)
    return bad_value (error, "session.max_output_tokens",
        "%d is out of range [1, 4096] (or -1 for \"inf\")", max);
  json_object_set_int_member (session, "max_output_tokens", max);
  return TRUE;
}

static gboolean
add_tools (JsonObject *session, const char *tools_json, GError **error)
{
  JsonNode *root;
  JsonArray *array;
  GError *local = NULL;
  guint i;

  if (tools_json == NULL)
    return TRUE;
  root = json_from_string (tools_json, &local);
  if (root == NULL) {
    bad_value (error, "session.tools", "not JSON: %s",
        local != NULL ? local->message : "empty text");
    g_clear_error (&local);
    return FALSE;
  }
  if (!JSON_NODE_HOLDS_ARRAY (root)) {
    json_node_unref (root);
    return bad_value (error, "session.tools", "not a JSON array");
  }
  array = json_node_get_array (root);
  for (i = 0; i < json_array_get_length (array); i++) {
    if (!JSON_NODE_HOLDS_OBJECT (json_array_get_element (array, i))) {
      json_node_unref (root);
      return bad_value (error, "session.tools", "element %u is not an object", i);
    }
  }
  json_object_set_array_member (session, "tools", json_array_ref (array));
  json_node_unref (root);
  return TRUE;
}

static gboolean
add_tool_choice (JsonObject *session, const char *choice, GError **error)
{
  static const char *const modes[] = { "auto", "none", "required", NULL };
  JsonObject *fn;

  if (choice == NULL)
    return TRUE;
  if (choice[0] == '\0')
    return bad_value (error, "session.tool_choice", "empty function name");
  if (g_strv_contains (modes, choice)) {
    json_object_set_string_member (session, "tool_choice", choice);
    return TRUE;
  }
  fn = json_object_new ();
  json_object_set_string_member (fn, "type", "function");
  json_object_set_string_member (fn, "name", choice);
  json_object_set_object_member (session, "tool_choice", fn);
  return TRUE;
}

static JsonObject *
session_object (const GtrRealtimeSessionConfig *c, GError **error)
{
  JsonObject *session = json_object_new ();

  json_object_set_string_member (session, "type", "realtime");
  if (!add_audio (session, c, error))
    goto fail;
  if (c->audio_only) {
    JsonArray *modalities = json_array_new ();
    json_array_add_string_element (modalities, "audio");
    json_object_set_array_member (session, "output_modalities", modalities);
  }
  if (c->instructions != NULL)
    json_object_set_string_member (session, "instructions", c->instructions);
  if (!add_max_output_tokens (session, c->max_output_tokens, error) ||
      !add_tools (session, c->tools_json, error) ||
      !add_tool_choice (session, c->tool_choice, error))
    goto fail;
  return session;

fail:
  json_object_unref (session);
  return NULL;
}

char *
gtr_realtime_build_session_update (const GtrRealtimeSessionConfig *config,
    char **event_id, GError **error)
{
  JsonObject *session, *event;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  session = session_object (config, error);
  if (session == NULL)
    return NULL;
  event = gtr_json_event_new ("session.update", event_id);
  json_object_set_object_member (event, "session", session);
  return gtr_json_object_to_text (event);
}

/* ------------------------------------------------------------------ */
/* Other client events                                                  */

char *
gtr_realtime_build_input_audio_buffer_append (const guint8 *audio, gsize len,
    char **event_id)
{
  JsonObject *event;
  char *b64;

  g_return_val_if_fail (audio != NULL || len == 0, NULL);

  event = gtr_json_audio_event_new ("input_audio_buffer.append", event_id);
  b64 = g_base64_encode (audio, len);
  json_object_set_string_member (event, "audio", b64);
  g_free (b64);
  return gtr_json_object_to_text (event);
}

char *
gtr_realtime_build_input_audio_buffer_commit (char **event_id)
{
  return gtr_json_object_to_text (gtr_json_event_new ("input_audio_buffer.commit", event_id));
}

char *
gtr_realtime_build_input_audio_buffer_clear (char **event_id)
{
  return gtr_json_object_to_text (gtr_json_event_new ("input_audio_buffer.clear", event_id));
}

static char *
build_item_create (JsonObject *item, char **event_id)
{
  JsonObject *event = gtr_json_event_new ("conversation.item.create", event_id);

  json_object_set_object_member (event, "item", item);
  return gtr_json_object_to_text (event);
}

char *
gtr_realtime_build_user_text (const char *text, char **event_id)
{
  JsonObject *item, *part;
  JsonArray *content;

  g_return_val_if_fail (text != NULL, NULL);

  part = json_object_new ();
  json_object_set_string_member (part, "type", "input_text");
  json_object_set_string_member (part, "text", text);
  content = json_array_new ();
  json_array_add_object_element (content, part);

  item = json_object_new ();
  json_object_set_string_member (item, "type", "message");
  json_object_set_string_member (item, "role", "user");
  json_object_set_array_member (item, "content", content);
  return build_item_create (item, event_id);
}

/* An assistant message carried over as text: the schema allows
 * `output_text` (with `text`) or `output_audio` (with audio or its
 * transcript) in an assistant item; a transcript without its audio is
 * text, so `output_text`. */
char *
gtr_realtime_build_assistant_text (const char *text, char **event_id)
{
  JsonObject *item, *part;
  JsonArray *content;

  g_return_val_if_fail (text != NULL, NULL);

  part = json_object_new ();
  json_object_set_string_member (part, "type", "output_text");
  json_object_set_string_member (part, "text", text);
  content = json_array_new ();
  json_array_add_object_element (content, part);

  item = json_object_new ();
  json_object_set_string_member (item, "type", "message");
  json_object_set_string_member (item, "role", "assistant");
  json_object_set_array_member (item, "content", content);
  return build_item_create (item, event_id);
}

char *
gtr_realtime_build_function_call_output (const char *call_id, const char *output,
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
gtr_realtime_build_response_create (const char *instructions, char **event_id)
{
  JsonObject *event = gtr_json_event_new ("response.create", event_id);

  if (instructions != NULL) {
    JsonObject *response = json_object_new ();
    json_object_set_string_member (response, "instructions", instructions);
    json_object_set_object_member (event, "response", response);
  }
  return gtr_json_object_to_text (event);
}

char *
gtr_realtime_build_response_cancel (const char *response_id, char **event_id)
{
  JsonObject *event = gtr_json_event_new ("response.cancel", event_id);

  if (response_id != NULL)
    json_object_set_string_member (event, "response_id", response_id);
  return gtr_json_object_to_text (event);
}

char *
gtr_realtime_build_item_truncate (const char *item_id, gint content_index,
    gint64 audio_end_ms, char **event_id)
{
  JsonObject *event;

  g_return_val_if_fail (item_id != NULL, NULL);
  g_return_val_if_fail (content_index >= 0, NULL);
  g_return_val_if_fail (audio_end_ms >= 0, NULL);

  event = gtr_json_event_new ("conversation.item.truncate", event_id);
  json_object_set_string_member (event, "item_id", item_id);
  json_object_set_int_member (event, "content_index", content_index);
  json_object_set_int_member (event, "audio_end_ms", audio_end_ms);
  return gtr_json_object_to_text (event);
}

static char *
dup_member (JsonObject *obj, const char *member)
{
  JsonNode *node = obj ? json_object_get_member (obj, member) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_dup_string (node);
}

/* "item ID", "call ID", "response ID" or NULL. */
static char *
client_event_subject (JsonObject *event, const char *type)
{
  JsonNode *node = json_object_get_member (event, "item");
  JsonObject *item = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  g_autofree char *id = NULL;

  if ((id = dup_member (event, "item_id")))
    return g_strdup_printf ("item %s", id);
  if ((id = dup_member (item, "id")))
    return g_strdup_printf ("item %s", id);
  if ((id = dup_member (item, "call_id")))
    return g_strdup_printf ("call %s", id);
  if (g_str_equal (type, "response.cancel") && (id = dup_member (event, "response_id")))
    return g_strdup_printf ("response %s", id);
  return NULL;
}

gboolean
gtr_realtime_client_event_describe (const char *json, char **type,
    char **event_id, char **subject)
{
  g_autoptr (JsonNode) root = NULL;
  JsonObject *event;
  g_autofree char *t = NULL, *id = NULL;

  g_return_val_if_fail (type != NULL && event_id != NULL && subject != NULL, FALSE);

  *type = *event_id = *subject = NULL;
  if (json == NULL || (root = json_from_string (json, NULL)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  event = json_node_get_object (root);
  t = dup_member (event, "type");
  id = dup_member (event, "event_id");
  if (t == NULL || id == NULL)
    return FALSE;
  *subject = client_event_subject (event, t);
  *type = g_steal_pointer (&t);
  *event_id = g_steal_pointer (&id);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Server events: field readers                                         */

void
gtr_realtime_server_event_free (GtrRealtimeServerEvent *ev)
{
  if (ev == NULL)
    return;
  g_free (ev->type_name);
  g_free (ev->event_id);
  g_free (ev->input_format_desc);
  g_free (ev->output_format_desc);
  g_free (ev->session_id);
  g_free (ev->session_json);
  g_free (ev->response_id);
  g_free (ev->item_id);
  g_free (ev->previous_item_id);
  g_clear_pointer (&ev->audio, g_bytes_unref);
  g_free (ev->delta);
  g_free (ev->transcript);
  g_free (ev->status);
  g_free (ev->usage_json);
  g_free (ev->response_json);
  g_free (ev->name);
  g_free (ev->call_id);
  g_free (ev->arguments);
  g_free (ev->error_type);
  g_free (ev->error_code);
  g_free (ev->error_message);
  g_free (ev->error_param);
  g_free (ev->error_event_id);
  g_free (ev->item_type);
  g_free (ev->item_role);
  g_free (ev->raw_json);
  g_free (ev);
}

typedef enum { OPTIONAL, REQUIRED } Need;

/* Where a reader is looking: the object and its path for error texts
 * ("" at the top level, "error", "response", …). */
typedef struct {
  JsonObject *obj;
  const char *path;
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
  JsonNode *node = json_object_get_member (s->obj, member);

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
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_TYPE, "is not a string", error);
  g_free (*out);
  *out = json_node_dup_string (node);
  return TRUE;
}

static gboolean
read_int64 (const Scope *s, const char *member, Need need, gint64 max,
    gint64 *out, GError **error)
{
  gboolean ok;
  JsonNode *node = get_node (s, member, need, &ok, error);
  gint64 v;

  if (node == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_TYPE, "is not an integer", error);
  v = json_node_get_int (node);
  if (v < 0 || v > max)
    return field_error (s, member, GTR_PROTOCOL_ERROR_BAD_VALUE, "is out of range", error);
  *out = v;
  return TRUE;
}

static gboolean
read_int (const Scope *s, const char *member, Need need, gint *out, GError **error)
{
  gint64 v = *out;

  if (!read_int64 (s, member, need, G_MAXINT, &v, error))
    return FALSE;
  *out = (gint) v;
  return TRUE;
}

/* An object member as a Scope (obj NULL when optional and absent). */
static gboolean
read_object (const Scope *s, const char *member, Need need, Scope *out, GError **error)
{
  gboolean ok;
  JsonNode *node = get_node (s, member, need, &ok, error);

  out->obj = NULL;
  out->path = member;
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
  JsonNode *node = json_object_get_member (obj, member);

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
    *out = g_bytes_new (NULL, 0);
  } else {
    g_base64_decode_inplace (text, &decoded_len);
    *out = g_bytes_new_take (g_steal_pointer (&text), decoded_len);
  }
  g_free (text);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Server events: one reader per type                                   */

/* The member's string value; NULL when absent or not a string.  (json-glib's
 * *_with_default getters emit criticals on a wrong node type.) */
static const char *
member_string (JsonObject *obj, const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* "audio/pcm" at 24 kHz (the only rate the API has; no rate means it)
 * is PCM24K; any other rate or type is UNSET, described as the API said. */
static void
read_format (JsonObject *parent, GtrAudioFormat *format, char **desc)
{
  JsonNode *node = parent != NULL ? json_object_get_member (parent, "format") : NULL;
  JsonNode *rate;
  JsonObject *obj;
  const char *type;

  *format = GTR_AUDIO_FORMAT_UNSET;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return;
  obj = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  type = obj != NULL ? member_string (obj, "type") : NULL;
  if (type == NULL) {
    *desc = gtr_json_to_text (node);
    return;
  }
  if (strcmp (type, "audio/pcmu") == 0)
    *format = GTR_AUDIO_FORMAT_PCMU;
  else if (strcmp (type, "audio/pcma") == 0)
    *format = GTR_AUDIO_FORMAT_PCMA;
  if (strcmp (type, "audio/pcm") != 0) {
    *desc = g_strdup (type);
    return;
  }
  rate = json_object_get_member (obj, "rate");
  if (rate == NULL) {
    *format = GTR_AUDIO_FORMAT_PCM24K;
    *desc = g_strdup (type);
  } else if (JSON_NODE_HOLDS_VALUE (rate) && json_node_get_value_type (rate) == G_TYPE_INT64) {
    if (json_node_get_int (rate) == GTR_PCM_RATE)
      *format = GTR_AUDIO_FORMAT_PCM24K;
    *desc = g_strdup_printf ("audio/pcm %" G_GINT64_FORMAT " Hz", json_node_get_int (rate));
  } else {
    char *r = gtr_json_to_text (rate);
    *desc = g_strdup_printf ("audio/pcm rate %s", r);
    g_free (r);
  }
}

static JsonObject *
child_object (JsonObject *parent, const char *member)
{
  JsonNode *node = parent != NULL ? json_object_get_member (parent, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static gboolean
parse_session (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  Scope session;
  JsonObject *audio;

  if (!read_object (top, "session", REQUIRED, &session, error) ||
      !read_string (&session, "id", OPTIONAL, &ev->session_id, error))
    return FALSE;
  audio = child_object (session.obj, "audio");
  read_format (child_object (audio, "input"), &ev->input_format, &ev->input_format_desc);
  read_format (child_object (audio, "output"), &ev->output_format, &ev->output_format_desc);
  ev->session_json = serialize_member (top->obj, "session");
  return read_int64 (&session, "expires_at", OPTIONAL, G_MAXINT64, &ev->expires_at, error);
}

/* error.{type, code, message, param, event_id}; `need_message` for `error`. */
static gboolean
read_error_fields (const Scope *top, Need need, GtrRealtimeServerEvent *ev, GError **error)
{
  Scope err;

  if (!read_object (top, "error", need, &err, error))
    return FALSE;
  if (err.obj == NULL)
    return TRUE;
  return read_string (&err, "message", need, &ev->error_message, error) &&
      read_string (&err, "type", OPTIONAL, &ev->error_type, error) &&
      read_string (&err, "code", OPTIONAL, &ev->error_code, error) &&
      read_string (&err, "param", OPTIONAL, &ev->error_param, error) &&
      read_string (&err, "event_id", OPTIONAL, &ev->error_event_id, error);
}

static gboolean
parse_error (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_error_fields (top, REQUIRED, ev, error);
}

static gboolean
parse_speech_started (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_string (top, "item_id", REQUIRED, &ev->item_id, error) &&
      read_int64 (top, "audio_start_ms", REQUIRED, G_MAXINT64, &ev->audio_start_ms, error);
}

static gboolean
parse_speech_stopped (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_string (top, "item_id", REQUIRED, &ev->item_id, error) &&
      read_int64 (top, "audio_end_ms", REQUIRED, G_MAXINT64, &ev->audio_end_ms, error);
}

static gboolean
parse_committed (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_string (top, "item_id", REQUIRED, &ev->item_id, error) &&
      read_string (top, "previous_item_id", OPTIONAL, &ev->previous_item_id, error);
}

static gboolean
parse_item (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  Scope item;

  return read_object (top, "item", REQUIRED, &item, error) &&
      read_string (top, "previous_item_id", OPTIONAL, &ev->previous_item_id, error) &&
      read_string (&item, "id", OPTIONAL, &ev->item_id, error) &&
      read_string (&item, "type", OPTIONAL, &ev->item_type, error) &&
      read_string (&item, "role", OPTIONAL, &ev->item_role, error) &&
      read_string (&item, "status", OPTIONAL, &ev->status, error) &&
      read_string (&item, "name", OPTIONAL, &ev->name, error) &&
      read_string (&item, "call_id", OPTIONAL, &ev->call_id, error) &&
      read_string (&item, "arguments", OPTIONAL, &ev->arguments, error);
}

static gboolean
parse_truncated (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_string (top, "item_id", REQUIRED, &ev->item_id, error) &&
      read_int (top, "content_index", REQUIRED, &ev->content_index, error) &&
      read_int64 (top, "audio_end_ms", REQUIRED, G_MAXINT64, &ev->audio_end_ms, error);
}

static gboolean
parse_transcription_completed (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_string (top, "item_id", REQUIRED, &ev->item_id, error) &&
      read_int (top, "content_index", OPTIONAL, &ev->content_index, error) &&
      read_string (top, "transcript", REQUIRED, &ev->transcript, error);
}

static gboolean
parse_transcription_failed (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_string (top, "item_id", REQUIRED, &ev->item_id, error) &&
      read_int (top, "content_index", OPTIONAL, &ev->content_index, error) &&
      read_error_fields (top, OPTIONAL, ev, error);
}

static gboolean
parse_response (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  Scope response;

  if (!read_object (top, "response", REQUIRED, &response, error) ||
      !read_string (&response, "id", REQUIRED, &ev->response_id, error) ||
      !read_string (&response, "status", OPTIONAL, &ev->status, error))
    return FALSE;
  ev->usage_json = serialize_member (response.obj, "usage");
  ev->response_json = serialize_member (top->obj, "response");
  return TRUE;
}

/* response_id, item_id, output_index, content_index of response.* parts. */
static gboolean
read_part_ids (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_string (top, "response_id", REQUIRED, &ev->response_id, error) &&
      read_string (top, "item_id", REQUIRED, &ev->item_id, error) &&
      read_int (top, "output_index", OPTIONAL, &ev->output_index, error) &&
      read_int (top, "content_index", OPTIONAL, &ev->content_index, error);
}

static gboolean
parse_audio_delta (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_part_ids (top, ev, error) && read_base64 (top, "delta", &ev->audio, error);
}

static gboolean
parse_transcript_delta (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_part_ids (top, ev, error) &&
      read_string (top, "delta", REQUIRED, &ev->delta, error);
}

static gboolean
parse_transcript_done (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_part_ids (top, ev, error) &&
      read_string (top, "transcript", REQUIRED, &ev->transcript, error);
}

static gboolean
parse_function_call_done (const Scope *top, GtrRealtimeServerEvent *ev, GError **error)
{
  return read_string (top, "response_id", OPTIONAL, &ev->response_id, error) &&
      read_string (top, "item_id", OPTIONAL, &ev->item_id, error) &&
      read_int (top, "output_index", OPTIONAL, &ev->output_index, error) &&
      read_string (top, "call_id", REQUIRED, &ev->call_id, error) &&
      read_string (top, "name", REQUIRED, &ev->name, error) &&
      read_string (top, "arguments", REQUIRED, &ev->arguments, error);
}

typedef gboolean (*ParseFunc) (const Scope *top, GtrRealtimeServerEvent *ev, GError **error);

static const struct {
  const char *name;
  GtrRealtimeEventType type;
  ParseFunc parse;              /* NULL: nothing but the envelope and raw_json */
} event_table[] = {
  { "error", GTR_RT_EVENT_ERROR, parse_error },
  { "session.created", GTR_RT_EVENT_SESSION_CREATED, parse_session },
  { "session.updated", GTR_RT_EVENT_SESSION_UPDATED, parse_session },
  { "input_audio_buffer.speech_started", GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STARTED, parse_speech_started },
  { "input_audio_buffer.speech_stopped", GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STOPPED, parse_speech_stopped },
  { "input_audio_buffer.committed", GTR_RT_EVENT_INPUT_AUDIO_BUFFER_COMMITTED, parse_committed },
  { "conversation.item.added", GTR_RT_EVENT_CONVERSATION_ITEM_ADDED, parse_item },
  { "conversation.item.done", GTR_RT_EVENT_CONVERSATION_ITEM_DONE, parse_item },
  { "conversation.item.truncated", GTR_RT_EVENT_CONVERSATION_ITEM_TRUNCATED, parse_truncated },
  { "conversation.item.input_audio_transcription.completed", GTR_RT_EVENT_INPUT_TRANSCRIPTION_COMPLETED, parse_transcription_completed },
  { "conversation.item.input_audio_transcription.failed", GTR_RT_EVENT_INPUT_TRANSCRIPTION_FAILED, parse_transcription_failed },
  { "response.created", GTR_RT_EVENT_RESPONSE_CREATED, parse_response },
  { "response.done", GTR_RT_EVENT_RESPONSE_DONE, parse_response },
  { "response.output_audio.delta", GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_DELTA, parse_audio_delta },
  { "response.output_audio_transcript.delta", GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA, parse_transcript_delta },
  { "response.output_audio_transcript.done", GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE, parse_transcript_done },
  { "response.function_call_arguments.done", GTR_RT_EVENT_RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE, parse_function_call_done },
  { "rate_limits.updated", GTR_RT_EVENT_RATE_LIMITS_UPDATED, NULL },
};

/* ------------------------------------------------------------------ */
/* Server events: the parser                                            */

static GtrRealtimeServerEvent *
server_event_new (void)
{
  GtrRealtimeServerEvent *ev = g_new0 (GtrRealtimeServerEvent, 1);

  ev->output_index = -1;
  ev->content_index = -1;
  ev->audio_start_ms = -1;
  ev->expires_at = -1;
  ev->audio_end_ms = -1;
  return ev;
}

static JsonNode *
parse_root (const char *text, gsize len, gsize max_len, GError **error)
{
  return gtr_json_parse_object (text, len, max_len, "event", error);
}

static gboolean
dispatch (const Scope *top, const char *text, gsize len,
    GtrRealtimeServerEvent *ev, GError **error)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (event_table); i++) {
    if (strcmp (event_table[i].name, ev->type_name) != 0)
      continue;
    ev->type = event_table[i].type;
    if (event_table[i].parse != NULL)
      return event_table[i].parse (top, ev, error);
    ev->raw_json = g_strndup (text, len);
    return TRUE;
  }
  ev->type = GTR_RT_EVENT_OTHER;
  ev->raw_json = g_strndup (text, len);
  return TRUE;
}

GtrRealtimeServerEvent *
gtr_realtime_server_event_parse (const char *text, gssize len, gsize max_len,
    GError **error)
{
  GtrRealtimeServerEvent *ev;
  JsonNode *root;
  Scope top;
  gboolean ok;

  g_return_val_if_fail (text != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len < 0)
    len = (gssize) strlen (text);
  root = parse_root (text != NULL ? text : "", (gsize) len, max_len, error);
  if (root == NULL)
    return NULL;

  top.obj = json_node_get_object (root);
  top.path = "";
  ev = server_event_new ();
  ok = read_string (&top, "type", REQUIRED, &ev->type_name, error) &&
      read_string (&top, "event_id", OPTIONAL, &ev->event_id, error) &&
      dispatch (&top, text, (gsize) len, ev, error);
  json_node_unref (root);
  if (!ok)
    g_clear_pointer (&ev, gtr_realtime_server_event_free);
  return ev;
}
