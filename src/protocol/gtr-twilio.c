/* gtr-twilio.c — Twilio Media Streams messages.
 *
 * What the inbound parser (gtr_twilio_message_parse) requires of each event;
 * everything else is optional, and fields we don't know are ignored, since
 * Twilio adds fields over time:
 *
 *   every event   "event" (a string)
 *                 sequenceNumber: optional; a decimal string or an integer
 *   connected     nothing else (protocol, version optional strings)
 *   start         streamSid; start.streamSid (equal to streamSid),
 *                 start.accountSid, start.callSid;
 *                 start.mediaFormat.encoding (string),
 *                 start.mediaFormat.sampleRate and .channels (positive
 *                 integer numbers).  Optional: start.tracks (array of
 *                 strings), start.customParameters (object whose values are
 *                 strings, numbers or booleans; the latter two stringified)
 *   media         streamSid, media.payload (strict base64, may be empty).
 *                 Optional: media.track, media.chunk, media.timestamp
 *                 (decimal strings or integers; -1 when absent)
 *   dtmf          streamSid, dtmf.digit (one of 0-9 * # A-D).  Optional: dtmf.track
 *   mark          streamSid, mark.name (any string)
 *   stop          streamSid.  Optional: stop.accountSid, stop.callSid
 *
 * A field that is null counts as absent.  Error messages start with the
 * path of the field ("media.payload: …"); errors about the text as a whole
 * (size, JSON, top-level type) start with "message: ".
 *
 * The outbound parser (gtr_twilio_outbound_parse) accepts only media, mark
 * and clear, with exactly the fields Twilio defines for them: a non-empty
 * streamSid, media.payload / mark.name, and nothing else.
 */
#include "gtr-protocol.h"
#include "gtr-json-private.h"

#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <string.h>

/* Twilio's messages nest three levels deep; json-glib's parser recurses
 * without a limit, so deeper texts are refused before they reach it. */

/* ---------------------------------------------------------------------- */
/* Errors                                                                 */

static gboolean G_GNUC_PRINTF (5, 6)
field_error (GError **error, GtrProtocolError code, const char *path,
    const char *name, const char *format, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, GTR_PROTOCOL_ERROR, code, "%s%s%s: %s",
      path ? path : "", path ? "." : "", name, detail);
  return FALSE;
}

static gboolean
node_holds (JsonNode *node, GType value_type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == value_type;
}

/* ---------------------------------------------------------------------- */
/* Checks of the text and of single values                                */

/* A non-empty run of ASCII digits that fits in a gint64. */
static gboolean
parse_decimal (const char *text, gint64 *out)
{
  guint64 value;

  if (*text == '\0')
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &value, NULL))
    return FALSE;
  *out = (gint64) value;
  return TRUE;
}

static const char *const dtmf_digits[] = {
  "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D",
};

gint
gtr_twilio_dtmf_digit_to_number (const char *digit)
{
  if (digit == NULL || digit[0] == '\0' || digit[1] != '\0')
    return -1;
  for (guint i = 0; i < G_N_ELEMENTS (dtmf_digits); i++)
    if (dtmf_digits[i][0] == digit[0])
      return (gint) i;
  return -1;
}

const char *
gtr_twilio_dtmf_number_to_digit (gint number)
{
  if (number < 0 || number >= (gint) G_N_ELEMENTS (dtmf_digits))
    return NULL;
  return dtmf_digits[number];
}

/* ---------------------------------------------------------------------- */
/* Reading fields                                                         */

/* The member, or NULL when absent or null (a required one then sets
 * MISSING_FIELD). */
static JsonNode *
get_member (JsonObject *obj, const char *path, const char *name,
    gboolean required, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    return node;
  if (required)
    field_error (error, GTR_PROTOCOL_ERROR_MISSING_FIELD, path, name, "missing");
  return NULL;
}

static gboolean
get_string (JsonObject *obj, const char *path, const char *name,
    gboolean required, const char **out, GError **error)
{
  JsonNode *node = get_member (obj, path, name, required, error);

  *out = NULL;
  if (node == NULL)
    return !required;
  if (!node_holds (node, G_TYPE_STRING))
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_TYPE, path, name,
        "expected a string, got %s", gtr_json_describe_node (node));
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
dup_string (JsonObject *obj, const char *path, const char *name,
    gboolean required, char **out, GError **error)
{
  const char *value;

  if (!get_string (obj, path, name, required, &value, error))
    return FALSE;
  *out = g_strdup (value);
  return TRUE;
}

static gboolean
get_object (JsonObject *obj, const char *path, const char *name,
    gboolean required, JsonObject **out, GError **error)
{
  JsonNode *node = get_member (obj, path, name, required, error);

  *out = NULL;
  if (node == NULL)
    return !required;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_TYPE, path, name,
        "expected an object, got %s", gtr_json_describe_node (node));
  *out = json_node_get_object (node);
  return TRUE;
}

/* sequenceNumber, chunk, timestamp: Twilio sends decimal strings; integer
 * numbers are accepted too.  -1 when absent. */
static gboolean
get_counter (JsonObject *obj, const char *path, const char *name,
    gint64 *out, GError **error)
{
  JsonNode *node = get_member (obj, path, name, FALSE, error);

  *out = -1;
  if (node == NULL)
    return TRUE;
  if (node_holds (node, G_TYPE_STRING)) {
    if (!parse_decimal (json_node_get_string (node), out))
      return field_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, path, name,
          "expected a non-negative decimal integer");
    return TRUE;
  }
  if (node_holds (node, G_TYPE_INT64) && json_node_get_int (node) >= 0) {
    *out = json_node_get_int (node);
    return TRUE;
  }
  if (node_holds (node, G_TYPE_INT64) || node_holds (node, G_TYPE_DOUBLE))
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, path, name,
        "expected a non-negative integer");
  return field_error (error, GTR_PROTOCOL_ERROR_BAD_TYPE, path, name,
      "expected a string or a number, got %s", gtr_json_describe_node (node));
}

/* sampleRate, channels: a required positive integer number. */
static gboolean
get_positive_int (JsonObject *obj, const char *path, const char *name,
    gint *out, GError **error)
{
  JsonNode *node = get_member (obj, path, name, TRUE, error);
  gint64 value;

  if (node == NULL)
    return FALSE;
  if (!node_holds (node, G_TYPE_INT64) && !node_holds (node, G_TYPE_DOUBLE))
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_TYPE, path, name,
        "expected a number, got %s", gtr_json_describe_node (node));
  value = node_holds (node, G_TYPE_INT64) ? json_node_get_int (node) : 0;
  if (value <= 0 || value > G_MAXINT)
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, path, name,
        "expected a positive integer");
  *out = (gint) value;
  return TRUE;
}

static gboolean
get_base64 (JsonObject *obj, const char *path, const char *name,
    GBytes **out, GError **error)
{
  const char *text;
  gsize text_len, len = 0;
  guchar *data;

  if (!get_string (obj, path, name, TRUE, &text, error))
    return FALSE;
  text_len = strlen (text);
  if (!gtr_base64_is_strict (text, text_len))
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_BASE64, path, name,
        "not valid base64");
  data = text_len ? g_base64_decode (text, &len) : NULL;
  *out = g_bytes_new_take (data, len);
  return TRUE;
}

/* An optional array of strings (start.tracks). */
static gboolean
get_string_array (JsonObject *obj, const char *path, const char *name,
    char ***out, GError **error)
{
  JsonNode *node = get_member (obj, path, name, FALSE, error);
  JsonArray *array;
  GStrvBuilder *strv;
  guint n;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_TYPE, path, name,
        "expected an array, got %s", gtr_json_describe_node (node));
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  for (guint i = 0; i < n; i++) {
    JsonNode *element = json_array_get_element (array, i);

    if (!node_holds (element, G_TYPE_STRING)) {
      g_autofree char *indexed = g_strdup_printf ("%s[%u]", name, i);

      return field_error (error, GTR_PROTOCOL_ERROR_BAD_TYPE, path, indexed,
          "expected a string, got %s", gtr_json_describe_node (element));
    }
  }
  strv = g_strv_builder_new ();
  for (guint i = 0; i < n; i++)
    g_strv_builder_add (strv, json_array_get_string_element (array, i));
  *out = g_strv_builder_end (strv);
  g_strv_builder_unref (strv);
  return TRUE;
}

/* A custom parameter's value as a string; NULL for objects, arrays, null. */
static char *
stringify_scalar (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  switch (json_node_get_value_type (node)) {
    case G_TYPE_STRING:
      return g_strdup (json_node_get_string (node));
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    default: {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      return g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
    }
  }
}

static gboolean
get_custom_parameters (JsonObject *start, GtrTwilioMessage *msg, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  JsonObject *params;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  if (!get_object (start, "start", "customParameters", FALSE, &params, error))
    return FALSE;
  if (params == NULL)
    return TRUE;
  json_object_iter_init_ordered (&iter, params);
  while (json_object_iter_next_ordered (&iter, &name, &node)) {
    char *value = stringify_scalar (node);

    if (value == NULL)
      return field_error (error, GTR_PROTOCOL_ERROR_BAD_TYPE,
          "start.customParameters", name, "expected a string, got %s",
          gtr_json_describe_node (node));
    g_ptr_array_add (names, g_strdup (name));
    g_ptr_array_add (values, value);
  }
  g_ptr_array_add (names, NULL);
  g_ptr_array_add (values, NULL);
  msg->custom_parameter_names = (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
  msg->custom_parameter_values = (char **) g_ptr_array_free (g_steal_pointer (&values), FALSE);
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* The events                                                             */

typedef gboolean (*BodyParser) (JsonObject *root, GtrTwilioMessage *msg, GError **error);

static gboolean
parse_connected (JsonObject *root, GtrTwilioMessage *msg, GError **error)
{
  return dup_string (root, NULL, "protocol", FALSE, &msg->protocol, error)
      && dup_string (root, NULL, "version", FALSE, &msg->version, error);
}

static gboolean
parse_media_format (JsonObject *start, GtrTwilioMessage *msg, GError **error)
{
  JsonObject *format;

  return get_object (start, "start", "mediaFormat", TRUE, &format, error)
      && dup_string (format, "start.mediaFormat", "encoding", TRUE, &msg->encoding, error)
      && get_positive_int (format, "start.mediaFormat", "sampleRate", &msg->sample_rate, error)
      && get_positive_int (format, "start.mediaFormat", "channels", &msg->channels, error);
}

static gboolean
parse_start (JsonObject *root, GtrTwilioMessage *msg, GError **error)
{
  JsonObject *start;
  const char *inner_sid;

  if (!get_object (root, NULL, "start", TRUE, &start, error)
      || !get_string (start, "start", "streamSid", TRUE, &inner_sid, error))
    return FALSE;
  if (g_strcmp0 (inner_sid, msg->stream_sid) != 0)
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "start", "streamSid",
        "differs from the top-level streamSid");
  return dup_string (start, "start", "accountSid", TRUE, &msg->account_sid, error)
      && dup_string (start, "start", "callSid", TRUE, &msg->call_sid, error)
      && get_string_array (start, "start", "tracks", &msg->tracks, error)
      && get_custom_parameters (start, msg, error)
      && parse_media_format (start, msg, error);
}

/* A timestamp the elements can turn into nanoseconds without overflow. */
static gboolean
check_timestamp (gint64 timestamp_ms, GError **error)
{
  if (timestamp_ms <= GTR_TWILIO_MAX_TIMESTAMP_MS)
    return TRUE;
  return field_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "media", "timestamp",
      "out of range (at most %" G_GINT64_FORMAT " ms)", (gint64) GTR_TWILIO_MAX_TIMESTAMP_MS);
}

static gboolean
parse_media (JsonObject *root, GtrTwilioMessage *msg, GError **error)
{
  JsonObject *media;

  return get_object (root, NULL, "media", TRUE, &media, error)
      && dup_string (media, "media", "track", FALSE, &msg->track, error)
      && get_counter (media, "media", "chunk", &msg->chunk, error)
      && get_counter (media, "media", "timestamp", &msg->timestamp_ms, error)
      && check_timestamp (msg->timestamp_ms, error)
      && get_base64 (media, "media", "payload", &msg->payload, error);
}

static gboolean
parse_dtmf (JsonObject *root, GtrTwilioMessage *msg, GError **error)
{
  JsonObject *dtmf;

  if (!get_object (root, NULL, "dtmf", TRUE, &dtmf, error)
      || !dup_string (dtmf, "dtmf", "track", FALSE, &msg->track, error)
      || !dup_string (dtmf, "dtmf", "digit", TRUE, &msg->digit, error))
    return FALSE;
  if (gtr_twilio_dtmf_digit_to_number (msg->digit) < 0)
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, "dtmf", "digit",
        "not a DTMF digit (0-9, *, #, A-D)");
  return TRUE;
}

static gboolean
parse_mark (JsonObject *root, GtrTwilioMessage *msg, GError **error)
{
  JsonObject *mark;

  return get_object (root, NULL, "mark", TRUE, &mark, error)
      && dup_string (mark, "mark", "name", TRUE, &msg->name, error);
}

static gboolean
parse_stop (JsonObject *root, GtrTwilioMessage *msg, GError **error)
{
  JsonObject *stop;

  if (!get_object (root, NULL, "stop", FALSE, &stop, error))
    return FALSE;
  return stop == NULL
      || (dup_string (stop, "stop", "accountSid", FALSE, &msg->account_sid, error)
          && dup_string (stop, "stop", "callSid", FALSE, &msg->call_sid, error));
}

static gboolean
parse_clear (JsonObject *root, GtrTwilioMessage *msg, GError **error)
{
  return TRUE;
}

static const char *const media_root_fields[] = { "event", "streamSid", "media", NULL };
static const char *const media_fields[] = { "payload", NULL };
static const char *const mark_root_fields[] = { "event", "streamSid", "mark", NULL };
static const char *const mark_fields[] = { "name", NULL };
static const char *const clear_root_fields[] = { "event", "streamSid", NULL };

typedef struct {
  GtrTwilioEventType type;
  const char *name;
  BodyParser parse;
  gboolean inbound;                       /* Twilio sends it */
  const char *const *outbound_root_fields; /* an app may send it: its fields */
  const char *outbound_body;              /* … and its one nested object */
  const char *const *outbound_body_fields;
} EventSpec;

static const EventSpec event_specs[] = {
  { GTR_TWILIO_EVENT_CONNECTED, "connected", parse_connected, TRUE, NULL, NULL, NULL },
  { GTR_TWILIO_EVENT_START, "start", parse_start, TRUE, NULL, NULL, NULL },
  { GTR_TWILIO_EVENT_MEDIA, "media", parse_media, TRUE, media_root_fields, "media", media_fields },
  { GTR_TWILIO_EVENT_DTMF, "dtmf", parse_dtmf, TRUE, NULL, NULL, NULL },
  { GTR_TWILIO_EVENT_MARK, "mark", parse_mark, TRUE, mark_root_fields, "mark", mark_fields },
  { GTR_TWILIO_EVENT_STOP, "stop", parse_stop, TRUE, NULL, NULL, NULL },
  { GTR_TWILIO_EVENT_CLEAR, "clear", parse_clear, FALSE, clear_root_fields, NULL, NULL },
};

const char *
gtr_twilio_event_type_name (GtrTwilioEventType type)
{
  for (guint i = 0; i < G_N_ELEMENTS (event_specs); i++)
    if (event_specs[i].type == type)
      return event_specs[i].name;
  return NULL;
}

static const EventSpec *
lookup_event (const char *name, gboolean outbound)
{
  for (guint i = 0; i < G_N_ELEMENTS (event_specs); i++) {
    const EventSpec *spec = &event_specs[i];

    if (strcmp (spec->name, name) == 0)
      return (outbound ? spec->outbound_root_fields != NULL : spec->inbound) ? spec : NULL;
  }
  return NULL;
}

/* Strict mode: every member of `obj` must be in `allowed`. */
static gboolean
check_known_fields (JsonObject *obj, const char *path,
    const char *const *allowed, GError **error)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  json_object_iter_init_ordered (&iter, obj);
  while (json_object_iter_next_ordered (&iter, &name, &node))
    if (!g_strv_contains (allowed, name))
      return field_error (error, GTR_PROTOCOL_ERROR_UNKNOWN_FIELD, path, name,
          "not a field Twilio defines for this event");
  return TRUE;
}

static gboolean
check_outbound (const EventSpec *spec, JsonObject *root, GtrTwilioMessage *msg,
    GError **error)
{
  JsonObject *body;

  if (msg->stream_sid[0] == '\0')
    return field_error (error, GTR_PROTOCOL_ERROR_BAD_VALUE, NULL, "streamSid", "empty");
  if (spec->outbound_body == NULL)
    return TRUE;
  body = json_object_get_object_member (root, spec->outbound_body);
  return check_known_fields (body, spec->outbound_body, spec->outbound_body_fields, error);
}

/* Text → root object (see gtr_json_parse_object). */
static JsonNode *
parse_root (const char *text, gssize len, gsize max_len, GError **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  return gtr_json_parse_object (text, len < 0 ? strlen (text) : (gsize) len,
      max_len, "message", error);
}

static const EventSpec *
read_event (JsonObject *root, gboolean outbound, GError **error)
{
  const EventSpec *spec;
  const char *name;
  g_autofree char *shown = NULL;

  if (!get_string (root, NULL, "event", TRUE, &name, error))
    return NULL;
  spec = lookup_event (name, outbound);
  if (spec != NULL)
    return spec;
  /* Quote at most 40 bytes of what the peer sent. */
  shown = g_utf8_make_valid (name, MIN (strlen (name), 40));
  field_error (error, GTR_PROTOCOL_ERROR_UNKNOWN_EVENT, NULL, "event",
      "unknown event \"%s\"%s", shown,
      outbound ? " (an app may send only media, mark and clear)" : "");
  return NULL;
}

static GtrTwilioMessage *
message_new (GtrTwilioEventType type)
{
  GtrTwilioMessage *msg = g_new0 (GtrTwilioMessage, 1);

  msg->type = type;
  msg->sequence_number = -1;
  msg->chunk = -1;
  msg->timestamp_ms = -1;
  return msg;
}

static GtrTwilioMessage *
parse_message (const char *text, gssize len, gsize max_len, gboolean outbound,
    GError **error)
{
  g_autoptr (JsonNode) root_node = parse_root (text, len, max_len, error);
  g_autoptr (GtrTwilioMessage) msg = NULL;
  const EventSpec *spec;
  JsonObject *root;

  if (root_node == NULL)
    return NULL;
  root = json_node_get_object (root_node);
  spec = read_event (root, outbound, error);
  if (spec == NULL)
    return NULL;
  if (outbound && !check_known_fields (root, NULL, spec->outbound_root_fields, error))
    return NULL;
  msg = message_new (spec->type);
  if (!get_counter (root, NULL, "sequenceNumber", &msg->sequence_number, error))
    return NULL;
  if (spec->type != GTR_TWILIO_EVENT_CONNECTED
      && !dup_string (root, NULL, "streamSid", TRUE, &msg->stream_sid, error))
    return NULL;
  if (!spec->parse (root, msg, error))
    return NULL;
  if (outbound && !check_outbound (spec, root, msg, error))
    return NULL;
  return g_steal_pointer (&msg);
}

GtrTwilioMessage *
gtr_twilio_message_parse (const char *text, gssize len, gsize max_len, GError **error)
{
  return parse_message (text, len, max_len, FALSE, error);
}

GtrTwilioMessage *
gtr_twilio_outbound_parse (const char *text, gssize len, gsize max_len, GError **error)
{
  return parse_message (text, len, max_len, TRUE, error);
}

void
gtr_twilio_message_free (GtrTwilioMessage *msg)
{
  if (msg == NULL)
    return;
  g_free (msg->stream_sid);
  g_free (msg->protocol);
  g_free (msg->version);
  g_free (msg->account_sid);
  g_free (msg->call_sid);
  g_strfreev (msg->tracks);
  g_strfreev (msg->custom_parameter_names);
  g_strfreev (msg->custom_parameter_values);
  g_free (msg->encoding);
  g_free (msg->track);
  g_clear_pointer (&msg->payload, g_bytes_unref);
  g_free (msg->digit);
  g_free (msg->name);
  g_free (msg);
}

/* ---------------------------------------------------------------------- */
/* Builders: field order and types exactly as in Twilio's messages        */

/* A message is a JsonObject filled member by member (insertion order is the
 * order on the wire) and serialized by gtr_json_object_to_text: no
 * JsonBuilder, which is a GObject made and finalized per message, three
 * times per echoed frame.  Not sealed: sealing hashes every member, the
 * base64 payload too, for a tree that is serialized and dropped at once. */
static JsonObject *
begin_message (const char *event)
{
  JsonObject *message = json_object_new ();

  json_object_set_string_member (message, "event", event);
  return message;
}

static char *
finish_message (JsonObject *message)
{
  return gtr_json_object_to_text (message);
}

static void
add_string (JsonObject *object, const char *name, const char *value)
{
  json_object_set_string_member (object, name, value);
}

/* Counters travel as decimal strings; a negative one is left out. */
static void
add_counter (JsonObject *object, const char *name, gint64 value)
{
  char buf[24];

  if (value < 0)
    return;
  g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, value);
  add_string (object, name, buf);
}

static void
add_base64 (JsonObject *object, const char *name, const guint8 *data, gsize len)
{
  g_autofree char *encoded = g_base64_encode (data, len);

  add_string (object, name, encoded);
}

/* A new object as member `name` of `object`, returned to be filled. */
static JsonObject *
add_object (JsonObject *object, const char *name)
{
  JsonObject *member = json_object_new ();

  json_object_set_object_member (object, name, member);
  return member;
}

char *
gtr_twilio_build_media (const char *stream_sid, const guint8 *audio, gsize len)
{
  JsonObject *message;

  g_return_val_if_fail (stream_sid != NULL, NULL);
  g_return_val_if_fail (audio != NULL || len == 0, NULL);
  message = begin_message ("media");
  add_string (message, "streamSid", stream_sid);
  add_base64 (add_object (message, "media"), "payload", audio, len);
  return finish_message (message);
}

/* Our mark and Twilio's echo of it differ only by the sequenceNumber. */
static char *
build_mark_message (gint64 seq, const char *stream_sid, const char *name)
{
  JsonObject *message;

  g_return_val_if_fail (stream_sid != NULL && name != NULL, NULL);
  message = begin_message ("mark");
  add_counter (message, "sequenceNumber", seq);
  add_string (message, "streamSid", stream_sid);
  add_string (add_object (message, "mark"), "name", name);
  return finish_message (message);
}

char *
gtr_twilio_build_mark (const char *stream_sid, const char *name)
{
  return build_mark_message (-1, stream_sid, name);
}

char *
gtr_twilio_build_clear (const char *stream_sid)
{
  JsonObject *message;

  g_return_val_if_fail (stream_sid != NULL, NULL);
  message = begin_message ("clear");
  add_string (message, "streamSid", stream_sid);
  return finish_message (message);
}

char *
gtr_twilio_build_connected (void)
{
  JsonObject *message = begin_message ("connected");

  add_string (message, "protocol", "Call");
  add_string (message, "version", "1.0.0");
  return finish_message (message);
}

char *
gtr_twilio_build_start (gint64 seq, const char *stream_sid,
    const char *account_sid, const char *call_sid,
    const char *const *custom_names, const char *const *custom_values)
{
  JsonObject *message, *start, *custom, *format;
  JsonArray *tracks;

  g_return_val_if_fail (stream_sid != NULL && account_sid != NULL && call_sid != NULL, NULL);
  message = begin_message ("start");
  add_counter (message, "sequenceNumber", seq);
  start = add_object (message, "start");
  add_string (start, "accountSid", account_sid);
  add_string (start, "streamSid", stream_sid);
  add_string (start, "callSid", call_sid);
  tracks = json_array_new ();
  json_array_add_string_element (tracks, "inbound");
  json_object_set_array_member (start, "tracks", tracks);
  custom = add_object (start, "customParameters");
  for (guint i = 0; custom_names != NULL && custom_values != NULL
      && custom_names[i] && custom_values[i]; i++)
    add_string (custom, custom_names[i], custom_values[i]);
  format = add_object (start, "mediaFormat");
  add_string (format, "encoding", "audio/x-mulaw");
  json_object_set_int_member (format, "sampleRate", 8000);
  json_object_set_int_member (format, "channels", 1);
  add_string (message, "streamSid", stream_sid);
  return finish_message (message);
}

char *
gtr_twilio_build_inbound_media (gint64 seq, const char *stream_sid,
    gint64 chunk, gint64 timestamp_ms, const guint8 *audio, gsize len)
{
  JsonObject *message, *media;

  g_return_val_if_fail (stream_sid != NULL, NULL);
  g_return_val_if_fail (audio != NULL || len == 0, NULL);
  message = begin_message ("media");
  add_counter (message, "sequenceNumber", seq);
  media = add_object (message, "media");
  add_string (media, "track", "inbound");
  add_counter (media, "chunk", chunk);
  add_counter (media, "timestamp", timestamp_ms);
  add_base64 (media, "payload", audio, len);
  add_string (message, "streamSid", stream_sid);
  return finish_message (message);
}

char *
gtr_twilio_build_dtmf (gint64 seq, const char *stream_sid, const char *digit)
{
  JsonObject *message, *dtmf;

  g_return_val_if_fail (stream_sid != NULL, NULL);
  g_return_val_if_fail (gtr_twilio_dtmf_digit_to_number (digit) >= 0, NULL);
  message = begin_message ("dtmf");
  add_string (message, "streamSid", stream_sid);
  add_counter (message, "sequenceNumber", seq);
  dtmf = add_object (message, "dtmf");
  add_string (dtmf, "track", "inbound_track");
  add_string (dtmf, "digit", digit);
  return finish_message (message);
}

char *
gtr_twilio_build_mark_echo (gint64 seq, const char *stream_sid, const char *name)
{
  return build_mark_message (seq, stream_sid, name);
}

char *
gtr_twilio_build_stop (gint64 seq, const char *stream_sid,
    const char *account_sid, const char *call_sid)
{
  JsonObject *message, *stop;

  g_return_val_if_fail (stream_sid != NULL && account_sid != NULL && call_sid != NULL, NULL);
  message = begin_message ("stop");
  add_counter (message, "sequenceNumber", seq);
  stop = add_object (message, "stop");
  add_string (stop, "accountSid", account_sid);
  add_string (stop, "callSid", call_sid);
  add_string (message, "streamSid", stream_sid);
  return finish_message (message);
}
