/* json-bench: what one parse and one build cost for the messages a bridge
 * reads and writes per echoed frame (docs/performance.md, "Per-message
 * work").
 *
 *   build/tests/bench/json-bench [ITERATIONS]
 *
 * For each message it does the same parse or build ITERATIONS times (200000
 * unless given), seven rounds, and prints the best round's microseconds per
 * message.  To compare two trees, run each build's binary alternately in one
 * sitting.  Exits 1 if a parse fails.  No figure is asserted: the suite runs
 * it with a few iterations only so that it keeps building and working. */
#include "gtr-json-private.h"
#include "gtr-protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SID "MZ18ad3ab5a668481ce02b83e7395059f0"

typedef struct {
  const char *text;             /* to parse, or NULL */
  char *(*build) (const guint8 *frame);  /* or this, to build */
} Job;

static guint8 frame[160];       /* one 20 ms frame of μ-law */

static char *
build_media (const guint8 *audio)
{
  return gtr_twilio_build_media (SID, audio, sizeof frame);
}

static char *
build_mark (const guint8 *audio)
{
  return gtr_twilio_build_mark (SID, "gtr-7");
}

static char *
build_append (const guint8 *audio)
{
  return gtr_realtime_build_input_audio_buffer_append (audio, sizeof frame, NULL);
}

static gboolean
run_once (const Job *job, gsize len)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node;

  if (job->build != NULL) {
    g_free (job->build (frame));
    return TRUE;
  }
  node = gtr_json_parse_object (job->text, len, 0, "message", &error);
  if (node == NULL) {
    fprintf (stderr, "json-bench: %s\n", error->message);
    return FALSE;
  }
  json_node_unref (node);
  return TRUE;
}

static gboolean
measure (const char *what, const Job *job, guint iterations)
{
  gsize len = job->text ? strlen (job->text) : 0;
  gint64 best = G_MAXINT64;

  for (int round = 0; round < 7; round++) {
    gint64 start = g_get_monotonic_time ();

    for (guint i = 0; i < iterations; i++)
      if (!run_once (job, len))
        return FALSE;
    best = MIN (best, g_get_monotonic_time () - start);
  }
  printf ("%-28s %.3f us per message\n", what, (double) best / iterations);
  return TRUE;
}

int
main (int argc, char **argv)
{
  guint iterations = argc > 1 ? (guint) strtoul (argv[1], NULL, 10) : 200000;
  g_autofree char *payload = NULL, *media = NULL, *delta = NULL;
  const char *mark = "{\"event\":\"mark\",\"sequenceNumber\":\"43\","
      "\"streamSid\":\"" SID "\",\"mark\":{\"name\":\"gtr-7\"}}";

  if (iterations == 0)
    iterations = 1;
  for (guint i = 0; i < sizeof frame; i++)
    frame[i] = (guint8) (i * 7);
  payload = g_base64_encode (frame, sizeof frame);
  media = g_strdup_printf ("{\"event\":\"media\",\"sequenceNumber\":\"42\","
      "\"media\":{\"track\":\"inbound\",\"chunk\":\"41\",\"timestamp\":\"820\","
      "\"payload\":\"%s\"},\"streamSid\":\"" SID "\"}", payload);
  delta = g_strdup_printf ("{\"type\":\"response.output_audio.delta\","
      "\"event_id\":\"event_4b1e2a\",\"response_id\":\"resp_001\","
      "\"item_id\":\"item_001\",\"output_index\":0,\"content_index\":0,"
      "\"delta\":\"%s\"}", payload);

  return measure ("parse Twilio media", &(Job) { media, NULL }, iterations)
      && measure ("parse API audio delta", &(Job) { delta, NULL }, iterations)
      && measure ("parse Twilio mark echo", &(Job) { mark, NULL }, iterations)
      && measure ("build API audio append", &(Job) { NULL, build_append }, iterations)
      && measure ("build Twilio media", &(Job) { NULL, build_media }, iterations)
      && measure ("build Twilio mark", &(Job) { NULL, build_mark }, iterations)
      ? 0 : 1;
}
