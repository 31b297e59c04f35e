#include "fuzz-common.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_SECONDS 15.0
/* The default round limit per second of budget: about four times what a
 * 2-core machine under load runs. */
#define ROUNDS_PER_SECOND 200

/* ------------------------------------------------------------------------ */
/* Runs and rounds                                                          */

static guint64
env_uint (const char *name, guint64 fallback)
{
  const char *text = g_getenv (name);
  guint64 value;

  if (!text || !*text)
    return fallback;
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &value, NULL))
    g_error ("%s=%s is not a number", name, text);
  return value;
}

gdouble
fuzz_budget_seconds (void)
{
  const char *seconds = g_getenv ("GTR_ELEMENT_FUZZ_SECONDS");

  return seconds && *seconds ? g_ascii_strtod (seconds, NULL) : DEFAULT_SECONDS;
}

gint
fuzz_check_timeout (void)
{
  /* the budget, then the round in progress and the pinned cases */
  return (gint) fuzz_budget_seconds () + 120;
}

void
fuzz_run_init (FuzzRun *run, const char *name)
{
  const char *round = g_getenv ("GTR_FUZZ_ROUND");

  memset (run, 0, sizeof *run);
  run->name = name;
  run->seed = (guint32) env_uint ("GTR_FUZZ_SEED",
      g_random_int () ^ (guint32) g_get_real_time ());
  run->budget_s = fuzz_budget_seconds ();
  /* A fast machine stops at the rounds, a slow one at the time. */
  run->max_rounds = (guint) env_uint ("GTR_FUZZ_ROUNDS",
      (guint64) (run->budget_s * ROUNDS_PER_SECOND) + 1);
  run->only_round = round && *round ? (gint) env_uint ("GTR_FUZZ_ROUND", 0) : -1;
  run->started = g_get_monotonic_time ();
  run->deadline = run->started + (gint64) (run->budget_s * G_USEC_PER_SEC);
  /* g_print: the seed belongs in the test's log whatever GST_DEBUG says. */
  g_print ("%s: seed %u, budget %.1f s or %u rounds (replay: GTR_FUZZ_SEED=%u; "
      "one round: GTR_FUZZ_SEED=%u GTR_FUZZ_ROUND=N)\n", name, run->seed,
      run->budget_s, run->max_rounds, run->seed, run->seed);
}

/* Round seeds from (seed, round) through a 32-bit mix (splitmix32's
 * finalizer), so any round can be replayed alone. */
static guint32
round_seed (guint32 seed, guint round)
{
  guint32 x = seed ^ (round * 0x9e3779b9u);

  x = (x ^ (x >> 16)) * 0x85ebca6bu;
  x = (x ^ (x >> 13)) * 0xc2b2ae35u;
  return x ^ (x >> 16);
}

GRand *
fuzz_run_next (FuzzRun *run)
{
  if (run->only_round >= 0) {
    if (run->rounds > 0)
      return NULL;
    run->round = (guint) run->only_round;
  } else {
    if (run->rounds > 0 && g_get_monotonic_time () >= run->deadline)
      return NULL;
    if (run->rounds >= run->max_rounds)
      return NULL;
    run->round = run->rounds;
  }
  run->rounds++;
  return g_rand_new_with_seed (round_seed (run->seed, run->round));
}

void
fuzz_run_rounds (FuzzRun *run, const FuzzRounds *rounds)
{
  gpointer element = NULL;
  GRand *rand;

  while ((rand = fuzz_run_next (run))) {
    gboolean fresh = g_rand_double (rand) < 0.15;

    if (element && fresh)
      g_clear_pointer (&element, rounds->drop);
    if (!element)
      element = rounds->make (rounds->data);
    rounds->round (run, rand, element, rounds->data);
    g_rand_free (rand);
  }
  if (element)
    rounds->drop (element);
}

void
fuzz_run_report (FuzzRun *run, const char *outcomes)
{
  gdouble took = (g_get_monotonic_time () - run->started) / (gdouble) G_USEC_PER_SEC;

  g_print ("%s: seed %u: %u rounds, %u messages in %.1f s (%s)\n", run->name,
      run->seed, run->rounds, run->messages, took, outcomes);
}

guint
fuzz_wait_ms (void)
{
  return g_getenv ("GTR_SANITIZED") ? 15000 : 5000;
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                   */

FuzzFrame *
fuzz_frame_new (FuzzFrameKind kind, GBytes *data, const char *label)
{
  FuzzFrame *frame = g_new0 (FuzzFrame, 1);
  gsize len;
  const char *text = data ? g_bytes_get_data (data, &len) : NULL;

  /* A mutation may cut a character in two: that text can only go raw. */
  if (kind == FUZZ_FRAME_TEXT && text && !g_utf8_validate_len (text, len, NULL)) {
    kind = FUZZ_FRAME_INVALID_UTF8;
    frame->label = g_strdup_printf ("%s(not-utf8)", label);
  } else {
    frame->label = g_strdup (label);
  }
  frame->kind = kind;
  frame->data = data;
  return frame;
}

FuzzFrame *
fuzz_frame_text (char *text, const char *label)
{
  return fuzz_frame_new (FUZZ_FRAME_TEXT, g_bytes_new_take (text, strlen (text)), label);
}

FuzzFrame *
fuzz_frame_copy (const FuzzFrame *frame)
{
  return fuzz_frame_new (frame->kind, frame->data ? g_bytes_ref (frame->data) : NULL,
      frame->label);
}

void
fuzz_frame_free (FuzzFrame *frame)
{
  if (frame->data)
    g_bytes_unref (frame->data);
  g_free (frame->label);
  g_free (frame);
}

gboolean
fuzz_frame_ends_connection (const FuzzFrame *frame)
{
  return frame->kind == FUZZ_FRAME_INVALID_UTF8 || frame->kind == FUZZ_FRAME_CLOSE;
}

char *
fuzz_frames_describe (GPtrArray *frames, gsize max)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < frames->len; i++) {
    FuzzFrame *frame = frames->pdata[i];

    if (out->len + strlen (frame->label) + 1 > max) {
      g_string_append_printf (out, " …(+%u)", frames->len - i);
      break;
    }
    g_string_append_printf (out, "%s%s", i ? " " : "", frame->label);
  }
  return g_string_free (out, FALSE);
}

/* A text frame as RFC 6455 lays it out, written straight to the socket. */
static void
send_raw_text (SoupWebsocketConnection *conn, GBytes *payload, gboolean masked)
{
  GOutputStream *out = g_io_stream_get_output_stream
      (soup_websocket_connection_get_io_stream (conn));
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);
  GByteArray *frame = g_byte_array_new ();
  guint8 head[2] = { 0x81, masked ? 0x80 : 0 };
  guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };
  g_autoptr (GError) error = NULL;

  if (len < 126) {
    head[1] |= (guint8) len;
    g_byte_array_append (frame, head, 2);
  } else if (len <= G_MAXUINT16) {
    guint8 ext[2] = { len >> 8, len & 0xff };
    head[1] |= 126;
    g_byte_array_append (frame, head, 2);
    g_byte_array_append (frame, ext, 2);
  } else {
    guint8 ext[8];
    for (guint i = 0; i < 8; i++)
      ext[i] = (guint8) ((guint64) len >> (56 - 8 * i));
    head[1] |= 127;
    g_byte_array_append (frame, head, 2);
    g_byte_array_append (frame, ext, 8);
  }
  if (masked)
    g_byte_array_append (frame, mask, 4);
  for (gsize i = 0; i < len; i++) {
    guint8 b = masked ? data[i] ^ mask[i % 4] : data[i];
    g_byte_array_append (frame, &b, 1);
  }
  /* The peer may close first: a failed write is its answer, not ours. */
  if (!g_output_stream_write_all (out, frame->data, frame->len, NULL, NULL, &error))
    g_debug ("raw frame not written: %s", error->message);
  g_byte_array_unref (frame);
}

void
fuzz_frame_send (SoupWebsocketConnection *conn, const FuzzFrame *frame,
    gboolean masked)
{
  if (soup_websocket_connection_get_state (conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  switch (frame->kind) {
    case FUZZ_FRAME_TEXT:
      soup_websocket_connection_send_message (conn, SOUP_WEBSOCKET_DATA_TEXT,
          frame->data);
      break;
    case FUZZ_FRAME_BINARY:
      soup_websocket_connection_send_message (conn, SOUP_WEBSOCKET_DATA_BINARY,
          frame->data);
      break;
    case FUZZ_FRAME_INVALID_UTF8:
      send_raw_text (conn, frame->data, masked);
      break;
    case FUZZ_FRAME_CLOSE:
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, "fuzz");
      break;
  }
}

/* ------------------------------------------------------------------------ */
/* Random values                                                            */

gboolean
fuzz_chance (GRand *rand, gdouble p)
{
  return g_rand_double (rand) < p;
}

gint
fuzz_pick (GRand *rand, gint n)
{
  return n > 0 ? g_rand_int_range (rand, 0, n) : 0;
}

GBytes *
fuzz_random_bytes (GRand *rand, gsize len)
{
  guint8 *data = g_malloc (len ? len : 1);

  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) g_rand_int (rand);
  return g_bytes_new_take (data, len);
}

char *
fuzz_random_base64 (GRand *rand, gsize len)
{
  g_autoptr (GBytes) bytes = fuzz_random_bytes (rand, len);

  return g_base64_encode (g_bytes_get_data (bytes, NULL), len);
}

static char *
long_string (GRand *rand)
{
  static const gsize lengths[] = { 300, 4000, 40000, 70000 };
  gsize len = lengths[fuzz_pick (rand, G_N_ELEMENTS (lengths))];
  char *s = g_malloc (len + 1);

  memset (s, 'a' + fuzz_pick (rand, 26), len);
  s[len] = '\0';
  return s;
}

static const char *const odd_strings[] = {
  "", " ", "null", "true", "0", "-1", "1.5", "1e3", "+1", " 1", "007", "0x10",
  "9223372036854775807", "9223372036854775808", "-9223372036854775808",
  "18446744073709551616", "abc", "é", "😀", "\"quoted\"", "back\\slash",
  "{name}", "{", "}", "line\nbreak", "tab\there", "MZ", "inbound", "outbound",
};

/* Strings that are base64 by shape only, or just barely. */
static const char *const odd_base64[] = {
  "", "=", "==", "===", "====", "A", "AA", "AAA", "A===", "AA==", "AAA=",
  "AAAA", "////", "++++", "!!!!", "AA AA", "AA\nAA", "-_-_", "AAAA=AAA",
  "AAAAAA==", "/w==", "/38=", "AAAAAAAA", "YQ", "YQ=", "YWI=", "====AAAA",
};

static const char *const odd_events[] = {
  "", "media", "start", "stop", "mark", "dtmf", "connected", "clear", "MEDIA",
  "media ", "error", "session.updated", "response.output_audio.delta",
  "response.audio.delta", "input_audio_buffer.speech_started", "response.done",
  "unknown.event", "x",
};

static gboolean
is_base64_member (const char *member)
{
  return member && (g_str_equal (member, "payload") || g_str_equal (member, "delta")
      || g_str_equal (member, "audio"));
}

static gboolean
is_number_member (const char *member)
{
  static const char *const names[] = { "chunk", "timestamp", "sequenceNumber",
    "sampleRate", "channels", "audio_start_ms", "audio_end_ms", "content_index",
    "output_index", "rate", "expires_at",
  };

  for (guint i = 0; member && i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (member, names[i]))
      return TRUE;
  return FALSE;
}

static gboolean
is_event_member (const char *member)
{
  return member && (g_str_equal (member, "event") || g_str_equal (member, "type"));
}

static JsonNode *
string_node (const char *text)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, text);
  return node;
}

static JsonNode *
string_node_take (char *text)
{
  JsonNode *node = string_node (text);

  g_free (text);
  return node;
}

static JsonNode *
int_node (gint64 value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_int (node, value);
  return node;
}

static JsonNode *
double_node (gdouble value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_double (node, value);
  return node;
}

static JsonNode *
parsed_node (const char *json)
{
  return json_from_string (json, NULL);
}

static JsonNode *
odd_number (GRand *rand, GString *label)
{
  static const gint64 ints[] = { 0, -1, 1, G_MAXINT64, G_MININT64, G_MAXINT32,
    (gint64) G_MAXINT32 + 1, G_MAXINT64 / 1000000 + 1, G_MAXINT64 - 1, -20,
  };
  static const gdouble doubles[] = { 1.5, -0.0, 1e308, -1e308, 8000.5 };

  if (fuzz_chance (rand, 0.25)) {
    gdouble d = doubles[fuzz_pick (rand, G_N_ELEMENTS (doubles))];
    g_string_append_printf (label, "=%g", d);
    return double_node (d);
  }
  if (fuzz_chance (rand, 0.3)) {
    const char *s = odd_strings[fuzz_pick (rand, 16)];   /* the numeric ones */
    g_string_append_printf (label, "=\"%s\"", s);
    return string_node (s);
  }
  {
    gint64 v = ints[fuzz_pick (rand, G_N_ELEMENTS (ints))];
    g_string_append_printf (label, "=%" G_GINT64_FORMAT, v);
    return int_node (v);
  }
}

static JsonNode *
odd_generic (GRand *rand, GString *label)
{
  static const char *const json[] = { "null", "true", "false", "[]", "{}",
    "[1,\"a\",null]", "{\"a\":{\"b\":[]}}", "0", "-1", "9223372036854775807",
    "-9223372036854775808", "1e308", "0.5",
  };

  switch (fuzz_pick (rand, 4)) {
    case 0: {
      const char *s = odd_strings[fuzz_pick (rand, G_N_ELEMENTS (odd_strings))];
      g_string_append_printf (label, "=\"%.12s\"", s);
      return string_node (s);
    }
    case 1: {
      char *s = long_string (rand);
      g_string_append_printf (label, "=long(%zu)", strlen (s));
      return string_node_take (s);
    }
    default: {
      const char *j = json[fuzz_pick (rand, G_N_ELEMENTS (json))];
      g_string_append_printf (label, "=%s", j);
      return parsed_node (j);
    }
  }
}

/* An odd value for a member, shaped by what the member usually holds. */
static JsonNode *
odd_value (GRand *rand, const char *member, GString *label)
{
  if (is_base64_member (member) && fuzz_chance (rand, 0.7)) {
    if (fuzz_chance (rand, 0.2)) {
      /* valid base64 of an odd length of bytes: 1, 3, 5, …, or large */
      gsize len = fuzz_chance (rand, 0.8) ? 1 + 2 * (gsize) fuzz_pick (rand, 50)
          : 150000 + (gsize) fuzz_pick (rand, 100000);
      g_string_append_printf (label, "=b64(%zu)", len);
      return string_node_take (fuzz_random_base64 (rand, len));
    }
    {
      const char *s = odd_base64[fuzz_pick (rand, G_N_ELEMENTS (odd_base64))];
      g_string_append_printf (label, "=\"%s\"", s);
      return string_node (s);
    }
  }
  if (is_number_member (member) && fuzz_chance (rand, 0.7))
    return odd_number (rand, label);
  if (is_event_member (member) && fuzz_chance (rand, 0.6)) {
    const char *s = odd_events[fuzz_pick (rand, G_N_ELEMENTS (odd_events))];
    g_string_append_printf (label, "=\"%s\"", s);
    return string_node (s);
  }
  return odd_generic (rand, label);
}

/* ------------------------------------------------------------------------ */
/* Mutating JSON values                                                     */

/* A place in the tree: an object's member or an array's element. */
typedef struct {
  JsonObject *object;
  JsonArray *array;
  char *member;
  guint index;
} Slot;

static void collect_slots (JsonNode *node, GArray *slots);

static void
collect_object (JsonObject *object, GArray *slots)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *child;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &child)) {
    Slot slot = { object, NULL, g_strdup (name), 0 };
    g_array_append_val (slots, slot);
    collect_slots (child, slots);
  }
}

static void
collect_slots (JsonNode *node, GArray *slots)
{
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    collect_object (json_node_get_object (node), slots);
  } else if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (array); i++) {
      Slot slot = { NULL, array, NULL, i };
      g_array_append_val (slots, slot);
      collect_slots (json_array_get_element (array, i), slots);
    }
  }
}

static void
clear_slot (gpointer data)
{
  g_free (((Slot *) data)->member);
}

/* Replace the slot's value (JsonArray has no setter: rebuild the tail). */
static void
set_slot (const Slot *slot, JsonNode *value)
{
  if (slot->object) {
    json_object_set_member (slot->object, slot->member, value);
    return;
  }
  {
    guint n = json_array_get_length (slot->array);
    GPtrArray *tail = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

    for (guint i = slot->index + 1; i < n; i++)
      g_ptr_array_add (tail, json_node_ref (json_array_get_element (slot->array, i)));
    while (json_array_get_length (slot->array) > slot->index)
      json_array_remove_element (slot->array, json_array_get_length (slot->array) - 1);
    json_array_add_element (slot->array, value);
    for (guint i = 0; i < tail->len; i++)
      json_array_add_element (slot->array, json_node_ref (tail->pdata[i]));
    g_ptr_array_unref (tail);
  }
}

static const char *const odd_keys[] = { "", " ", "a b", "é", "{", "}", "0",
  "x-y", "stream", "caller}", "\"", "\\", "\t", "😀",
};

/* The member again under another name: a key a parser may not expect. */
static void
rename_member (GRand *rand, const Slot *slot, GString *label)
{
  const char *key = odd_keys[fuzz_pick (rand, G_N_ELEMENTS (odd_keys))];
  JsonNode *node = json_node_ref (json_object_get_member (slot->object, slot->member));

  g_string_append_printf (label, "%s→\"%s\"", slot->member, key);
  json_object_remove_member (slot->object, slot->member);
  json_object_set_member (slot->object, key, node);
}

static void
mutate_slot (GRand *rand, const Slot *slot, GString *label)
{
  const char *name = slot->member ? slot->member : "[]";
  gint op = fuzz_pick (rand, 10);

  if (op == 2 && slot->object) {
    rename_member (rand, slot, label);
  } else if (op == 0 && slot->object) {
    g_string_append_printf (label, "-%s", name);
    json_object_remove_member (slot->object, slot->member);
  } else if (op == 1 && slot->object) {
    g_string_append_printf (label, "+x_fuzz(%s)", name);
    json_object_set_member (slot->object, "x_fuzz", odd_generic (rand, label));
  } else {
    g_string_append (label, name);
    set_slot (slot, odd_value (rand, slot->member, label));
  }
}

char *
fuzz_mutate_json_value (GRand *rand, const char *text, GString *label)
{
  g_autoptr (JsonNode) root = json_from_string (text, NULL);
  g_autoptr (GArray) slots = NULL;

  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  slots = g_array_new (FALSE, FALSE, sizeof (Slot));
  g_array_set_clear_func (slots, clear_slot);
  collect_slots (root, slots);
  if (slots->len == 0)
    return NULL;
  mutate_slot (rand, &g_array_index (slots, Slot, fuzz_pick (rand, slots->len)), label);
  return json_to_string (root, FALSE);
}

/* ------------------------------------------------------------------------ */
/* Mutating the text                                                        */

char *
fuzz_pad_json (const char *text, gsize size)
{
  gsize len = strlen (text);
  const char *close = strrchr (text, '}');
  GString *out;

  if (!close || len > size)
    return NULL;
  out = g_string_sized_new (size + 1);
  g_string_append_len (out, text, close - text);
  while (out->len < size - (len - (close - text)))
    g_string_append_c (out, ' ');
  g_string_append (out, close);
  return g_string_free (out, FALSE);
}

static FuzzFrame *
invalid_utf8 (GRand *rand, const char *text)
{
  static const char *const bad[] = { "\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80",
    "\xf8\x88\x80\x80\x80", "\xe2\x82",
  };
  gsize len = strlen (text);
  gsize at = (gsize) fuzz_pick (rand, (gint) len + 1);
  const char *b = bad[fuzz_pick (rand, G_N_ELEMENTS (bad))];
  GString *out = g_string_new_len (text, at);

  g_string_append (out, b);
  g_string_append (out, text + at);
  len = out->len;
  return fuzz_frame_new (FUZZ_FRAME_INVALID_UTF8,
      g_bytes_new_take (g_string_free (out, FALSE), len), "invalid-utf8");
}

/* `{…, "deep": [[[…]]]}`: `depth` levels below the top. */
static char *
nested (const char *text, guint depth)
{
  const char *close = strrchr (text, '}');
  GString *out = g_string_new_len (text, close ? close - text : 0);

  g_string_append (out, close && close > text + 1 ? ",\"deep\":" : "\"deep\":");
  for (guint i = 0; i < depth; i++)
    g_string_append_c (out, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c (out, ']');
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* An escaped NUL ("\u0000") at the start of the first string value. */
static char *
escaped_nul (const char *text)
{
  const char *at = strstr (text, "\":\"");
  GString *out;

  if (!at)
    return g_strdup (text);
  out = g_string_new_len (text, at + 3 - text);
  g_string_append (out, "\\u0000");
  g_string_append (out, at + 3);
  return g_string_free (out, FALSE);
}

FuzzFrame *
fuzz_mutate_text (GRand *rand, const char *text)
{
  static const guint depths[] = { 30, 31, 32, 33, 200, 20000 };
  gsize len = strlen (text);

  switch (fuzz_pick (rand, 9)) {
    case 0:
      return fuzz_frame_text (g_strndup (text, fuzz_pick (rand, (gint) len)), "truncated");
    case 1:
      return invalid_utf8 (rand, text);
    case 2:
      return fuzz_frame_text (escaped_nul (text), "escaped-nul");
    case 3: {
      guint depth = depths[fuzz_pick (rand, G_N_ELEMENTS (depths))];
      g_autofree char *label = g_strdup_printf ("nested(%u)", depth);
      return fuzz_frame_text (nested (text, depth), label);
    }
    case 4:
      return fuzz_frame_text (g_strdup_printf ("[%s]", text), "in-array");
    case 5:
      return fuzz_frame_text (g_strdup_printf ("%s%s", text, fuzz_chance (rand, 0.5)
              ? "}" : " trailing"), "trailing");
    case 6:
      return fuzz_frame_new (FUZZ_FRAME_BINARY, g_bytes_new (text, len), "as-binary");
    case 7: {
      /* the first key again, with another value: which one wins? */
      GString *out = g_string_new ("{\"event\":\"stop\",\"type\":\"error\",");
      g_string_append (out, text[0] == '{' ? text + 1 : text);
      return fuzz_frame_text (g_string_free (out, FALSE), "dup-keys");
    }
    default:
      return fuzz_frame_text (g_strdup (fuzz_chance (rand, 0.5) ? "" : "{}"), "empty");
  }
}

/* ------------------------------------------------------------------------ */
/* Conversation-level mutations                                             */

const char *
fuzz_shuffle_frames (GRand *rand, GPtrArray *frames)
{
  guint n = frames->len, i, j;

  if (n == 0)
    return "none";
  i = (guint) fuzz_pick (rand, (gint) n);
  switch (fuzz_pick (rand, 4)) {
    case 0:
      fuzz_frame_free (g_ptr_array_steal_index (frames, i));
      return "drop";
    case 1:
      g_ptr_array_insert (frames, (gint) i, fuzz_frame_copy (frames->pdata[i]));
      return "duplicate";
    case 2:
      j = (guint) fuzz_pick (rand, (gint) n);
      {
        gpointer t = frames->pdata[i];
        frames->pdata[i] = frames->pdata[j];
        frames->pdata[j] = t;
      }
      return "swap";
    default: {
      gpointer frame = g_ptr_array_steal_index (frames, i);
      g_ptr_array_insert (frames, fuzz_pick (rand, (gint) n), frame);
      return "move";
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Test data                                                                */

char **
fuzz_load_lines (const char *path)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  GStrvBuilder *builder;
  char **out;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  builder = g_strv_builder_new ();
  for (char **l = lines; *l; l++)
    if (**l)
      g_strv_builder_add (builder, *l);
  out = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return out;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
fuzz_load_corpus (const char *subdir, const char *prefix)
{
  const char *data = g_getenv ("GTR_TESTS_DATA");
  g_autofree char *dir_path = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GStrvBuilder *builder;
  const char *name;
  char **out;

  if (!data)
    return NULL;
  /* tests/fuzz/corpus, beside tests/data */
  dir_path = g_build_filename (data, "..", "fuzz", "corpus", subdir, NULL);
  dir = g_dir_open (dir_path, 0, NULL);
  if (!dir)
    return NULL;
  while ((name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, ".json") && (!prefix || g_str_has_prefix (name, prefix)))
      g_ptr_array_add (names, g_strdup (name));
  /* GDir's order is the file system's: sort, so a seed means one thing. */
  g_ptr_array_sort (names, compare_names);
  builder = g_strv_builder_new ();
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename (dir_path, names->pdata[i], NULL);
    g_autofree char *text = NULL;
    if (g_file_get_contents (path, &text, NULL, NULL))
      g_strv_builder_add (builder, g_strstrip (text));
  }
  out = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return out;
}
