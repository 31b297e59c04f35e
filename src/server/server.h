/* twilio-realtime-server: the routes, the call table and the calls.
 *
 * Threads.  --network-threads loops (src/netloop, one per core by default)
 * carry the sockets.  The SoupServer lives on loop 0: every HTTP handler
 * runs there, and so does every WebSocket handshake.  Each call is given a
 * loop (round robin) and lives on it alone: its pipeline is made on that
 * thread, so its agent element takes that loop for its API socket, and the
 * Media Stream, once upgraded on loop 0, is taken off the SoupServer
 * (soup_server_message_steal_connection) and opened as a WebSocket on the
 * call's loop, where its twiliosrc gets it.  A message read from one of the
 * call's sockets is written to the other on the same thread, and calls on
 * different loops share nothing but `lock`.  Loop 0 waits on another loop
 * (to make a pre-started call's pipeline there), never the reverse.  The
 * pipeline is then handed to the main thread, which does every state
 * change: openairealtime's PAUSED→READY waits on its loop, so a state change
 * there would wait on itself.  The main thread also handles the calls' bus
 * messages and the signals.  `lock` guards the call table and the server's
 * state; the metrics have a leaf lock of their own.
 */
#pragma once

#include <libsoup/soup.h>
#include <gst/gst.h>

#include "server-config.h"
#include "server-metrics.h"
#include "server-pipeline.h"

G_BEGIN_DECLS

typedef struct _Server Server;
typedef struct _ServerCall ServerCall;

struct _Server {
  const ServerConfig *config;
  const ServerPipeline *pipeline;
  ServerMetrics *metrics;
  GMainLoop *loop;              /* the main thread's */
  GMainContext *main_context;

  GMainContext *loops[SERVER_MAX_NETWORK_THREADS];  /* the calls' network loops; [0] the HTTP one */
  guint n_loops;

  /* Loop 0 only. */
  SoupServer *soup;
  struct _GtrHttpGuard *guard;  /* gtr-http-guard.h */
  char *public_base;            /* https://HOST[/PREFIX]: signed webhook URLs */
  char *ws_base;                /* wss://HOST[/PREFIX]: handshake signatures */
  char *stream_url;             /* ws_base + /media, in the TwiML */
  guint port;                   /* bound port */

  GMutex lock;
  GHashTable *calls;            /* ServerCall * (owned) → itself: the active calls */
  GHashTable *by_sid;           /* CallSid → ServerCall * (borrowed) */
  GHashTable *transfers;        /* CallSid → ServerTransfer *: ended calls whose agent
                                 * asked for a transfer, until Twilio's <Redirect> asks */
  gboolean draining;
  guint next_id;
  guint next_loop;              /* round robin over `loops` */

  /* Main thread only. */
  guint drain_timer;
  gboolean stopping;
};

/* A transfer the agent asked for (openai-realtime/transfer), kept from the
 * end of the call's stream until Twilio follows the TwiML's <Redirect> to
 * /twiml/after, at most TRANSFER_KEEP_S. */
typedef struct {
  char *target;
  gint64 at_us;                 /* monotonic: when the call ended */
} ServerTransfer;

#define TRANSFER_KEEP_S 120

/* Under `server->lock`: keep `target` for `call_sid` (takes it), dropping
 * transfers older than TRANSFER_KEEP_S. */
void server_transfer_add (Server *server, const char *call_sid, char *target);
void server_transfer_free (gpointer transfer);

/* ---- server.c: routes and the server's life ---- */

/* Listen (on the network thread); FALSE with `error` when it cannot. */
gboolean server_start (Server *server, GError **error);
/* Stop taking calls; end the remaining ones after the drain timeout, then
 * quit the main loop (at once when no call is active).  Main thread. */
void server_drain (Server *server);
/* A call is gone (main thread): quit if draining and none is left. */
void server_call_gone (Server *server);
/* After the main loop: stop listening, end any call still up, run what
 * is pending on the main thread.  The server can then be freed. */
void server_finish (Server *server);

/* Whether a new call may be taken now, and if not why ("draining", "busy").
 * Takes `lock`. */
const char *server_refusal (Server *server);

/* ---- server-call.c: one call ---- */

/* The loop for a new call (round robin); a pre-started call's own for a
 * stream that joins it.  Borrowed.  Takes `lock`. */
GMainContext *server_loop_for (Server *server, const char *call_sid);

/* A call for an accepted Media Stream (on the loop `connection` lives on,
 * which is the call's from then on): its pipeline made,
 * the connection handed to its twiliosrc, the call in the table, the
 * pipeline started on the main thread.  FALSE (and the connection closed)
 * when the pipeline cannot be made. */
gboolean server_call_accept (Server *server, SoupWebsocketConnection *connection,
    const char *remote);

/* Start the call of `call_sid` at its webhook (loop 0; the pipeline is
 * made on the call's own loop, waited for): pipeline
 * and agent session up before the stream comes; ended as "abandoned" when
 * no stream joins it within --prestart-timeout. */
gboolean server_call_prestart (Server *server, const char *call_sid);
/* Whether a pre-started call waits for this CallSid's stream. */
gboolean server_call_is_waiting (Server *server, const char *call_sid);
/* A stream for `call_sid` (on the loop of server_loop_for): joins its
 * pre-started call, or
 * is accepted as a new one. */
gboolean server_call_join (Server *server, const char *call_sid,
    SoupWebsocketConnection *connection, const char *remote);

/* End a call now (main thread): pipeline to NULL, socket closed, counted,
 * logged, freed. */
void server_call_end (ServerCall *call, const char *reason, const char *detail);

/* Live stats of every active call, added to `sum`.  With `lock` held. */
void server_call_add_live_stats (ServerCall *call, ServerStatsSum *sum);

G_END_DECLS
