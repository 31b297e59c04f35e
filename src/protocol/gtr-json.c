#include "gtr-json-private.h"
#include "gtr-protocol.h"

#include <string.h>

#define MAX_NESTING 32

gboolean
gtr_base64_is_strict (const char *text, gsize len)
{
  gsize padding = 0;

  if (len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = text[i];

    if (c == '=')
      padding++;
    else if (padding > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/'))
      return FALSE;
  }
  return padding <= 2;
}

/* What one pass over the JSON text, before the parse, finds. */
typedef struct {
  gboolean too_deep;          /* an array/object nests deeper than MAX_NESTING */
  gboolean escaped_nul;       /* a string holds "\u0000" */
  gboolean surrogate_escape;  /* a string holds a \u escape of D800-DFFF */
} TextScan;

/* One pass, tracking strings as JSON does (a backslash escapes the next
 * character): nesting is counted outside strings, escapes looked at inside.
 * On text that is not JSON the result may be wrong either way, and the parse
 * rejects it.  Stops at the first nesting too deep, which the parser (it
 * recurses) must never see. */
static void
scan_text (const char *text, gsize len, TextScan *scan)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  memset (scan, 0, sizeof *scan);
  for (gsize i = 0; i < len; i++) {
    char c = text[i];

    if (in_string) {
      if (c == '\\') {
        if (i + 5 < len && text[i + 1] == 'u') {
          const char *hex = text + i + 2;

          if (memcmp (hex, "0000", 4) == 0)
            scan->escaped_nul = TRUE;
          else if ((hex[0] == 'd' || hex[0] == 'D') && memchr ("89abAB", hex[1], 6))
            scan->surrogate_escape = TRUE;
        }
        i++;
      } else if (c == '"') {
        in_string = FALSE;
      }
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_NESTING) {
        scan->too_deep = TRUE;
        return;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
}

/* Whether every string and member name under `node` is valid UTF-8.  The
 * text was, but json-glib 1.6 decodes a lone high surrogate ("\ud800" not
 * followed by a low one) into the three CESU-8 bytes ED A0 80 and drops the
 * character after it, so a decoded string can hold what no Twilio or OpenAI
 * peer sends and what no builder can write back.  A surrogate can only come
 * from a \u escape, so the tree is walked only when scan_text saw one. */
static gboolean
strings_are_utf8 (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node)) {
    case JSON_NODE_VALUE:
      return json_node_get_value_type (node) != G_TYPE_STRING
          || g_utf8_validate (json_node_get_string (node), -1, NULL);
    case JSON_NODE_ARRAY: {
      JsonArray *array = json_node_get_array (node);
      guint n = json_array_get_length (array);

      for (guint i = 0; i < n; i++)
        if (!strings_are_utf8 (json_array_get_element (array, i)))
          return FALSE;
      return TRUE;
    }
    case JSON_NODE_OBJECT: {
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &name, &member))
        if (!g_utf8_validate (name, -1, NULL) || !strings_are_utf8 (member))
          return FALSE;
      return TRUE;
    }
    case JSON_NODE_NULL:
      break;
  }
  return TRUE;
}

const char *
gtr_json_describe_node (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node)) {
    case JSON_NODE_ARRAY: return "an array";
    case JSON_NODE_NULL: return "null";
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node)) {
        case G_TYPE_STRING: return "a string";
        case G_TYPE_BOOLEAN: return "a boolean";
        default: return "a number";
      }
    case JSON_NODE_OBJECT: return "an object";
  }
  return "something else";
}

/* One parser per thread, kept: a JsonParser is a GObject, and making and
 * finalizing one per message (three a frame on a network thread) cost more
 * than the parse of a small message (docs/performance.md).  The parser
 * keeps the last root until the next parse; what we return holds its own
 * reference.  Not an immutable parser: sealing hashes every member of every
 * object (each base64 payload too), 2 % of a call's CPU; nothing in the tree
 * changes a parsed node, and sharing one across threads only reads it. */
static GPrivate thread_parser = G_PRIVATE_INIT (g_object_unref);

static JsonParser *
parser_for_thread (void)
{
  JsonParser *parser = g_private_get (&thread_parser);

  if (parser == NULL) {
    parser = json_parser_new ();
    g_private_set (&thread_parser, parser);
  }
  return parser;
}

JsonNode *
gtr_json_parse_object (const char *text, gsize len, gsize max_len,
    const char *what, GError **error)
{
  JsonParser *parser;
  g_autoptr (GError) json_error = NULL;
  TextScan scan;
  JsonNode *root;

  if (max_len > 0 && len > max_len) {
    g_set_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_OVERSIZE,
        "%s: %" G_GSIZE_FORMAT " bytes, over the limit of %" G_GSIZE_FORMAT,
        what, len, max_len);
    return NULL;
  }
  if (!g_utf8_validate_len (text, len, NULL)) {
    g_set_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_NOT_JSON,
        "%s: not valid UTF-8", what);
    return NULL;
  }
  scan_text (text, len, &scan);
  if (scan.too_deep) {
    g_set_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_NOT_JSON,
        "%s: nested deeper than %d levels", what, MAX_NESTING);
    return NULL;
  }
  if (scan.escaped_nul) {
    g_set_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE,
        "%s: a string holds an escaped NUL (\\u0000)", what);
    return NULL;
  }
  parser = parser_for_thread ();
  if (!json_parser_load_from_data (parser, text, (gssize) len, &json_error)
      || json_parser_get_root (parser) == NULL) {
    g_set_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_NOT_JSON,
        "%s: not valid JSON%s%s", what, json_error ? ": " : "",
        json_error ? json_error->message : "");
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_NOT_OBJECT,
        "%s: expected a JSON object, got %s", what, gtr_json_describe_node (root));
    return NULL;
  }
  if (scan.surrogate_escape && !strings_are_utf8 (root)) {
    g_set_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE,
        "%s: a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)", what);
    return NULL;
  }
  return json_node_ref (root);
}

static JsonObject *
event_new (const char *type, char *id, char **event_id)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "type", type);
  json_object_set_string_member (obj, "event_id", id);
  if (event_id != NULL)
    *event_id = id;
  else
    g_free (id);
  return obj;
}

JsonObject *
gtr_json_event_new (const char *type, char **event_id)
{
  return event_new (type, gtr_realtime_new_event_id (), event_id);
}

JsonObject *
gtr_json_audio_event_new (const char *type, char **event_id)
{
  return event_new (type, gtr_realtime_new_audio_event_id (), event_id);
}

/* One generator per thread, kept, for the reason the parser is: json_to_string
 * makes and finalizes a JsonGenerator GObject per call, and a call's
 * messages are serialized on its network thread, three per echoed frame.
 * The generator holds the node only while it serializes it. */
static GPrivate thread_generator = G_PRIVATE_INIT (g_object_unref);

char *
gtr_json_to_text (JsonNode *node)
{
  JsonGenerator *generator = g_private_get (&thread_generator);
  char *text;

  if (generator == NULL) {
    generator = json_generator_new ();
    g_private_set (&thread_generator, generator);
  }
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  json_generator_set_root (generator, NULL);
  return text;
}

char *
gtr_json_object_to_text (JsonObject *obj)
{
  JsonNode *node = json_node_init_object (json_node_alloc (), obj);
  char *text = gtr_json_to_text (node);

  json_node_unref (node);
  json_object_unref (obj);
  return text;
}
