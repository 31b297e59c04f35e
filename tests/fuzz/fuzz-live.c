/* libFuzzer target: the GPT-Live server-event parser, and what a client
 * does next with a parsed event.  Any input must either parse or fail with
 * a GError; never crash, leak or trip a sanitizer.  When it parses, the
 * values an element would carry over are fed to the builders, and each
 * built event must read back: a resolved session becomes a session.start
 * (built iff it has a model), a delegation id an append, a call id its
 * function_call_output, decoded audio an audio append whose base64 decodes
 * to the same bytes.  Seed corpus: tests/fuzz/corpus/live/ (the shared
 * server examples and one sample of every other server event type). */
#include "gtr-protocol.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A built client event must read back as an event of its type. */
static void
check_built (char *text, const char *type)
{
  GError *error = NULL;
  GtrLiveServerEvent *ev;

  g_assert_nonnull (text);
  ev = gtr_live_server_event_parse (text, -1, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ev->type_name, ==, type);
  gtr_live_server_event_free (ev);
  g_free (text);
}

static void
rebuild_session (const GtrLiveServerEvent *ev)
{
  GtrLiveSessionConfig c;
  GError *error = NULL;
  char *text;

  gtr_live_session_config_init (&c);
  c.model = g_strdup (ev->model);
  c.instructions = g_strdup (ev->instructions);
  c.format = ev->format;
  c.voice = g_strdup (ev->voice);
  c.custom_voice_id = g_strdup (ev->custom_voice_id);
  c.store = ev->store;
  if (g_strcmp0 (ev->delegation_type, "client") == 0)
    c.delegation = GTR_LIVE_DELEGATION_CLIENT;
  text = gtr_live_build_session_start (&c, NULL, &error);
  /* A session.started with a model always makes a valid session.start
   * (voice and custom voice are exclusive in what the parser returns). */
  if (ev->model != NULL && ev->model[0] != '\0') {
    g_assert_no_error (error);
    check_built (text, "session.start");
  } else {
    g_assert_null (text);
    g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_MISSING_FIELD);
    g_clear_error (&error);
  }
  gtr_live_session_config_clear (&c);
}

static void
rebuild_audio (GBytes *audio)
{
  gsize len;
  const guint8 *bytes = g_bytes_get_data (audio, &len);
  char *text = gtr_live_build_input_audio_append (bytes, len, NULL);
  GError *error = NULL;
  GtrLiveServerEvent *ev;

  /* The client event has the shape of the sideband's reflected audio, so
   * the parser decodes it back to the same bytes. */
  ev = gtr_live_server_event_parse (text, -1, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ev->type, ==, GTR_LIVE_EVENT_INPUT_AUDIO_APPEND);
  g_assert_true (g_bytes_equal (ev->audio, audio));
  gtr_live_server_event_free (ev);
  g_free (text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  GtrLiveServerEvent *ev;

  /* A 64 KiB limit as a caller would set one; also exercises OVERSIZE. */
  ev = gtr_live_server_event_parse ((const char *) data, (gssize) size, 64 * 1024, &error);
  g_assert ((ev == NULL) != (error == NULL));
  g_clear_error (&error);
  if (ev == NULL)
    return 0;

  g_assert_nonnull (ev->type_name);
  switch (ev->type) {
    case GTR_LIVE_EVENT_SESSION_STARTED:
    case GTR_LIVE_EVENT_SESSION_UPDATED:
      rebuild_session (ev);
      break;
    case GTR_LIVE_EVENT_OUTPUT_AUDIO_DELTA:
    case GTR_LIVE_EVENT_INPUT_AUDIO_APPEND:
      rebuild_audio (ev->audio);
      break;
    case GTR_LIVE_EVENT_INPUT_TRANSCRIPT_DELTA:
    case GTR_LIVE_EVENT_OUTPUT_TRANSCRIPT_DELTA:
      check_built (gtr_live_build_append (GTR_LIVE_APPEND_THINKING, ev->delta, NULL, NULL),
          "session.thinking.append");
      break;
    case GTR_LIVE_EVENT_DELEGATION_CREATED:
      check_built (gtr_live_build_append (GTR_LIVE_APPEND_COMMENTARY, "done",
          ev->delegation_id, NULL), "session.commentary.append");
      break;
    case GTR_LIVE_EVENT_RESPONSE_EVENT:
      if (ev->call_id != NULL)
        check_built (gtr_live_build_function_call_output (ev->call_id,
            ev->call_arguments != NULL ? ev->call_arguments : "", NULL), "response.item.create");
      break;
    case GTR_LIVE_EVENT_OTHER:
      g_assert_nonnull (ev->raw_json);
      break;
    default:
      break;
  }
  gtr_live_server_event_free (ev);
  return 0;
}
