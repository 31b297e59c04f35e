/* Checks both protocol parsers share.  Private to src/protocol. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Strict base64: the canonical alphabet, a length that is a multiple of 4,
 * at most two '=' and only at the end.  Needed because g_base64_decode()
 * silently skips anything else, which would turn garbage into noise. */
gboolean gtr_base64_is_strict (const char *text, gsize len);

/* Text → a JSON object node (new reference), or NULL with a GError whose
 * message starts with `what` ("message", "event"): OVERSIZE above max_len
 * (0 = no limit), NOT_JSON for invalid UTF-8, nesting deeper than 32 (json-glib
 * recurses and would overflow the stack) or invalid JSON, BAD_VALUE for an
 * escaped NUL in a string (json-glib would silently cut the string there) or
 * a lone UTF-16 surrogate (json-glib decodes it into bytes that are not
 * UTF-8), NOT_OBJECT for any other top-level value. */
JsonNode *gtr_json_parse_object (const char *text, gsize len, gsize max_len,
    const char *what, GError **error);

/* A client event's envelope, for both APIs: {"type": TYPE, "event_id":
 * a new id (gtr_realtime_new_event_id, returned in `event_id` unless
 * NULL)}; the server refers back to it by that id. */
JsonObject *gtr_json_event_new (const char *type, char **event_id);

/* The same for an audio append: its id is gtr_realtime_new_audio_event_id. */
JsonObject *gtr_json_audio_event_new (const char *type, char **event_id);

/* `node` as compact JSON text, like json_to_string (node, FALSE) but with
 * this thread's generator instead of a new one per call. */
char *gtr_json_to_text (JsonNode *node);

/* Serializes and releases `obj` (an event, a Twilio message). */
char *gtr_json_object_to_text (JsonObject *obj);

/* "a string", "an array", "null", … for error messages. */
const char *gtr_json_describe_node (JsonNode *node);

G_END_DECLS
