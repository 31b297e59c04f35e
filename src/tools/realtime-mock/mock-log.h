/* realtime-mock: the event log, one JSON object per line (docs/realtime-mock.md).
 *
 *   {"dir":"in"|"out","t_ms":N,"session":ID,"event":{…}}   an event, either way
 *   {"dir":"in","t_ms":N,"session":ID,"raw":TEXT}          a client frame that is not a JSON object
 *   {"dir":"out","t_ms":N,"session":ID,"malformed":TEXT}   a fault injected by --malformed-frames
 *   {"dir":"close","t_ms":N,"session":ID,"code":N,"reason":TEXT,"by":"server"|"client"}
 *
 * t_ms counts from the mock's start.  Lines are written whole and flushed.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean mock_log_open (const char *path, GError **error);
void mock_log_close_file (void);
/* Whether --log is on (a caller may skip building what would be logged). */
gboolean mock_log_enabled (void);
void mock_log_event (const char *dir, const char *session_id, JsonNode *event);
void mock_log_text (const char *dir, const char *session_id, const char *key, const char *text);
void mock_log_close (const char *session_id, gint code, const char *reason, gboolean by_server);

G_END_DECLS
