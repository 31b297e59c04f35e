/* realtime-mock: one Realtime session, GA protocol.  See mock-session.h and
 * docs/realtime-mock.md for what is modelled. */
#include "mock-session.h"

#include "mock-audio.h"
#include "mock-log.h"
#include "mock-schema.h"
#include "mock-vad.h"

#include <gst/gst.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (mock_session_debug);
#define GST_CAT_DEFAULT mock_session_debug

#define CHUNK_MS 100          /* audio per delta */
#define CHUNK_INTERVAL_MS 25  /* 4× faster than real time, as the API streams */
#define GREETING_TONE_MS 500

typedef struct {
  JsonObject *json;        /* the item as the conversation holds it */
  gboolean assistant_audio;
  guint64 audio_ms;        /* assistant audio sent so far */
} MockItem;

typedef struct {
  char *id;
  char *item_id;
  GBytes *audio;           /* encoded, in the output format */
  gsize offset;
  char **words;            /* the transcript, word by word */
  guint next_word;
  char *transcript;
  guint timer;
  gboolean steady;         /* past the first delta: timer is the 25 ms one */
  guint64 input_ms;        /* for usage */
  guint ordinal;           /* the process's Nth audio response, for --drop-mid-response */
  const char *then_call;   /* a function the response calls after its audio */
} MockResponse;

struct _MockSession {
  const MockConfig *config;
  SoupWebsocketConnection *ws;
  char *id;
  JsonObject *session;              /* the effective session */
  gboolean closing;
  guint malformed_counter;

  GtrAudioFormat in_format;
  MockConverter *decoder;
  MockVad vad;
  GByteArray *buffer;               /* S16 at vad.rate, not yet committed */
  guint64 buffer_start_ms;
  char *speech_item_id;             /* speech in progress */
  guint64 speech_onset_ms;

  GBytes *last_turn;                /* S16 of the caller's last turn */
  guint last_turn_rate;
  guint turns;
  gboolean function_called;
  char *last_item_id;
  GHashTable *items;                /* id → MockItem */
  MockResponse *response;           /* the active one */

  guint close_timer;
  guint expire_timer;
  GString *delta_text;              /* --mode loopback: reused for every delta */
};

static GList *sessions;   /* every live MockSession */
static guint audio_responses;   /* of the process, for --drop-mid-response */
static guint64 id_counter;

guint
mock_session_count (void)
{
  return g_list_length (sessions);
}

guint
mock_session_next_response_ordinal (void)
{
  return ++audio_responses;
}

static void
append_id (GString *out, const char *prefix)
{
  g_string_append_printf (out, "%s_%012" G_GINT64_MODIFIER "x%04x", prefix, ++id_counter,
      g_random_int_range (0, 0x10000));
}

static char *
new_id (const char *prefix)
{
  GString *id = g_string_new (NULL);

  append_id (id, prefix);
  return g_string_free (id, FALSE);
}

/* ---------- sending ---------- */

static gboolean
is_open (MockSession *s)
{
  return !s->closing && soup_websocket_connection_get_state (s->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

static void
send_malformed (MockSession *s)
{
  /* --malformed-frames: after every third event, alternately a frame that is
   * not JSON and an event of a type no client knows. */
  g_autofree char *unknown = NULL;
  const char *text = "{this is not json";

  if (++s->malformed_counter % 3 != 0)
    return;
  if (s->malformed_counter % 6 == 0) {
    g_autofree char *id = new_id ("event");
    unknown = g_strdup_printf ("{\"type\":\"mock.unknown_event\",\"event_id\":\"%s\"}", id);
    text = unknown;
  }
  mock_log_text ("out", s->id, "malformed", text);
  soup_websocket_connection_send_text (s->ws, text);
}

/* Sends and logs an event already written out (`node`: the same event
 * parsed, or NULL to parse it only when the log is on). */
static void
send_event_text (MockSession *s, const char *text, JsonNode *node)
{
  if (mock_log_enabled ()) {
    g_autoptr (JsonNode) parsed = node ? NULL : json_from_string (text, NULL);

    mock_log_event ("out", s->id, node ? node : parsed);
  }
  soup_websocket_connection_send_text (s->ws, text);
  if (s->config->malformed_frames)
    send_malformed (s);
}

/* Sends and logs `event` (takes it), giving it a server event_id. */
static void
send_event (MockSession *s, JsonObject *event)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), event);
  g_autofree char *id = new_id ("event");
  g_autofree char *text = NULL;

  json_object_unref (event);
  if (!is_open (s))
    return;
  json_object_set_string_member (event, "event_id", id);
  text = json_to_string (node, FALSE);
  send_event_text (s, text, node);
}

static JsonObject *
event_new (const char *type)
{
  JsonObject *event = json_object_new ();

  json_object_set_string_member (event, "type", type);
  return event;
}

static void
set_nullable_string (JsonObject *obj, const char *name, const char *value)
{
  if (value)
    json_object_set_string_member (obj, name, value);
  else
    json_object_set_null_member (obj, name);
}

static void
send_error (MockSession *s, const char *code, const char *message, const char *param,
    const char *client_event_id)
{
  JsonObject *event = event_new ("error");
  JsonObject *error = json_object_new ();

  json_object_set_string_member (error, "type", "invalid_request_error");
  set_nullable_string (error, "code", code);
  json_object_set_string_member (error, "message", message);
  set_nullable_string (error, "param", param);
  set_nullable_string (error, "event_id", client_event_id);
  json_object_set_object_member (event, "error", error);
  send_event (s, event);
}

static void
close_with (MockSession *s, gushort code, const char *reason)
{
  if (s->closing || soup_websocket_connection_get_state (s->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  s->closing = TRUE;
  mock_log_close (s->id, code, reason, TRUE);
  soup_websocket_connection_close (s->ws, code, reason);
}

/* ---------- session settings, read from the effective session ---------- */

static JsonObject *
member_object (JsonObject *obj, const char *name)
{
  JsonNode *node = obj ? json_object_get_member (obj, name) : NULL;
  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonObject *
audio_part (MockSession *s, const char *part)
{
  return member_object (member_object (s->session, "audio"), part);
}

static GtrAudioFormat
format_of (JsonObject *session, const char *part)
{
  JsonObject *format = member_object (member_object (member_object (session, "audio"), part), "format");

  return mock_audio_format_from_type (json_object_get_string_member (format, "type"),
      json_object_get_int_member_with_default (format, "rate", 0));
}

static GtrAudioFormat
session_format (MockSession *s, const char *part)
{
  return format_of (s->session, part);
}

static JsonObject *
turn_detection (MockSession *s)
{
  return member_object (audio_part (s, "input"), "turn_detection");
}

static gboolean
turn_flag (MockSession *s, const char *name)
{
  JsonObject *td = turn_detection (s);
  return td && json_object_get_boolean_member_with_default (td, name, TRUE);
}

static void
apply_vad_params (MockSession *s)
{
  JsonObject *td = turn_detection (s);
  const char *type = td ? json_object_get_string_member (td, "type") : NULL;

  if (g_strcmp0 (type, "server_vad") == 0) {
    s->vad.params.threshold = json_object_get_double_member (td, "threshold");
    s->vad.params.prefix_padding_ms = json_object_get_int_member (td, "prefix_padding_ms");
    s->vad.params.silence_duration_ms = json_object_get_int_member (td, "silence_duration_ms");
  } else if (td) {
    /* semantic_vad: the eagerness's patience, at the default level */
    const char *e = json_object_get_string_member (td, "eagerness");
    s->vad.params = (MockVadParams) { 0.5, 300,
      g_strcmp0 (e, "low") == 0 ? 2000 : g_strcmp0 (e, "high") == 0 ? 500 : 1000 };
  }
}

/* ---------- the conversation ---------- */

static void
mock_item_free (MockItem *item)
{
  json_object_unref (item->json);
  g_free (item);
}

static MockItem *
add_item (MockSession *s, JsonObject *json, gboolean assistant_audio)
{
  MockItem *item = g_new0 (MockItem, 1);

  item->json = json;
  item->assistant_audio = assistant_audio;
  g_hash_table_replace (s->items, g_strdup (json_object_get_string_member (json, "id")), item);
  return item;
}

static void
send_item_event (MockSession *s, const char *type, JsonObject *item, const char *previous)
{
  JsonObject *event = event_new (type);

  set_nullable_string (event, "previous_item_id", previous);
  json_object_set_object_member (event, "item", json_object_ref (item));
  send_event (s, event);
}

/* conversation.item.added then .done, and the chain of previous_item_id. */
static void
append_item (MockSession *s, JsonObject *item, gboolean assistant_audio)
{
  const char *id = json_object_get_string_member (item, "id");

  send_item_event (s, "conversation.item.added", item, s->last_item_id);
  send_item_event (s, "conversation.item.done", item, s->last_item_id);
  add_item (s, item, assistant_audio);
  g_free (s->last_item_id);
  s->last_item_id = g_strdup (id);
}

static JsonObject *
item_new (const char *id, const char *type, const char *role, const char *status)
{
  JsonObject *item = json_object_new ();

  json_object_set_string_member (item, "id", id);
  json_object_set_string_member (item, "type", type);
  json_object_set_string_member (item, "object", "realtime.item");
  json_object_set_string_member (item, "status", status);
  if (role)
    json_object_set_string_member (item, "role", role);
  return item;
}

static JsonObject *
content_part (const char *type, const char *transcript)
{
  JsonObject *part = json_object_new ();

  json_object_set_string_member (part, "type", type);
  if (transcript)
    json_object_set_string_member (part, "transcript", transcript);
  return part;
}

/* S16 mono: 2 bytes a sample, so bytes × 500 / rate is milliseconds. */
static guint64
last_turn_ms (MockSession *s)
{
  return s->last_turn ? g_bytes_get_size (s->last_turn) * 500 / s->last_turn_rate : 0;
}

static char *
caller_transcript (MockSession *s)
{
  if (s->config->transcript)
    return g_strdup (s->config->transcript);
  return g_strdup_printf ("caller turn %u", s->turns);
}

static void
send_transcription (MockSession *s, const char *item_id, guint64 ms)
{
  JsonObject *event, *usage;
  g_autofree char *text = NULL;

  if (!member_object (audio_part (s, "input"), "transcription"))
    return;
  text = caller_transcript (s);
  event = event_new ("conversation.item.input_audio_transcription.completed");
  json_object_set_string_member (event, "item_id", item_id);
  json_object_set_int_member (event, "content_index", 0);
  json_object_set_string_member (event, "transcript", text);
  usage = json_object_new ();
  json_object_set_string_member (usage, "type", "duration");
  json_object_set_double_member (usage, "seconds", ms / 1000.0);
  json_object_set_object_member (event, "usage", usage);
  send_event (s, event);
}

/* ---------- responses ---------- */

static void start_response (MockSession *s, const char *instructions, const char *client_event_id);

static void
mock_response_free (MockResponse *r)
{
  g_clear_handle_id (&r->timer, g_source_remove);
  g_free (r->id);
  g_free (r->item_id);
  g_bytes_unref (r->audio);
  g_strfreev (r->words);
  g_free (r->transcript);
  g_free (r);
}

static JsonObject *
response_object (MockSession *s, const char *id, const char *status, JsonArray *output)
{
  JsonObject *response = json_object_new ();
  JsonObject *audio = json_object_new (), *out = json_object_new ();
  JsonObject *output_audio = audio_part (s, "output");
  JsonArray *modalities = json_array_new ();

  json_object_set_string_member (response, "id", id);
  json_object_set_string_member (response, "object", "realtime.response");
  json_object_set_string_member (response, "status", status);
  json_object_set_string_member (response, "conversation_id", "conv_mock");
  json_object_set_array_member (response, "output", output ? output : json_array_new ());
  json_array_add_string_element (modalities, "audio");
  json_object_set_array_member (response, "output_modalities", modalities);
  json_object_set_member (response, "max_output_tokens",
      json_node_copy (json_object_get_member (s->session, "max_output_tokens")));
  json_object_set_member (out, "format",
      json_node_copy (json_object_get_member (output_audio, "format")));
  json_object_set_member (out, "voice", json_node_copy (json_object_get_member (output_audio, "voice")));
  json_object_set_object_member (audio, "output", out);
  json_object_set_object_member (response, "audio", audio);
  return response;
}

static JsonObject *
usage_object (guint64 input_ms, guint64 output_ms, gsize text_len)
{
  /* Deterministic token counts: 10 audio tokens per second in, 20 out. */
  g_autofree char *json = g_strdup_printf ("{\"total_tokens\":%" G_GUINT64_FORMAT ","
      "\"input_tokens\":%" G_GUINT64_FORMAT ",\"output_tokens\":%" G_GUINT64_FORMAT ","
      "\"input_token_details\":{\"text_tokens\":0,\"audio_tokens\":%" G_GUINT64_FORMAT ","
      "\"cached_tokens\":0,\"cached_tokens_details\":{\"text_tokens\":0,\"audio_tokens\":0,\"image_tokens\":0}},"
      "\"output_token_details\":{\"text_tokens\":%" G_GSIZE_FORMAT ",\"audio_tokens\":%" G_GUINT64_FORMAT "}}",
      input_ms / 100 + output_ms / 50 + text_len / 4, input_ms / 100, output_ms / 50 + text_len / 4,
      input_ms / 100, text_len / 4, output_ms / 50);
  g_autoptr (JsonNode) node = json_from_string (json, NULL);

  return json_object_ref (json_node_get_object (node));
}

static void
send_rate_limits (MockSession *s)
{
  g_autoptr (JsonNode) limits = json_from_string ("[{\"name\":\"requests\",\"limit\":5000,"
      "\"remaining\":4999,\"reset_seconds\":0.012},{\"name\":\"tokens\",\"limit\":40000,"
      "\"remaining\":39000,\"reset_seconds\":1.5}]", NULL);
  JsonObject *event = event_new ("rate_limits.updated");

  json_object_set_member (event, "rate_limits", json_node_copy (limits));
  send_event (s, event);
}

static void
send_response_event (MockSession *s, const char *type, JsonObject *response)
{
  JsonObject *event = event_new (type);

  json_object_set_object_member (event, "response", response);
  send_event (s, event);
}

/* response.done with the given items as output (taken), then rate_limits.updated. */
static void
send_response_done (MockSession *s, const char *response_id, JsonArray *output, const char *status,
    const char *reason, JsonObject *usage)
{
  JsonObject *response;

  response = response_object (s, response_id, status, output);
  if (reason) {
    JsonObject *details = json_object_new ();
    json_object_set_string_member (details, "type", status);
    json_object_set_string_member (details, "reason", reason);
    json_object_set_object_member (response, "status_details", details);
  }
  if (usage)
    json_object_set_object_member (response, "usage", usage);
  send_response_event (s, "response.done", response);
  send_rate_limits (s);
}

static void
send_output_item (MockSession *s, const char *type, const char *response_id, guint index,
    JsonObject *item)
{
  JsonObject *event = event_new (type);

  json_object_set_string_member (event, "response_id", response_id);
  json_object_set_int_member (event, "output_index", index);
  json_object_set_object_member (event, "item", json_object_ref (item));
  send_event (s, event);
}

/* The fields every per-part response event carries. */
static JsonObject *
part_event (MockResponse *r, const char *type)
{
  JsonObject *event = event_new (type);

  json_object_set_string_member (event, "response_id", r->id);
  json_object_set_string_member (event, "item_id", r->item_id);
  json_object_set_int_member (event, "output_index", 0);
  json_object_set_int_member (event, "content_index", 0);
  return event;
}

static void
send_part_event (MockSession *s, MockResponse *r, const char *type, const char *key,
    const char *value)
{
  JsonObject *event = part_event (r, type);

  if (key)
    json_object_set_string_member (event, key, value);
  send_event (s, event);
}

static void
send_content_part (MockSession *s, MockResponse *r, const char *type, const char *transcript)
{
  JsonObject *event = part_event (r, type);

  json_object_set_object_member (event, "part", content_part ("audio", transcript));
  send_event (s, event);
}

static JsonObject *
call_event (const char *type, const char *response_id, guint index, const char *item_id,
    const char *call_id)
{
  JsonObject *event = event_new (type);

  json_object_set_string_member (event, "response_id", response_id);
  json_object_set_string_member (event, "item_id", item_id);
  json_object_set_int_member (event, "output_index", index);
  json_object_set_string_member (event, "call_id", call_id);
  return event;
}

/* A function_call item, output `index` of the response: its events, and
 * the item in the conversation (returned, owned by the conversation). */
static JsonObject *
send_function_call (MockSession *s, const char *response_id, guint index, const char *name,
    const char *args)
{
  g_autofree char *item_id = new_id ("item");
  g_autofree char *call_id = new_id ("call");
  JsonObject *item = item_new (item_id, "function_call", NULL, "in_progress");
  JsonObject *event;

  json_object_set_string_member (item, "call_id", call_id);
  json_object_set_string_member (item, "name", name);
  json_object_set_string_member (item, "arguments", "");
  send_output_item (s, "response.output_item.added", response_id, index, item);
  send_item_event (s, "conversation.item.added", item, s->last_item_id);

  event = call_event ("response.function_call_arguments.delta", response_id, index, item_id, call_id);
  json_object_set_string_member (event, "delta", args);
  send_event (s, event);
  event = call_event ("response.function_call_arguments.done", response_id, index, item_id, call_id);
  json_object_set_string_member (event, "name", name);
  json_object_set_string_member (event, "arguments", args);
  send_event (s, event);

  json_object_set_string_member (item, "status", "completed");
  json_object_set_string_member (item, "arguments", args);
  send_item_event (s, "conversation.item.done", item, s->last_item_id);
  send_output_item (s, "response.output_item.done", response_id, index, item);
  add_item (s, item, FALSE);
  g_free (s->last_item_id);
  s->last_item_id = g_strdup (item_id);
  return item;
}

static void
function_call_response (MockSession *s, const char *response_id)
{
  const char *args = s->config->function_args ? s->config->function_args : "{}";
  JsonObject *item = send_function_call (s, response_id, 0, s->config->function_name, args);
  JsonArray *output = json_array_new ();

  json_array_add_object_element (output, json_object_ref (item));
  send_response_done (s, response_id, output, "completed", NULL,
      usage_object (last_turn_ms (s),
          0, strlen (args)));
}

/* --end-call-turn / --transfer-call-turn: the response to that caller turn
 * says its audio, then calls the function — as a model does that says
 * goodbye and hangs up — if the session offers it (a model calls only the
 * tools it is given). */
static const char *
scripted_call (MockSession *s)
{
  static const char *const names[] = { "end_call", "transfer_call" };
  guint turns[] = { s->config->end_call_turn, s->config->transfer_call_turn };
  JsonNode *node = json_object_get_member (s->session, "tools");
  JsonArray *tools = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    if (!turns[i] || turns[i] != s->turns || !tools)
      continue;
    for (guint k = 0; k < json_array_get_length (tools); k++) {
      JsonNode *tool = json_array_get_element (tools, k);
      if (JSON_NODE_HOLDS_OBJECT (tool) && g_strcmp0 (names[i], json_object_get_string_member_with_default
              (json_node_get_object (tool), "name", NULL)) == 0)
        return names[i];
    }
  }
  return NULL;
}

/* What the agent says, as S16 (rate in `rate`). */
static GBytes *
response_source (MockSession *s, guint *rate, GError **error)
{
  guint64 turn_ms = last_turn_ms (s);

  *rate = 24000;
  switch (s->config->mode) {
    case MOCK_MODE_FILE:
      return g_bytes_ref (s->config->file_audio);
    case MOCK_MODE_TONE:
      return mock_audio_tone (turn_ms ? turn_ms : GREETING_TONE_MS, error);
    case MOCK_MODE_ECHO:
    case MOCK_MODE_LOOPBACK:   /* never asked: loopback_response() */
      break;
  }
  if (!s->last_turn)   /* a greeting: nothing to echo yet, make it audible */
    return mock_audio_tone (GREETING_TONE_MS, error);
  *rate = s->last_turn_rate;
  return g_bytes_ref (s->last_turn);
}

/* What a model told to say something says: per-response instructions that
 * quote a text ("Say exactly …: \"Hello\"") give that text, otherwise the
 * instructions themselves stand for the answer. */
static char *
response_transcript (MockSession *s, const char *instructions)
{
  if (instructions && *instructions) {
    const char *open = strchr (instructions, '"');
    const char *close = open ? strrchr (instructions, '"') : NULL;

    if (close && close > open + 1)
      return g_strndup (open + 1, close - open - 1);
    return g_strdup (instructions);
  }
  switch (s->config->mode) {
    case MOCK_MODE_FILE: return g_strdup_printf ("(the audio of %s)", s->config->file_name);
    case MOCK_MODE_TONE: return g_strdup ("(a 440 Hz tone)");
    case MOCK_MODE_ECHO:
    case MOCK_MODE_LOOPBACK:
      break;
  }
  return s->last_turn ? caller_transcript (s) : g_strdup ("(a 440 Hz tone)");
}

static MockItem *
response_item (MockSession *s, MockResponse *r)
{
  return g_hash_table_lookup (s->items, r->item_id);
}

static void
finish_response (MockSession *s, const char *status, const char *reason)
{
  MockResponse *r = s->response;
  MockItem *item = response_item (s, r);
  gboolean done = g_strcmp0 (status, "completed") == 0;
  JsonArray *content = json_array_new ();
  JsonArray *output;

  s->response = NULL;
  g_clear_handle_id (&r->timer, g_source_remove);
  if (done) {
    send_part_event (s, r, "response.output_audio.done", NULL, NULL);
    send_part_event (s, r, "response.output_audio_transcript.done", "transcript", r->transcript);
    send_content_part (s, r, "response.content_part.done", r->transcript);
  }
  json_array_add_object_element (content, content_part ("output_audio", r->transcript));
  json_object_set_array_member (item->json, "content", content);
  json_object_set_string_member (item->json, "status", done ? "completed" : "incomplete");
  send_item_event (s, "conversation.item.done", item->json, NULL);
  send_output_item (s, "response.output_item.done", r->id, 0, item->json);
  output = json_array_new ();
  json_array_add_object_element (output, json_object_ref (item->json));
  if (done && r->then_call) {
    g_autofree char *args = g_strdup_printf ("{\"reason\":\"%s\"}",
        g_str_equal (r->then_call, "end_call") ? "the caller said goodbye" : "the caller asked for a person");
    json_array_add_object_element (output,
        json_object_ref (send_function_call (s, r->id, 1, r->then_call, args)));
  }
  send_response_done (s, r->id, output, status, reason,
      usage_object (r->input_ms, item->audio_ms, strlen (r->transcript)));
  mock_response_free (r);
}

/* --drop-mid-response: the socket goes away under the response, with no
 * close frame, as when the API's host or a proxy between dies. */
static void
drop_connection (MockSession *s)
{
  GIOStream *io = soup_websocket_connection_get_io_stream (s->ws);

  GST_INFO ("session %s: dropping the connection mid-response", s->id);
  s->response->timer = 0;
  s->closing = TRUE;
  mock_log_close (s->id, SOUP_WEBSOCKET_CLOSE_ABNORMAL, "realtime-mock --drop-mid-response", TRUE);
  g_io_stream_close (io, NULL, NULL);
}

static gboolean
deliver_chunk (gpointer data)
{
  MockSession *s = data;
  MockResponse *r = s->response;
  MockItem *item = response_item (s, r);
  guint bpms = mock_audio_format_bytes_per_ms (session_format (s, "output"));
  gsize total = g_bytes_get_size (r->audio);
  gsize n = MIN (total - r->offset, (gsize) CHUNK_MS * bpms);
  g_autofree char *b64 = g_base64_encode ((const guchar *) g_bytes_get_data (r->audio, NULL) + r->offset, n);

  send_part_event (s, r, "response.output_audio.delta", "delta", b64);
  if (r->ordinal == s->config->drop_response && !r->steady) {
    drop_connection (s);
    return G_SOURCE_REMOVE;
  }
  r->offset += n;
  item->audio_ms = r->offset / bpms;
  if (r->words[r->next_word]) {
    const char *next = r->words[r->next_word];
    g_autofree char *word = g_strconcat (r->next_word++ ? " " : "", next, NULL);
    send_part_event (s, r, "response.output_audio_transcript.delta", "delta", word);
  }
  if (r->offset < total) {
    if (r->steady)
      return G_SOURCE_CONTINUE;
    /* after the first (maybe delayed) delta: the steady pace */
    r->steady = TRUE;
    r->timer = g_timeout_add (CHUNK_INTERVAL_MS, deliver_chunk, s);
    return G_SOURCE_REMOVE;
  }
  r->timer = 0;
  while (r->words[r->next_word]) {
    g_autofree char *word = g_strconcat (" ", r->words[r->next_word++], NULL);
    send_part_event (s, r, "response.output_audio_transcript.delta", "delta", word);
  }
  finish_response (s, "completed", NULL);
  return G_SOURCE_REMOVE;
}

/* The response's assistant item appears: output_item.added, the item in
 * the conversation, its audio content part. */
static void
open_audio_item (MockSession *s, MockResponse *r)
{
  JsonObject *item = item_new (r->item_id, "message", "assistant", "in_progress");

  json_object_set_array_member (item, "content", json_array_new ());
  send_output_item (s, "response.output_item.added", r->id, 0, item);
  send_item_event (s, "conversation.item.added", item, s->last_item_id);
  add_item (s, item, TRUE);
  g_free (s->last_item_id);
  s->last_item_id = g_strdup (r->item_id);
  send_content_part (s, r, "response.content_part.added", "");
}

static void
audio_response (MockSession *s, const char *response_id, const char *instructions,
    const char *client_event_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) source = NULL;
  MockResponse *r;
  guint rate;

  source = response_source (s, &rate, &error);
  r = g_new0 (MockResponse, 1);
  r->id = g_strdup (response_id);
  r->item_id = new_id ("item");
  if (source)
    r->audio = mock_audio_encode (g_bytes_get_data (source, NULL), g_bytes_get_size (source), rate,
        session_format (s, "output"), &error);
  if (!r->audio) {
    GST_ERROR ("session %s: cannot make the response audio: %s", s->id, error->message);
    r->audio = g_bytes_new (NULL, 0);
  }
  r->transcript = response_transcript (s, instructions);
  r->words = g_strsplit (r->transcript, " ", -1);
  r->input_ms = last_turn_ms (s);
  r->ordinal = mock_session_next_response_ordinal ();
  r->then_call = scripted_call (s);
  s->response = r;
  open_audio_item (s, r);
  r->timer = g_timeout_add (s->config->first_delta_delay_ms, deliver_chunk, s);
}

/* --mode loopback: one response per session, open until the client cancels
 * it (the next append opens another), one assistant item whose audio is
 * every delta of the response.  No transcript. */
static void
loopback_response (MockSession *s, const char *response_id)
{
  MockResponse *r = g_new0 (MockResponse, 1);

  r->id = g_strdup (response_id);
  r->item_id = new_id ("item");
  r->audio = g_bytes_new (NULL, 0);
  r->transcript = g_strdup ("");
  r->words = g_new0 (char *, 1);
  r->ordinal = mock_session_next_response_ordinal ();
  s->response = r;
  open_audio_item (s, r);
}

static void
start_response (MockSession *s, const char *instructions, const char *client_event_id)
{
  g_autofree char *response_id = NULL;

  if (s->response) {
    g_autofree char *msg = g_strdup_printf ("Conversation already has an active response in "
        "progress: %s. Wait until the response is finished before creating a new one.", s->response->id);
    send_error (s, "conversation_already_has_active_response", msg, NULL, client_event_id);
    return;
  }
  response_id = new_id ("resp");
  send_response_event (s, "response.created", response_object (s, response_id, "in_progress", NULL));
  if (s->config->function_call_turn && s->config->function_name
      && s->turns == s->config->function_call_turn && !s->function_called) {
    s->function_called = TRUE;
    function_call_response (s, response_id);
    return;
  }
  if (s->config->mode == MOCK_MODE_LOOPBACK)
    loopback_response (s, response_id);
  else
    audio_response (s, response_id, instructions, client_event_id);
}

static void
cancel_response (MockSession *s, const char *reason)
{
  if (s->response)
    finish_response (s, "cancelled", reason);
}

/* ---------- the input audio buffer ---------- */

static guint64
buffer_ms (MockSession *s)
{
  return s->buffer->len * 500 / s->vad.rate;
}

static gsize
ms_to_bytes (MockSession *s, guint64 ms)
{
  return MIN ((gsize) (ms * s->vad.rate / 1000) * 2, s->buffer->len);
}

/* Commits the buffer up to `upto_ms` (session time) as the user item
 * `item_id`; the caller's words are [from_ms, to_ms). */
static void
commit (MockSession *s, const char *item_id, guint64 from_ms, guint64 to_ms, guint64 upto_ms)
{
  gsize from = ms_to_bytes (s, from_ms - MIN (from_ms, s->buffer_start_ms));
  gsize to = ms_to_bytes (s, to_ms - MIN (to_ms, s->buffer_start_ms));
  gsize upto = ms_to_bytes (s, upto_ms - MIN (upto_ms, s->buffer_start_ms));
  JsonObject *event = event_new ("input_audio_buffer.committed");
  JsonObject *item = item_new (item_id, "message", "user", "completed");
  JsonArray *content = json_array_new ();

  g_clear_pointer (&s->last_turn, g_bytes_unref);
  s->last_turn = g_bytes_new (s->buffer->data + from, MAX (to, from) - from);
  s->last_turn_rate = s->vad.rate;
  s->turns++;
  g_byte_array_remove_range (s->buffer, 0, upto);
  s->buffer_start_ms = upto_ms;

  set_nullable_string (event, "previous_item_id", s->last_item_id);
  json_object_set_string_member (event, "item_id", item_id);
  send_event (s, event);
  json_array_add_object_element (content, content_part ("input_audio", NULL));
  json_object_set_array_member (item, "content", content);
  append_item (s, item, FALSE);
  send_transcription (s, item_id, to_ms - MIN (to_ms, from_ms));
}

static void
on_vad (MockVadEvent what, guint64 ms, gpointer data)
{
  MockSession *s = data;
  JsonObject *event;

  if (what == MOCK_VAD_SPEECH_STARTED) {
    guint64 start = MAX (ms - MIN (ms, s->vad.params.prefix_padding_ms), s->buffer_start_ms);
    g_free (s->speech_item_id);
    s->speech_item_id = new_id ("item");
    s->speech_onset_ms = ms;
    event = event_new ("input_audio_buffer.speech_started");
    json_object_set_int_member (event, "audio_start_ms", start);
    json_object_set_string_member (event, "item_id", s->speech_item_id);
    send_event (s, event);
    if (s->response && turn_flag (s, "interrupt_response"))
      cancel_response (s, "turn_detected");
    return;
  }
  event = event_new ("input_audio_buffer.speech_stopped");
  json_object_set_int_member (event, "audio_end_ms", ms);
  json_object_set_string_member (event, "item_id", s->speech_item_id);
  send_event (s, event);
  commit (s, s->speech_item_id, s->speech_onset_ms, ms, mock_vad_now_ms (&s->vad));
  g_clear_pointer (&s->speech_item_id, g_free);
  if (turn_flag (s, "create_response") && !s->response)
    start_response (s, NULL, NULL);
}

/* The decoder follows the session's input format. */
static gboolean
ensure_decoder (MockSession *s)
{
  GtrAudioFormat format = session_format (s, "input");
  g_autoptr (GError) error = NULL;

  if (s->decoder && format == s->in_format)
    return TRUE;
  g_clear_pointer (&s->decoder, mock_converter_free);
  s->decoder = mock_converter_new_decoder (format, &error);
  if (!s->decoder) {
    GST_ERROR ("session %s: no decoder: %s", s->id, error->message);
    return FALSE;
  }
  if (s->buffer->len > 0) {   /* the buffer is at the old rate: drop it, as a commit would */
    s->buffer_start_ms = mock_vad_now_ms (&s->vad);
    g_byte_array_set_size (s->buffer, 0);
  }
  s->in_format = format;
  mock_vad_set_rate (&s->vad, mock_audio_format_rate (format));
  return TRUE;
}

static gboolean
valid_base64 (const char *text)
{
  gsize len = strlen (text), pad = 0;

  if (len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = text[i];
    if (c == '=' && i >= len - 2)
      pad++;
    else if (pad || !(g_ascii_isalnum (c) || c == '+' || c == '/'))
      return FALSE;
  }
  return TRUE;
}

/* --mode loopback: the append's audio (valid base64) back as one delta of
 * the session's response, at once and byte for byte: the base64 text
 * itself is passed on, written into a buffer the session reuses. */
static void
loopback_delta (MockSession *s, const char *audio)
{
  gsize len = strlen (audio);
  MockResponse *r;
  MockItem *item;

  if (len == 0 || !is_open (s))
    return;
  if (!s->response)
    start_response (s, NULL, NULL);
  if (!(r = s->response))
    return;
  g_string_assign (s->delta_text, "{\"type\":\"response.output_audio.delta\",\"event_id\":\"");
  append_id (s->delta_text, "event");
  g_string_append_printf (s->delta_text, "\",\"response_id\":\"%s\",\"item_id\":\"%s\","
      "\"output_index\":0,\"content_index\":0,\"delta\":\"", r->id, r->item_id);
  g_string_append_len (s->delta_text, audio, len);
  g_string_append (s->delta_text, "\"}");
  send_event_text (s, s->delta_text->str, NULL);
  /* what conversation.item.truncate may cut: the item's audio so far */
  r->offset += len / 4 * 3 - (audio[len - 1] == '=') - (audio[len - 2] == '=');
  if ((item = response_item (s, r)))
    item->audio_ms = r->offset / mock_audio_format_bytes_per_ms (session_format (s, "output"));
}

static void
on_append (MockSession *s, JsonObject *event, const char *client_event_id)
{
  const char *audio = json_object_get_string_member (event, "audio");
  g_autofree guint8 *bytes = NULL;
  gsize len = 0, before;

  if (!valid_base64 (audio)) {
    send_error (s, "invalid_value", "Invalid 'audio': expected base64-encoded audio.", "audio",
        client_event_id);
    return;
  }
  if (s->config->mode == MOCK_MODE_LOOPBACK) {
    loopback_delta (s, audio);
    return;
  }
  bytes = g_base64_decode (audio, &len);
  if (len == 0 || !ensure_decoder (s))
    return;
  before = s->buffer->len;
  if (!mock_converter_push (s->decoder, bytes, len, s->buffer)) {
    send_error (s, "invalid_value", "Invalid 'audio': cannot decode it in the session's input format.",
        "audio", client_event_id);
    return;
  }
  if (turn_detection (s))
    mock_vad_process (&s->vad, (const gint16 *) (s->buffer->data + before),
        (s->buffer->len - before) / 2, on_vad, s);
  else
    s->vad.samples += (s->buffer->len - before) / 2;
}

static void
on_commit (MockSession *s, const char *client_event_id)
{
  guint64 ms = buffer_ms (s);
  g_autofree char *item_id = NULL;

  if (ms < 100) {
    g_autofree char *msg = g_strdup_printf ("Error committing input audio buffer: buffer too small. "
        "Expected at least 100ms of audio, but buffer only has %.2fms of audio.", (double) ms);
    send_error (s, "input_audio_buffer_commit_empty", msg, NULL, client_event_id);
    return;
  }
  item_id = s->speech_item_id ? g_steal_pointer (&s->speech_item_id) : new_id ("item");
  mock_vad_reset (&s->vad);
  commit (s, item_id, s->buffer_start_ms, s->buffer_start_ms + ms, s->buffer_start_ms + ms);
}

static void
on_clear (MockSession *s)
{
  s->buffer_start_ms += buffer_ms (s);
  g_byte_array_set_size (s->buffer, 0);
  g_clear_pointer (&s->speech_item_id, g_free);
  mock_vad_reset (&s->vad);
  send_event (s, event_new ("input_audio_buffer.cleared"));
}

/* ---------- other client events ---------- */

/* --mode loopback passes the caller's bytes through, so only a session
 * whose input and output formats are the same makes sense: the update is
 * tried on a copy and refused (the session unchanged) if they would differ. */
static gboolean
loopback_formats_match (MockSession *s, JsonObject *update, const char *client_event_id)
{
  g_autoptr (JsonNode) current = json_node_init_object (json_node_alloc (), s->session);
  g_autofree char *text = json_to_string (current, FALSE);
  /* a deep copy: json_node_copy() would share the object */
  g_autoptr (JsonNode) trial = json_from_string (text, NULL);
  JsonObject *session = json_node_get_object (trial);

  mock_schema_merge_session (session, update);
  if (format_of (session, "input") == format_of (session, "output"))
    return TRUE;
  send_error (s, "invalid_value", "realtime-mock --mode loopback sends the input audio back as "
      "it came: 'session.audio.output.format' must be the same as 'session.audio.input.format'.",
      "session.audio.output.format", client_event_id);
  return FALSE;
}

static void
on_session_update (MockSession *s, JsonObject *event, const char *client_event_id)
{
  JsonObject *update = json_object_get_object_member (event, "session");
  MockApiError err = { 0 };
  JsonObject *reply;

  if (s->config->reject_sessions) {
    send_error (s, "invalid_value", "The session configuration was rejected "
        "(realtime-mock --reject-sessions).", "session", client_event_id);
    return;
  }
  if (!mock_schema_check_for_model (update, json_object_get_string_member_with_default (s->session,
              "model", NULL), &err)) {
    send_error (s, err.code, err.message, err.param, client_event_id);
    mock_api_error_clear (&err);
    return;
  }
  if (s->config->mode == MOCK_MODE_LOOPBACK && !loopback_formats_match (s, update, client_event_id))
    return;
  mock_schema_merge_session (s->session, update);
  apply_vad_params (s);
  ensure_decoder (s);
  reply = event_new ("session.updated");
  json_object_set_member (reply, "session", mock_schema_session_view (s->session));
  send_event (s, reply);
}

static void
on_item_create (MockSession *s, JsonObject *event)
{
  JsonObject *item = json_object_ref (json_object_get_object_member (event, "item"));
  g_autofree char *id = NULL;

  if (!json_object_has_member (item, "id")) {
    id = new_id ("item");
    json_object_set_string_member (item, "id", id);
  }
  json_object_set_string_member (item, "object", "realtime.item");
  json_object_set_string_member (item, "status", "completed");
  append_item (s, item, FALSE);
}

/* The item, or NULL after answering the error the API gives. */
static MockItem *
find_item (MockSession *s, const char *item_id, const char *client_event_id)
{
  MockItem *item = g_hash_table_lookup (s->items, item_id);

  if (!item) {
    g_autofree char *msg = g_strdup_printf ("Conversation item '%s' not found.", item_id);
    send_error (s, "invalid_value", msg, "item_id", client_event_id);
  }
  return item;
}

static void
on_truncate (MockSession *s, JsonObject *event, const char *client_event_id)
{
  const char *item_id = json_object_get_string_member (event, "item_id");
  gint64 end_ms = json_object_get_int_member (event, "audio_end_ms");
  MockItem *item = find_item (s, item_id, client_event_id);
  JsonObject *reply;

  if (!item)
    return;
  if (!item->assistant_audio) {
    send_error (s, "unsupported_content_type", "Only model output audio messages can be truncated",
        "item_id", client_event_id);
    return;
  }
  if ((guint64) end_ms > item->audio_ms) {
    g_autofree char *msg = g_strdup_printf ("Audio content of %" G_GUINT64_FORMAT
        "ms is already shorter than %" G_GINT64_FORMAT "ms", item->audio_ms, end_ms);
    send_error (s, "invalid_value", msg, "audio_end_ms", client_event_id);
    return;
  }
  item->audio_ms = end_ms;
  reply = event_new ("conversation.item.truncated");
  json_object_set_string_member (reply, "item_id", item_id);
  json_object_set_int_member (reply, "content_index", 0);
  json_object_set_int_member (reply, "audio_end_ms", end_ms);
  send_event (s, reply);
}

static void
on_item_lookup (MockSession *s, JsonObject *event, const char *type, const char *client_event_id)
{
  const char *item_id = json_object_get_string_member (event, "item_id");
  MockItem *item = find_item (s, item_id, client_event_id);
  JsonObject *reply;

  if (!item)
    return;
  if (g_str_equal (type, "conversation.item.retrieve")) {
    reply = event_new ("conversation.item.retrieved");
    json_object_set_object_member (reply, "item", json_object_ref (item->json));
    send_event (s, reply);
    return;
  }
  reply = event_new ("conversation.item.deleted");
  json_object_set_string_member (reply, "item_id", item_id);
  g_hash_table_remove (s->items, item_id);
  send_event (s, reply);
}

static void
on_response_create (MockSession *s, JsonObject *event, const char *client_event_id)
{
  JsonObject *params = json_object_has_member (event, "response")
      ? json_object_get_object_member (event, "response") : NULL;
  const char *instructions = params
      ? json_object_get_string_member_with_default (params, "instructions", NULL) : NULL;

  start_response (s, instructions, client_event_id);
}

static void
on_response_cancel (MockSession *s, const char *client_event_id)
{
  if (!s->response) {
    send_error (s, "response_cancel_not_active", "Cancellation failed: no active response found.",
        NULL, client_event_id);
    return;
  }
  cancel_response (s, "client_cancelled");
}

static void
dispatch (MockSession *s, JsonObject *event)
{
  const char *type = json_object_get_string_member (event, "type");
  const char *id = json_object_get_string_member_with_default (event, "event_id", NULL);

  if (g_str_equal (type, "session.update"))
    on_session_update (s, event, id);
  else if (g_str_equal (type, "input_audio_buffer.append"))
    on_append (s, event, id);
  else if (g_str_equal (type, "input_audio_buffer.commit"))
    on_commit (s, id);
  else if (g_str_equal (type, "input_audio_buffer.clear"))
    on_clear (s);
  else if (g_str_equal (type, "conversation.item.create"))
    on_item_create (s, event);
  else if (g_str_equal (type, "conversation.item.truncate"))
    on_truncate (s, event, id);
  else if (g_str_has_prefix (type, "conversation.item."))
    on_item_lookup (s, event, type, id);
  else if (g_str_equal (type, "response.create"))
    on_response_create (s, event, id);
  else if (g_str_equal (type, "response.cancel"))
    on_response_cancel (s, id);
  else   /* output_audio_buffer.clear */
    send_error (s, "unsupported_event", "output_audio_buffer.clear is only supported for WebRTC "
        "and SIP connections; over a WebSocket use conversation.item.truncate.", "type", id);
}

/* ---------- the socket ---------- */

static void
on_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  MockSession *s = data;
  gsize len;
  const char *text = g_bytes_get_data (message, &len);
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  MockApiError err = { 0 };
  JsonObject *event;
  const char *client_id;

  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    mock_log_text ("in", s->id, "raw", "(binary frame)");
    send_error (s, "invalid_value", "Binary frames are not supported: send JSON text frames.",
        NULL, NULL);
    return;
  }
  node = json_from_string (text ? text : "", &error);
  if (!node || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_autofree char *copy = g_strndup (text, len);
    mock_log_text ("in", s->id, "raw", copy);
    send_error (s, "invalid_json", "The server could not parse the event as a JSON object.", NULL, NULL);
    return;
  }
  mock_log_event ("in", s->id, node);
  event = json_node_get_object (node);
  if (!mock_schema_check_client_event (event, &err)) {
    JsonNode *id = json_object_get_member (event, "event_id");
    client_id = id && JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_STRING
        ? json_node_get_string (id) : NULL;
    send_error (s, err.code, err.message, err.param, client_id);
    mock_api_error_clear (&err);
    return;
  }
  dispatch (s, event);
}

static void
mock_session_free (MockSession *s)
{
  g_signal_handlers_disconnect_by_data (s->ws, s);
  g_clear_handle_id (&s->close_timer, g_source_remove);
  g_clear_handle_id (&s->expire_timer, g_source_remove);
  g_clear_pointer (&s->response, mock_response_free);
  g_clear_pointer (&s->decoder, mock_converter_free);
  g_clear_pointer (&s->last_turn, g_bytes_unref);
  g_byte_array_unref (s->buffer);
  g_hash_table_unref (s->items);
  json_object_unref (s->session);
  g_string_free (s->delta_text, TRUE);
  g_free (s->speech_item_id);
  g_free (s->last_item_id);
  g_free (s->id);
  g_object_unref (s->ws);
  sessions = g_list_remove (sessions, s);
  g_free (s);
}

static void
on_closed (SoupWebsocketConnection *ws, gpointer data)
{
  MockSession *s = data;

  if (!s->closing)
    mock_log_close (s->id, soup_websocket_connection_get_close_code (ws),
        soup_websocket_connection_get_close_data (ws), FALSE);
  GST_INFO ("session %s closed", s->id);
  mock_session_free (s);
}

void
mock_session_close_all (void)
{
  /* close_with() may not free (the session goes on on_closed): a copy. */
  g_autoptr (GList) copy = g_list_copy (sessions);

  for (GList *l = copy; l; l = l->next)
    close_with (l->data, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "realtime-mock is shutting down");
}

void
mock_session_free_all (void)
{
  while (sessions) {
    MockSession *s = sessions->data;

    if (!s->closing)
      mock_log_close (s->id, SOUP_WEBSOCKET_CLOSE_ABNORMAL, "realtime-mock is shutting down", TRUE);
    mock_session_free (s);
  }
}

static gboolean
on_close_after (gpointer data)
{
  MockSession *s = data;

  s->close_timer = 0;
  close_with (s, SOUP_WEBSOCKET_CLOSE_NORMAL, "realtime-mock --close-after");
  return G_SOURCE_REMOVE;
}

static gboolean
on_session_max (gpointer data)
{
  MockSession *s = data;

  s->expire_timer = 0;
  send_error (s, "session_expired", "Your session hit the maximum duration of 60 minutes.", NULL, NULL);
  close_with (s, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "session_expired");
  return G_SOURCE_REMOVE;
}

/* --stall-after: the whole process stops answering (events, pongs, new
 * connections) for --stall-for ms, once, as under SIGSTOP; no socket is
 * closed. */
static gboolean
on_stall (gpointer data)
{
  const MockConfig *config = data;

  GST_INFO ("stalling for %u ms", config->stall_for_ms);
  g_usleep ((gulong) config->stall_for_ms * 1000);
  GST_INFO ("stall over");
  return G_SOURCE_REMOVE;
}

void
mock_session_arm_stall (const MockConfig *config)
{
  static gboolean stall_armed;

  if (config->stall_after_ms && !stall_armed)
    g_timeout_add (config->stall_after_ms, on_stall, (gpointer) config);
  stall_armed = stall_armed || config->stall_after_ms;
}

static void
reject_beta_client (MockSession *s)
{
  send_error (s, "beta_api_shape_disabled", "The Realtime API beta interface has been shut down: "
      "remove the 'OpenAI-Beta: realtime=v1' header and use the GA event shapes.", NULL, NULL);
  close_with (s, 4000, "beta_api_shape_disabled");
}

MockSession *
mock_session_start (const MockConfig *config, SoupWebsocketConnection *ws, const char *model,
    gboolean beta_client)
{
  MockSession *s = g_new0 (MockSession, 1);
  JsonObject *created;

  if (!mock_session_debug)
    GST_DEBUG_CATEGORY_INIT (mock_session_debug, "realtime-mock", 0, "realtime-mock sessions");
  sessions = g_list_prepend (sessions, s);
  s->config = config;
  s->ws = g_object_ref (ws);
  s->id = new_id ("sess");
  s->session = mock_schema_default_session (s->id, model);
  s->buffer = g_byte_array_new ();
  s->delta_text = g_string_sized_new (1024);
  s->items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) mock_item_free);
  mock_vad_init (&s->vad, 24000);
  apply_vad_params (s);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), s);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), s);
  GST_INFO ("session %s started (model %s)", s->id, model);

  if (beta_client) {
    reject_beta_client (s);
    return s;
  }
  ensure_decoder (s);
  created = event_new ("session.created");
  json_object_set_member (created, "session", mock_schema_session_view (s->session));
  send_event (s, created);
  if (config->close_after_ms)
    s->close_timer = g_timeout_add (config->close_after_ms, on_close_after, s);
  if (config->session_max_ms)
    s->expire_timer = g_timeout_add (config->session_max_ms, on_session_max, s);
  mock_session_arm_stall (config);
  return s;
}
