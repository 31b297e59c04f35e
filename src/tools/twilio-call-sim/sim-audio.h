/* twilio-call-sim: the caller's audio, made and recorded with GStreamer.
 *
 * Every conversion is done by GStreamer's own elements (wavparse, decodebin,
 * audioconvert, audioresample, mulawenc, wavenc); this file only builds
 * the pipelines and collects their output.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Render one --play segment to raw μ-law, 8 kHz, mono:
 *   tone:HZ:MS   a sine wave
 *   silence:MS   silence
 *   wav:PATH     a WAV file of any format, converted
 * A malformed spec fails with G_OPTION_ERROR_BAD_VALUE; a file GStreamer
 * cannot read fails with its message. */
GBytes *sim_audio_render (const char *spec, GError **error);

/* Write raw μ-law 8 kHz mono as a WAV file (format tag 7, μ-law), so the
 * bytes the caller heard are kept exactly. */
gboolean sim_audio_write_wav (const char *path, GBytes *mulaw, GError **error);

G_END_DECLS
