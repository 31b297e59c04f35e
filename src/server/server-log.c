/* Log lines: see server-log.h. */
#include "server-log.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

struct _ServerLogLine {
  JsonBuilder *json;            /* --log-format json */
  GString *text;                /* --log-format text */
};

static ServerLogFormat log_format = SERVER_LOG_TEXT;
static GMutex log_lock;

void
server_log_set_format (ServerLogFormat format)
{
  log_format = format;
}

static char *
now_iso8601 (void)
{
  GDateTime *now = g_date_time_new_now_utc ();
  char *text = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");

  g_date_time_unref (now);
  /* milliseconds are enough: cut %f's microseconds to three digits */
  memmove (text + 23, text + 26, strlen (text + 26) + 1);
  return text;
}

ServerLogLine *
server_log_begin (const char *event)
{
  ServerLogLine *line = g_new0 (ServerLogLine, 1);
  g_autofree char *time = now_iso8601 ();

  if (log_format == SERVER_LOG_JSON) {
    line->json = json_builder_new ();
    json_builder_begin_object (line->json);
    json_builder_set_member_name (line->json, "time");
    json_builder_add_string_value (line->json, time);
    json_builder_set_member_name (line->json, "event");
    json_builder_add_string_value (line->json, event);
  } else {
    line->text = g_string_new (time);
    g_string_append_printf (line->text, " %s", event);
  }
  return line;
}

/* key=value, quoted (with \" and \\ escaped) when the value has a space, a
 * quote or is empty, so that one line stays one line and splits on spaces. */
static void
text_append (GString *text, const char *key, const char *value)
{
  gboolean quote = !*value || strpbrk (value, " \t\"=\\") != NULL;

  g_string_append_printf (text, " %s=", key);
  if (!quote) {
    g_string_append (text, value);
    return;
  }
  g_string_append_c (text, '"');
  for (const char *p = value; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c (text, '\\');
    if (*p == '\n')
      g_string_append (text, "\\n");
    else
      g_string_append_c (text, *p);
  }
  g_string_append_c (text, '"');
}

void
server_log_str (ServerLogLine *line, const char *key, const char *value)
{
  g_autofree char *clean = NULL;

  if (!value)
    value = "";
  /* a line must stay one line whatever a peer sent */
  clean = g_strdelimit (g_strdup (value), "\r\n", ' ');
  if (line->json) {
    json_builder_set_member_name (line->json, key);
    json_builder_add_string_value (line->json, clean);
  } else {
    text_append (line->text, key, clean);
  }
}

void
server_log_int (ServerLogLine *line, const char *key, gint64 value)
{
  if (line->json) {
    json_builder_set_member_name (line->json, key);
    json_builder_add_int_value (line->json, value);
  } else {
    g_string_append_printf (line->text, " %s=%" G_GINT64_FORMAT, key, value);
  }
}

void
server_log_double (ServerLogLine *line, const char *key, gdouble value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (line->json) {
    json_builder_set_member_name (line->json, key);
    json_builder_add_double_value (line->json, value);
  } else {
    g_string_append_printf (line->text, " %s=%s", key,
        g_ascii_formatd (buf, sizeof (buf), "%.3f", value));
  }
}

void
server_log_end (ServerLogLine *line)
{
  char *out;

  if (line->json) {
    JsonNode *root;

    json_builder_end_object (line->json);
    root = json_builder_get_root (line->json);
    out = json_to_string (root, FALSE);
    json_node_unref (root);
    g_object_unref (line->json);
  } else {
    out = g_string_free (line->text, FALSE);
  }
  g_mutex_lock (&log_lock);
  fputs (out, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  g_mutex_unlock (&log_lock);
  g_free (out);
  g_free (line);
}
