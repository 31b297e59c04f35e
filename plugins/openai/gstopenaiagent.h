/* The plumbing both agent elements (openairealtime, openailive) share
 * inside: work handed to the process-wide network thread in order, timers
 * on it, the count of connects in flight that READY waits for, and the
 * src-pad gate that holds the agent's output until PLAYING.  The elements
 * keep their own state; these take what they need as arguments.
 * (gstopenaiapi.h is the other shared half: reaching the API.) */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

#include "gstopenairealtime-tools.h"
#include "gtr-timer.h"

G_BEGIN_DECLS

/* Sends `json` on `conn` when it is open, and notes it in `sent` (NULL:
 * not noted — appends, whose ids say what they are) so that an API error
 * can name it.  FALSE when not connected: nothing is sent.  Network
 * thread. */
gboolean gtr_agent_send_text (SoupWebsocketConnection *conn, GtrSentEvents *sent,
    const char *json);

/* Run `func (element, arg)` on the network thread — at once when already
 * on it (twiliosrc pushes from there), else queued in call order — holding
 * a ref on `element`; `free_arg` (may be NULL) frees `arg` afterwards. */
typedef void (*GtrAgentNetFunc) (gpointer element, gpointer arg);
void gtr_agent_run_on_net (gpointer element, GMainContext *context,
    GtrAgentNetFunc func, gpointer arg, GDestroyNotify free_arg);

/* A timeout on `context` holding a ref on `element`, kept in `*slot`
 * (a running one is replaced); stop clears the slot.  gtr-timer.h: all of
 * a loop's timeouts share one source. */
void gtr_agent_timer_start (gpointer element, GMainContext *context, GtrTimer **slot,
    guint ms, GSourceFunc func);
void gtr_agent_timer_stop (GtrTimer **slot);

/* Connects in flight (websocket_connect_async calls), under the element's
 * `lock`.  A cancelled connect still calls back holding a ref: READY must
 * wait for it.  _end signals `done` and drops the callback's ref on
 * `element` — the callback must not touch the element after it.  _wait
 * returns once none is in flight and one more turn of the network loop has
 * run (so the last callback has returned, and every job queued before). */
void gtr_agent_connect_begin (GMutex *lock, guint *count);
void gtr_agent_connect_end (gpointer element, GMutex *lock, GCond *done, guint *count);
void gtr_agent_connects_wait (GMainContext *context, GMutex *lock, GCond *done,
    guint *count);

/* The src-pad gate.  Output pushed before PLAYING (a sink in PAUSED would
 * block the shared network thread) waits in order; buffers are dropped,
 * not pushed, once `failed (element)` says the session failed: the caller
 * hears nothing of a session that is not (or no longer) confirmed.
 * push/clear: network thread.  want_playing: any thread (state changes);
 * PLAYING takes effect on the network thread, where what waits is pushed. */
typedef struct {
  gpointer element;
  GstPad *srcpad;
  GMutex *lock;                 /* the element's: guards want_playing */
  gboolean (*failed) (gpointer element);
  GQueue pending;
  gint playing;                 /* atomic */
  gboolean want_playing;        /* PLAYING was reached and not left since */
} GtrAgentOutput;

void gtr_agent_output_init (GtrAgentOutput *out, gpointer element, GstPad *srcpad,
    GMutex *lock, gboolean (*failed) (gpointer element));
void gtr_agent_output_push (GtrAgentOutput *out, GstMiniObject *obj);
void gtr_agent_output_clear (GtrAgentOutput *out);
gboolean gtr_agent_output_is_playing (GtrAgentOutput *out);
gboolean gtr_agent_output_is_empty (GtrAgentOutput *out);
/* PAUSED→PLAYING (TRUE: pushing starts on the network thread, through
 * g_main_context_invoke, so at once when called there) and PLAYING→PAUSED
 * (FALSE: stops at once). */
void gtr_agent_output_want_playing (GtrAgentOutput *out, GMainContext *context,
    gboolean want);

G_END_DECLS
