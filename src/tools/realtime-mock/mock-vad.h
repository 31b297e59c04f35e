/* realtime-mock: an energy VAD with the API's server_vad knobs.
 *
 * The signal is cut into 10 ms frames; a frame is voiced when its RMS level
 * reaches the threshold.  `threshold` (0.0–1.0, the API's scale) maps onto
 * an RMS level in dBFS linearly: level = -60 + 50 × threshold, so 0.0 is
 * -60 dBFS (everything but digital silence), the default 0.5 is -35 dBFS
 * (quiet speech on a phone line) and 1.0 is -10 dBFS (shouting).
 * Speech starts at the first voiced frame; it stops once
 * `silence_duration_ms` of unvoiced frames follow the last voiced one.
 * Times are milliseconds since the first audio of the session.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gdouble threshold;
  guint prefix_padding_ms;
  guint silence_duration_ms;
} MockVadParams;

typedef enum {
  MOCK_VAD_SPEECH_STARTED,   /* ms = onset (first voiced frame) */
  MOCK_VAD_SPEECH_STOPPED,   /* ms = end of the last voiced frame */
} MockVadEvent;

typedef void (*MockVadCallback) (MockVadEvent event, guint64 ms, gpointer user_data);

typedef struct {
  MockVadParams params;
  guint rate;
  guint64 base_ms;          /* session time where the current rate began */
  guint64 samples;          /* samples at `rate` since base_ms */
  gdouble frame_energy;
  guint frame_fill;
  gboolean in_speech;
  guint64 last_voiced_end_ms;
} MockVad;

void mock_vad_init (MockVad *vad, guint rate);
/* A new input rate (session.update changed the format); time goes on. */
void mock_vad_set_rate (MockVad *vad, guint rate);
/* Forget a speech in progress (input_audio_buffer.clear/commit). */
void mock_vad_reset (MockVad *vad);
guint64 mock_vad_now_ms (const MockVad *vad);
/* RMS threshold, as a linear S16 amplitude, for the API's 0–1 threshold. */
gdouble mock_vad_threshold_rms (gdouble threshold);
void mock_vad_process (MockVad *vad, const gint16 *samples, gsize n,
    MockVadCallback callback, gpointer user_data);

G_END_DECLS
