/* gst-inspect-1.0 as the manual, for every element of both plugins.
 * Header-only: each plugin is its own .so.
 *
 * GObject signals cannot name their arguments, and messages and events are
 * not introspectable: gst-inspect-1.0 prints every metadata key of the
 * factory under "Factory Details" ("  %-25s %s", the key capitalised), so
 * that is where they are described.  Keys must be GstStructure field names
 * (the registry stores the metadata as one: a key with a space blacklists
 * the plugin).  Each entry starts a line at column 28 and is wrapped at 79,
 * continuation lines indented two more; an entry starting with "$ " (a
 * launch line) is never wrapped, so it can be copied.  docs/elements.md is
 * checked against what this prints (suite manual). */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GTR_INSPECT_INDENT 27
#define GTR_INSPECT_WIDTH 79

static inline void
gtr_inspect_add_metadata (GstElementClass *ec, const char *key,
    const char *const *entries)
{
  GString *out = g_string_new (NULL);

  for (guint e = 0; entries[e]; e++) {
    gchar **words = g_strsplit (entries[e], " ", -1);
    guint col = GTR_INSPECT_INDENT;

    if (e > 0)
      g_string_append_printf (out, "\n%*s", GTR_INSPECT_INDENT, "");
    if (g_str_has_prefix (entries[e], "$ ")) {
      g_string_append (out, entries[e]);
      g_strfreev (words);
      continue;
    }
    for (guint w = 0; words[w]; w++) {
      guint len = g_utf8_strlen (words[w], -1);

      if (w > 0 && col + 1 + len > GTR_INSPECT_WIDTH) {
        g_string_append_printf (out, "\n%*s", GTR_INSPECT_INDENT + 2, "");
        col = GTR_INSPECT_INDENT + 2;
      } else if (w > 0) {
        g_string_append_c (out, ' ');
        col++;
      }
      g_string_append (out, words[w]);
      col += len;
    }
    g_strfreev (words);
  }
  gst_element_class_add_metadata (ec, key, out->str);
  g_string_free (out, TRUE);
}

G_END_DECLS
