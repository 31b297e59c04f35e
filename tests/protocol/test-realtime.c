/* Tests of the OpenAI Realtime GA half of src/protocol: every builder's
 * output read back with json-glib, every server event type parsed from a
 * sample shaped as the official schema's RealtimeServerEvent* definitions,
 * malformed input rejected with the right code, and the classic noise bug
 * (noise_reduction as a string, temperature, beta fields) impossible.
 *
 * With GTR_RT_WRITE_SAMPLES=DIR set, /realtime/parse/samples also writes
 * each sample to DIR (one file per event): that is how
 * tests/fuzz/corpus/realtime/ was made, and check-schema.py validates those
 * files against the schema, which proves the samples are shaped right.
 */
#include "gtr-protocol.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* JSON helpers                                                         */

static JsonNode *
parse_json (const char *text)
{
  GError *error = NULL;
  JsonNode *node;

  g_assert_nonnull (text);
  node = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return node;
}

/* The node at a dotted path ("session.audio.input.format.type", array
 * elements by index: "item.content.0.text"); NULL if absent. */
static JsonNode *
node_at (JsonNode *root, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonNode *node = root;
  guint i;

  for (i = 0; parts[i] != NULL && node != NULL; i++) {
    if (JSON_NODE_HOLDS_OBJECT (node)) {
      node = json_object_get_member (json_node_get_object (node), parts[i]);
    } else if (JSON_NODE_HOLDS_ARRAY (node)) {
      JsonArray *array = json_node_get_array (node);
      guint idx = (guint) g_ascii_strtoull (parts[i], NULL, 10);
      node = idx < json_array_get_length (array) ? json_array_get_element (array, idx) : NULL;
    } else {
      node = NULL;
    }
  }
  return node;
}

static void
assert_string_at (JsonNode *root, const char *path, const char *expected)
{
  JsonNode *node = node_at (root, path);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    g_error ("%s: expected the string \"%s\"", path, expected);
  g_assert_cmpstr (json_node_get_string (node), ==, expected);
}

static void
assert_int_at (JsonNode *root, const char *path, gint64 expected)
{
  JsonNode *node = node_at (root, path);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    g_error ("%s: expected the integer %" G_GINT64_FORMAT, path, expected);
  g_assert_cmpint (json_node_get_int (node), ==, expected);
}

static void
assert_double_at (JsonNode *root, const char *path, gdouble expected)
{
  JsonNode *node = node_at (root, path);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    g_error ("%s: expected the number %g", path, expected);
  g_assert_cmpfloat_with_epsilon (json_node_get_double (node), expected, 1e-9);
}

static void
assert_bool_at (JsonNode *root, const char *path, gboolean expected)
{
  JsonNode *node = node_at (root, path);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    g_error ("%s: expected a boolean", path);
  g_assert_cmpint (json_node_get_boolean (node), ==, expected);
}

static void
assert_null_at (JsonNode *root, const char *path)
{
  JsonNode *node = node_at (root, path);

  if (node == NULL || !JSON_NODE_HOLDS_NULL (node))
    g_error ("%s: expected null", path);
}

static void
assert_absent (JsonNode *root, const char *path)
{
  if (node_at (root, path) != NULL)
    g_error ("%s: expected no such field", path);
}

static guint
object_size_at (JsonNode *root, const char *path)
{
  JsonNode *node = node_at (root, path);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_get_size (json_node_get_object (node));
}

/* The envelope every client event shares: its type, and the event_id the
 * builder returned is the one on the wire. */
static JsonNode *
check_envelope (const char *text, const char *type, const char *event_id)
{
  JsonNode *root = parse_json (text);

  assert_string_at (root, "type", type);
  g_assert_nonnull (event_id);
  assert_string_at (root, "event_id", event_id);
  return root;
}

static char *
build_session (const GtrRealtimeSessionConfig *config, JsonNode **root)
{
  GError *error = NULL;
  char *event_id = NULL;
  char *text = gtr_realtime_build_session_update (config, &event_id, &error);

  g_assert_no_error (error);
  *root = check_envelope (text, "session.update", event_id);
  assert_string_at (*root, "session.type", "realtime");
  g_free (text);
  return event_id;
}

/* ------------------------------------------------------------------ */
/* Formats and event ids                                                */

static void
test_formats (void)
{
  static const struct {
    GtrAudioFormat format;
    const char *type, *desc;
    guint bytes_per_ms;
  } cases[] = {
    { GTR_AUDIO_FORMAT_PCMU, "audio/pcmu", "audio/pcmu 8000 Hz", 8 },
    { GTR_AUDIO_FORMAT_PCMA, "audio/pcma", "audio/pcma 8000 Hz", 8 },
    { GTR_AUDIO_FORMAT_PCM24K, "audio/pcm", "audio/pcm 24000 Hz", 48 },
    { GTR_AUDIO_FORMAT_UNSET, NULL, "unset", 0 },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *desc = gtr_audio_format_describe (cases[i].format);
    g_assert_cmpstr (gtr_audio_format_type_name (cases[i].format), ==, cases[i].type);
    g_assert_cmpstr (desc, ==, cases[i].desc);
    g_assert_cmpuint (gtr_audio_format_bytes_per_ms (cases[i].format), ==, cases[i].bytes_per_ms);
  }
}

#define N_IDS_PER_THREAD 2500
#define N_ID_THREADS 4

static gpointer
make_ids (gpointer data)
{
  char **ids = data;
  guint i;

  /* events and audio appends draw on one counter */
  for (i = 0; i < N_IDS_PER_THREAD; i++)
    ids[i] = i % 2 ? gtr_realtime_new_audio_event_id () : gtr_realtime_new_event_id ();
  return NULL;
}

static void
test_event_id_unique (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  char **ids = g_new0 (char *, N_IDS_PER_THREAD * N_ID_THREADS);
  GThread *threads[N_ID_THREADS];
  guint i;

  /* 10000 ids made concurrently by four threads: no two alike. */
  for (i = 0; i < N_ID_THREADS; i++)
    threads[i] = g_thread_new ("ids", make_ids, ids + i * N_IDS_PER_THREAD);
  for (i = 0; i < N_ID_THREADS; i++)
    g_thread_join (threads[i]);
  for (i = 0; i < N_IDS_PER_THREAD * N_ID_THREADS; i++) {
    g_assert_true (g_str_has_prefix (ids[i], (i % N_IDS_PER_THREAD) % 2 ? "aud_" : "evt_"));
    g_assert_cmpuint (strlen (ids[i]), <=, 512);   /* the schema's maxLength */
    g_assert_true (g_hash_table_add (seen, ids[i]));
  }
  g_assert_cmpuint (g_hash_table_size (seen), ==, 10000);
  g_free (ids);
}

/* An append's id tells it apart, from any other event's and from another
 * process's append. */
static void
test_event_id_is_audio (void)
{
  g_autofree char *audio = gtr_realtime_new_audio_event_id ();
  g_autofree char *event = gtr_realtime_new_event_id ();
  g_autofree char *tag = g_strndup (audio, strlen ("aud_00000000_"));
  g_autofree char *other = g_strdup (audio);
  g_autofree char *append_id = NULL, *commit_id = NULL;
  g_autofree char *append = gtr_realtime_build_input_audio_buffer_append (NULL, 0, &append_id);
  g_autofree char *commit = gtr_realtime_build_input_audio_buffer_commit (&commit_id);

  g_assert_true (gtr_realtime_event_id_is_audio (audio));
  g_assert_true (gtr_realtime_event_id_is_audio (append_id));
  g_assert_false (gtr_realtime_event_id_is_audio (event));
  g_assert_false (gtr_realtime_event_id_is_audio (commit_id));
  g_assert_false (gtr_realtime_event_id_is_audio (tag));     /* no number */
  g_assert_false (gtr_realtime_event_id_is_audio (NULL));
  g_assert_false (gtr_realtime_event_id_is_audio (""));
  /* the same form with another process's tag */
  other[4] = other[4] == '0' ? '1' : '0';
  g_assert_false (gtr_realtime_event_id_is_audio (other));
}

static void
test_builders_ids_differ (void)
{
  g_autofree char *a = NULL, *b = NULL;
  g_autofree char *t1 = gtr_realtime_build_input_audio_buffer_commit (&a);
  g_autofree char *t2 = gtr_realtime_build_input_audio_buffer_commit (&b);

  g_assert_cmpstr (a, !=, b);
  g_assert_cmpstr (t1, !=, t2);
}

/* ------------------------------------------------------------------ */
/* session.update                                                       */

static void
test_session_minimal (void)
{
  GtrRealtimeSessionConfig config;
  JsonNode *root;
  g_autofree char *event_id = NULL;

  gtr_realtime_session_config_init (&config);
  event_id = build_session (&config, &root);
  /* Nothing set: nothing but the session type. */
  g_assert_cmpuint (object_size_at (root, ""), ==, 3);
  g_assert_cmpuint (object_size_at (root, "session"), ==, 1);
  json_node_unref (root);
  gtr_realtime_session_config_clear (&config);
}

static void
test_session_full (void)
{
  GtrRealtimeSessionConfig c;
  JsonNode *root;
  g_autofree char *event_id = NULL;

  gtr_realtime_session_config_init (&c);
  c.input_format = GTR_AUDIO_FORMAT_PCMU;
  c.output_format = GTR_AUDIO_FORMAT_PCMU;
  c.noise_reduction = GTR_NOISE_REDUCTION_NEAR_FIELD;
  c.transcription_model = g_strdup ("gpt-4o-transcribe");
  c.transcription_language = g_strdup ("de");
  c.transcription_prompt = g_strdup ("Namen von Städten");
  c.turn_detection = GTR_TURN_DETECTION_SERVER_VAD;
  c.vad_threshold = 0.6;
  c.prefix_padding_ms = 300;
  c.silence_duration_ms = 500;
  c.idle_timeout_ms = 6000;
  c.create_response = 1;
  c.interrupt_response = 0;
  c.voice = g_strdup ("marin");
  c.speed = 1.25;
  c.audio_only = TRUE;
  c.instructions = g_strdup ("Be brief. \"Quoted\"\n");
  c.max_output_tokens = 4096;
  c.tools_json = g_strdup ("[{\"type\":\"function\",\"name\":\"lookup\",\"parameters\":{\"type\":\"object\"}}]");
  c.tool_choice = g_strdup ("lookup");

  event_id = build_session (&c, &root);
  assert_string_at (root, "session.audio.input.format.type", "audio/pcmu");
  g_assert_cmpuint (object_size_at (root, "session.audio.input.format"), ==, 1);
  assert_string_at (root, "session.audio.input.noise_reduction.type", "near_field");
  assert_string_at (root, "session.audio.input.transcription.model", "gpt-4o-transcribe");
  assert_string_at (root, "session.audio.input.transcription.language", "de");
  assert_string_at (root, "session.audio.input.transcription.prompt", "Namen von Städten");
  assert_string_at (root, "session.audio.input.turn_detection.type", "server_vad");
  assert_double_at (root, "session.audio.input.turn_detection.threshold", 0.6);
  assert_int_at (root, "session.audio.input.turn_detection.prefix_padding_ms", 300);
  assert_int_at (root, "session.audio.input.turn_detection.silence_duration_ms", 500);
  assert_int_at (root, "session.audio.input.turn_detection.idle_timeout_ms", 6000);
  assert_bool_at (root, "session.audio.input.turn_detection.create_response", TRUE);
  assert_bool_at (root, "session.audio.input.turn_detection.interrupt_response", FALSE);
  g_assert_cmpuint (object_size_at (root, "session.audio.input.turn_detection"), ==, 7);
  assert_string_at (root, "session.audio.output.format.type", "audio/pcmu");
  assert_string_at (root, "session.audio.output.voice", "marin");
  assert_double_at (root, "session.audio.output.speed", 1.25);
  assert_string_at (root, "session.output_modalities.0", "audio");
  assert_string_at (root, "session.instructions", "Be brief. \"Quoted\"\n");
  assert_int_at (root, "session.max_output_tokens", 4096);
  assert_string_at (root, "session.tools.0.name", "lookup");
  assert_string_at (root, "session.tools.0.parameters.type", "object");
  assert_string_at (root, "session.tool_choice.type", "function");
  assert_string_at (root, "session.tool_choice.name", "lookup");
  json_node_unref (root);
  gtr_realtime_session_config_clear (&c);
}

static void
test_session_formats (void)
{
  static const GtrAudioFormat formats[] = {
    GTR_AUDIO_FORMAT_PCMU, GTR_AUDIO_FORMAT_PCMA, GTR_AUDIO_FORMAT_PCM24K,
  };
  guint i, j;

  for (i = 0; i < G_N_ELEMENTS (formats); i++) {
    for (j = 0; j < G_N_ELEMENTS (formats); j++) {
      GtrRealtimeSessionConfig c;
      JsonNode *root;
      g_autofree char *id = NULL;

      gtr_realtime_session_config_init (&c);
      c.input_format = formats[i];
      c.output_format = formats[j];
      id = build_session (&c, &root);
      assert_string_at (root, "session.audio.input.format.type", gtr_audio_format_type_name (formats[i]));
      assert_string_at (root, "session.audio.output.format.type", gtr_audio_format_type_name (formats[j]));
      /* PCM always carries its rate; G.711 carries nothing else. */
      if (formats[i] == GTR_AUDIO_FORMAT_PCM24K)
        assert_int_at (root, "session.audio.input.format.rate", 24000);
      else
        assert_absent (root, "session.audio.input.format.rate");
      if (formats[j] == GTR_AUDIO_FORMAT_PCM24K)
        assert_int_at (root, "session.audio.output.format.rate", 24000);
      else
        assert_absent (root, "session.audio.output.format.rate");
      json_node_unref (root);
      gtr_realtime_session_config_clear (&c);
    }
  }
}

static void
test_session_noise_reduction (void)
{
  GtrRealtimeSessionConfig c;
  JsonNode *root;
  char *id;

  gtr_realtime_session_config_init (&c);
  c.noise_reduction = GTR_NOISE_REDUCTION_OFF;
  id = build_session (&c, &root);
  assert_absent (root, "session.audio.input.noise_reduction");
  json_node_unref (root);
  g_free (id);

  c.noise_reduction = GTR_NOISE_REDUCTION_FAR_FIELD;
  id = build_session (&c, &root);
  assert_string_at (root, "session.audio.input.noise_reduction.type", "far_field");
  g_assert_cmpuint (object_size_at (root, "session.audio.input.noise_reduction"), ==, 1);
  json_node_unref (root);
  g_free (id);

  c.noise_reduction = GTR_NOISE_REDUCTION_UNSET;
  id = build_session (&c, &root);
  assert_absent (root, "session.audio");
  json_node_unref (root);
  g_free (id);
}

static void
test_session_turn_detection (void)
{
  GtrRealtimeSessionConfig c;
  JsonNode *root;
  char *id;

  gtr_realtime_session_config_init (&c);
  /* Every VAD field set: semantic_vad carries only the fields it allows. */
  c.vad_threshold = 0.5;
  c.prefix_padding_ms = 200;
  c.silence_duration_ms = 700;
  c.idle_timeout_ms = 5000;
  c.create_response = 0;
  c.interrupt_response = 1;
  c.eagerness = g_strdup ("high");

  c.turn_detection = GTR_TURN_DETECTION_SEMANTIC_VAD;
  id = build_session (&c, &root);
  assert_string_at (root, "session.audio.input.turn_detection.type", "semantic_vad");
  assert_string_at (root, "session.audio.input.turn_detection.eagerness", "high");
  assert_bool_at (root, "session.audio.input.turn_detection.create_response", FALSE);
  assert_bool_at (root, "session.audio.input.turn_detection.interrupt_response", TRUE);
  g_assert_cmpuint (object_size_at (root, "session.audio.input.turn_detection"), ==, 4);
  json_node_unref (root);
  g_free (id);

  c.turn_detection = GTR_TURN_DETECTION_SERVER_VAD;
  id = build_session (&c, &root);
  assert_string_at (root, "session.audio.input.turn_detection.type", "server_vad");
  assert_absent (root, "session.audio.input.turn_detection.eagerness");
  assert_int_at (root, "session.audio.input.turn_detection.idle_timeout_ms", 5000);
  json_node_unref (root);
  g_free (id);

  c.turn_detection = GTR_TURN_DETECTION_NONE;
  id = build_session (&c, &root);
  assert_null_at (root, "session.audio.input.turn_detection");
  json_node_unref (root);
  g_free (id);

  /* Only what is set: server_vad with nothing else is just its type. */
  gtr_realtime_session_config_clear (&c);
  c.turn_detection = GTR_TURN_DETECTION_SERVER_VAD;
  id = build_session (&c, &root);
  g_assert_cmpuint (object_size_at (root, "session.audio.input.turn_detection"), ==, 1);
  json_node_unref (root);
  g_free (id);
}

static void
test_session_transcription (void)
{
  GtrRealtimeSessionConfig c;
  JsonNode *root;
  char *id;

  /* Language and prompt without a model: transcription stays off. */
  gtr_realtime_session_config_init (&c);
  c.transcription_language = g_strdup ("en");
  c.transcription_prompt = g_strdup ("hello");
  id = build_session (&c, &root);
  assert_absent (root, "session.audio");
  json_node_unref (root);
  g_free (id);

  c.transcription_model = g_strdup ("whisper-1");
  g_clear_pointer (&c.transcription_prompt, g_free);
  id = build_session (&c, &root);
  assert_string_at (root, "session.audio.input.transcription.model", "whisper-1");
  assert_string_at (root, "session.audio.input.transcription.language", "en");
  assert_absent (root, "session.audio.input.transcription.prompt");
  json_node_unref (root);
  g_free (id);
  gtr_realtime_session_config_clear (&c);
}

static void
test_session_tool_choice (void)
{
  static const char *const modes[] = { "auto", "none", "required" };
  GtrRealtimeSessionConfig c;
  JsonNode *root;
  guint i;

  gtr_realtime_session_config_init (&c);
  for (i = 0; i < G_N_ELEMENTS (modes); i++) {
    g_autofree char *id = NULL;
    g_free (c.tool_choice);
    c.tool_choice = g_strdup (modes[i]);
    id = build_session (&c, &root);
    assert_string_at (root, "session.tool_choice", modes[i]);
    json_node_unref (root);
  }
  gtr_realtime_session_config_clear (&c);
}

static void
test_session_max_output_tokens (void)
{
  GtrRealtimeSessionConfig c;
  JsonNode *root;
  char *id;

  gtr_realtime_session_config_init (&c);
  c.max_output_tokens = -1;
  id = build_session (&c, &root);
  assert_string_at (root, "session.max_output_tokens", "inf");
  json_node_unref (root);
  g_free (id);

  c.max_output_tokens = 1;
  id = build_session (&c, &root);
  assert_int_at (root, "session.max_output_tokens", 1);
  json_node_unref (root);
  g_free (id);
}

/* A config that fails with BAD_VALUE, the message naming `field`. */
typedef struct {
  const char *field;
  void (*set) (GtrRealtimeSessionConfig *c);
} BadConfig;

static void set_speed_low (GtrRealtimeSessionConfig *c) { c->speed = 0.2; }
static void set_speed_high (GtrRealtimeSessionConfig *c) { c->speed = 1.51; }
static void set_speed_nan (GtrRealtimeSessionConfig *c) { c->speed = NAN; }
static void set_speed_inf (GtrRealtimeSessionConfig *c) { c->speed = INFINITY; }
static void set_tokens_high (GtrRealtimeSessionConfig *c) { c->max_output_tokens = 4097; }
static void set_tokens_neg (GtrRealtimeSessionConfig *c) { c->max_output_tokens = -2; }
static void set_threshold_high (GtrRealtimeSessionConfig *c) { c->turn_detection = GTR_TURN_DETECTION_SERVER_VAD; c->vad_threshold = 1.01; }
static void set_threshold_nan (GtrRealtimeSessionConfig *c) { c->turn_detection = GTR_TURN_DETECTION_SERVER_VAD; c->vad_threshold = NAN; }
static void set_idle_low (GtrRealtimeSessionConfig *c) { c->turn_detection = GTR_TURN_DETECTION_SERVER_VAD; c->idle_timeout_ms = 4999; }
static void set_idle_high (GtrRealtimeSessionConfig *c) { c->turn_detection = GTR_TURN_DETECTION_SERVER_VAD; c->idle_timeout_ms = 30001; }
static void set_eagerness (GtrRealtimeSessionConfig *c) { c->turn_detection = GTR_TURN_DETECTION_SEMANTIC_VAD; c->eagerness = g_strdup ("fast"); }
static void set_create_response (GtrRealtimeSessionConfig *c) { c->turn_detection = GTR_TURN_DETECTION_SEMANTIC_VAD; c->create_response = 2; }
static void set_interrupt_response (GtrRealtimeSessionConfig *c) { c->turn_detection = GTR_TURN_DETECTION_SERVER_VAD; c->interrupt_response = -7; }
static void set_input_format (GtrRealtimeSessionConfig *c) { c->input_format = (GtrAudioFormat) 42; }
static void set_output_format (GtrRealtimeSessionConfig *c) { c->output_format = (GtrAudioFormat) 42; }
static void set_noise (GtrRealtimeSessionConfig *c) { c->noise_reduction = (GtrNoiseReduction) 42; }
static void set_turn (GtrRealtimeSessionConfig *c) { c->turn_detection = (GtrTurnDetection) 42; }
static void set_tools_not_json (GtrRealtimeSessionConfig *c) { c->tools_json = g_strdup ("[{"); }
static void set_tools_empty_text (GtrRealtimeSessionConfig *c) { c->tools_json = g_strdup (""); }
static void set_tools_object (GtrRealtimeSessionConfig *c) { c->tools_json = g_strdup ("{\"type\":\"function\"}"); }
static void set_tools_scalars (GtrRealtimeSessionConfig *c) { c->tools_json = g_strdup ("[{\"type\":\"function\",\"name\":\"a\"}, 3]"); }
static void set_tools_string (GtrRealtimeSessionConfig *c) { c->tools_json = g_strdup ("\"lookup\""); }
static void set_tool_choice_empty (GtrRealtimeSessionConfig *c) { c->tool_choice = g_strdup (""); }

static const BadConfig bad_configs[] = {
  { "session.audio.output.speed", set_speed_low },
  { "session.audio.output.speed", set_speed_high },
  { "session.audio.output.speed", set_speed_nan },
  { "session.audio.output.speed", set_speed_inf },
  { "session.max_output_tokens", set_tokens_high },
  { "session.max_output_tokens", set_tokens_neg },
  { "session.audio.input.turn_detection.threshold", set_threshold_high },
  { "session.audio.input.turn_detection.threshold", set_threshold_nan },
  { "session.audio.input.turn_detection.idle_timeout_ms", set_idle_low },
  { "session.audio.input.turn_detection.idle_timeout_ms", set_idle_high },
  { "session.audio.input.turn_detection.eagerness", set_eagerness },
  { "session.audio.input.turn_detection.create_response", set_create_response },
  { "session.audio.input.turn_detection.interrupt_response", set_interrupt_response },
  { "session.audio.input.format", set_input_format },
  { "session.audio.output.format", set_output_format },
  { "session.audio.input.noise_reduction", set_noise },
  { "session.audio.input.turn_detection", set_turn },
  { "session.tools", set_tools_not_json },
  { "session.tools", set_tools_empty_text },
  { "session.tools", set_tools_object },
  { "session.tools", set_tools_scalars },
  { "session.tools", set_tools_string },
  { "session.tool_choice", set_tool_choice_empty },
};

static void
test_session_rejects (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad_configs); i++) {
    GtrRealtimeSessionConfig c;
    GError *error = NULL;
    char *event_id = NULL;
    char *text;

    gtr_realtime_session_config_init (&c);
    bad_configs[i].set (&c);
    text = gtr_realtime_build_session_update (&c, &event_id, &error);
    g_test_message ("case %u: %s", i, error != NULL ? error->message : "(accepted)");
    g_assert_null (text);
    g_assert_null (event_id);
    g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE);
    g_assert_true (g_str_has_prefix (error->message, bad_configs[i].field));
    g_error_free (error);
    gtr_realtime_session_config_clear (&c);
  }
}

static void
test_session_range_edges (void)
{
  GtrRealtimeSessionConfig c;
  JsonNode *root;
  char *id;

  /* The schema's bounds themselves are accepted. */
  gtr_realtime_session_config_init (&c);
  c.speed = 0.25;
  c.turn_detection = GTR_TURN_DETECTION_SERVER_VAD;
  c.vad_threshold = 0.0;
  c.idle_timeout_ms = 30000;
  id = build_session (&c, &root);
  assert_double_at (root, "session.audio.output.speed", 0.25);
  assert_double_at (root, "session.audio.input.turn_detection.threshold", 0.0);
  assert_int_at (root, "session.audio.input.turn_detection.idle_timeout_ms", 30000);
  json_node_unref (root);
  g_free (id);

  c.speed = 1.5;
  c.vad_threshold = 1.0;
  c.idle_timeout_ms = 5000;
  id = build_session (&c, &root);
  assert_double_at (root, "session.audio.output.speed", 1.5);
  assert_double_at (root, "session.audio.input.turn_detection.threshold", 1.0);
  json_node_unref (root);
  g_free (id);
}

/* ------------------------------------------------------------------ */
/* The classic noise bug cannot come back                               */

static const char *const forbidden_keys[] = {
  "temperature", "input_audio_format", "output_audio_format", "modalities",
  "input_audio_transcription", "input_audio_noise_reduction", "OpenAI-Beta",
  NULL,
};

/* Walks the whole tree: no forbidden key anywhere, noise_reduction only an
 * object or null, every format an object (the beta shape was a string such
 * as "g711_ulaw"), turn_detection never at the session's top level. */
static void
walk_no_beta (JsonNode *node, const char *key, guint depth)
{
  if (g_strcmp0 (key, "noise_reduction") == 0)
    g_assert_true (JSON_NODE_HOLDS_OBJECT (node) || JSON_NODE_HOLDS_NULL (node));
  if (g_strcmp0 (key, "format") == 0)
    g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObjectIter iter;
    const char *member;
    JsonNode *child;

    json_object_iter_init (&iter, json_node_get_object (node));
    while (json_object_iter_next (&iter, &member, &child)) {
      if (g_strv_contains (forbidden_keys, member))
        g_error ("forbidden key \"%s\" emitted", member);
      if (depth == 1 && g_strcmp0 (key, "session") == 0 &&
          strcmp (member, "turn_detection") == 0)
        g_error ("turn_detection at the session's top level (beta shape)");
      walk_no_beta (child, member, depth + 1);
    }
  } else if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);
    guint i;
    for (i = 0; i < json_array_get_length (array); i++)
      walk_no_beta (json_array_get_element (array, i), NULL, depth + 1);
  }
}

/* Builds the update for `c`; if it is accepted, checks the whole tree.
 * Returns whether it was accepted. */
static gboolean
check_no_beta (const GtrRealtimeSessionConfig *c)
{
  GError *error = NULL;
  char *text = gtr_realtime_build_session_update (c, NULL, &error);
  JsonNode *root;

  if (text == NULL) {
    g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_BAD_VALUE);
    g_error_free (error);
    return FALSE;
  }
  g_assert_no_error (error);
  root = parse_json (text);
  walk_no_beta (root, NULL, 0);
  json_node_unref (root);
  g_free (text);
  return TRUE;
}

static void
test_noise_bug_all_combinations (void)
{
  static const char *const eagerness[] = { NULL, "low", "medium", "high", "auto" };
  guint in, out, nr, td, ea, cr, ir, accepted = 0, noise_objects = 0;

  for (in = 0; in <= GTR_AUDIO_FORMAT_PCM24K; in++)
  for (out = 0; out <= GTR_AUDIO_FORMAT_PCM24K; out++)
  for (nr = 0; nr <= GTR_NOISE_REDUCTION_FAR_FIELD; nr++)
  for (td = 0; td <= GTR_TURN_DETECTION_NONE; td++)
  for (ea = 0; ea < G_N_ELEMENTS (eagerness); ea++)
  for (cr = 0; cr < 3; cr++)
  for (ir = 0; ir < 3; ir++) {
    GtrRealtimeSessionConfig c;

    gtr_realtime_session_config_init (&c);
    c.input_format = in;
    c.output_format = out;
    c.noise_reduction = nr;
    c.turn_detection = td;
    c.eagerness = g_strdup (eagerness[ea]);
    c.create_response = (gint) cr - 1;
    c.interrupt_response = (gint) ir - 1;
    c.vad_threshold = 0.5;
    c.audio_only = (in + out) % 2;
    accepted += check_no_beta (&c);
    noise_objects += nr >= GTR_NOISE_REDUCTION_NEAR_FIELD;
    gtr_realtime_session_config_clear (&c);
  }
  /* All of them are valid configurations. */
  g_assert_cmpuint (accepted, ==, 4 * 4 * 4 * 4 * 5 * 3 * 3);
  g_assert_cmpuint (noise_objects, >, 0);
}

static gdouble
random_extreme_double (GRand *rand)
{
  static const gdouble extremes[] = { -1.0, 0.0, 0.25, 1.5, 1.0, 1e308, -1e308, NAN, INFINITY, -INFINITY };

  if (g_rand_boolean (rand))
    return extremes[g_rand_int_range (rand, 0, G_N_ELEMENTS (extremes))];
  return g_rand_double_range (rand, -2.0, 5000.0);
}

static gint
random_extreme_int (GRand *rand)
{
  static const gint extremes[] = { G_MININT, -2, -1, 0, 1, 4096, 4097, 5000, 30000, G_MAXINT };

  if (g_rand_boolean (rand))
    return extremes[g_rand_int_range (rand, 0, G_N_ELEMENTS (extremes))];
  return g_rand_int_range (rand, -100000, 100000);
}

static char *
random_string (GRand *rand)
{
  static const char *const strings[] = {
    NULL, "", "auto", "low", "near_field", "temperature", "\"", "g711_ulaw", "é\n\t",
  };
  return g_strdup (strings[g_rand_int_range (rand, 0, G_N_ELEMENTS (strings))]);
}

static void
test_noise_bug_random (void)
{
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());
  guint i, accepted = 0;

  for (i = 0; i < 20000; i++) {
    GtrRealtimeSessionConfig c;

    gtr_realtime_session_config_init (&c);
    c.input_format = g_rand_int_range (rand, 0, 5);
    c.output_format = g_rand_int_range (rand, 0, 5);
    c.noise_reduction = g_rand_int_range (rand, 0, 5);
    c.turn_detection = g_rand_int_range (rand, 0, 5);
    c.vad_threshold = random_extreme_double (rand);
    c.speed = random_extreme_double (rand);
    c.prefix_padding_ms = random_extreme_int (rand);
    c.silence_duration_ms = random_extreme_int (rand);
    c.idle_timeout_ms = random_extreme_int (rand);
    c.create_response = g_rand_int_range (rand, -2, 3);
    c.interrupt_response = g_rand_int_range (rand, -2, 3);
    c.max_output_tokens = random_extreme_int (rand);
    c.eagerness = random_string (rand);
    c.voice = random_string (rand);
    c.transcription_model = random_string (rand);
    c.transcription_language = random_string (rand);
    c.instructions = random_string (rand);
    c.tool_choice = random_string (rand);
    c.audio_only = g_rand_boolean (rand);
    accepted += check_no_beta (&c);
    gtr_realtime_session_config_clear (&c);
  }
  g_test_message ("%u of 20000 random configurations accepted", accepted);
  g_assert_cmpuint (accepted, >, 0);
  g_rand_free (rand);
}

/* ------------------------------------------------------------------ */
/* Other client events                                                  */

static void
test_build_append (void)
{
  static const guint8 audio[] = { 0xff, 0x7f, 0x00, 0x80, 0xd5, 0x55, 0x01 };
  g_autofree char *event_id = NULL, *empty_id = NULL;
  g_autofree char *text = gtr_realtime_build_input_audio_buffer_append (audio, sizeof audio, &event_id);
  g_autofree char *empty = gtr_realtime_build_input_audio_buffer_append (NULL, 0, &empty_id);
  JsonNode *root = check_envelope (text, "input_audio_buffer.append", event_id);
  g_autofree guchar *decoded = NULL;
  gsize len;

  decoded = g_base64_decode (json_node_get_string (node_at (root, "audio")), &len);
  g_assert_cmpmem (decoded, len, audio, sizeof audio);
  g_assert_cmpuint (object_size_at (root, ""), ==, 3);
  json_node_unref (root);

  root = check_envelope (empty, "input_audio_buffer.append", empty_id);
  assert_string_at (root, "audio", "");
  json_node_unref (root);
}

static void
test_build_commit_clear (void)
{
  g_autofree char *id1 = NULL, *id2 = NULL;
  g_autofree char *commit = gtr_realtime_build_input_audio_buffer_commit (&id1);
  g_autofree char *clear = gtr_realtime_build_input_audio_buffer_clear (&id2);
  JsonNode *root;

  root = check_envelope (commit, "input_audio_buffer.commit", id1);
  g_assert_cmpuint (object_size_at (root, ""), ==, 2);
  json_node_unref (root);
  root = check_envelope (clear, "input_audio_buffer.clear", id2);
  g_assert_cmpuint (object_size_at (root, ""), ==, 2);
  json_node_unref (root);
}

static void
test_build_user_text (void)
{
  const char *said = "Caller pressed \"5\" \\ {not json} ünïcödé\n";
  g_autofree char *id = NULL;
  g_autofree char *text = gtr_realtime_build_user_text (said, &id);
  JsonNode *root = check_envelope (text, "conversation.item.create", id);

  assert_string_at (root, "item.type", "message");
  assert_string_at (root, "item.role", "user");
  assert_string_at (root, "item.content.0.type", "input_text");
  assert_string_at (root, "item.content.0.text", said);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node_at (root, "item.content"))), ==, 1);
  json_node_unref (root);
}

/* What the agent said, carried into a new session: output_text, the one
 * assistant content type that needs no audio. */
static void
test_build_assistant_text (void)
{
  const char *said = "Your order \"42\" ships today. ünïcödé\n";
  g_autofree char *id = NULL;
  g_autofree char *text = gtr_realtime_build_assistant_text (said, &id);
  JsonNode *root = check_envelope (text, "conversation.item.create", id);

  assert_string_at (root, "item.type", "message");
  assert_string_at (root, "item.role", "assistant");
  assert_string_at (root, "item.content.0.type", "output_text");
  assert_string_at (root, "item.content.0.text", said);
  g_assert_cmpuint (object_size_at (root, "item"), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node_at (root, "item.content"))), ==, 1);
  json_node_unref (root);
}

static void
test_build_function_call_output (void)
{
  const char *output = "{\"temperature_c\": 21, \"city\": \"Zürich\"}";
  g_autofree char *id = NULL;
  g_autofree char *text = gtr_realtime_build_function_call_output ("call_abc", output, &id);
  JsonNode *root = check_envelope (text, "conversation.item.create", id);

  assert_string_at (root, "item.type", "function_call_output");
  assert_string_at (root, "item.call_id", "call_abc");
  /* The output travels as a string, exactly as given. */
  assert_string_at (root, "item.output", output);
  g_assert_cmpuint (object_size_at (root, "item"), ==, 3);
  json_node_unref (root);
}

static void
test_build_response_create (void)
{
  g_autofree char *id1 = NULL, *id2 = NULL;
  g_autofree char *plain = gtr_realtime_build_response_create (NULL, &id1);
  g_autofree char *greet = gtr_realtime_build_response_create ("Say exactly: \"Hello, this is Ada.\"", &id2);
  JsonNode *root;

  root = check_envelope (plain, "response.create", id1);
  assert_absent (root, "response");
  json_node_unref (root);
  root = check_envelope (greet, "response.create", id2);
  assert_string_at (root, "response.instructions", "Say exactly: \"Hello, this is Ada.\"");
  g_assert_cmpuint (object_size_at (root, "response"), ==, 1);
  json_node_unref (root);
}

static void
test_build_response_cancel (void)
{
  g_autofree char *id1 = NULL, *id2 = NULL;
  g_autofree char *any = gtr_realtime_build_response_cancel (NULL, &id1);
  g_autofree char *one = gtr_realtime_build_response_cancel ("resp_123", &id2);
  JsonNode *root;

  root = check_envelope (any, "response.cancel", id1);
  assert_absent (root, "response_id");
  json_node_unref (root);
  root = check_envelope (one, "response.cancel", id2);
  assert_string_at (root, "response_id", "resp_123");
  json_node_unref (root);
}

static void
test_build_truncate (void)
{
  g_autofree char *id = NULL;
  g_autofree char *text = gtr_realtime_build_item_truncate ("item_9", 0, G_GINT64_CONSTANT (123456789012), &id);
  JsonNode *root = check_envelope (text, "conversation.item.truncate", id);

  assert_string_at (root, "item_id", "item_9");
  assert_int_at (root, "content_index", 0);
  assert_int_at (root, "audio_end_ms", G_GINT64_CONSTANT (123456789012));
  json_node_unref (root);
}

/* Each builder's event, described back: what an error names. */
static void
assert_described (char *json, const char *want_type, const char *want_id,
    const char *want_subject)
{
  g_autofree char *type = NULL, *id = NULL, *subject = NULL;

  g_assert_true (gtr_realtime_client_event_describe (json, &type, &id, &subject));
  g_assert_cmpstr (type, ==, want_type);
  g_assert_cmpstr (id, ==, want_id);
  g_assert_cmpstr (subject, ==, want_subject);
  g_free (json);
}

static void
test_describe_client_events (void)
{
  char *id = NULL;
  g_autofree char *type = NULL, *event_id = NULL, *subject = NULL;
  char *json;

  json = gtr_realtime_build_item_truncate ("item_9", 0, 500, &id);
  assert_described (json, "conversation.item.truncate", id, "item item_9");
  g_free (id);
  json = gtr_realtime_build_function_call_output ("call_7", "{}", &id);
  assert_described (json, "conversation.item.create", id, "call call_7");
  g_free (id);
  json = gtr_realtime_build_response_cancel ("resp_3", &id);
  assert_described (json, "response.cancel", id, "response resp_3");
  g_free (id);
  json = gtr_realtime_build_user_text ("The caller pressed 5.", &id);
  assert_described (json, "conversation.item.create", id, NULL);
  g_free (id);
  json = gtr_realtime_build_response_create (NULL, &id);
  assert_described (json, "response.create", id, NULL);
  g_free (id);

  g_assert_false (gtr_realtime_client_event_describe ("{not json", &type, &event_id, &subject));
  g_assert_false (gtr_realtime_client_event_describe ("[1]", &type, &event_id, &subject));
  g_assert_false (gtr_realtime_client_event_describe ("{\"type\":\"response.create\"}",
          &type, &event_id, &subject));
  g_assert_null (type);
  g_assert_null (event_id);
  g_assert_null (subject);
}

static void
test_build_null_event_id (void)
{
  g_autofree char *text = gtr_realtime_build_input_audio_buffer_clear (NULL);
  JsonNode *root = parse_json (text);

  /* Without a place to return it, the event still carries an id. */
  g_assert_true (g_str_has_prefix (json_node_get_string (node_at (root, "event_id")), "evt_"));
  json_node_unref (root);
}

/* ------------------------------------------------------------------ */
/* Server events: samples shaped as RealtimeServerEvent*                */

typedef struct {
  const char *file;      /* name in tests/fuzz/corpus/realtime/ */
  GtrRealtimeEventType type;
  const char *json;
} Sample;

#define SESSION_GA(id, fmt_in, fmt_out) \
  "{\"type\":\"realtime\",\"object\":\"realtime.session\",\"id\":\"" id "\"," \
  "\"model\":\"gpt-realtime\",\"output_modalities\":[\"audio\"]," \
  "\"instructions\":\"You are a helpful assistant.\",\"tools\":[],\"tool_choice\":\"auto\"," \
  "\"max_output_tokens\":\"inf\",\"tracing\":null,\"truncation\":\"auto\"," \
  "\"expires_at\":1756324625," \
  "\"audio\":{\"input\":{\"format\":" fmt_in "," \
  "\"noise_reduction\":{\"type\":\"near_field\"}," \
  "\"turn_detection\":{\"type\":\"server_vad\",\"threshold\":0.5,\"prefix_padding_ms\":300," \
  "\"silence_duration_ms\":200,\"idle_timeout_ms\":null,\"create_response\":true,\"interrupt_response\":true}}," \
  "\"output\":{\"format\":" fmt_out ",\"voice\":\"marin\",\"speed\":1}}}"

#define USAGE \
  "{\"total_tokens\":253,\"input_tokens\":132,\"output_tokens\":121," \
  "\"input_token_details\":{\"text_tokens\":119,\"audio_tokens\":13,\"image_tokens\":0,\"cached_tokens\":64," \
  "\"cached_tokens_details\":{\"text_tokens\":64,\"audio_tokens\":0,\"image_tokens\":0}}," \
  "\"output_token_details\":{\"text_tokens\":30,\"audio_tokens\":91}}"

static const Sample samples[] = {
  { "error.json", GTR_RT_EVENT_ERROR,
    "{\"type\":\"error\",\"event_id\":\"event_890\",\"error\":{\"type\":\"invalid_request_error\","
    "\"code\":\"unknown_parameter\",\"message\":\"Unknown parameter: 'session.temperature'.\","
    "\"param\":\"session.temperature\",\"event_id\":\"evt_0000abcd_7_0001\"}}" },
  { "session-created.json", GTR_RT_EVENT_SESSION_CREATED,
    "{\"type\":\"session.created\",\"event_id\":\"event_C9G5RJeJ2gF77mV7f2B1j\",\"session\":"
    SESSION_GA ("sess_C9G5QPteg4UIbotdKLoYQ", "{\"type\":\"audio/pcm\",\"rate\":24000}",
        "{\"type\":\"audio/pcm\",\"rate\":24000}") "}" },
  { "session-updated.json", GTR_RT_EVENT_SESSION_UPDATED,
    "{\"type\":\"session.updated\",\"event_id\":\"event_C9G8mqI3IucaojlVKE8Cs\",\"session\":"
    SESSION_GA ("sess_C9G5QPteg4UIbotdKLoYQ", "{\"type\":\"audio/pcmu\"}", "{\"type\":\"audio/pcma\"}") "}" },
  { "speech-started.json", GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STARTED,
    "{\"type\":\"input_audio_buffer.speech_started\",\"event_id\":\"event_1516\","
    "\"audio_start_ms\":1000,\"item_id\":\"msg_003\"}" },
  { "speech-stopped.json", GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STOPPED,
    "{\"type\":\"input_audio_buffer.speech_stopped\",\"event_id\":\"event_1718\","
    "\"audio_end_ms\":2000,\"item_id\":\"msg_003\"}" },
  { "committed.json", GTR_RT_EVENT_INPUT_AUDIO_BUFFER_COMMITTED,
    "{\"type\":\"input_audio_buffer.committed\",\"event_id\":\"event_1121\","
    "\"previous_item_id\":\"msg_001\",\"item_id\":\"msg_002\"}" },
  { "item-added.json", GTR_RT_EVENT_CONVERSATION_ITEM_ADDED,
    "{\"type\":\"conversation.item.added\",\"event_id\":\"event_C9G8pjSJCfRNEhMEnYAVy\","
    "\"previous_item_id\":null,\"item\":{\"id\":\"item_C9G8pGVKYnaZu8PH5YQ9O\",\"type\":\"message\","
    "\"status\":\"completed\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}}" },
  { "item-done.json", GTR_RT_EVENT_CONVERSATION_ITEM_DONE,
    "{\"type\":\"conversation.item.done\",\"event_id\":\"event_CCXLgMZPo3qioWCeQa4WH\","
    "\"previous_item_id\":\"item_CCXLecNJVIVR2HUy3ABLj\",\"item\":{\"id\":\"item_CCXLfxmM5sXVJVz4mCa2S\","
    "\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\","
    "\"content\":[{\"type\":\"output_audio\",\"transcript\":\"Oh, I can hear you loud and clear!\"}]}}" },
  { "item-done-function-call.json", GTR_RT_EVENT_CONVERSATION_ITEM_DONE,
    "{\"type\":\"conversation.item.done\",\"event_id\":\"event_fc1\",\"previous_item_id\":\"item_1\","
    "\"item\":{\"id\":\"item_fc\",\"object\":\"realtime.item\",\"type\":\"function_call\",\"status\":\"completed\","
    "\"name\":\"lookup_order\",\"call_id\":\"call_42\",\"arguments\":\"{\\\"order\\\":\\\"A17\\\"}\"}}" },
  { "item-truncated.json", GTR_RT_EVENT_CONVERSATION_ITEM_TRUNCATED,
    "{\"type\":\"conversation.item.truncated\",\"event_id\":\"event_2526\","
    "\"item_id\":\"msg_004\",\"content_index\":0,\"audio_end_ms\":1500}" },
  { "transcription-completed.json", GTR_RT_EVENT_INPUT_TRANSCRIPTION_COMPLETED,
    "{\"type\":\"conversation.item.input_audio_transcription.completed\",\"event_id\":\"event_CCXGRvtUVrax5SJAnNOWZ\","
    "\"item_id\":\"item_CCXGQ4e1ht4cOraEYcuR2\",\"content_index\":0,\"transcript\":\"Hey, can you hear me?\","
    "\"usage\":{\"type\":\"tokens\",\"total_tokens\":22,\"input_tokens\":13,"
    "\"input_token_details\":{\"text_tokens\":0,\"audio_tokens\":13},\"output_tokens\":9}}" },
  { "transcription-failed.json", GTR_RT_EVENT_INPUT_TRANSCRIPTION_FAILED,
    "{\"type\":\"conversation.item.input_audio_transcription.failed\",\"event_id\":\"event_2324\","
    "\"item_id\":\"msg_003\",\"content_index\":0,\"error\":{\"type\":\"transcription_error\","
    "\"code\":\"audio_unintelligible\",\"message\":\"The audio could not be transcribed.\",\"param\":\"audio\"}}" },
  { "response-created.json", GTR_RT_EVENT_RESPONSE_CREATED,
    "{\"type\":\"response.created\",\"event_id\":\"event_C9G8pqbTEddBSIxbBN6Os\",\"response\":{"
    "\"object\":\"realtime.response\",\"id\":\"resp_C9G8p7IH2WxLbkgPNouYL\",\"status\":\"in_progress\","
    "\"output\":[],\"conversation_id\":\"conv_C9G8mmBkLhQJwCon3hoJN\","
    "\"output_modalities\":[\"audio\"],\"max_output_tokens\":\"inf\",\"audio\":{\"output\":{"
    "\"format\":{\"type\":\"audio/pcmu\"},\"voice\":\"marin\"}},\"metadata\":null}}" },
  { "response-done.json", GTR_RT_EVENT_RESPONSE_DONE,
    "{\"type\":\"response.done\",\"event_id\":\"event_CCXHxcMy86rrKhBLDdqCh\",\"response\":{"
    "\"object\":\"realtime.response\",\"id\":\"resp_CCXHw0UJld10EzIUXQCNh\",\"status\":\"completed\","
    "\"output\":[{\"id\":\"item_CCXHwGjjDUfOXbiySlK7i\",\"type\":\"message\","
    "\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_audio\","
    "\"transcript\":\"Loud and clear!\"}]}],\"conversation_id\":\"conv_CCXHsurMKcaVxIZvaCI5m\","
    "\"output_modalities\":[\"audio\"],\"max_output_tokens\":\"inf\",\"audio\":{\"output\":{"
    "\"format\":{\"type\":\"audio/pcmu\"},\"voice\":\"alloy\"}},\"usage\":" USAGE ",\"metadata\":null}}" },
  { "output-audio-delta.json", GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_DELTA,
    "{\"type\":\"response.output_audio.delta\",\"event_id\":\"event_4950\",\"response_id\":\"resp_001\","
    "\"item_id\":\"msg_008\",\"output_index\":0,\"content_index\":0,\"delta\":\"/39/f3/+\"}" },
  { "output-audio-transcript-delta.json", GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA,
    "{\"type\":\"response.output_audio_transcript.delta\",\"event_id\":\"event_4546\",\"response_id\":\"resp_001\","
    "\"item_id\":\"msg_008\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hello, how can I a\"}" },
  { "output-audio-transcript-done.json", GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE,
    "{\"type\":\"response.output_audio_transcript.done\",\"event_id\":\"event_4748\",\"response_id\":\"resp_001\","
    "\"item_id\":\"msg_008\",\"output_index\":0,\"content_index\":0,"
    "\"transcript\":\"Hello, how can I assist you today?\"}" },
  { "function-call-arguments-done.json", GTR_RT_EVENT_RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE,
    "{\"type\":\"response.function_call_arguments.done\",\"event_id\":\"event_5556\",\"response_id\":\"resp_002\","
    "\"item_id\":\"fc_001\",\"output_index\":0,\"call_id\":\"call_001\",\"name\":\"get_weather\","
    "\"arguments\":\"{\\\"location\\\": \\\"San Francisco\\\"}\"}" },
  { "rate-limits-updated.json", GTR_RT_EVENT_RATE_LIMITS_UPDATED,
    "{\"type\":\"rate_limits.updated\",\"event_id\":\"event_5758\",\"rate_limits\":["
    "{\"name\":\"requests\",\"limit\":1000,\"remaining\":999,\"reset_seconds\":60},"
    "{\"name\":\"tokens\",\"limit\":50000,\"remaining\":49950,\"reset_seconds\":60}]}" },
  { "other-output-audio-done.json", GTR_RT_EVENT_OTHER,
    "{\"type\":\"response.output_audio.done\",\"event_id\":\"event_5152\",\"response_id\":\"resp_001\","
    "\"item_id\":\"msg_008\",\"output_index\":0,\"content_index\":0}" },
  { "other-timeout-triggered.json", GTR_RT_EVENT_OTHER,
    "{\"type\":\"input_audio_buffer.timeout_triggered\",\"event_id\":\"event_CEKKrf1KTGvemCPyiJTJ2\","
    "\"audio_start_ms\":13216,\"audio_end_ms\":19232,\"item_id\":\"item_CEKKrWH0GiwN0ET97NUZc\"}" },
};

static const Sample *
sample_named (const char *file)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (samples); i++)
    if (strcmp (samples[i].file, file) == 0)
      return &samples[i];
  g_assert_not_reached ();
}

static GtrRealtimeServerEvent *
parse_ok (const char *json)
{
  GError *error = NULL;
  GtrRealtimeServerEvent *ev = gtr_realtime_server_event_parse (json, -1, 0, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ev);
  return ev;
}

static GtrRealtimeServerEvent *
parse_sample (const char *file)
{
  const Sample *s = sample_named (file);
  GtrRealtimeServerEvent *ev = parse_ok (s->json);

  g_assert_cmpint (ev->type, ==, s->type);
  return ev;
}

static void
test_parse_all_samples (void)
{
  const char *dir = g_getenv ("GTR_RT_WRITE_SAMPLES");
  guint i;

  for (i = 0; i < G_N_ELEMENTS (samples); i++) {
    g_autoptr (GtrRealtimeServerEvent) ev = parse_ok (samples[i].json);
    g_autoptr (JsonNode) root = parse_json (samples[i].json);

    g_assert_cmpint (ev->type, ==, samples[i].type);
    g_assert_cmpstr (ev->type_name, ==, json_node_get_string (node_at (root, "type")));
    g_assert_cmpstr (ev->event_id, ==, json_node_get_string (node_at (root, "event_id")));
    if (dir != NULL) {
      g_autofree char *path = g_build_filename (dir, samples[i].file, NULL);
      g_autoptr (GError) error = NULL;
      g_file_set_contents (path, samples[i].json, -1, &error);
      g_assert_no_error (error);
    }
  }
}

static void
test_parse_error (void)
{
  g_autoptr (GtrRealtimeServerEvent) ev = parse_sample ("error.json");
  g_autoptr (GtrRealtimeServerEvent) nulls = NULL;

  g_assert_cmpstr (ev->event_id, ==, "event_890");
  g_assert_cmpstr (ev->error_type, ==, "invalid_request_error");
  g_assert_cmpstr (ev->error_code, ==, "unknown_parameter");
  g_assert_cmpstr (ev->error_message, ==, "Unknown parameter: 'session.temperature'.");
  g_assert_cmpstr (ev->error_param, ==, "session.temperature");
  g_assert_cmpstr (ev->error_event_id, ==, "evt_0000abcd_7_0001");

  /* code, param and event_id are nullable in the schema. */
  nulls = parse_ok ("{\"type\":\"error\",\"event_id\":\"e\",\"error\":{\"type\":\"server_error\","
      "\"code\":null,\"message\":\"The server had an error.\",\"param\":null,\"event_id\":null}}");
  g_assert_cmpint (nulls->type, ==, GTR_RT_EVENT_ERROR);
  g_assert_cmpstr (nulls->error_type, ==, "server_error");
  g_assert_cmpstr (nulls->error_message, ==, "The server had an error.");
  g_assert_null (nulls->error_code);
  g_assert_null (nulls->error_param);
  g_assert_null (nulls->error_event_id);
}

static void
test_parse_session (void)
{
  g_autoptr (GtrRealtimeServerEvent) created = parse_sample ("session-created.json");
  g_autoptr (GtrRealtimeServerEvent) updated = parse_sample ("session-updated.json");
  g_autoptr (JsonNode) session = NULL;

  /* The API's defaults: PCM 24 kHz both ways. */
  g_assert_cmpint (created->input_format, ==, GTR_AUDIO_FORMAT_PCM24K);
  g_assert_cmpint (created->output_format, ==, GTR_AUDIO_FORMAT_PCM24K);
  g_assert_cmpstr (created->input_format_desc, ==, "audio/pcm 24000 Hz");
  g_assert_cmpstr (created->session_id, ==, "sess_C9G5QPteg4UIbotdKLoYQ");
  /* when the 60-minute limit falls: the element hands over before it */
  g_assert_cmpint (created->expires_at, ==, 1756324625);

  g_assert_cmpint (updated->input_format, ==, GTR_AUDIO_FORMAT_PCMU);
  g_assert_cmpint (updated->output_format, ==, GTR_AUDIO_FORMAT_PCMA);
  g_assert_cmpstr (updated->input_format_desc, ==, "audio/pcmu");
  g_assert_cmpstr (updated->output_format_desc, ==, "audio/pcma");
  session = parse_json (updated->session_json);
  assert_string_at (session, "id", "sess_C9G5QPteg4UIbotdKLoYQ");
  assert_string_at (session, "audio.output.voice", "marin");
  assert_string_at (session, "audio.input.noise_reduction.type", "near_field");
}

static void
test_parse_session_formats (void)
{
  static const struct {
    const char *format;
    GtrAudioFormat expected;
    const char *desc;
  } cases[] = {
    { "{\"type\":\"audio/pcm\",\"rate\":16000}", GTR_AUDIO_FORMAT_UNSET, "audio/pcm 16000 Hz" },
    { "{\"type\":\"audio/pcm\",\"rate\":24000}", GTR_AUDIO_FORMAT_PCM24K, "audio/pcm 24000 Hz" },
    { "{\"type\":\"audio/pcm\"}", GTR_AUDIO_FORMAT_PCM24K, "audio/pcm" },
    { "{\"type\":\"audio/pcm\",\"rate\":\"24000\"}", GTR_AUDIO_FORMAT_UNSET, "audio/pcm rate \"24000\"" },
    { "{\"type\":\"audio/pcmu\"}", GTR_AUDIO_FORMAT_PCMU, "audio/pcmu" },
    { "{\"type\":\"audio/opus\"}", GTR_AUDIO_FORMAT_UNSET, "audio/opus" },
    { "\"g711_ulaw\"", GTR_AUDIO_FORMAT_UNSET, "\"g711_ulaw\"" },
    { "{\"rate\":8000}", GTR_AUDIO_FORMAT_UNSET, "{\"rate\":8000}" },
    { "{\"type\":7}", GTR_AUDIO_FORMAT_UNSET, "{\"type\":7}" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *json = g_strdup_printf ("{\"type\":\"session.updated\",\"event_id\":\"e\","
        "\"session\":{\"type\":\"realtime\",\"object\":\"realtime.session\",\"id\":\"s\","
        "\"audio\":{\"input\":{\"format\":%s},\"output\":{}}}}", cases[i].format);
    g_autoptr (GtrRealtimeServerEvent) ev = parse_ok (json);

    g_test_message ("format %s", cases[i].format);
    g_assert_cmpint (ev->input_format, ==, cases[i].expected);
    g_assert_cmpstr (ev->input_format_desc, ==, cases[i].desc);
    g_assert_cmpint (ev->output_format, ==, GTR_AUDIO_FORMAT_UNSET);
    g_assert_null (ev->output_format_desc);
  }
}

static void
test_parse_speech_and_commit (void)
{
  g_autoptr (GtrRealtimeServerEvent) started = parse_sample ("speech-started.json");
  g_autoptr (GtrRealtimeServerEvent) stopped = parse_sample ("speech-stopped.json");
  g_autoptr (GtrRealtimeServerEvent) committed = parse_sample ("committed.json");

  g_assert_cmpint (started->audio_start_ms, ==, 1000);
  g_assert_cmpint (started->audio_end_ms, ==, -1);
  g_assert_cmpstr (started->item_id, ==, "msg_003");
  g_assert_cmpint (stopped->audio_end_ms, ==, 2000);
  g_assert_cmpstr (stopped->item_id, ==, "msg_003");
  g_assert_cmpstr (committed->item_id, ==, "msg_002");
  g_assert_cmpstr (committed->previous_item_id, ==, "msg_001");
}

static void
test_parse_items (void)
{
  g_autoptr (GtrRealtimeServerEvent) added = parse_sample ("item-added.json");
  g_autoptr (GtrRealtimeServerEvent) done = parse_sample ("item-done.json");
  g_autoptr (GtrRealtimeServerEvent) fc = parse_sample ("item-done-function-call.json");
  g_autoptr (GtrRealtimeServerEvent) truncated = parse_sample ("item-truncated.json");

  g_assert_cmpstr (added->item_id, ==, "item_C9G8pGVKYnaZu8PH5YQ9O");
  g_assert_cmpstr (added->item_type, ==, "message");
  g_assert_cmpstr (added->item_role, ==, "user");
  g_assert_null (added->previous_item_id);
  g_assert_cmpstr (done->item_role, ==, "assistant");
  g_assert_cmpstr (done->previous_item_id, ==, "item_CCXLecNJVIVR2HUy3ABLj");
  g_assert_cmpstr (fc->item_type, ==, "function_call");
  g_assert_null (fc->item_role);
  g_assert_cmpstr (fc->name, ==, "lookup_order");
  g_assert_cmpstr (fc->call_id, ==, "call_42");
  g_assert_cmpstr (fc->arguments, ==, "{\"order\":\"A17\"}");
  g_assert_cmpstr (truncated->item_id, ==, "msg_004");
  g_assert_cmpint (truncated->content_index, ==, 0);
  g_assert_cmpint (truncated->audio_end_ms, ==, 1500);
}

static void
test_parse_transcription (void)
{
  g_autoptr (GtrRealtimeServerEvent) ok = parse_sample ("transcription-completed.json");
  g_autoptr (GtrRealtimeServerEvent) failed = parse_sample ("transcription-failed.json");

  g_assert_cmpstr (ok->item_id, ==, "item_CCXGQ4e1ht4cOraEYcuR2");
  g_assert_cmpint (ok->content_index, ==, 0);
  g_assert_cmpstr (ok->transcript, ==, "Hey, can you hear me?");
  g_assert_cmpstr (failed->item_id, ==, "msg_003");
  g_assert_cmpstr (failed->error_type, ==, "transcription_error");
  g_assert_cmpstr (failed->error_code, ==, "audio_unintelligible");
  g_assert_cmpstr (failed->error_message, ==, "The audio could not be transcribed.");
  g_assert_cmpstr (failed->error_param, ==, "audio");
}

static void
test_parse_responses (void)
{
  g_autoptr (GtrRealtimeServerEvent) created = parse_sample ("response-created.json");
  g_autoptr (GtrRealtimeServerEvent) done = parse_sample ("response-done.json");
  g_autoptr (JsonNode) usage = NULL, response = NULL;

  g_assert_cmpstr (created->response_id, ==, "resp_C9G8p7IH2WxLbkgPNouYL");
  g_assert_cmpstr (created->status, ==, "in_progress");
  g_assert_null (created->usage_json);
  g_assert_nonnull (created->response_json);

  g_assert_cmpstr (done->response_id, ==, "resp_CCXHw0UJld10EzIUXQCNh");
  g_assert_cmpstr (done->status, ==, "completed");
  usage = parse_json (done->usage_json);
  assert_int_at (usage, "total_tokens", 253);
  assert_int_at (usage, "output_token_details.audio_tokens", 91);
  response = parse_json (done->response_json);
  assert_string_at (response, "output.0.content.0.transcript", "Loud and clear!");
}

static void
test_parse_audio_delta (void)
{
  static const guint8 expected[] = { 0xff, 0x7f, 0x7f, 0x7f, 0x7f, 0xfe };
  g_autoptr (GtrRealtimeServerEvent) ev = parse_sample ("output-audio-delta.json");
  g_autoptr (GtrRealtimeServerEvent) empty = NULL;

  g_assert_cmpstr (ev->response_id, ==, "resp_001");
  g_assert_cmpstr (ev->item_id, ==, "msg_008");
  g_assert_cmpint (ev->output_index, ==, 0);
  g_assert_cmpint (ev->content_index, ==, 0);
  g_assert_nonnull (ev->audio);
  g_assert_cmpmem (g_bytes_get_data (ev->audio, NULL), g_bytes_get_size (ev->audio),
      expected, sizeof expected);
  g_assert_null (ev->raw_json);   /* no re-serialization on the audio path */

  empty = parse_ok ("{\"type\":\"response.output_audio.delta\",\"event_id\":\"e\",\"response_id\":\"r\","
      "\"item_id\":\"i\",\"output_index\":0,\"content_index\":0,\"delta\":\"\"}");
  g_assert_cmpuint (g_bytes_get_size (empty->audio), ==, 0);
}

static void
test_parse_audio_delta_roundtrip (void)
{
  guint8 audio[1601];
  g_autofree char *b64 = NULL, *json = NULL;
  g_autoptr (GtrRealtimeServerEvent) ev = NULL;
  guint i;

  for (i = 0; i < sizeof audio; i++)
    audio[i] = (guint8) (i * 7 + 3);
  b64 = g_base64_encode (audio, sizeof audio);
  json = g_strdup_printf ("{\"type\":\"response.output_audio.delta\",\"event_id\":\"e\","
      "\"response_id\":\"r\",\"item_id\":\"i\",\"output_index\":0,\"content_index\":0,\"delta\":\"%s\"}", b64);
  ev = parse_ok (json);
  g_assert_cmpmem (g_bytes_get_data (ev->audio, NULL), g_bytes_get_size (ev->audio), audio, sizeof audio);
}

static void
test_parse_transcripts_and_calls (void)
{
  g_autoptr (GtrRealtimeServerEvent) delta = parse_sample ("output-audio-transcript-delta.json");
  g_autoptr (GtrRealtimeServerEvent) done = parse_sample ("output-audio-transcript-done.json");
  g_autoptr (GtrRealtimeServerEvent) call = parse_sample ("function-call-arguments-done.json");

  g_assert_cmpstr (delta->delta, ==, "Hello, how can I a");
  g_assert_cmpstr (delta->item_id, ==, "msg_008");
  g_assert_cmpstr (delta->response_id, ==, "resp_001");
  g_assert_cmpstr (done->transcript, ==, "Hello, how can I assist you today?");
  g_assert_cmpstr (done->item_id, ==, "msg_008");
  g_assert_cmpstr (call->name, ==, "get_weather");
  g_assert_cmpstr (call->call_id, ==, "call_001");
  g_assert_cmpstr (call->arguments, ==, "{\"location\": \"San Francisco\"}");
  g_assert_cmpstr (call->response_id, ==, "resp_002");
  g_assert_cmpstr (call->item_id, ==, "fc_001");
}

static void
test_parse_raw_and_other (void)
{
  g_autoptr (GtrRealtimeServerEvent) limits = parse_sample ("rate-limits-updated.json");
  g_autoptr (GtrRealtimeServerEvent) other = parse_sample ("other-output-audio-done.json");
  g_autoptr (GtrRealtimeServerEvent) timeout = parse_sample ("other-timeout-triggered.json");
  g_autoptr (GtrRealtimeServerEvent) invented = NULL;
  g_autoptr (JsonNode) raw = NULL;

  raw = parse_json (limits->raw_json);
  assert_int_at (raw, "rate_limits.1.remaining", 49950);
  g_assert_cmpstr (other->type_name, ==, "response.output_audio.done");
  g_assert_cmpstr (other->raw_json, ==, sample_named ("other-output-audio-done.json")->json);
  g_assert_cmpstr (timeout->type_name, ==, "input_audio_buffer.timeout_triggered");
  /* OTHER sets nothing but the envelope and raw_json. */
  g_assert_null (timeout->item_id);
  g_assert_cmpint (timeout->audio_end_ms, ==, -1);

  invented = parse_ok ("{\"type\":\"x.future_event\",\"whatever\":[1,{}],\"path\":\"C:\\\\u0000\"}");
  g_assert_cmpint (invented->type, ==, GTR_RT_EVENT_OTHER);
  g_assert_cmpstr (invented->type_name, ==, "x.future_event");
  g_assert_null (invented->event_id);
}

static void
test_parse_length (void)
{
  const char *json = sample_named ("speech-started.json")->json;
  gsize len = strlen (json);
  g_autofree char *padded = g_strconcat (json, "garbage after the object", NULL);
  g_autoptr (GtrRealtimeServerEvent) ev = NULL;
  GError *error = NULL;

  /* An explicit length stops parsing there: the text need not end in NUL. */
  ev = gtr_realtime_server_event_parse (padded, (gssize) len, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ev->audio_start_ms, ==, 1000);
  g_clear_pointer (&ev, gtr_realtime_server_event_free);

  ev = gtr_realtime_server_event_parse (json, -1, len, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ev, gtr_realtime_server_event_free);

  ev = gtr_realtime_server_event_parse (json, -1, len - 1, &error);
  g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_OVERSIZE);
  g_assert_null (ev);
  g_clear_error (&error);
}

/* ------------------------------------------------------------------ */
/* Malformed server events                                              */

typedef struct {
  const char *json;
  GtrProtocolError code;
  const char *names;       /* a text the message must contain, or NULL */
} Malformed;

#define DELTA_WITH(d) "{\"type\":\"response.output_audio.delta\",\"event_id\":\"e\",\"response_id\":\"r\"," \
  "\"item_id\":\"i\",\"output_index\":0,\"content_index\":0,\"delta\":" d "}"

static const Malformed malformed[] = {
  { "", GTR_PROTOCOL_ERROR_NOT_JSON, NULL },
  { "   ", GTR_PROTOCOL_ERROR_NOT_JSON, NULL },
  { "{", GTR_PROTOCOL_ERROR_NOT_JSON, NULL },
  { "{\"type\":\"error\",}", GTR_PROTOCOL_ERROR_NOT_JSON, NULL },
  { "{\"type\":\"e\xff\"}", GTR_PROTOCOL_ERROR_NOT_JSON, "UTF-8" },
  { "nul", GTR_PROTOCOL_ERROR_NOT_JSON, NULL },
  { "[]", GTR_PROTOCOL_ERROR_NOT_OBJECT, NULL },
  { "\"session.created\"", GTR_PROTOCOL_ERROR_NOT_OBJECT, NULL },
  { "42", GTR_PROTOCOL_ERROR_NOT_OBJECT, NULL },
  { "null", GTR_PROTOCOL_ERROR_NOT_OBJECT, NULL },
  { "{}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"type\"" },
  { "{\"type\":null}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"type\"" },
  { "{\"type\":5}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"type\"" },
  { "{\"type\":{\"a\":1}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"type\"" },
  { "{\"type\":\"error\",\"event_id\":7,\"error\":{\"message\":\"m\"}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"event_id\"" },
  { "{\"type\":\"error\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"error\"" },
  { "{\"type\":\"error\",\"error\":\"boom\"}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"error\"" },
  { "{\"type\":\"error\",\"error\":{\"type\":\"x\"}}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"error.message\"" },
  { "{\"type\":\"error\",\"error\":{\"message\":\"m\",\"code\":400}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"error.code\"" },
  { "{\"type\":\"session.created\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"session\"" },
  { "{\"type\":\"session.updated\",\"session\":[]}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session\"" },
  { "{\"type\":\"session.updated\",\"session\":{\"id\":5}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"session.id\"" },
  { "{\"type\":\"input_audio_buffer.speech_started\",\"item_id\":\"i\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"audio_start_ms\"" },
  { "{\"type\":\"input_audio_buffer.speech_started\",\"item_id\":\"i\",\"audio_start_ms\":\"100\"}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"audio_start_ms\"" },
  { "{\"type\":\"input_audio_buffer.speech_started\",\"item_id\":\"i\",\"audio_start_ms\":1.5}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"audio_start_ms\"" },
  { "{\"type\":\"input_audio_buffer.speech_started\",\"item_id\":\"i\",\"audio_start_ms\":-1}", GTR_PROTOCOL_ERROR_BAD_VALUE, "\"audio_start_ms\"" },
  { "{\"type\":\"input_audio_buffer.speech_stopped\",\"audio_end_ms\":5}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"item_id\"" },
  { "{\"type\":\"input_audio_buffer.committed\",\"item_id\":[]}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"item_id\"" },
  { "{\"type\":\"conversation.item.added\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"item\"" },
  { "{\"type\":\"conversation.item.done\",\"item\":{\"id\":1}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"item.id\"" },
  { "{\"type\":\"conversation.item.truncated\",\"item_id\":\"i\",\"content_index\":0}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"audio_end_ms\"" },
  { "{\"type\":\"conversation.item.truncated\",\"item_id\":\"i\",\"content_index\":4294967296,\"audio_end_ms\":1}", GTR_PROTOCOL_ERROR_BAD_VALUE, "\"content_index\"" },
  { "{\"type\":\"conversation.item.input_audio_transcription.completed\",\"item_id\":\"i\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"transcript\"" },
  { "{\"type\":\"conversation.item.input_audio_transcription.failed\",\"item_id\":\"i\",\"error\":7}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"error\"" },
  { "{\"type\":\"response.created\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"response\"" },
  { "{\"type\":\"response.done\",\"response\":{\"status\":\"completed\"}}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"response.id\"" },
  { "{\"type\":\"response.done\",\"response\":{\"id\":\"r\",\"status\":1}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"response.status\"" },
  { DELTA_WITH ("null"), GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"delta\"" },
  { DELTA_WITH ("123"), GTR_PROTOCOL_ERROR_BAD_TYPE, "\"delta\"" },
  { DELTA_WITH ("\"abc\""), GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
  { DELTA_WITH ("\"ab!d\""), GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
  { DELTA_WITH ("\"ab=d\""), GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
  { DELTA_WITH ("\"a===\""), GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
  { DELTA_WITH ("\"====\""), GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
  { DELTA_WITH ("\"ab d\""), GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
  { DELTA_WITH ("\"YWJj\\nZGVm\""), GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
  { DELTA_WITH ("\"YW\\u0000=\""), GTR_PROTOCOL_ERROR_BAD_VALUE, "NUL" },
  { DELTA_WITH ("\"AAAA\\u0000!!!\""), GTR_PROTOCOL_ERROR_BAD_VALUE, "NUL" },
  { "{\"type\":\"x\",\"t\":\"\\\\\\u0000\"}", GTR_PROTOCOL_ERROR_BAD_VALUE, "NUL" },
  { DELTA_WITH ("\"YWJjZA==YWJj\""), GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
  /* json-glib recurses per level: refused before it can overflow the stack */
  { "{\"type\":\"x\",\"d\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", GTR_PROTOCOL_ERROR_NOT_JSON, "nested" },
  { DELTA_WITH ("\"YWJj-_==\""), GTR_PROTOCOL_ERROR_BAD_BASE64, "\"delta\"" },
  { "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\",\"delta\":\"AAAA\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"response_id\"" },
  { "{\"type\":\"response.output_audio.delta\",\"response_id\":\"r\",\"item_id\":\"i\",\"output_index\":\"0\",\"delta\":\"AAAA\"}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"output_index\"" },
  { "{\"type\":\"response.output_audio_transcript.delta\",\"response_id\":\"r\",\"item_id\":\"i\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"delta\"" },
  { "{\"type\":\"response.output_audio_transcript.done\",\"response_id\":\"r\",\"item_id\":\"i\",\"transcript\":false}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"transcript\"" },
  { "{\"type\":\"response.function_call_arguments.done\",\"call_id\":\"c\",\"name\":\"n\"}", GTR_PROTOCOL_ERROR_MISSING_FIELD, "\"arguments\"" },
  { "{\"type\":\"response.function_call_arguments.done\",\"call_id\":\"c\",\"name\":\"n\",\"arguments\":{}}", GTR_PROTOCOL_ERROR_BAD_TYPE, "\"arguments\"" },
};

static void
test_parse_malformed (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (malformed); i++) {
    GError *error = NULL;
    GtrRealtimeServerEvent *ev = gtr_realtime_server_event_parse (malformed[i].json, -1, 0, &error);
    g_autofree char *shown = g_strescape (malformed[i].json, NULL);

    /* Escaped: TAP output must stay valid UTF-8. */
    g_test_message ("case %u: %s -> %s", i, shown, error != NULL ? error->message : "(accepted)");
    g_assert_null (ev);
    g_assert_error (error, GTR_PROTOCOL_ERROR, (gint) malformed[i].code);
    if (malformed[i].names != NULL)
      g_assert_nonnull (strstr (error->message, malformed[i].names));
    g_error_free (error);
  }
}

static void
test_parse_embedded_nul (void)
{
  static const char text[] = "{\"type\":\"error\"}\0{\"x\":1}";
  GError *error = NULL;
  GtrRealtimeServerEvent *ev = gtr_realtime_server_event_parse (text, sizeof text - 1, 0, &error);

  g_assert_null (ev);
  g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_NOT_JSON);
  g_error_free (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/realtime/formats", test_formats);
  g_test_add_func ("/realtime/event-id/unique", test_event_id_unique);
  g_test_add_func ("/realtime/event-id/audio", test_event_id_is_audio);
  g_test_add_func ("/realtime/event-id/builders-differ", test_builders_ids_differ);
  g_test_add_func ("/realtime/session-update/minimal", test_session_minimal);
  g_test_add_func ("/realtime/session-update/full", test_session_full);
  g_test_add_func ("/realtime/session-update/formats", test_session_formats);
  g_test_add_func ("/realtime/session-update/noise-reduction", test_session_noise_reduction);
  g_test_add_func ("/realtime/session-update/turn-detection", test_session_turn_detection);
  g_test_add_func ("/realtime/session-update/transcription", test_session_transcription);
  g_test_add_func ("/realtime/session-update/tool-choice", test_session_tool_choice);
  g_test_add_func ("/realtime/session-update/max-output-tokens", test_session_max_output_tokens);
  g_test_add_func ("/realtime/session-update/rejects", test_session_rejects);
  g_test_add_func ("/realtime/session-update/range-edges", test_session_range_edges);
  g_test_add_func ("/realtime/noise-bug/all-combinations", test_noise_bug_all_combinations);
  g_test_add_func ("/realtime/noise-bug/random", test_noise_bug_random);
  g_test_add_func ("/realtime/build/append", test_build_append);
  g_test_add_func ("/realtime/build/commit-clear", test_build_commit_clear);
  g_test_add_func ("/realtime/build/user-text", test_build_user_text);
  g_test_add_func ("/realtime/build/assistant-text", test_build_assistant_text);
  g_test_add_func ("/realtime/build/function-call-output", test_build_function_call_output);
  g_test_add_func ("/realtime/build/response-create", test_build_response_create);
  g_test_add_func ("/realtime/build/response-cancel", test_build_response_cancel);
  g_test_add_func ("/realtime/build/truncate", test_build_truncate);
  g_test_add_func ("/realtime/build/null-event-id", test_build_null_event_id);
  g_test_add_func ("/realtime/describe/client-events", test_describe_client_events);
  g_test_add_func ("/realtime/parse/samples", test_parse_all_samples);
  g_test_add_func ("/realtime/parse/error", test_parse_error);
  g_test_add_func ("/realtime/parse/session", test_parse_session);
  g_test_add_func ("/realtime/parse/session-formats", test_parse_session_formats);
  g_test_add_func ("/realtime/parse/speech-and-commit", test_parse_speech_and_commit);
  g_test_add_func ("/realtime/parse/items", test_parse_items);
  g_test_add_func ("/realtime/parse/transcription", test_parse_transcription);
  g_test_add_func ("/realtime/parse/responses", test_parse_responses);
  g_test_add_func ("/realtime/parse/audio-delta", test_parse_audio_delta);
  g_test_add_func ("/realtime/parse/audio-delta-roundtrip", test_parse_audio_delta_roundtrip);
  g_test_add_func ("/realtime/parse/transcripts-and-calls", test_parse_transcripts_and_calls);
  g_test_add_func ("/realtime/parse/raw-and-other", test_parse_raw_and_other);
  g_test_add_func ("/realtime/parse/length", test_parse_length);
  g_test_add_func ("/realtime/parse/malformed", test_parse_malformed);
  g_test_add_func ("/realtime/parse/embedded-nul", test_parse_embedded_nul);

  return g_test_run ();
}
