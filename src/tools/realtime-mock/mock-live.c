/* realtime-mock: one GPT-Live session.  See mock-live.h and
 * docs/realtime-mock.md ("GPT-Live") for what is modelled and which
 * behaviours are approximations of what the docs leave open. */
#include "mock-live.h"

#include "mock-audio.h"
#include "mock-live-schema.h"
#include "mock-log.h"
#include "mock-vad.h"

#include <gst/gst.h>
#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (mock_live_debug);
#define GST_CAT_DEFAULT mock_live_debug

#define CHUNK_MS 100          /* agent audio per delta, sent at real time */
#define KEEP_MS 200           /* caller audio kept while nobody speaks */
#define GREETING_TONE_MS 500
#define DEFAULT_EXPIRY_S 3600 /* the real limit is not documented */

typedef struct {
  const char *type;
  guint rate;
  guint bytes_per_ms;
  GtrAudioFormat gtr;         /* UNSET for PCM 16 kHz, which the converters do not know */
} LiveFormat;

static const LiveFormat live_formats[] = {
  { "audio/pcmu", 8000, 8, GTR_AUDIO_FORMAT_PCMU },
  { "audio/pcma", 8000, 8, GTR_AUDIO_FORMAT_PCMA },
  { "audio/pcm", 16000, 32, GTR_AUDIO_FORMAT_UNSET },
  { "audio/pcm", 24000, 48, GTR_AUDIO_FORMAT_PCM24K },
};

struct _MockLive {
  const MockConfig *config;
  SoupWebsocketConnection *ws;
  char *id;
  gboolean azure;
  gboolean started, closing, muted;
  JsonObject *session;              /* the resolved configuration, once started */
  gint64 started_us;

  const LiveFormat *format;
  MockConverter *decoder;           /* G.711 only; PCM is S16 already */
  MockVad vad;
  GByteArray *raw;                  /* the caller's bytes as sent, from raw_start_ms */
  guint64 raw_start_ms;
  guint64 onset_ms;
  GByteArray *pcm;                  /* scratch: decoded audio of one append */
  GBytes *last_turn;                /* the caller's last turn, as sent */
  guint turns;
  gboolean function_called;
  GHashTable *delegations;          /* client delegation ids */
  GHashTable *calls;                /* Responses function call_id → output (or "") */
  char *answer;                     /* a function result the backend speaks at response.create */

  /* the agent speaking */
  GBytes *speech;
  gsize offset;
  char **words;
  guint next_word;
  guint64 speak_start_ms;
  guint speak_timer;
  gboolean steady;
  guint ordinal;
  guint64 burst_until_ms;           /* --live-burst: when the sent audio would have played */
  gsize heard_early;                /* bytes of the caller's transcript sent at a barge-in */

  guint close_timer, expire_timer;
};

static GList *lives;
static guint64 id_counter;

guint
mock_live_count (void)
{
  return g_list_length (lives);
}

static char *
new_id (const char *prefix)
{
  return g_strdup_printf ("%s_%012" G_GINT64_MODIFIER "x%04x", prefix, ++id_counter,
      g_random_int_range (0, 0x10000));
}

/* ---------- sending ---------- */

static gboolean
is_open (MockLive *s)
{
  return !s->closing && soup_websocket_connection_get_state (s->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

static void
send_node (MockLive *s, JsonNode *node)
{
  g_autofree char *text = json_to_string (node, FALSE);

  mock_log_event ("out", s->id, node);
  soup_websocket_connection_send_text (s->ws, text);
}

/* Sends and logs `event` (takes it), with a server event_id and, when the
 * event answers a client event that had one, its client_event_id. */
static void
send_event (MockLive *s, JsonObject *event, const char *client_event_id)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), event);
  g_autofree char *id = new_id ("event");

  json_object_unref (event);
  if (!is_open (s))
    return;
  json_object_set_string_member (event, "event_id", id);
  if (client_event_id)
    json_object_set_string_member (event, "client_event_id", client_event_id);
  send_node (s, node);
}

static JsonObject *
event_new (const char *type)
{
  JsonObject *event = json_object_new ();

  json_object_set_string_member (event, "type", type);
  return event;
}

/* GPT-Live's error: the cause is client_event_id, at the top and inside. */
static void
send_error (MockLive *s, const char *code, const char *message, const char *param,
    const char *client_event_id)
{
  JsonObject *event = event_new ("error");
  JsonObject *error = json_object_new ();

  json_object_set_string_member (error, "type", "invalid_request_error");
  json_object_set_string_member (error, "code", code);
  json_object_set_string_member (error, "message", message);
  if (param)
    json_object_set_string_member (error, "param", param);
  else
    json_object_set_null_member (error, "param");
  if (client_event_id)
    json_object_set_string_member (error, "client_event_id", client_event_id);
  json_object_set_object_member (event, "error", error);
  send_event (s, event, client_event_id);
}

static void
close_with (MockLive *s, gushort code, const char *reason)
{
  if (s->closing || soup_websocket_connection_get_state (s->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  s->closing = TRUE;
  mock_log_close (s->id, code, reason, TRUE);
  soup_websocket_connection_close (s->ws, code, reason);
}

/* ---------- the session timeline ---------- */

/* Milliseconds of caller audio since session.started: the timeline of
 * every start_ms/end_ms (a client streams in real time, silence included). */
static guint64
now_ms (MockLive *s)
{
  return mock_vad_now_ms (&s->vad);
}

/* Billed seconds: the session's wall-clock duration, to 0.1 s. */
static gdouble
billed_seconds (MockLive *s)
{
  return floor ((g_get_monotonic_time () - s->started_us) / 100000.0) / 10.0;
}

static JsonObject *
usage_object (MockLive *s)
{
  JsonObject *usage = json_object_new ();

  json_object_set_double_member (usage, "seconds", billed_seconds (s));
  return usage;
}

static void
send_usage (MockLive *s)
{
  JsonObject *event = event_new ("session.usage.updated");

  json_object_set_object_member (event, "usage", usage_object (s));
  send_event (s, event, NULL);
}

static void
send_closed (MockLive *s, const char *reason, const char *client_event_id)
{
  JsonObject *event = event_new ("session.closed");

  json_object_set_string_member (event, "reason", reason);
  json_object_set_object_member (event, "session", json_object_ref (s->session));
  json_object_set_object_member (event, "usage", usage_object (s));
  send_event (s, event, client_event_id);
}

/* ---------- the agent speaking ---------- */

static void
stop_speaking (MockLive *s)
{
  g_clear_handle_id (&s->speak_timer, g_source_remove);
  g_clear_pointer (&s->speech, g_bytes_unref);
  g_clear_pointer (&s->words, g_strfreev);
}

static void
send_transcript (MockLive *s, const char *type, const char *text, guint64 start, guint64 end)
{
  JsonObject *event = event_new (type);

  json_object_set_string_member (event, "delta", text);
  json_object_set_int_member (event, "start_ms", start);
  json_object_set_int_member (event, "end_ms", end);
  send_event (s, event, NULL);
}

/* --drop-mid-response: the socket goes away under the agent's speech, with
 * no close frame. */
static void
drop_connection (MockLive *s)
{
  GST_INFO ("session %s: dropping the connection mid-response", s->id);
  s->speak_timer = 0;
  s->closing = TRUE;
  mock_log_close (s->id, SOUP_WEBSOCKET_CLOSE_ABNORMAL, "realtime-mock --drop-mid-response", TRUE);
  g_io_stream_close (soup_websocket_connection_get_io_stream (s->ws), NULL, NULL);
}

static void
send_audio_delta (MockLive *s, const guint8 *data, gsize len)
{
  g_autofree char *b64 = g_base64_encode (data, len);
  JsonObject *event = event_new ("session.output_audio.delta");
  g_autoptr (JsonNode) node = NULL;

  /* on the primary socket: no event_id, no timestamps */
  json_object_set_string_member (event, "delta", b64);
  node = json_node_init_object (json_node_alloc (), event);
  json_object_unref (event);
  if (is_open (s))
    send_node (s, node);
}

static gboolean
deliver_chunk (gpointer data)
{
  MockLive *s = data;
  gsize total = g_bytes_get_size (s->speech);
  guint bpms = s->format->bytes_per_ms;
  gsize n = MIN (total - s->offset, (gsize) CHUNK_MS * bpms);
  guint64 from = s->offset / bpms, to;

  if (n > 0)
    send_audio_delta (s, (const guint8 *) g_bytes_get_data (s->speech, NULL) + s->offset, n);
  if (s->ordinal == s->config->drop_response && !s->steady) {
    drop_connection (s);
    return G_SOURCE_REMOVE;
  }
  s->offset += n;
  to = s->offset / bpms;
  if (s->words[s->next_word]) {
    g_autofree char *word = g_strconcat (s->next_word ? " " : "", s->words[s->next_word], NULL);
    s->next_word++;
    send_transcript (s, "session.output_transcript.delta", word, s->speak_start_ms + from,
        s->speak_start_ms + to);
  }
  if (s->offset < total) {
    if (s->config->live_burst)   /* the whole turn at once */
      return deliver_chunk (s);
    if (s->steady)
      return G_SOURCE_CONTINUE;
    s->steady = TRUE;
    s->speak_timer = g_timeout_add (CHUNK_MS, deliver_chunk, s);
    return G_SOURCE_REMOVE;
  }
  if (s->words[s->next_word]) {   /* words beyond the audio: at its end */
    g_autofree char *rest = g_strjoinv (" ", s->words + s->next_word);
    g_autofree char *text = g_strconcat (" ", rest, NULL);
    send_transcript (s, "session.output_transcript.delta", text, s->speak_start_ms + to,
        s->speak_start_ms + to);
  }
  s->speak_timer = 0;
  stop_speaking (s);
  send_usage (s);
  return G_SOURCE_REMOVE;
}

/* S16 mono 24 kHz → PCM 16 kHz, linear interpolation. */
static GBytes *
resample_24k_to_16k (GBytes *s16)
{
  gsize n_in = g_bytes_get_size (s16) / 2, n_out = n_in * 2 / 3;
  const gint16 *in = g_bytes_get_data (s16, NULL);
  gint16 *out = g_new (gint16, MAX (n_out, 1));

  for (gsize i = 0; i < n_out; i++) {
    gsize i0 = i * 3 / 2;
    gdouble frac = (i * 3 % 2) / 2.0;
    gint16 b = i0 + 1 < n_in ? in[i0 + 1] : in[i0];
    out[i] = (gint16) lrint (in[i0] * (1 - frac) + b * frac);
  }
  return g_bytes_new_take (out, n_out * 2);
}

/* S16 mono 24 kHz (tone, file) in the session's format. */
static GBytes *
encode_24k (MockLive *s, GBytes *s16)
{
  g_autoptr (GError) error = NULL;
  GBytes *out;

  if (s->format->gtr == GTR_AUDIO_FORMAT_UNSET)
    return resample_24k_to_16k (s16);
  out = mock_audio_encode (g_bytes_get_data (s16, NULL), g_bytes_get_size (s16), 24000,
      s->format->gtr, &error);
  if (!out) {
    GST_ERROR ("session %s: cannot encode the agent's audio: %s", s->id, error->message);
    out = g_bytes_new (NULL, 0);
  }
  return out;
}

/* What the agent says, in the session's format: in echo mode the caller's
 * last turn byte for byte (a tone before any turn), else per --mode. */
static GBytes *
agent_audio (MockLive *s)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) s16 = NULL;
  guint64 turn_ms = s->last_turn ? g_bytes_get_size (s->last_turn) / s->format->bytes_per_ms : 0;

  if (s->config->mode == MOCK_MODE_ECHO && s->last_turn)
    return g_bytes_ref (s->last_turn);
  if (s->config->mode == MOCK_MODE_FILE)
    return encode_24k (s, s->config->file_audio);
  s16 = mock_audio_tone (turn_ms ? turn_ms : GREETING_TONE_MS, &error);
  if (!s16) {
    GST_ERROR ("session %s: no tone: %s", s->id, error->message);
    return g_bytes_new (NULL, 0);
  }
  return encode_24k (s, s16);
}

static void
speak (MockLive *s, const char *transcript)
{
  stop_speaking (s);
  s->speech = agent_audio (s);
  s->offset = 0;
  s->words = g_strsplit (transcript, " ", -1);
  s->next_word = 0;
  s->speak_start_ms = now_ms (s);
  s->steady = FALSE;
  s->ordinal = mock_session_next_response_ordinal ();
  s->burst_until_ms = s->speak_start_ms + s->config->first_delta_delay_ms
      + g_bytes_get_size (s->speech) / s->format->bytes_per_ms;
  s->speak_timer = g_timeout_add (s->config->first_delta_delay_ms, deliver_chunk, s);
}

/* ---------- delegation (tool calls) ---------- */

static const char *
delegation_type (MockLive *s)
{
  JsonObject *d = json_object_get_object_member (s->session, "delegation");

  return json_object_get_string_member (d, "type");
}

static JsonObject *
delegation_object (const char *id, const char *target, const char *response_id)
{
  JsonObject *d = json_object_new ();

  json_object_set_string_member (d, "id", id);
  json_object_set_string_member (d, "type", "delegation");
  json_object_set_string_member (d, "target", target);
  if (response_id)
    json_object_set_string_member (d, "response_id", response_id);
  return d;
}

/* A nested Responses streaming event, wrapped in response.event (takes it). */
static void
send_response_event (MockLive *s, const char *delegation_id, JsonObject *nested,
    const char *client_event_id)
{
  JsonObject *event = event_new ("response.event");

  if (delegation_id)
    json_object_set_string_member (event, "delegation_id", delegation_id);
  json_object_set_object_member (event, "event", nested);
  send_event (s, event, client_event_id);
}

static JsonObject *
backend_response (const char *id, const char *status, JsonArray *output)
{
  JsonObject *r = json_object_new ();

  json_object_set_string_member (r, "id", id);
  json_object_set_string_member (r, "object", "response");
  json_object_set_string_member (r, "status", status);
  json_object_set_array_member (r, "output", output ? output : json_array_new ());
  return r;
}

static JsonObject *
nested_event (const char *type, const char *member, JsonObject *value)
{
  JsonObject *e = event_new (type);

  if (member)
    json_object_set_object_member (e, member, value);
  return e;
}

static JsonObject *
function_call_item (const char *item_id, const char *call_id, const char *name, const char *args,
    const char *status)
{
  JsonObject *item = json_object_new ();

  json_object_set_string_member (item, "type", "function_call");
  json_object_set_string_member (item, "id", item_id);
  json_object_set_string_member (item, "call_id", call_id);
  json_object_set_string_member (item, "name", name);
  json_object_set_string_member (item, "arguments", args);
  json_object_set_string_member (item, "status", status);
  return item;
}

/* --function-call-turn N: instead of answering turn N the model hands the
 * task off.  Client delegation: session.delegation.created (metadata only,
 * as documented; the client answers with session.commentary.append).
 * Responses delegation: the backend calls --function-name with
 * --function-args, the calls arriving nested in response.event; the client
 * answers with response.item.create (function_call_output) and
 * response.create. */
static void
delegate (MockLive *s)
{
  g_autofree char *id = new_id ("dlg");
  gboolean responses = g_strcmp0 (delegation_type (s), "responses") == 0;
  g_autofree char *response_id = responses ? new_id ("resp") : NULL;
  JsonObject *event = event_new ("session.delegation.created");
  g_autofree char *item_id = NULL, *call_id = NULL;
  const char *args = s->config->function_args ? s->config->function_args : "{}";
  const char *name = s->config->function_name;
  JsonObject *e;
  JsonArray *output;

  json_object_set_int_member (event, "offset_ms", now_ms (s));
  json_object_set_object_member (event, "delegation",
      delegation_object (id, responses ? "responses" : "client", response_id));
  send_event (s, event, NULL);
  if (!responses) {
    g_hash_table_add (s->delegations, g_steal_pointer (&id));
    return;
  }
  item_id = new_id ("fc");
  call_id = new_id ("call");
  send_response_event (s, id, nested_event ("response.created", "response",
          backend_response (response_id, "in_progress", NULL)), NULL);
  e = nested_event ("response.output_item.added", "item",
      function_call_item (item_id, call_id, name, "", "in_progress"));
  json_object_set_int_member (e, "output_index", 0);
  send_response_event (s, id, e, NULL);
  e = event_new ("response.function_call_arguments.done");
  json_object_set_string_member (e, "item_id", item_id);
  json_object_set_int_member (e, "output_index", 0);
  json_object_set_string_member (e, "name", name);
  json_object_set_string_member (e, "arguments", args);
  send_response_event (s, id, e, NULL);
  e = nested_event ("response.output_item.done", "item",
      function_call_item (item_id, call_id, name, args, "completed"));
  json_object_set_int_member (e, "output_index", 0);
  send_response_event (s, id, e, NULL);
  output = json_array_new ();
  json_array_add_object_element (output, function_call_item (item_id, call_id, name, args, "completed"));
  send_response_event (s, id, nested_event ("response.completed", "response",
          backend_response (response_id, "completed", output)), NULL);
  g_hash_table_insert (s->calls, g_steal_pointer (&call_id), g_strdup (""));
}

/* ---------- the caller's audio ---------- */

static char *
caller_transcript_n (MockLive *s, guint turn)
{
  if (s->config->transcript)
    return g_strdup (s->config->transcript);
  return g_strdup_printf ("caller turn %u", turn);
}

static char *
caller_transcript (MockLive *s)
{
  return caller_transcript_n (s, s->turns);
}

static gsize
raw_offset (MockLive *s, guint64 ms)
{
  return MIN ((ms - MIN (ms, s->raw_start_ms)) * s->format->bytes_per_ms, s->raw->len);
}

static void
on_vad (MockVadEvent what, guint64 ms, gpointer data)
{
  MockLive *s = data;
  g_autofree char *text = NULL;
  gsize from, to;

  if (what == MOCK_VAD_SPEECH_STARTED) {
    s->onset_ms = ms;
    s->heard_early = 0;
    if (s->speech) {   /* barge-in: the model falls silent, and says nothing about it */
      GST_INFO ("session %s: the caller talks over the agent at %" G_GUINT64_FORMAT " ms", s->id, ms);
      stop_speaking (s);
    } else if (s->config->live_burst && ms < s->burst_until_ms) {
      /* --live-burst: the agent's audio is all out but still playing at
       * the client; the first words the caller says come as a transcript
       * fragment at once, the rest when the turn ends */
      g_autofree char *next = caller_transcript_n (s, s->turns + 1);
      const char *space = strchr (next, ' ');

      s->heard_early = space ? (gsize) (space - next) : strlen (next);
      text = g_strndup (next, s->heard_early);
      send_transcript (s, "session.input_transcript.delta", text, ms, ms);
    }
    return;
  }
  from = raw_offset (s, s->onset_ms);
  to = raw_offset (s, ms);
  g_clear_pointer (&s->last_turn, g_bytes_unref);
  s->last_turn = g_bytes_new (s->raw->data + from, to - from);
  s->turns++;
  text = caller_transcript (s);
  send_transcript (s, "session.input_transcript.delta", text + MIN (s->heard_early, strlen (text)),
      s->onset_ms, ms);
  s->heard_early = 0;
  if (s->config->function_call_turn && s->turns == s->config->function_call_turn
      && !s->function_called) {
    s->function_called = TRUE;
    stop_speaking (s);
    delegate (s);
    return;
  }
  speak (s, text);
}

/* Keeps only what a speech onset could still need. */
static void
trim_raw (MockLive *s)
{
  guint64 have_ms = s->raw->len / s->format->bytes_per_ms;

  if (s->vad.in_speech || have_ms <= 2 * KEEP_MS)
    return;
  g_byte_array_remove_range (s->raw, 0, (have_ms - KEEP_MS) * s->format->bytes_per_ms);
  s->raw_start_ms += have_ms - KEEP_MS;
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

static void
on_append (MockLive *s, JsonObject *event, const char *client_event_id)
{
  const char *audio = json_object_get_string_member (event, "audio");
  g_autofree guint8 *bytes = NULL;
  gsize len = 0;

  if (!valid_base64 (audio)) {
    send_error (s, "invalid_value", "Invalid 'audio': expected base64-encoded audio.", "audio",
        client_event_id);
    return;
  }
  bytes = g_base64_decode (audio, &len);
  if (len == 0)
    return;
  if (s->config->mode == MOCK_MODE_LOOPBACK) {   /* back at once, the same bytes */
    send_audio_delta (s, bytes, len);
    return;
  }
  if (!s->decoder)
    len -= len % 2;   /* PCM: whole samples */
  g_byte_array_append (s->raw, bytes, len);
  if (s->muted) {   /* the model does not hear it; time goes on */
    s->vad.samples += s->decoder ? len : len / 2;
  } else if (s->decoder) {
    g_byte_array_set_size (s->pcm, 0);
    if (!mock_converter_push (s->decoder, bytes, len, s->pcm)) {
      send_error (s, "invalid_value", "Invalid 'audio': cannot decode it in the session's format.",
          "audio", client_event_id);
      return;
    }
    mock_vad_process (&s->vad, (const gint16 *) s->pcm->data, s->pcm->len / 2, on_vad, s);
  } else {
    mock_vad_process (&s->vad, (const gint16 *) bytes, len / 2, on_vad, s);
  }
  trim_raw (s);
}

/* ---------- session.start ---------- */

static const LiveFormat *
format_of (JsonObject *session)
{
  JsonObject *format = json_object_get_object_member (
      json_object_get_object_member (session, "audio"), "format");
  const char *type = json_object_get_string_member (format, "type");
  gint64 rate = json_object_get_int_member (format, "rate");

  for (guint i = 0; i < G_N_ELEMENTS (live_formats); i++)
    if (g_str_equal (live_formats[i].type, type) && live_formats[i].rate == rate)
      return &live_formats[i];
  g_return_val_if_reached (&live_formats[3]);
}

/* --live-wrong-format: session.started confirms another format than asked
 * (μ-law asked: PCM 24 kHz; anything else: μ-law), and the session then
 * works in that one, as a server that got it wrong would. */
static void
apply_wrong_format (JsonObject *session)
{
  JsonObject *audio = json_object_get_object_member (session, "audio");
  gboolean pcmu = g_str_equal (format_of (session)->type, "audio/pcmu");

  json_object_set_member (audio, "format", json_from_string (pcmu
          ? "{\"type\":\"audio/pcm\",\"rate\":24000}" : "{\"type\":\"audio/pcmu\",\"rate\":8000}", NULL));
}

static gboolean
on_close_after (gpointer data)
{
  MockLive *s = data;

  s->close_timer = 0;
  close_with (s, SOUP_WEBSOCKET_CLOSE_NORMAL, "realtime-mock --close-after");
  return G_SOURCE_REMOVE;
}

static gboolean
on_session_max (gpointer data)
{
  MockLive *s = data;

  s->expire_timer = 0;
  stop_speaking (s);
  send_closed (s, "expired", NULL);
  close_with (s, SOUP_WEBSOCKET_CLOSE_NORMAL, "expired");
  return G_SOURCE_REMOVE;
}

static void
on_start (MockLive *s, JsonObject *event, const char *client_event_id)
{
  JsonObject *config = json_object_get_object_member (event, "session");
  MockApiError err = { 0 };
  g_autoptr (GError) error = NULL;
  JsonObject *started;
  gint64 expiry_s = s->config->session_max_ms ? (s->config->session_max_ms + 999) / 1000 : DEFAULT_EXPIRY_S;

  if (s->config->reject_sessions) {
    send_error (s, "invalid_value", "The session configuration was rejected "
        "(realtime-mock --reject-sessions).", "session", client_event_id);
    return;
  }
  if (!mock_live_check_session (config, s->azure, &err)) {
    send_error (s, err.code, err.message, err.param, client_event_id);
    mock_api_error_clear (&err);
    return;
  }
  s->session = mock_live_resolve_session (config, s->id, g_get_real_time () / G_USEC_PER_SEC + expiry_s);
  if (s->config->live_wrong_format)
    apply_wrong_format (s->session);
  s->format = format_of (s->session);
  if (s->format->gtr == GTR_AUDIO_FORMAT_PCMU || s->format->gtr == GTR_AUDIO_FORMAT_PCMA) {
    s->decoder = mock_converter_new_decoder (s->format->gtr, &error);
    if (!s->decoder)
      GST_ERROR ("session %s: no decoder: %s", s->id, error->message);
  }
  mock_vad_init (&s->vad, s->format->rate);
  s->started = TRUE;
  s->started_us = g_get_monotonic_time ();
  started = event_new ("session.started");
  json_object_set_object_member (started, "session", json_object_ref (s->session));
  send_event (s, started, client_event_id);
  GST_INFO ("session %s started (model %s, %s %u Hz)", s->id,
      json_object_get_string_member (s->session, "model"), s->format->type, s->format->rate);
  if (s->config->close_after_ms)
    s->close_timer = g_timeout_add (s->config->close_after_ms, on_close_after, s);
  if (s->config->session_max_ms)
    s->expire_timer = g_timeout_add (s->config->session_max_ms, on_session_max, s);
  mock_session_arm_stall (s->config);
}

/* ---------- the other client events ---------- */

static void
on_update (MockLive *s, JsonObject *event, const char *client_event_id)
{
  JsonObject *update = json_object_get_object_member (event, "session");
  JsonNode *d = json_object_get_member (update, "delegation");
  JsonObject *current = json_object_get_object_member (s->session, "delegation");
  JsonObject *reply;

  if (d && (JSON_NODE_HOLDS_NULL (d) || g_strcmp0 (json_object_get_string_member (
                  json_node_get_object (d), "type"), delegation_type (s)) != 0)) {
    send_error (s, "immutable_field_update", "The delegation type cannot be changed after "
        "session.start: only the Responses backend settings can be updated.",
        "session.delegation.type", client_event_id);
    return;
  }
  if (d && json_object_has_member (json_node_get_object (d), "responses")) {
    JsonObject *src = json_object_get_object_member (json_node_get_object (d), "responses");
    JsonObject *dst = json_object_get_object_member (current, "responses");
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;

    json_object_iter_init (&iter, src);
    while (json_object_iter_next (&iter, &name, &member))
      json_object_set_member (dst, name, json_node_copy (member));
  }
  reply = event_new ("session.updated");
  json_object_set_object_member (reply, "session", json_object_ref (s->session));
  send_event (s, reply, client_event_id);
}

/* instructions/thinking/commentary: acknowledged on the timeline; the
 * commentary (what the model should say, e.g. a tool result) is spoken. */
static void
on_text_append (MockLive *s, const char *type, JsonObject *event, const char *client_event_id)
{
  JsonNode *d = json_object_get_member (event, "delegation_id");
  const char *content = json_object_get_string_member (event, "content");
  g_autofree char *kind = g_strndup (type, strlen (type) - strlen (".append"));
  g_autofree char *acked = g_strconcat (kind, ".appended", NULL);
  JsonObject *reply;

  if (!JSON_NODE_HOLDS_NULL (d)) {
    const char *id = json_node_get_string (d);
    g_autofree char *msg = NULL;

    if (g_strcmp0 (delegation_type (s), "responses") == 0) {
      send_error (s, "invalid_value", "Invalid 'delegation_id': a non-null delegation_id is "
          "refused under Responses delegation.", "delegation_id", client_event_id);
      return;
    }
    if (!g_hash_table_contains (s->delegations, id)) {
      msg = g_strdup_printf ("Invalid 'delegation_id': '%s' is not a client delegation of this "
          "session.", id);
      send_error (s, "invalid_value", msg, "delegation_id", client_event_id);
      return;
    }
  }
  reply = event_new (acked);
  json_object_set_int_member (reply, "start_ms", now_ms (s));
  json_object_set_int_member (reply, "end_ms", now_ms (s));
  send_event (s, reply, client_event_id);
  if (g_str_equal (type, "session.commentary.append"))
    speak (s, content);
}

static void
on_mute (MockLive *s, gboolean mute, const char *client_event_id)
{
  s->muted = mute;
  if (mute)
    mock_vad_reset (&s->vad);
  send_event (s, event_new (mute ? "session.input_audio.muted" : "session.input_audio.unmuted"),
      client_event_id);
}

static gboolean
needs_responses (MockLive *s, const char *type, const char *client_event_id)
{
  g_autofree char *msg = NULL;

  if (g_strcmp0 (delegation_type (s), "responses") == 0)
    return TRUE;
  msg = g_strdup_printf ("'%s' needs Responses delegation (session.delegation.type "
      "'responses'); this session delegates to the client.", type);
  send_error (s, "unsupported_event", msg, "type", client_event_id);
  return FALSE;
}

static void
on_item_create (MockLive *s, JsonObject *event, const char *client_event_id)
{
  JsonObject *item = json_object_get_object_member (event, "item");
  const char *call_id;

  if (!needs_responses (s, "response.item.create", client_event_id))
    return;
  if (!g_str_equal (json_object_get_string_member (item, "type"), "function_call_output"))
    return;   /* other input items: taken, nothing to model */
  call_id = json_object_get_string_member_with_default (item, "call_id", NULL);
  if (!call_id || !g_hash_table_contains (s->calls, call_id)) {
    g_autofree char *msg = g_strdup_printf ("No function call with call_id '%s' is pending.",
        call_id ? call_id : "");
    send_error (s, "invalid_value", msg, "item.call_id", client_event_id);
    return;
  }
  g_hash_table_remove (s->calls, call_id);
  g_free (s->answer);
  s->answer = g_strdup (json_object_get_string_member_with_default (item, "output", ""));
}

/* The backend answers; with a function result it is a text the model speaks. */
static void
on_response_create (MockLive *s, const char *client_event_id)
{
  g_autofree char *response_id = new_id ("resp");
  g_autofree char *answer = g_steal_pointer (&s->answer);
  JsonObject *e;

  if (!needs_responses (s, "response.create", client_event_id))
    return;
  send_response_event (s, NULL, nested_event ("response.created", "response",
          backend_response (response_id, "in_progress", NULL)), client_event_id);
  if (answer) {
    e = event_new ("response.output_text.delta");
    json_object_set_string_member (e, "delta", answer);
    send_response_event (s, NULL, e, client_event_id);
  }
  send_response_event (s, NULL, nested_event ("response.completed", "response",
          backend_response (response_id, "completed", NULL)), client_event_id);
  if (answer)
    speak (s, answer);
}

static void
on_close (MockLive *s, const char *client_event_id)
{
  stop_speaking (s);
  send_closed (s, "close_requested", client_event_id);
  close_with (s, SOUP_WEBSOCKET_CLOSE_NORMAL, "session closed");
}

static void
dispatch (MockLive *s, JsonObject *event, const char *id)
{
  const char *type = json_object_get_string_member (event, "type");

  if (!s->started) {
    if (g_str_equal (type, "session.start"))
      on_start (s, event, id);
    else
      send_error (s, "session_not_started", "The session has not started: the first message "
          "must be session.start.", "type", id);
    return;
  }
  if (g_str_equal (type, "session.start"))
    send_error (s, "session_already_started", "The session has already started: session.start "
        "is sent once, as the first message.", "type", id);
  else if (g_str_equal (type, "session.update"))
    on_update (s, event, id);
  else if (g_str_equal (type, "session.input_audio.append"))
    on_append (s, event, id);
  else if (g_str_equal (type, "session.input_audio.mute"))
    on_mute (s, TRUE, id);
  else if (g_str_equal (type, "session.input_audio.unmute"))
    on_mute (s, FALSE, id);
  else if (g_str_has_suffix (type, ".append"))
    on_text_append (s, type, event, id);
  else if (g_str_equal (type, "response.item.create"))
    on_item_create (s, event, id);
  else if (g_str_equal (type, "response.create"))
    on_response_create (s, id);
  else   /* session.close */
    on_close (s, id);
}

/* ---------- the socket ---------- */

static void
on_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  MockLive *s = data;
  gsize len;
  const char *text = g_bytes_get_data (message, &len);
  g_autoptr (JsonNode) node = NULL;
  MockApiError err = { 0 };
  JsonObject *event;
  JsonNode *id;
  const char *client_id;

  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    mock_log_text ("in", s->id, "raw", "(binary frame)");
    send_error (s, "invalid_value", "Binary frames are not supported: send JSON text frames.",
        NULL, NULL);
    return;
  }
  node = json_from_string (text ? text : "", NULL);
  if (!node || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_autofree char *copy = g_strndup (text, len);
    mock_log_text ("in", s->id, "raw", copy);
    send_error (s, "invalid_json", "The server could not parse the event as a JSON object.", NULL, NULL);
    return;
  }
  mock_log_event ("in", s->id, node);
  event = json_node_get_object (node);
  id = json_object_get_member (event, "event_id");
  client_id = id && JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_STRING
      ? json_node_get_string (id) : NULL;
  if (!mock_live_check_client_event (event, &err)) {
    send_error (s, err.code, err.message, err.param, client_id);
    mock_api_error_clear (&err);
    return;
  }
  dispatch (s, event, client_id);
}

static void
mock_live_free (MockLive *s)
{
  g_signal_handlers_disconnect_by_data (s->ws, s);
  stop_speaking (s);
  g_clear_handle_id (&s->close_timer, g_source_remove);
  g_clear_handle_id (&s->expire_timer, g_source_remove);
  g_clear_pointer (&s->decoder, mock_converter_free);
  g_clear_pointer (&s->last_turn, g_bytes_unref);
  g_clear_pointer (&s->session, json_object_unref);
  g_byte_array_unref (s->raw);
  g_byte_array_unref (s->pcm);
  g_hash_table_unref (s->delegations);
  g_hash_table_unref (s->calls);
  g_free (s->answer);
  g_free (s->id);
  g_object_unref (s->ws);
  lives = g_list_remove (lives, s);
  g_free (s);
}

static void
on_closed (SoupWebsocketConnection *ws, gpointer data)
{
  MockLive *s = data;

  if (!s->closing)
    mock_log_close (s->id, soup_websocket_connection_get_close_code (ws),
        soup_websocket_connection_get_close_data (ws), FALSE);
  GST_INFO ("session %s closed", s->id);
  mock_live_free (s);
}

void
mock_live_close_all (void)
{
  g_autoptr (GList) copy = g_list_copy (lives);

  for (GList *l = copy; l; l = l->next)
    close_with (l->data, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "realtime-mock is shutting down");
}

void
mock_live_free_all (void)
{
  while (lives) {
    MockLive *s = lives->data;

    if (!s->closing)
      mock_log_close (s->id, SOUP_WEBSOCKET_CLOSE_ABNORMAL, "realtime-mock is shutting down", TRUE);
    mock_live_free (s);
  }
}

MockLive *
mock_live_start (const MockConfig *config, SoupWebsocketConnection *ws, gboolean azure)
{
  MockLive *s = g_new0 (MockLive, 1);

  if (!mock_live_debug)
    GST_DEBUG_CATEGORY_INIT (mock_live_debug, "realtime-mock-live", 0, "realtime-mock GPT-Live sessions");
  lives = g_list_prepend (lives, s);
  s->config = config;
  s->ws = g_object_ref (ws);
  s->azure = azure;
  s->id = new_id ("live_sess");
  s->format = &live_formats[3];
  s->raw = g_byte_array_new ();
  s->pcm = g_byte_array_new ();
  s->delegations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  /* GPT-Live has no VAD settings: the mock hears turns with the Realtime
   * side's server_vad defaults. */
  s->vad.params = (MockVadParams) { 0.5, 300, 500 };
  mock_vad_init (&s->vad, 24000);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), s);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), s);
  GST_INFO ("session %s connected (%s path)", s->id, azure ? "Azure" : "OpenAI");
  return s;
}
