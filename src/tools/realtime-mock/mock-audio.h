/* realtime-mock: audio through GStreamer's own elements.
 *
 * The API's three formats are decoded to S16LE mono (for the VAD, and to
 * keep the caller's words for echo) and encoded back into the session's
 * output format with mulawdec/alawdec/mulawenc/alawenc/audioconvert/
 * audioresample; tones come from audiotestsrc and files from wavparse.
 * A MockConverter runs a bin synchronously in the caller's thread (no
 * pipeline thread): pushing a buffer returns the output it produced.
 */
#pragma once

#include <glib.h>
#include <gtr-realtime.h>

G_BEGIN_DECLS

/* "audio/pcmu" → GTR_AUDIO_FORMAT_PCMU etc.; `rate` may be 0 when absent. */
GtrAudioFormat mock_audio_format_from_type (const char *type, gint64 rate);
guint mock_audio_format_rate (GtrAudioFormat format);
guint mock_audio_format_bytes_per_ms (GtrAudioFormat format);

typedef struct _MockConverter MockConverter;

/* Decoder: `format` → S16LE mono at the format's own rate. */
MockConverter *mock_converter_new_decoder (GtrAudioFormat format, GError **error);
/* Encoder: S16LE mono at `rate` → `format`. */
MockConverter *mock_converter_new_encoder (guint rate, GtrAudioFormat format, GError **error);
/* Pushes `len` bytes, appends what came out to `out`. */
gboolean mock_converter_push (MockConverter *conv, const guint8 *data, gsize len, GByteArray *out);
/* Drains (EOS) into `out`; the converter is spent afterwards. */
void mock_converter_finish (MockConverter *conv, GByteArray *out);
void mock_converter_free (MockConverter *conv);

/* One-shot: S16LE mono at `rate` → `format`. */
GBytes *mock_audio_encode (const guint8 *s16, gsize len, guint rate, GtrAudioFormat format,
    GError **error);
/* A 440 Hz sine of `ms` milliseconds, S16LE mono at 24 kHz (audiotestsrc). */
GBytes *mock_audio_tone (guint ms, GError **error);
/* A WAV file of any format, as S16LE mono at 24 kHz (wavparse). */
GBytes *mock_audio_load_wav (const char *path, GError **error);

G_END_DECLS
