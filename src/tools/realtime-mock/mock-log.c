/* realtime-mock: the event log.  See mock-log.h. */
#include "mock-log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static FILE *log_file;
static gint64 t0;

gboolean
mock_log_open (const char *path, GError **error)
{
  t0 = g_get_monotonic_time ();
  log_file = fopen (path, "w");
  if (!log_file)
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot write the log %s: %s", path, g_strerror (errno));
  return log_file != NULL;
}

gboolean
mock_log_enabled (void)
{
  return log_file != NULL;
}

void
mock_log_close_file (void)
{
  g_clear_pointer (&log_file, fclose);
}

static void
write_line (JsonObject *line, const char *dir, const char *session_id)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), line);
  g_autofree char *text = NULL;

  json_object_set_string_member (line, "dir", dir);
  json_object_set_int_member (line, "t_ms", (g_get_monotonic_time () - t0) / 1000);
  json_object_set_string_member (line, "session", session_id);
  text = json_to_string (node, FALSE);
  fprintf (log_file, "%s\n", text);
  fflush (log_file);
}

void
mock_log_event (const char *dir, const char *session_id, JsonNode *event)
{
  g_autoptr (JsonObject) line = NULL;

  if (!log_file)
    return;
  line = json_object_new ();
  json_object_set_member (line, "event", json_node_copy (event));
  write_line (line, dir, session_id);
}

void
mock_log_text (const char *dir, const char *session_id, const char *key, const char *text)
{
  g_autoptr (JsonObject) line = NULL;
  g_autofree char *valid = NULL;

  if (!log_file)
    return;
  /* A client's frame is anything: keep the line valid JSON and short. */
  valid = g_utf8_make_valid (text, MIN (strlen (text), 4096));
  line = json_object_new ();
  json_object_set_string_member (line, key, valid);
  write_line (line, dir, session_id);
}

void
mock_log_close (const char *session_id, gint code, const char *reason, gboolean by_server)
{
  g_autoptr (JsonObject) line = NULL;

  if (!log_file)
    return;
  line = json_object_new ();
  json_object_set_int_member (line, "code", code);
  json_object_set_string_member (line, "reason", reason ? reason : "");
  json_object_set_string_member (line, "by", by_server ? "server" : "client");
  write_line (line, "close", session_id);
}
