/* twilio-call-sim: Twilio's playback buffer (see sim-playback.h). */
#include "sim-playback.h"

#include <string.h>

/* One queued item: a chunk of audio (partly played up to `offset`) or a mark. */
typedef struct {
  GBytes *audio;
  gsize offset;
  char *mark;
} Entry;

struct _SimPlayback {
  GQueue entries;
  gsize buffered;
  gsize utterance_played;
  SimMarkFunc echo;
  gpointer user_data;
};

static void
entry_free (Entry *e)
{
  g_clear_pointer (&e->audio, g_bytes_unref);
  g_free (e->mark);
  g_free (e);
}

SimPlayback *
sim_playback_new (SimMarkFunc echo, gpointer user_data)
{
  SimPlayback *pb = g_new0 (SimPlayback, 1);

  g_queue_init (&pb->entries);
  pb->echo = echo;
  pb->user_data = user_data;
  return pb;
}

void
sim_playback_free (SimPlayback *pb)
{
  if (pb == NULL)
    return;
  g_queue_clear_full (&pb->entries, (GDestroyNotify) entry_free);
  g_free (pb);
}

void
sim_playback_push_audio (SimPlayback *pb, GBytes *audio)
{
  Entry *e;

  if (g_bytes_get_size (audio) == 0)
    return;
  if (pb->buffered == 0)
    pb->utterance_played = 0;
  e = g_new0 (Entry, 1);
  e->audio = g_bytes_ref (audio);
  pb->buffered += g_bytes_get_size (audio);
  g_queue_push_tail (&pb->entries, e);
}

/* Echo the marks at the head of the queue: all audio before them is played. */
static void
echo_leading_marks (SimPlayback *pb)
{
  Entry *e;

  while ((e = g_queue_peek_head (&pb->entries)) != NULL && e->mark != NULL) {
    g_queue_pop_head (&pb->entries);
    pb->echo (e->mark, pb->user_data);
    entry_free (e);
  }
}

void
sim_playback_push_mark (SimPlayback *pb, const char *name)
{
  Entry *e = g_new0 (Entry, 1);

  e->mark = g_strdup (name);
  g_queue_push_tail (&pb->entries, e);
  echo_leading_marks (pb);
}

/* Copy up to `len` bytes of the head audio entry into `out`. */
static gsize
play_head_audio (SimPlayback *pb, guint8 *out, gsize len)
{
  Entry *e = g_queue_peek_head (&pb->entries);
  gsize size;
  const guint8 *data = g_bytes_get_data (e->audio, &size);
  gsize n = MIN (len, size - e->offset);

  memcpy (out, data + e->offset, n);
  e->offset += n;
  pb->buffered -= n;
  pb->utterance_played += n;
  if (e->offset == size)
    entry_free (g_queue_pop_head (&pb->entries));
  return n;
}

gsize
sim_playback_play (SimPlayback *pb, guint8 *out, gsize len)
{
  gsize played = 0;

  echo_leading_marks (pb);
  while (played < len && !g_queue_is_empty (&pb->entries)) {
    played += play_head_audio (pb, out + played, len - played);
    echo_leading_marks (pb);
  }
  memset (out + played, SIM_MULAW_SILENCE, len - played);
  return played;
}

void
sim_playback_clear (SimPlayback *pb, SimClearResult *result)
{
  Entry *e;

  result->heard_bytes = pb->utterance_played;
  result->discarded_bytes = pb->buffered;
  result->marks_flushed = 0;
  while ((e = g_queue_pop_head (&pb->entries)) != NULL) {
    if (e->mark != NULL) {
      result->marks_flushed++;
      pb->echo (e->mark, pb->user_data);
    }
    entry_free (e);
  }
  pb->buffered = 0;
}

gsize
sim_playback_buffered (const SimPlayback *pb)
{
  return pb->buffered;
}
