/* docs/bad-input.md stays true to the elements' `stats`.
 *
 * The page has a section per element ("## twiliosrc", …) with a table whose
 * last column names `stats` counters in backticks, and an "Other counters"
 * line.  Every counter named must be a field of the element's `stats`, and
 * every field of `stats` must be named: a counter added without a line on
 * the page fails here.  Sections under other headings ("## Being added …")
 * are not read. */
#include <gst/check/gstcheck.h>
#include <string.h>

static const char *const elements[] = { "twiliosrc", "twiliosink", "openairealtime" };

/* The `names` in backticks of `text`, added to `set`. */
static void
add_backticked (const char *text, GHashTable *set)
{
  const char *p = text;

  while ((p = strchr (p, '`'))) {
    const char *end = strchr (p + 1, '`');

    if (!end)
      break;
    if (end > p + 1)
      g_hash_table_add (set, g_strndup (p + 1, end - p - 1));
    p = end + 1;
  }
}

/* A table row's last cell ("| a | b | `c` |" → " `c` "), or NULL for the
 * header's separator and lines that are not rows. */
static char *
last_cell (const char *line)
{
  g_autofree char *row = g_strstrip (g_strdup (line));
  gsize len = strlen (row);
  char *open;

  if (len < 2 || row[0] != '|' || row[len - 1] != '|' || g_str_has_prefix (row, "| ---"))
    return NULL;
  row[len - 1] = '\0';
  open = strrchr (row, '|');
  return g_strdup (open + 1);
}

/* The counters the page names for `element`: (name → name). */
static GHashTable *
documented_counters (char **lines, const char *element, guint *rows)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *heading = g_strdup_printf ("## %s", element);
  gboolean in_section = FALSE, header_seen = FALSE;

  *rows = 0;
  for (char **l = lines; *l; l++) {
    if (g_str_has_prefix (*l, "## ")) {
      in_section = g_str_equal (*l, heading);
      header_seen = FALSE;
      continue;
    }
    if (!in_section)
      continue;
    if (g_str_has_prefix (*l, "Other counters")) {
      /* the line may wrap: read on to the empty line */
      for (char **m = l; *m && **m; m++)
        add_backticked (*m, set);
      continue;
    }
    {
      g_autofree char *cell = last_cell (*l);
      if (!cell)
        continue;
      if (!header_seen) {
        header_seen = TRUE;       /* the header row names the columns */
        continue;
      }
      add_backticked (cell, set);
      (*rows)++;
    }
  }
  return set;
}

static char **
read_page (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("GTR_TESTS_DATA"), "..", "..",
      "docs", "bad-input.md", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;

  fail_unless (g_file_get_contents (path, &text, NULL, &error), "%s", error ? error->message : path);
  return g_strsplit (text, "\n", -1);
}

static gboolean
check_field (GQuark field, const GValue *value, gpointer data)
{
  GHashTable *documented = data;
  const char *name = g_quark_to_string (field);

  fail_unless (G_VALUE_HOLDS_UINT64 (value), "stats field %s is not a guint64", name);
  fail_unless (g_hash_table_contains (documented, name),
      "stats counter '%s' is not named in docs/bad-input.md", name);
  return TRUE;
}

GST_START_TEST (test_page_names_every_counter)
{
  const char *name = elements[__i__];
  g_auto (GStrv) lines = read_page ();
  g_autoptr (GHashTable) documented = NULL;
  GstElement *element = gst_element_factory_make (name, NULL);
  GstStructure *stats = NULL;
  GHashTableIter iter;
  gpointer counter;
  guint rows;

  fail_unless (element != NULL, "no element %s", name);
  documented = documented_counters (lines, name, &rows);
  fail_unless (rows > 0, "docs/bad-input.md has no table under '## %s'", name);
  g_object_get (element, "stats", &stats, NULL);
  fail_unless (stats != NULL);

  g_hash_table_iter_init (&iter, documented);
  while (g_hash_table_iter_next (&iter, &counter, NULL))
    fail_unless (gst_structure_has_field (stats, counter),
        "docs/bad-input.md names '%s', which %s's stats does not have", (char *) counter, name);
  gst_structure_foreach (stats, check_field, documented);
  GST_INFO ("%s: %u rows, %u counters", name, rows, g_hash_table_size (documented));

  gst_structure_free (stats);
  gst_object_unref (element);
}
GST_END_TEST;

/* The parser itself: a table it misreads would make the check above hollow. */
GST_START_TEST (test_parser_reads_tables)
{
  const char *page[] = {
    "## twiliosrc", "", "| sends | outcome | counter |", "| --- | --- | --- |",
    "| x `not-this` | y | `a` and `b` |", "| z | w | — |", "",
    "Other counters: `c`,", "`d`.", "",
    "## Being added", "| e | p | what | counter |", "| --- | --- | --- | --- |",
    "| twiliosrc | `p` | q | `e` |", NULL,
  };
  g_autoptr (GHashTable) set = NULL;
  guint rows;

  set = documented_counters ((char **) page, "twiliosrc", &rows);
  fail_unless_equals_int (rows, 2);
  fail_unless_equals_int (g_hash_table_size (set), 4);
  for (guint i = 0; i < 4; i++)
    fail_unless (g_hash_table_contains (set, ((const char *[]) { "a", "b", "c", "d" })[i]));
}
GST_END_TEST;

static Suite *
bad_input_doc_suite (void)
{
  Suite *s = suite_create ("bad-input-doc");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_parser_reads_tables);
  tcase_add_loop_test (tc, test_page_names_every_counter, 0, G_N_ELEMENTS (elements));
  return s;
}

GST_CHECK_MAIN (bad_input_doc);
