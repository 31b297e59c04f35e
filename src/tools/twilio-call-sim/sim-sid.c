/* twilio-call-sim: ids (see sim-sid.h). */
#include "sim-sid.h"

#include <string.h>

#define SID_HEX 32
#define COUNTER_HEX 8

gboolean
sim_sid_is_valid (const char *sid, const char *prefix)
{
  gsize plen = strlen (prefix);

  if (sid == NULL || strlen (sid) != plen + SID_HEX || !g_str_has_prefix (sid, prefix))
    return FALSE;
  for (gsize i = plen; i < plen + SID_HEX; i++)
    if (!g_ascii_isxdigit (sid[i]))
      return FALSE;
  return TRUE;
}

/* The last 8 characters are hex digits: the counter can live there. */
static gboolean
has_counter (const char *base, gsize len)
{
  if (len < COUNTER_HEX)
    return FALSE;
  for (gsize i = len - COUNTER_HEX; i < len; i++)
    if (!g_ascii_isxdigit (base[i]))
      return FALSE;
  return TRUE;
}

char *
sim_sid_derive (const char *base, guint n)
{
  gsize len = strlen (base);
  gsize head = len - COUNTER_HEX;
  guint32 counter;

  if (n == 0)
    return g_strdup (base);
  /* a single call may have any id (--stream-sid MZtest): its second
   * stream's still differs */
  if (!has_counter (base, len))
    return g_strdup_printf ("%s-%u", base, n);
  counter = (guint32) g_ascii_strtoull (base + head, NULL, 16);
  return g_strdup_printf ("%.*s%08x", (int) head, base, (guint32) (counter + n));
}
