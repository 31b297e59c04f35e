/* json-parse: what gtr_json_parse_object costs for the messages a bridge
 * reads per echoed frame (docs/performance.md, "Per-message work").
 *
 *   build/tests/bench/json-parse [ITERATIONS]
 *
 * For each message kind it parses the same text ITERATIONS times (200000
 * unless given), seven rounds, and prints the best round's microseconds per
 * message.  To compare two trees, run each build's binary alternately in one
 * sitting.  Exits 1 if a parse fails.  No figure is asserted: the suite runs
 * it with a few iterations only so that it keeps building and parsing. */
#include "gtr-json-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gboolean
measure (const char *kind, const char *text, guint iterations)
{
  gsize len = strlen (text);
  gint64 best = G_MAXINT64;

  for (int round = 0; round < 7; round++) {
    gint64 start = g_get_monotonic_time ();

    for (guint i = 0; i < iterations; i++) {
      g_autoptr (GError) error = NULL;
      JsonNode *node = gtr_json_parse_object (text, len, 0, kind, &error);

      if (node == NULL) {
        fprintf (stderr, "json-parse: %s\n", error->message);
        return FALSE;
      }
      json_node_unref (node);
    }
    best = MIN (best, g_get_monotonic_time () - start);
  }
  printf ("%-14s %4zu bytes  %.3f us per message\n", kind, len,
      (double) best / iterations);
  return TRUE;
}

int
main (int argc, char **argv)
{
  guint iterations = argc > 1 ? (guint) strtoul (argv[1], NULL, 10) : 200000;
  guint8 frame[160];
  g_autofree char *payload = NULL, *media = NULL, *delta = NULL;
  gboolean ok;

  if (iterations == 0)
    iterations = 1;
  /* one 20 ms frame of μ-law, as the sim sends it */
  for (guint i = 0; i < sizeof frame; i++)
    frame[i] = (guint8) (i * 7);
  payload = g_base64_encode (frame, sizeof frame);
  media = g_strdup_printf ("{\"event\":\"media\",\"sequenceNumber\":\"42\","
      "\"media\":{\"track\":\"inbound\",\"chunk\":\"41\",\"timestamp\":\"820\","
      "\"payload\":\"%s\"},\"streamSid\":\"MZ18ad3ab5a668481ce02b83e7395059f0\"}",
      payload);
  delta = g_strdup_printf ("{\"type\":\"response.output_audio.delta\","
      "\"event_id\":\"event_4b1e2a\",\"response_id\":\"resp_001\","
      "\"item_id\":\"item_001\",\"output_index\":0,\"content_index\":0,"
      "\"delta\":\"%s\"}", payload);

  ok = measure ("twilio media", media, iterations)
      && measure ("api delta", delta, iterations)
      && measure ("twilio mark", "{\"event\":\"mark\",\"sequenceNumber\":\"43\","
          "\"streamSid\":\"MZ18ad3ab5a668481ce02b83e7395059f0\","
          "\"mark\":{\"name\":\"gtr-7\"}}", iterations);
  return ok ? 0 : 1;
}
