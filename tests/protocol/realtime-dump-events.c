/* Prints, as JSON lines on stdout, every client event our Realtime builders
 * produce over a matrix of configurations: each format in and out, each
 * turn-detection mode (server_vad full and minimal, semantic_vad with each
 * eagerness, none), with and without transcription, each noise reduction,
 * tools with each tool_choice form, and every other client event.
 * check-schema.py validates the output against the official strict schema.
 *
 * Exits 1 (and prints the reason on stderr) if any builder fails.
 *
 * GTR_NOISE_REDUCTION_OFF is in the matrix too: it emits nothing (the
 * schema allows only an object there, and a new session has it off).
 */
#include "gtr-protocol.h"

#include <stdio.h>
#include <stdlib.h>

static guint n_lines;

static void
emit (char *text)
{
  if (text == NULL) {
    fprintf (stderr, "realtime-dump-events: a builder returned NULL\n");
    exit (1);
  }
  printf ("%s\n", text);
  g_free (text);
  n_lines++;
}

static void
emit_session (const GtrRealtimeSessionConfig *config)
{
  GError *error = NULL;
  char *text = gtr_realtime_build_session_update (config, NULL, &error);

  if (text == NULL) {
    fprintf (stderr, "realtime-dump-events: session.update failed: %s\n", error->message);
    exit (1);
  }
  emit (text);
}

typedef enum {
  VAD_SERVER_FULL, VAD_SERVER_MINIMAL, VAD_SEMANTIC_LOW, VAD_SEMANTIC_MEDIUM,
  VAD_SEMANTIC_HIGH, VAD_SEMANTIC_AUTO, VAD_NONE, N_VAD,
} VadCase;

static void
set_vad (GtrRealtimeSessionConfig *c, VadCase vad)
{
  static const char *const eagerness[] = { "low", "medium", "high", "auto" };

  switch (vad) {
    case VAD_SERVER_FULL:
      c->turn_detection = GTR_TURN_DETECTION_SERVER_VAD;
      c->vad_threshold = 0.5;
      c->prefix_padding_ms = 300;
      c->silence_duration_ms = 500;
      c->idle_timeout_ms = 10000;
      c->create_response = 1;
      c->interrupt_response = 1;
      break;
    case VAD_SERVER_MINIMAL:
      c->turn_detection = GTR_TURN_DETECTION_SERVER_VAD;
      break;
    case VAD_SEMANTIC_LOW:
    case VAD_SEMANTIC_MEDIUM:
    case VAD_SEMANTIC_HIGH:
    case VAD_SEMANTIC_AUTO:
      c->turn_detection = GTR_TURN_DETECTION_SEMANTIC_VAD;
      c->eagerness = g_strdup (eagerness[vad - VAD_SEMANTIC_LOW]);
      /* Server-VAD-only settings are set too: they must not leak in. */
      c->vad_threshold = 0.7;
      c->idle_timeout_ms = 6000;
      c->create_response = 0;
      c->interrupt_response = 1;
      break;
    case VAD_NONE:
      c->turn_detection = GTR_TURN_DETECTION_NONE;
      break;
    case N_VAD:
      g_assert_not_reached ();
  }
}

static void
set_transcription (GtrRealtimeSessionConfig *c, guint which)
{
  if (which >= 1)
    c->transcription_model = g_strdup ("gpt-4o-transcribe");
  if (which >= 2) {
    c->transcription_language = g_strdup ("en");
    c->transcription_prompt = g_strdup ("Order numbers such as A17.");
  }
}

static void
dump_session_matrix (void)
{
  static const GtrAudioFormat formats[] = {
    GTR_AUDIO_FORMAT_PCMU, GTR_AUDIO_FORMAT_PCMA, GTR_AUDIO_FORMAT_PCM24K,
  };
  static const GtrNoiseReduction noise[] = {
    GTR_NOISE_REDUCTION_UNSET, GTR_NOISE_REDUCTION_OFF, GTR_NOISE_REDUCTION_NEAR_FIELD,
    GTR_NOISE_REDUCTION_FAR_FIELD,
  };
  guint in, out, vad, tr, nr;

  for (in = 0; in < G_N_ELEMENTS (formats); in++)
  for (out = 0; out < G_N_ELEMENTS (formats); out++)
  for (vad = 0; vad < N_VAD; vad++)
  for (tr = 0; tr < 3; tr++)
  for (nr = 0; nr < G_N_ELEMENTS (noise); nr++) {
    GtrRealtimeSessionConfig c;

    gtr_realtime_session_config_init (&c);
    c.input_format = formats[in];
    c.output_format = formats[out];
    c.noise_reduction = noise[nr];
    set_vad (&c, vad);
    set_transcription (&c, tr);
    c.voice = g_strdup ("marin");
    c.audio_only = TRUE;
    emit_session (&c);
    gtr_realtime_session_config_clear (&c);
  }
}

/* The element's typical configuration, with tools and each tool_choice. */
static void
dump_tools (void)
{
  static const char *const choices[] = { NULL, "auto", "none", "required", "lookup_order" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (choices); i++) {
    GtrRealtimeSessionConfig c;

    gtr_realtime_session_config_init (&c);
    c.input_format = GTR_AUDIO_FORMAT_PCMU;
    c.output_format = GTR_AUDIO_FORMAT_PCMU;
    c.noise_reduction = GTR_NOISE_REDUCTION_NEAR_FIELD;
    c.instructions = g_strdup ("You answer the phone for Ada's Bakery.");
    c.tools_json = g_strdup ("[{\"type\":\"function\",\"name\":\"lookup_order\","
        "\"description\":\"Find an order by its number.\",\"parameters\":{\"type\":\"object\","
        "\"properties\":{\"order\":{\"type\":\"string\"}},\"required\":[\"order\"]}}]");
    c.tool_choice = g_strdup (choices[i]);
    emit_session (&c);
    gtr_realtime_session_config_clear (&c);
  }
}

static void
dump_session_misc (void)
{
  static const gint max_tokens[] = { -1, 1, 4096 };
  GtrRealtimeSessionConfig c;
  guint i;

  gtr_realtime_session_config_init (&c);
  emit_session (&c);   /* nothing set */
  for (i = 0; i < G_N_ELEMENTS (max_tokens); i++) {
    c.max_output_tokens = max_tokens[i];
    c.speed = 0.25 + i * 0.625;   /* 0.25, 0.875, 1.5 */
    c.instructions = g_strdup (i == 0 ? "" : "Speak slowly.");
    emit_session (&c);
    g_clear_pointer (&c.instructions, g_free);
  }
  gtr_realtime_session_config_clear (&c);
}

static void
dump_other_events (void)
{
  static const guint8 audio[160] = { 0xff, 0x7f, 0x00 };

  emit (gtr_realtime_build_input_audio_buffer_append (audio, sizeof audio, NULL));
  emit (gtr_realtime_build_input_audio_buffer_append (NULL, 0, NULL));
  emit (gtr_realtime_build_input_audio_buffer_commit (NULL));
  emit (gtr_realtime_build_input_audio_buffer_clear (NULL));
  emit (gtr_realtime_build_user_text ("The caller pressed 5.", NULL));
  emit (gtr_realtime_build_user_text ("", NULL));
  emit (gtr_realtime_build_assistant_text ("Your order ships today.", NULL));
  emit (gtr_realtime_build_assistant_text ("", NULL));
  emit (gtr_realtime_build_function_call_output ("call_001", "{\"status\":\"shipped\"}", NULL));
  emit (gtr_realtime_build_response_create (NULL, NULL));
  emit (gtr_realtime_build_response_create ("Say exactly: \"Hello, Ada's Bakery, how can I help?\"", NULL));
  emit (gtr_realtime_build_response_cancel (NULL, NULL));
  emit (gtr_realtime_build_response_cancel ("resp_001", NULL));
  emit (gtr_realtime_build_item_truncate ("item_001", 0, 0, NULL));
  emit (gtr_realtime_build_item_truncate ("item_001", 0, 1500, NULL));
}

int
main (int argc, char **argv)
{
  dump_session_matrix ();
  dump_tools ();
  dump_session_misc ();
  dump_other_events ();
  fprintf (stderr, "realtime-dump-events: %u events\n", n_lines);
  return fflush (stdout) == 0 ? 0 : 1;
}
