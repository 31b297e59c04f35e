/* twilio-call-sim --load: frames that say who they are, matched when they
 * come back (docs/twilio-call-sim.md, "Load").
 *
 * Each media frame a call sends carries, in its 160 bytes of μ-law, a
 * marker, the call's index and the frame's number; what comes back (which
 * a bridge passes through unchanged when the formats match end to end, as
 * they do for μ-law) is cut into 160-byte frames again, whatever the sizes
 * of the media messages it came in, and each is matched to when it was
 * sent.  Everything a call needs is allocated when it starts: sending and
 * matching a frame allocate nothing.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define SIM_LOAD_FRAME_BYTES 160

typedef struct {
  guint call;               /* the call's index, in every frame */
  guint frames;             /* what the call sends: --duration-ms / 20 */
  guint next;               /* the next frame number to send */
  gint64 *sent_us;          /* by frame number */
  guint8 *seen;             /* by frame number: times it came back (at most 255) */
  guint32 *latency_us;      /* one per frame that came back, in arrival order */
  guint received;           /* distinct frames back */
  guint64 duplicated, reordered;
  guint64 foreign;          /* frames of another call, or never sent */
  guint64 unframed_bytes;   /* bytes back that were not part of a frame */
  gint64 highest;           /* the highest frame number back, -1 */
  gint64 first_back;        /* the first frame number back, -1 */
  guint8 pending[SIM_LOAD_FRAME_BYTES];   /* a frame split across media messages */
  gsize pending_len;
  gint64 begin_us;          /* the call began: webhook request or handshake */
  gint64 start_us;          /* `start` sent */
  gint64 first_back_us;     /* the first frame back */
} SimLoad;

SimLoad *sim_load_new (guint call, guint frames);
void sim_load_free (SimLoad *load);

/* All the call's frames are sent. */
gboolean sim_load_done (const SimLoad *load);
/* All the call's frames are sent and every one has come back: nothing
 * left to wait for. */
gboolean sim_load_all_back (const SimLoad *load);
/* Writes the next frame into `frame` (SIM_LOAD_FRAME_BYTES) and notes when
 * it leaves. */
void sim_load_next_frame (SimLoad *load, guint8 *frame, gint64 now_us);
/* A media payload came back. */
void sim_load_receive (SimLoad *load, const guint8 *data, gsize len, gint64 now_us);

/* The frames sent that never came back; those numbered before the first
 * frame that did are the set-up's (a bridge not yet connected to its API). */
guint sim_load_lost (const SimLoad *load, guint *lost_in_setup);

/* The run's numbers over the calls' loads (in call order), then each
 * call's in "per_call", as members of the object `b` is building.  Sorts
 * each load's latencies. */
void sim_load_run_to_json (SimLoad *const *loads, guint n, JsonBuilder *b);

G_END_DECLS
