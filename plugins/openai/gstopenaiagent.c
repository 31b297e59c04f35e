/* Shared by openairealtime and openailive: see gstopenaiagent.h. */
#include <config.h>

#include "gstopenaiagent.h"
#include "gtr-netloop.h"

gboolean
gtr_agent_send_text (SoupWebsocketConnection *conn, GtrSentEvents *sent,
    const char *json)
{
  if (!conn || soup_websocket_connection_get_state (conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  soup_websocket_connection_send_text (conn, json);
  if (sent)
    gtr_sent_events_note (sent, json);
  return TRUE;
}

typedef struct {
  gpointer element;
  GtrAgentNetFunc func;
  gpointer arg;
  GDestroyNotify free_arg;
} NetJob;

static gboolean
net_job_run (gpointer data)
{
  NetJob *job = data;

  job->func (job->element, job->arg);
  if (job->free_arg)
    job->free_arg (job->arg);
  gst_object_unref (job->element);
  g_free (job);
  return G_SOURCE_REMOVE;
}

void
gtr_agent_run_on_net (gpointer element, GMainContext *context, GtrAgentNetFunc func,
    gpointer arg, GDestroyNotify free_arg)
{
  NetJob *job;

  if (g_main_context_is_owner (context)) {
    func (element, arg);
    if (free_arg)
      free_arg (arg);
    return;
  }
  job = g_new0 (NetJob, 1);
  job->element = gst_object_ref (element);
  job->func = func;
  job->arg = arg;
  job->free_arg = free_arg;
  g_main_context_invoke (context, net_job_run, job);
}

void
gtr_agent_timer_stop (GtrTimer **slot)
{
  gtr_timer_stop (slot);
}

void
gtr_agent_timer_start (gpointer element, GMainContext *context, GtrTimer **slot,
    guint ms, GSourceFunc func)
{
  gtr_timer_stop (slot);
  *slot = gtr_timer_start (context, ms, func, gst_object_ref (element),
      (GDestroyNotify) gst_object_unref);
}

void
gtr_agent_connect_begin (GMutex *lock, guint *count)
{
  g_mutex_lock (lock);
  (*count)++;
  g_mutex_unlock (lock);
}

void
gtr_agent_connect_end (gpointer element, GMutex *lock, GCond *done, guint *count)
{
  g_mutex_lock (lock);
  (*count)--;
  g_cond_broadcast (done);
  g_mutex_unlock (lock);
  gst_object_unref (element);
}

static gboolean
net_barrier (gpointer unused)
{
  return G_SOURCE_REMOVE;
}

void
gtr_agent_connects_wait (GMainContext *context, GMutex *lock, GCond *done,
    guint *count)
{
  g_return_if_fail (!g_main_context_is_owner (context));
  g_mutex_lock (lock);
  while (*count)
    g_cond_wait (done, lock);
  g_mutex_unlock (lock);
  gtr_netloop_run_sync (context, net_barrier, NULL);
}

void
gtr_agent_output_init (GtrAgentOutput *out, gpointer element, GstPad *srcpad,
    GMutex *lock, gboolean (*failed) (gpointer element))
{
  out->element = element;
  out->srcpad = srcpad;
  out->lock = lock;
  out->failed = failed;
  g_queue_init (&out->pending);
  out->playing = FALSE;
  out->want_playing = FALSE;
}

static void
push_now (GtrAgentOutput *out, GstMiniObject *obj)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (GST_IS_BUFFER (obj) && out->failed (out->element)) {
    GST_DEBUG_OBJECT (out->element, "dropping held audio: the session failed");
    gst_buffer_unref (GST_BUFFER (obj));
    return;
  }
  if (GST_IS_BUFFER (obj))
    ret = gst_pad_push (out->srcpad, GST_BUFFER (obj));
  else
    gst_pad_push_event (out->srcpad, GST_EVENT (obj));
  if (ret != GST_FLOW_OK)
    GST_DEBUG_OBJECT (out->element, "push returned %s", gst_flow_get_name (ret));
}

void
gtr_agent_output_push (GtrAgentOutput *out, GstMiniObject *obj)
{
  if (g_atomic_int_get (&out->playing) && g_queue_is_empty (&out->pending))
    push_now (out, obj);
  else
    g_queue_push_tail (&out->pending, obj);
}

void
gtr_agent_output_clear (GtrAgentOutput *out)
{
  g_queue_clear_full (&out->pending, (GDestroyNotify) gst_mini_object_unref);
}

gboolean
gtr_agent_output_is_playing (GtrAgentOutput *out)
{
  return g_atomic_int_get (&out->playing);
}

gboolean
gtr_agent_output_is_empty (GtrAgentOutput *out)
{
  return g_queue_is_empty (&out->pending);
}

/* Queued in PAUSED_TO_PLAYING; may run after PLAYING_TO_PAUSED has been
 * through: then it must not turn pushing back on. */
static void
set_playing (gpointer element, gpointer data)
{
  GtrAgentOutput *out = data;
  GstMiniObject *obj;

  g_mutex_lock (out->lock);
  g_atomic_int_set (&out->playing, out->want_playing);
  g_mutex_unlock (out->lock);
  while (g_atomic_int_get (&out->playing) && (obj = g_queue_pop_head (&out->pending)))
    push_now (out, obj);
}

void
gtr_agent_output_want_playing (GtrAgentOutput *out, GMainContext *context, gboolean want)
{
  g_mutex_lock (out->lock);
  out->want_playing = want;
  if (!want)
    g_atomic_int_set (&out->playing, FALSE);
  g_mutex_unlock (out->lock);
  if (want) {
    /* on the network thread, where what waits is pushed */
    NetJob *job = g_new0 (NetJob, 1);

    job->element = gst_object_ref (out->element);
    job->func = set_playing;
    job->arg = out;
    g_main_context_invoke (context, net_job_run, job);
  }
}
