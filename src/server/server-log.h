/* One log line per event, text or JSON (--log-format), on stdout, flushed
 * per line.  Lines are built field by field:
 *
 *   ServerLogLine *line = server_log_begin ("call-end");
 *   server_log_str (line, "call_sid", sid);
 *   server_log_double (line, "duration_s", 12.3);
 *   server_log_end (line);
 *
 * text: 2026-12-02T05:51:05.123Z call-end call_sid=CA… duration_s=12.3
 * json: {"time":"2026-12-02T05:51:05.123Z","event":"call-end","call_sid":"CA…","duration_s":12.3}
 *
 * Any thread.  Never give it a secret. */
#pragma once

#include <glib.h>

#include "server-config.h"

G_BEGIN_DECLS

typedef struct _ServerLogLine ServerLogLine;

void server_log_set_format (ServerLogFormat format);

ServerLogLine *server_log_begin (const char *event);
void server_log_str (ServerLogLine *line, const char *key, const char *value);
void server_log_int (ServerLogLine *line, const char *key, gint64 value);
void server_log_double (ServerLogLine *line, const char *key, gdouble value);
/* Writes the line and frees it. */
void server_log_end (ServerLogLine *line);

G_END_DECLS
