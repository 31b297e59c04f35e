/* Prints, as JSON lines on stdout, every client event our GPT-Live builders
 * produce over a matrix of settings: each audio format (and none), each
 * voice form (none, a name, a custom id), each delegation (none, client,
 * Responses minimal and with every tool type the schema knows), store
 * unset/false/true, with and without startup history and instructions;
 * then each tool_choice form, session.update variants and every other
 * client event.  live-check-schema.py validates the output against the
 * strict schema (tests/data/openai-live/live.schema.json).
 *
 * Exits 1 (and prints the reason on stderr) if any builder fails.
 */
#include "gtr-protocol.h"

#include <stdio.h>
#include <stdlib.h>

static guint n_lines;

static void
emit (char *text)
{
  if (text == NULL) {
    fprintf (stderr, "live-dump-events: a builder returned NULL\n");
    exit (1);
  }
  printf ("%s\n", text);
  g_free (text);
  n_lines++;
}

static void
check (char *text, GError *error, const char *what)
{
  if (text == NULL) {
    fprintf (stderr, "live-dump-events: %s failed: %s\n", what, error->message);
    exit (1);
  }
  emit (text);
}

#define ALL_TOOLS "[{\"type\":\"function\",\"name\":\"book\",\"description\":\"Book a slot\"," \
  "\"parameters\":{\"type\":\"object\",\"properties\":{\"day\":{\"type\":\"string\"}}},\"strict\":true}," \
  "{\"type\":\"function\",\"name\":\"bare\"}," \
  "{\"type\":\"function\",\"name\":\"nulls\",\"description\":null,\"parameters\":null,\"strict\":null}," \
  "{\"type\":\"web_search\"},{\"type\":\"file_search\"},{\"type\":\"code_interpreter\"}," \
  "{\"type\":\"shell\",\"environment\":{\"type\":\"container_auto\"}},{\"type\":\"image_generation\"}]"

static void
set_delegation (GtrLiveSessionConfig *c, guint d)
{
  switch (d) {
    case 0: c->delegation = GTR_LIVE_DELEGATION_UNSET; break;
    case 1: c->delegation = GTR_LIVE_DELEGATION_CLIENT; break;
    case 2:
      c->delegation = GTR_LIVE_DELEGATION_RESPONSES;
      c->responses.model = g_strdup ("gpt-5.2");
      break;
    default:
      c->delegation = GTR_LIVE_DELEGATION_RESPONSES;
      c->responses.model = g_strdup ("gpt-5.2");
      c->responses.instructions = g_strdup ("Book appointments; confirm before booking.");
      c->responses.tools_json = g_strdup (ALL_TOOLS);
      c->responses.tool_choice = g_strdup ("auto");
      break;
  }
}

static void
dump_matrix (void)
{
  static const GtrLiveAudioFormat formats[] = {
    GTR_LIVE_FORMAT_UNSET, GTR_LIVE_FORMAT_PCMU, GTR_LIVE_FORMAT_PCMA,
    GTR_LIVE_FORMAT_PCM16K, GTR_LIVE_FORMAT_PCM24K,
  };

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    for (guint v = 0; v < 3; v++)
      for (guint d = 0; d < 4; d++)
        for (gint store = -1; store <= 1; store++)
          for (guint extra = 0; extra < 4; extra++) {
            GtrLiveSessionConfig c;
            GError *error = NULL;

            gtr_live_session_config_init (&c);
            c.model = g_strdup (f % 2 ? "gpt-live-1" : "gpt-live-1.1");
            c.format = formats[f];
            if (v == 1)
              c.voice = g_strdup ("marin");
            else if (v == 2)
              c.custom_voice_id = g_strdup ("voice_custom_1");
            set_delegation (&c, d);
            c.store = store;
            if (extra & 1)
              c.instructions = g_strdup ("You answer phone calls. \"Quote\" and \\ backslash.");
            if (extra & 2) {
              gtr_live_session_config_add_input (&c, GTR_LIVE_ROLE_DEVELOPER, "Greet the caller first.");
              gtr_live_session_config_add_input (&c, GTR_LIVE_ROLE_USER, "Hello?");
              gtr_live_session_config_add_input (&c, GTR_LIVE_ROLE_ASSISTANT, "Hi, Acme Plumbing.");
            }
            check (gtr_live_build_session_start (&c, NULL, &error), error, "session.start");
            gtr_live_session_config_clear (&c);
          }
}

static void
dump_tool_choices (void)
{
  static const char *const choices[] = { "auto", "none", "required", "book" };

  for (guint i = 0; i < G_N_ELEMENTS (choices); i++) {
    GtrLiveSessionConfig c;
    GError *error = NULL;

    gtr_live_session_config_init (&c);
    c.model = g_strdup ("gpt-live-1");
    c.format = GTR_LIVE_FORMAT_PCMU;
    c.delegation = GTR_LIVE_DELEGATION_RESPONSES;
    c.responses.model = g_strdup ("gpt-5.2");
    c.responses.tools_json = g_strdup ("[{\"type\":\"function\",\"name\":\"book\"}]");
    c.responses.tool_choice = g_strdup (choices[i]);
    check (gtr_live_build_session_start (&c, NULL, &error), error, "session.start");
    gtr_live_session_config_clear (&c);
  }
}

static void
dump_updates (void)
{
  for (guint i = 0; i < 5; i++) {
    GtrLiveResponsesConfig r;
    GError *error = NULL;

    gtr_live_responses_config_init (&r);
    if (i == 0 || i == 4)
      r.model = g_strdup ("gpt-5.2-mini");
    if (i == 1 || i == 4)
      r.instructions = g_strdup ("Also take cancellations.");
    if (i == 2 || i == 4)
      r.tools_json = g_strdup ("[{\"type\":\"function\",\"name\":\"cancel\",\"parameters\":{}},{\"type\":\"web_search\"}]");
    if (i == 3 || i == 4)
      r.tool_choice = g_strdup (i == 3 ? "none" : "cancel");
    check (gtr_live_build_session_update (&r, NULL, &error), error, "session.update");
    gtr_live_responses_config_clear (&r);
  }
}

static void
dump_others (void)
{
  static const guint8 audio[] = { 0xff, 0x7f, 0x00, 0x80 };
  GError *error = NULL;

  emit (gtr_live_build_input_audio_append (audio, sizeof (audio), NULL));
  emit (gtr_live_build_input_audio_append (NULL, 0, NULL));
  emit (gtr_live_build_input_audio_mute (NULL));
  emit (gtr_live_build_input_audio_unmute (NULL));
  for (guint k = GTR_LIVE_APPEND_INSTRUCTIONS; k <= GTR_LIVE_APPEND_COMMENTARY; k++) {
    emit (gtr_live_build_append ((GtrLiveAppendKind) k, "The caller pressed 5 on the keypad.", NULL, NULL));
    emit (gtr_live_build_append ((GtrLiveAppendKind) k, "Thursday at 9 a.m. is free.", "dlg_01", NULL));
  }
  emit (gtr_live_build_function_call_output ("call_1", "{\"booked\":true}", NULL));
  check (gtr_live_build_response_item_create ("{\"type\":\"message\",\"role\":\"user\","
      "\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}", NULL, &error), error,
      "response.item.create");
  emit (gtr_live_build_response_create (NULL));
  emit (gtr_live_build_session_close (NULL));
}

int
main (void)
{
  dump_matrix ();
  dump_tool_choices ();
  dump_updates ();
  dump_others ();
  fprintf (stderr, "live-dump-events: %u events\n", n_lines);
  return 0;
}
