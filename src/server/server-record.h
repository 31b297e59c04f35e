/* --record-dir: per call, a stereo WAV (caller left, agent right, 8 kHz
 * S16LE) and the transcript as JSON lines.  See docs/server.md ("Records").
 *
 * During the call, a tee after the twiliosrc and one before the twiliosink
 * each feed `mulawdec ! fakesink`; a probe writes every decoded sample into
 * that side's file at the offset of its running time, so the two sides are
 * aligned whatever order and pace their buffers come in (the agent's come
 * ahead of real time), and a gap is silence.  A barge-in flush cuts the
 * agent's side at the flush's running time: what the caller never heard is
 * not in the record.  When the call ends the two files are interleaved into
 * the WAV by GStreamer (rawaudioparse, interleave, wavenc). */
#pragma once

#include <gst/gst.h>

#include "server-pipeline.h"

G_BEGIN_DECLS

typedef struct _ServerRecord ServerRecord;

/* At start-up, with --record-dir: build the recorder once and drop it, so
 * that a missing element is a start-up error, and the first call does not
 * pay for loading its plugins. */
gboolean server_record_preload (GError **error);

/* Add the recorder to a call's pipeline (in NULL): the tees after the
 * twiliosrc and before the twiliosink, a decoder and sink per side, the
 * sides' files (hidden, in `dir`). */
ServerRecord *server_record_add (ServerPipelineElements *el, const char *dir,
    guint call_id, GError **error);

/* An openai-realtime/transcript message (final ones are written).  Main
 * thread. */
void server_record_transcript (ServerRecord *record, GstElement *pipeline,
    const GstStructure *s);

/* Stop recording (nothing more is written), while the pipeline still runs.
 * Main thread. */
void server_record_finish (ServerRecord *record);

/* After the pipeline is in NULL: the WAV is written from the two sides (on
 * the calling thread: about 0.1 s per hour of call; bounded at 30 s), the
 * sides' files removed, and the files take their final names
 * (DIR/CALLSID.wav and .jsonl when the CallSid is known).  Returns the WAV's
 * path (owned by the record), or NULL if it could not be written (logged). */
const char *server_record_close (ServerRecord *record, const char *call_sid);

void server_record_free (ServerRecord *record);

G_END_DECLS
