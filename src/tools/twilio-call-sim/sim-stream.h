/* twilio-call-sim: one Media Stream, played as Twilio plays it.
 *
 * Connects, sends connected and start, streams the caller's audio as media
 * every 20 ms (or as fast as possible), sends dtmf at the given times, plays
 * what comes back through Twilio's playback buffer at 8000 bytes/s, echoes
 * marks, validates every frame it receives, then sends stop and closes.
 * Runs on the thread-default main context with the other streams of the
 * process: no thread of its own.
 */
#pragma once

#include "sim-config.h"
#include "sim-load.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* What a call's streams did, added up over them (a call may connect more
 * than one stream); what the summary reports. */
typedef struct {
  guint64 frames_sent, media_sent, dtmf_sent;
  guint64 frames_received, media_received, bytes_received, played_bytes;
  guint64 marks_received, marks_echoed, clears_received;
  GPtrArray *mark_names;
  GArray *clears;        /* private records */
  GArray *violations;    /* private records */
  GByteArray *record;    /* what the caller heard, μ-law */
  gint close_code;       /* of the last stream's closing handshake */
  guint connected;       /* streams whose handshake succeeded */
  SimLoad *load;         /* --load: the call's numbered frames (its streams share them), else NULL */
} SimStreamStats;

void sim_stream_stats_init (SimStreamStats *stats);
void sim_stream_stats_clear (SimStreamStats *stats);
/* The stats as members of the object `b` is building. */
void sim_stream_stats_to_json (const SimStreamStats *stats, JsonBuilder *b);

typedef enum {
  SIM_STREAM_CONNECT_FAILED,   /* refused, TLS, the handshake rejected: `error` says which */
  SIM_STREAM_CALLER_HUNG_UP,   /* the caller's audio and linger are over, or sim_stream_hang_up() */
  SIM_STREAM_SERVER_CLOSED,    /* the server ended the stream: Twilio goes on with the TwiML */
} SimStreamEnd;

/* One stream: where it goes and what its start says.  Copied. */
typedef struct {
  const char *url;
  const char *signature_url;   /* what the handshake signature is over (NULL: url) */
  const char *stream_sid;
  const char *call_sid;
  const char *const *param_names;    /* NULL-terminated */
  const char *const *param_values;
  const char *log_prefix;            /* "twilio-call-sim: " or with the call's number */
} SimStreamSpec;

typedef struct _SimStream SimStream;

/* Called once, from the main context (never from inside a sim_stream_*()
 * call), when the stream is over.  `error` is set for CONNECT_FAILED. */
typedef void (*SimStreamDone) (SimStream *stream, SimStreamEnd end,
    const char *error, gpointer user_data);

SimStream *sim_stream_start (const SimConfig *config, const SimStreamSpec *spec,
    SoupSession *session, GBytes *caller_audio, SimStreamStats *stats,
    SimStreamDone done, gpointer user_data);

/* The caller hangs up: stop (unless --no-stop), close; done follows. */
void sim_stream_hang_up (SimStream *stream);

void sim_stream_free (SimStream *stream);

G_END_DECLS
