/* realtime-mock: an energy VAD.  See mock-vad.h for the threshold mapping. */
#include "mock-vad.h"

#include <math.h>

void
mock_vad_init (MockVad *vad, guint rate)
{
  MockVadParams params = vad->params;

  *vad = (MockVad) { .params = params, .rate = rate };
}

guint64
mock_vad_now_ms (const MockVad *vad)
{
  return vad->base_ms + vad->samples * 1000 / vad->rate;
}

void
mock_vad_set_rate (MockVad *vad, guint rate)
{
  if (rate == vad->rate)
    return;
  vad->base_ms = mock_vad_now_ms (vad);
  vad->samples = 0;
  vad->frame_energy = 0;
  vad->frame_fill = 0;
  vad->rate = rate;
}

void
mock_vad_reset (MockVad *vad)
{
  vad->in_speech = FALSE;
}

gdouble
mock_vad_threshold_rms (gdouble threshold)
{
  return 32768.0 * pow (10.0, (-60.0 + 50.0 * CLAMP (threshold, 0.0, 1.0)) / 20.0);
}

static void
end_frame (MockVad *vad, MockVadCallback callback, gpointer user_data)
{
  guint64 end_ms = mock_vad_now_ms (vad);
  gdouble rms = sqrt (vad->frame_energy / vad->frame_fill);
  gboolean voiced = rms >= mock_vad_threshold_rms (vad->params.threshold);

  vad->frame_energy = 0;
  if (voiced) {
    if (!vad->in_speech) {
      vad->in_speech = TRUE;
      callback (MOCK_VAD_SPEECH_STARTED, end_ms - MIN (end_ms, 1000 * vad->frame_fill / vad->rate),
          user_data);
    }
    vad->last_voiced_end_ms = end_ms;
  } else if (vad->in_speech
      && end_ms - vad->last_voiced_end_ms >= vad->params.silence_duration_ms) {
    vad->in_speech = FALSE;
    callback (MOCK_VAD_SPEECH_STOPPED, vad->last_voiced_end_ms, user_data);
  }
  vad->frame_fill = 0;
}

void
mock_vad_process (MockVad *vad, const gint16 *samples, gsize n,
    MockVadCallback callback, gpointer user_data)
{
  guint frame = MAX (vad->rate / 100, 1);

  for (gsize i = 0; i < n; i++) {
    vad->frame_energy += (gdouble) samples[i] * samples[i];
    vad->samples++;
    if (++vad->frame_fill == frame)
      end_frame (vad, callback, user_data);
  }
}
