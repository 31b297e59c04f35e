/* twilio-call-sim: Twilio's playback buffer for the audio an app sends back.
 *
 * Audio is queued in arrival order and played out at the caller's pace by
 * whoever calls sim_playback_play() (the call's 20 ms clock).  A mark is
 * queued behind the audio sent before it and echoed once that audio has
 * been played, or at once when nothing is buffered.  clear discards the
 * buffered audio and echoes every pending mark at once, as Twilio does.
 * No I/O and no clock here: the call drives it, the unit test checks it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* μ-law's code for a zero sample (G.711): what the caller hears when
 * nothing is playing. */
#define SIM_MULAW_SILENCE 0xFF

typedef struct _SimPlayback SimPlayback;

/* Called for each mark that playback reaches, in order. */
typedef void (*SimMarkFunc) (const char *name, gpointer user_data);

typedef struct {
  gsize heard_bytes;      /* played since the buffer last went from empty to non-empty */
  gsize discarded_bytes;  /* buffered audio thrown away */
  guint marks_flushed;    /* pending marks echoed by the clear */
} SimClearResult;

SimPlayback *sim_playback_new (SimMarkFunc echo, gpointer user_data);
void sim_playback_free (SimPlayback *pb);

void sim_playback_push_audio (SimPlayback *pb, GBytes *audio);
void sim_playback_push_mark (SimPlayback *pb, const char *name);

/* Play `len` bytes into `out`: buffered audio first, silence after it.
 * Echoes every mark whose audio has now been played.  Returns how many of
 * the bytes were audio (not silence). */
gsize sim_playback_play (SimPlayback *pb, guint8 *out, gsize len);

void sim_playback_clear (SimPlayback *pb, SimClearResult *result);

/* Audio bytes waiting to be played. */
gsize sim_playback_buffered (const SimPlayback *pb);

G_END_DECLS
