/* twilio-call-sim's playback buffer: Twilio's rules for marks and clear,
 * without a network or a clock. */
#include "sim-playback.h"

#include <string.h>

typedef struct {
  SimPlayback *pb;
  GPtrArray *echoed;
} Fixture;

static void
on_echo (const char *name, gpointer user_data)
{
  Fixture *fx = user_data;

  g_ptr_array_add (fx->echoed, g_strdup (name));
}

static void
fx_setup (Fixture *fx, gconstpointer data)
{
  fx->echoed = g_ptr_array_new_with_free_func (g_free);
  fx->pb = sim_playback_new (on_echo, fx);
}

static void
fx_teardown (Fixture *fx, gconstpointer data)
{
  sim_playback_free (fx->pb);
  g_ptr_array_unref (fx->echoed);
}

static void
push_audio (Fixture *fx, guint8 value, gsize len)
{
  guint8 *data = g_malloc (len);
  g_autoptr (GBytes) bytes = NULL;

  memset (data, value, len);
  bytes = g_bytes_new_take (data, len);
  sim_playback_push_audio (fx->pb, bytes);
}

static gsize
play (Fixture *fx, guint8 *out, gsize len)
{
  return sim_playback_play (fx->pb, out, len);
}

static void
test_mark_on_empty_buffer_echoes_at_once (Fixture *fx, gconstpointer data)
{
  sim_playback_push_mark (fx->pb, "now");
  g_assert_cmpuint (fx->echoed->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fx->echoed, 0), ==, "now");
}

static void
test_mark_echoed_when_audio_played (Fixture *fx, gconstpointer data)
{
  guint8 out[160];

  push_audio (fx, 0x10, 300);
  sim_playback_push_mark (fx->pb, "a");
  push_audio (fx, 0x20, 100);
  sim_playback_push_mark (fx->pb, "b");
  g_assert_cmpuint (fx->echoed->len, ==, 0);

  g_assert_cmpuint (play (fx, out, 160), ==, 160);
  g_assert_cmpuint (fx->echoed->len, ==, 0);
  /* 140 bytes of "a"'s audio, then 20 of the next chunk: "a" is reached */
  g_assert_cmpuint (play (fx, out, 160), ==, 160);
  g_assert_cmpuint (out[139], ==, 0x10);
  g_assert_cmpuint (out[140], ==, 0x20);
  g_assert_cmpuint (fx->echoed->len, ==, 1);
  g_assert_cmpuint (sim_playback_buffered (fx->pb), ==, 80);
  /* the rest, then silence; "b" is reached */
  g_assert_cmpuint (play (fx, out, 160), ==, 80);
  g_assert_cmpuint (out[79], ==, 0x20);
  g_assert_cmpuint (out[80], ==, SIM_MULAW_SILENCE);
  g_assert_cmpuint (out[159], ==, SIM_MULAW_SILENCE);
  g_assert_cmpuint (fx->echoed->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (fx->echoed, 1), ==, "b");
}

static void
test_mark_at_exact_frame_end (Fixture *fx, gconstpointer data)
{
  guint8 out[160];

  push_audio (fx, 0x10, 160);
  sim_playback_push_mark (fx->pb, "end");
  play (fx, out, 160);
  g_assert_cmpuint (fx->echoed->len, ==, 1);
}

static void
test_clear_echoes_pending_marks (Fixture *fx, gconstpointer data)
{
  guint8 out[160];
  SimClearResult res;

  push_audio (fx, 0x10, 800);
  sim_playback_push_mark (fx->pb, "x");
  push_audio (fx, 0x10, 800);
  sim_playback_push_mark (fx->pb, "y");
  play (fx, out, 160);
  play (fx, out, 160);
  sim_playback_clear (fx->pb, &res);
  g_assert_cmpuint (res.heard_bytes, ==, 320);
  g_assert_cmpuint (res.discarded_bytes, ==, 1280);
  g_assert_cmpuint (res.marks_flushed, ==, 2);
  g_assert_cmpuint (fx->echoed->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (fx->echoed, 0), ==, "x");
  g_assert_cmpstr (g_ptr_array_index (fx->echoed, 1), ==, "y");
  g_assert_cmpuint (sim_playback_buffered (fx->pb), ==, 0);
  g_assert_cmpuint (play (fx, out, 160), ==, 0);
}

/* heard counts from the moment the buffer went from empty to non-empty */
static void
test_heard_restarts_with_new_utterance (Fixture *fx, gconstpointer data)
{
  guint8 out[160];
  SimClearResult res;

  push_audio (fx, 0x10, 160);
  play (fx, out, 160);
  play (fx, out, 160);            /* empty now */
  push_audio (fx, 0x20, 480);
  play (fx, out, 160);
  push_audio (fx, 0x20, 480);     /* still the same utterance */
  play (fx, out, 160);
  sim_playback_clear (fx->pb, &res);
  g_assert_cmpuint (res.heard_bytes, ==, 320);
  g_assert_cmpuint (res.discarded_bytes, ==, 640);
  g_assert_cmpuint (res.marks_flushed, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fx_setup, fn, fx_teardown)
  ADD ("/call-sim/playback/mark-empty", test_mark_on_empty_buffer_echoes_at_once);
  ADD ("/call-sim/playback/mark-after-audio", test_mark_echoed_when_audio_played);
  ADD ("/call-sim/playback/mark-frame-end", test_mark_at_exact_frame_end);
  ADD ("/call-sim/playback/clear", test_clear_echoes_pending_marks);
  ADD ("/call-sim/playback/heard", test_heard_restarts_with_new_utterance);
  return g_test_run ();
}
