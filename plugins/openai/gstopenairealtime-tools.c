/* openairealtime: function tools and the record of sent client events.
 * See gstopenairealtime-tools.h. */
#include "gstopenairealtime-tools.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "gtr-protocol.h"

/* The built-in tools.  Their descriptions are what the model reads to decide
 * when to call them, and they ask for the last words first: the element ends
 * the stream after the response that calls the tool, so what the agent says
 * in it is heard. */
static const char end_call_tool[] =
    "{\"type\":\"function\",\"name\":\"" GTR_TOOL_END_CALL "\","
    "\"description\":\"End the phone call. Call it when the caller says "
    "goodbye or asks to end the call, and only then. Say a short goodbye "
    "first, in the same response: the line is closed once your last words "
    "have been played.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"reason\":{\"type\":"
    "\"string\",\"description\":\"Why the call ends, in a few words.\"}}}}";

static const char transfer_call_tool[] =
    "{\"type\":\"function\",\"name\":\"" GTR_TOOL_TRANSFER_CALL "\","
    "\"description\":\"Transfer the caller to a person. Call it when the "
    "caller asks for a human, or when you cannot help with the request. Tell "
    "the caller first, in the same response, that you are putting them "
    "through: the transfer starts once your last words have been played.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"reason\":{\"type\":"
    "\"string\",\"description\":\"Why the caller is transferred, in a few "
    "words, for the person who takes the call.\"}}}}";

static gboolean
tools_error (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
tools_error (GError **error, const char *fmt, ...)
{
  va_list ap;
  char *why;

  va_start (ap, fmt);
  why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE, why);
  g_free (why);
  return FALSE;
}

static const char *
string_member (JsonObject *obj, const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (!node || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
check_tool (JsonNode *node, guint i, GError **error)
{
  JsonObject *tool;
  const char *type, *name;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return tools_error (error, "element %u is not an object", i);
  tool = json_node_get_object (node);
  if (!(type = string_member (tool, "type")))
    return tools_error (error, "element %u has no string \"type\"", i);
  name = string_member (tool, "name");
  if (g_str_equal (type, "function") && (!name || !*name))
    return tools_error (error, "element %u (a function) has no string \"name\"", i);
  return TRUE;
}

/* Parses `json` as a tools array (a new reference), or NULL. */
static JsonNode *
parse_tools (const char *json, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  JsonArray *array;

  if (!json_parser_load_from_data (parser, json, -1, &local)) {
    /* json-glib says "<data>:LINE:COL: Parse error: …": keep what follows
     * <data>, the file is named by the caller */
    const char *msg = local->message;
    if (g_str_has_prefix (msg, "<data>:"))
      msg += strlen ("<data>:");
    tools_error (error, "not valid JSON: %s", msg);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_ARRAY (root)) {
    tools_error (error, "not a JSON array of tools (%s)",
        root ? "another JSON value" : "empty");
    return NULL;
  }
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (!check_tool (json_array_get_element (array, i), i, error))
      return NULL;
  return json_node_ref (root);
}

gboolean
gtr_tools_validate (const char *json, GError **error)
{
  JsonNode *root = parse_tools (json, error);

  if (!root)
    return FALSE;
  json_node_unref (root);
  return TRUE;
}

char *
gtr_tools_load_file (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local)) {
    g_set_error (error, local->domain, local->code, "tools-file %s: %s", path,
        local->message);
    return NULL;
  }
  if (!g_utf8_validate (text, -1, NULL)) {
    tools_error (error, "tools-file %s: not UTF-8 text", path);
  } else if (gtr_tools_validate (text, &local)) {
    return text;
  } else {
    g_set_error (error, local->domain, local->code, "tools-file %s: %s", path,
        local->message);
  }
  g_free (text);
  return NULL;
}

static gboolean
has_tool (JsonArray *tools, const char *name)
{
  for (guint i = 0; i < json_array_get_length (tools); i++) {
    JsonNode *node = json_array_get_element (tools, i);
    const char *n = string_member (json_node_get_object (node), "name");
    if (g_strcmp0 (n, name) == 0)
      return TRUE;
  }
  return FALSE;
}

static void
append_tools (JsonArray *into, const char *json)
{
  g_autoptr (JsonNode) root = NULL;
  JsonArray *array;

  if (!json || !(root = parse_tools (json, NULL)))
    return;
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    json_array_add_element (into, json_node_copy (json_array_get_element (array, i)));
}

/* Adds the built-in `tool` unless a user tool has its name. */
static gboolean
append_builtin (JsonArray *into, const char *name, const char *tool)
{
  if (has_tool (into, name))
    return FALSE;
  json_array_add_element (into, json_from_string (tool, NULL));
  return TRUE;
}

char *
gtr_tools_combine (const char *user, const char *file, gboolean hangup,
    gboolean transfer, gboolean *hangup_on, gboolean *transfer_on)
{
  g_autoptr (JsonArray) tools = json_array_new ();
  g_autoptr (JsonNode) node = NULL;

  append_tools (tools, user);
  append_tools (tools, file);
  *hangup_on = hangup && append_builtin (tools, GTR_TOOL_END_CALL, end_call_tool);
  *transfer_on = transfer
      && append_builtin (tools, GTR_TOOL_TRANSFER_CALL, transfer_call_tool);
  if (json_array_get_length (tools) == 0)
    return NULL;
  node = json_node_init_array (json_node_alloc (), tools);
  return json_to_string (node, FALSE);
}

gboolean
gtr_transfer_target_is_valid (const char *target)
{
  gsize digits = 0;
  const char *p = target;

  if (!target)
    return FALSE;
  if (g_str_has_prefix (target, "sip:") || g_str_has_prefix (target, "sips:"))
    return strchr (target, ':')[1] != '\0' && !strpbrk (target, " \t\r\n<>\"");
  if (*p == '+')
    p++;
  for (; *p; p++, digits++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return digits >= 3 && digits <= 15;
}

char *
gtr_tools_call_reason (const char *arguments, const char *fallback)
{
  g_autoptr (JsonNode) root = arguments ? json_from_string (arguments, NULL) : NULL;
  const char *reason = root && JSON_NODE_HOLDS_OBJECT (root)
      ? string_member (json_node_get_object (root), "reason") : NULL;

  return g_strdup (reason && *reason ? reason : fallback);
}

/* ------------------------------------------------------------------------ */
/* Sent client events                                                       */

typedef struct {
  char *type;
  char *subject;
} SentEvent;

struct _GtrSentEvents {
  guint capacity;
  const char *audio_type;      /* what an audio event id stands for */
  GQueue order;                /* event ids, oldest first (owned by `events`) */
  GHashTable *events;          /* event id → SentEvent */
};

static void
sent_event_free (SentEvent *ev)
{
  g_free (ev->type);
  g_free (ev->subject);
  g_free (ev);
}

GtrSentEvents *
gtr_sent_events_new (guint capacity, const char *audio_type)
{
  GtrSentEvents *sent = g_new0 (GtrSentEvents, 1);

  sent->capacity = MAX (capacity, 1);
  sent->audio_type = audio_type;
  g_queue_init (&sent->order);
  sent->events = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) sent_event_free);
  return sent;
}

void
gtr_sent_events_clear (GtrSentEvents *sent)
{
  g_queue_clear (&sent->order);
  g_hash_table_remove_all (sent->events);
}

void
gtr_sent_events_free (GtrSentEvents *sent)
{
  if (!sent)
    return;
  gtr_sent_events_clear (sent);
  g_hash_table_unref (sent->events);
  g_free (sent);
}

void
gtr_sent_events_note (GtrSentEvents *sent, const char *json)
{
  char *type, *event_id, *subject;
  SentEvent *ev;

  if (!gtr_realtime_client_event_describe (json, &type, &event_id, &subject))
    return;
  if (g_hash_table_contains (sent->events, event_id)) {   /* ids are unique */
    g_free (type);
    g_free (event_id);
    g_free (subject);
    return;
  }
  while (g_queue_get_length (&sent->order) >= sent->capacity)
    g_hash_table_remove (sent->events, g_queue_pop_head (&sent->order));
  ev = g_new0 (SentEvent, 1);
  ev->type = type;
  ev->subject = subject;
  g_hash_table_insert (sent->events, event_id, ev);
  g_queue_push_tail (&sent->order, event_id);
}

gboolean
gtr_sent_events_lookup (GtrSentEvents *sent, const char *event_id,
    const char **type, const char **subject)
{
  SentEvent *ev = event_id ? g_hash_table_lookup (sent->events, event_id) : NULL;

  if (!ev && gtr_realtime_event_id_is_audio (event_id)) {
    *type = sent->audio_type;
    *subject = NULL;
    return TRUE;
  }
  if (!ev)
    return FALSE;
  *type = ev->type;
  *subject = ev->subject;
  return TRUE;
}
