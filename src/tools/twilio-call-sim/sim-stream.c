/* twilio-call-sim: one Media Stream (see sim-stream.h). */
#include "sim-stream.h"
#include "sim-json.h"
#include "sim-playback.h"

#include "gtr-protocol.h"

#include <string.h>

#define FRAME_BYTES 160          /* 20 ms of μ-law at 8 kHz */
#define FRAME_US    (20 * G_TIME_SPAN_MILLISECOND)
#define TICK_MS     20
#define CLOSE_WAIT_MS 3000
/* What the sim accepts in one frame; Twilio documents no limit, libsoup's
 * default (128 KiB) would close the socket on a large media message. */
#define MAX_INCOMING (16 * 1024 * 1024)

/* Twilio's warnings for what an app sends back (its error reference):
 * 31950 "Stream - Protocol - Malformed Message": a frame Twilio cannot decode
 *       at all — a binary frame.
 * 31951 "Stream - Protocol - Invalid Message": not JSON, an unsupported
 *       event, a missing/unexpected/ill-typed field, bad base64, a streamSid
 *       that is not this stream's. */
#define TWILIO_MALFORMED_MESSAGE 31950
#define TWILIO_INVALID_MESSAGE   31951

typedef struct {
  gint code;
  char *reason;
} Violation;

typedef struct {
  gint64 at_ms;
  SimClearResult result;
} ClearRecord;

struct _SimStream {
  const SimConfig *cfg;
  char *url;
  char *signature_url;
  char *stream_sid;
  char *call_sid;
  GStrv param_names;
  GStrv param_values;
  char *log_prefix;
  SoupSession *session;
  SoupMessage *msg;
  SoupWebsocketConnection *conn;
  SimStreamStats *stats;
  SimStreamDone done;
  gpointer user_data;
  SimStreamEnd end;
  char *error;

  GBytes *caller;
  gsize caller_offset;
  gint64 seq;
  gint64 chunk;

  /* monotonic clock, µs */
  gint64 t0;
  gint64 first_media_us;
  gint64 caller_done_us;
  gint64 last_rx_us;
  gint64 empty_since_us;
  gint64 pace_origin_us;   /* media is due every 20 ms from here */
  gint64 pace_sent;
  guint dtmf_next;

  SimPlayback *playback;
  guint64 played_frames;

  guint tick_id;
  guint fast_id;
  guint close_id;
  guint done_id;
  gboolean reported;
  GCancellable *cancellable;   /* the handshake */
  gboolean finishing;
  gboolean closed;
};

static gint64
ms_since (gint64 origin_us, gint64 now_us)
{
  return (now_us - origin_us) / G_TIME_SPAN_MILLISECOND;
}

static void
send_text (SimStream *st, char *text)
{
  if (st->conn != NULL && !st->closed &&
      soup_websocket_connection_get_state (st->conn) == SOUP_WEBSOCKET_STATE_OPEN) {
    soup_websocket_connection_send_text (st->conn, text);
    st->stats->frames_sent++;
  }
  g_free (text);
}

/* ---- playback: what the caller hears ------------------------------- */

static void
on_mark_reached (const char *name, gpointer user_data)
{
  SimStream *st = user_data;

  st->stats->marks_echoed++;
  g_ptr_array_add (st->stats->mark_names, g_strdup (name));
  send_text (st, gtr_twilio_build_mark_echo (++st->seq,
          st->stream_sid, name));
}

/* Play every 20 ms frame whose time has come, into the record. */
static void
play_due (SimStream *st, gint64 now)
{
  guint64 due = (guint64) ((now - st->t0) / FRAME_US);

  while (st->played_frames < due) {
    guint8 frame[FRAME_BYTES];
    gsize audio = sim_playback_play (st->playback, frame, FRAME_BYTES);

    st->stats->played_bytes += audio;
    st->played_frames++;
    g_byte_array_append (st->stats->record, frame, FRAME_BYTES);
  }
  if (sim_playback_buffered (st->playback) > 0)
    st->empty_since_us = -1;
  else if (st->empty_since_us < 0)
    st->empty_since_us = now;
}

/* ---- what the sim receives ------------------------------------------ */

static void
add_violation (SimStream *st, gint code, const char *reason)
{
  Violation v = { code, g_strdup (reason) };

  g_array_append_val (st->stats->violations, v);
  g_printerr ("%sTwilio would log %d: %s\n", st->log_prefix, code, reason);
}

static void
handle_message (SimStream *st, GtrTwilioMessage *m, gint64 now)
{
  SimClearResult res;
  ClearRecord rec;

  switch (m->type) {
    case GTR_TWILIO_EVENT_MEDIA:
      st->stats->media_received++;
      st->stats->bytes_received += g_bytes_get_size (m->payload);
      if (st->stats->load != NULL)
        sim_load_receive (st->stats->load, g_bytes_get_data (m->payload, NULL),
            g_bytes_get_size (m->payload), now);
      sim_playback_push_audio (st->playback, m->payload);
      break;
    case GTR_TWILIO_EVENT_MARK:
      st->stats->marks_received++;
      sim_playback_push_mark (st->playback, m->name);
      break;
    case GTR_TWILIO_EVENT_CLEAR:
      st->stats->clears_received++;
      sim_playback_clear (st->playback, &res);
      rec.at_ms = ms_since (st->t0, now);
      rec.result = res;
      g_array_append_val (st->stats->clears, rec);
      break;
    default:
      /* outbound_parse only returns media, mark and clear */
      add_violation (st, TWILIO_INVALID_MESSAGE, "unsupported event");
      break;
  }
}

static void
on_text (SimStream *st, GBytes *bytes, gint64 now)
{
  gsize len;
  const char *text = g_bytes_get_data (bytes, &len);
  g_autoptr (GError) error = NULL;
  g_autoptr (GtrTwilioMessage) m = gtr_twilio_outbound_parse (text, len, 0, &error);

  if (m == NULL) {
    g_autofree char *reason = g_strdup_printf ("%s: %s",
        gtr_protocol_error_code_name (error->code), error->message);
    add_violation (st, TWILIO_INVALID_MESSAGE, reason);
    return;
  }
  if (g_strcmp0 (m->stream_sid, st->stream_sid) != 0) {
    g_autofree char *reason = g_strdup_printf ("wrong streamSid '%s' "
        "(this stream is '%s')", m->stream_sid, st->stream_sid);
    add_violation (st, TWILIO_INVALID_MESSAGE, reason);
    return;
  }
  if (st->finishing)
    return;   /* the call is over for Twilio: validated, not played */
  play_due (st, now);   /* new audio queues behind what is already played */
  handle_message (st, m, now);
  play_due (st, now);
}

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *bytes,
    gpointer user_data)
{
  SimStream *st = user_data;
  gint64 now = g_get_monotonic_time ();

  st->stats->frames_received++;
  st->last_rx_us = now;
  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    g_autofree char *reason = g_strdup_printf ("binary frame (%" G_GSIZE_FORMAT
        " bytes)", g_bytes_get_size (bytes));
    add_violation (st, TWILIO_MALFORMED_MESSAGE, reason);
    return;
  }
  on_text (st, bytes, now);
}

/* ---- ending the stream -------------------------------------------------- */

static void
stop_timers (SimStream *st)
{
  g_clear_handle_id (&st->tick_id, g_source_remove);
  g_clear_handle_id (&st->fast_id, g_source_remove);
}

static gboolean
report_done (gpointer user_data)
{
  SimStream *st = user_data;

  st->done_id = 0;
  st->done (st, st->end, st->error, st->user_data);   /* may free st */
  return G_SOURCE_REMOVE;
}

/* The stream is over: tell the call, from the main context, once. */
static void
over (SimStream *st)
{
  g_clear_handle_id (&st->close_id, g_source_remove);
  if (st->done_id == 0 && !st->reported) {
    st->reported = TRUE;
    st->done_id = g_idle_add (report_done, st);
  }
}

static gboolean
on_close_timeout (gpointer user_data)
{
  SimStream *st = user_data;

  st->close_id = 0;
  g_printerr ("%sthe server did not answer our close\n", st->log_prefix);
  over (st);
  return G_SOURCE_REMOVE;
}

static void
finish (SimStream *st, SimStreamEnd end)
{
  if (st->finishing)
    return;
  st->finishing = TRUE;
  st->end = end;
  play_due (st, g_get_monotonic_time ());
  stop_timers (st);
  if (st->closed) {
    over (st);
    return;
  }
  if (!st->cfg->no_stop)
    send_text (st, gtr_twilio_build_stop (++st->seq, st->stream_sid,
            st->cfg->account_sid, st->call_sid));
  soup_websocket_connection_close (st->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  st->close_id = g_timeout_add (CLOSE_WAIT_MS, on_close_timeout, st);
}

static void
on_ws_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  SimStream *st = user_data;

  st->closed = TRUE;
  st->stats->close_code = soup_websocket_connection_get_close_code (conn);
  if (!st->finishing) {
    g_printerr ("%sthe server closed the stream (code %d)\n", st->log_prefix,
        st->stats->close_code);
    finish (st, SIM_STREAM_SERVER_CLOSED);
    return;
  }
  over (st);
}

static void
on_ws_error (SoupWebsocketConnection *conn, GError *error, gpointer user_data)
{
  SimStream *st = user_data;

  g_printerr ("%swebsocket error: %s\n", st->log_prefix, error->message);
}

void
sim_stream_hang_up (SimStream *st)
{
  if (st->conn != NULL)
    finish (st, SIM_STREAM_CALLER_HUNG_UP);
  else
    g_cancellable_cancel (st->cancellable);   /* still connecting */
}

/* ---- what the sim sends ------------------------------------------------ */

/* With --load, the caller is its numbered frames. */
static gboolean
caller_done (const SimStream *st)
{
  if (st->stats->load != NULL)
    return sim_load_done (st->stats->load);
  return st->caller_offset >= g_bytes_get_size (st->caller);
}

/* The caller's next 20 ms into `frame`: its audio, then silence. */
static void
next_caller_frame (SimStream *st, guint8 *frame, gint64 now)
{
  gsize size;
  const guint8 *audio = g_bytes_get_data (st->caller, &size);
  gsize n = MIN (FRAME_BYTES, size - st->caller_offset);

  if (st->stats->load != NULL) {
    sim_load_next_frame (st->stats->load, frame, now);
    n = FRAME_BYTES;
  } else {
    memcpy (frame, audio + st->caller_offset, n);
    memset (frame + n, SIM_MULAW_SILENCE, FRAME_BYTES - n);
    st->caller_offset += n;
  }
  if (n > 0 && caller_done (st))
    st->caller_done_us = now;
}

/* The next 20 ms of the caller as a media message. */
static void
send_media (SimStream *st, gint64 now)
{
  guint8 frame[FRAME_BYTES];

  next_caller_frame (st, frame, now);
  if (st->first_media_us < 0)
    st->first_media_us = now;
  st->chunk++;
  send_text (st, gtr_twilio_build_inbound_media (++st->seq,
          st->stream_sid, st->chunk, (st->chunk - 1) * 20,
          frame, FRAME_BYTES));
  st->stats->media_sent++;
}

static void
send_due_dtmf (SimStream *st, gint64 now)
{
  GArray *dtmf = st->cfg->dtmf;

  while (st->first_media_us >= 0 && st->dtmf_next < dtmf->len) {
    const SimDtmf *d = &g_array_index (dtmf, SimDtmf, st->dtmf_next);

    if (ms_since (st->first_media_us, now) < d->at_ms)
      break;
    send_text (st, gtr_twilio_build_dtmf (++st->seq, st->stream_sid,
            d->digit));
    st->stats->dtmf_sent++;
    st->dtmf_next++;
  }
}

/* Real-time media: one frame per 20 ms since pace_origin_us. */
static void
send_due_media (SimStream *st, gint64 now)
{
  gint64 due = (now - st->pace_origin_us) / FRAME_US + 1;

  if (st->cfg->fast && !caller_done (st))
    return;   /* the idle sender has it */
  if (now < st->pace_origin_us)
    return;
  while (st->pace_sent < due) {
    if (st->stats->load != NULL && caller_done (st))
      return;   /* --load: a quiet line after the frames, nothing to match */
    send_media (st, now);
    st->pace_sent++;
  }
}

static gboolean
should_end (const SimStream *st, gint64 now)
{
  gint64 quiet_since;

  if (!caller_done (st) || st->caller_done_us < 0)
    return FALSE;
  /* --load: --linger is how long to wait for the last frames at most */
  if (st->stats->load != NULL && sim_load_all_back (st->stats->load))
    return TRUE;
  if (st->cfg->until_quiet_ms < 0)
    return ms_since (st->caller_done_us, now) >= st->cfg->linger_ms;
  if (st->empty_since_us < 0)
    return FALSE;
  quiet_since = MAX (st->caller_done_us, MAX (st->last_rx_us,
          st->empty_since_us));
  return ms_since (quiet_since, now) >= st->cfg->until_quiet_ms;
}

/* Bring playback and sending up to now; TRUE when the caller hangs up. */
static gboolean
advance (SimStream *st)
{
  gint64 now = g_get_monotonic_time ();

  play_due (st, now);
  send_due_media (st, now);
  send_due_dtmf (st, now);
  return should_end (st, now);
}

static gboolean
on_tick (gpointer user_data)
{
  SimStream *st = user_data;

  if (!advance (st))
    return G_SOURCE_CONTINUE;
  st->tick_id = 0;
  finish (st, SIM_STREAM_CALLER_HUNG_UP);
  return G_SOURCE_REMOVE;
}

/* --fast: the caller's frames back to back, one per main-loop iteration. */
static gboolean
on_fast_idle (gpointer user_data)
{
  SimStream *st = user_data;
  gint64 now = g_get_monotonic_time ();

  send_media (st, now);
  if (!caller_done (st))
    return G_SOURCE_CONTINUE;
  st->fast_id = 0;
  st->pace_origin_us = now + FRAME_US;   /* silence resumes in real time */
  st->pace_sent = 0;
  return G_SOURCE_REMOVE;
}

static void
start_stream (SimStream *st)
{
  const SimConfig *cfg = st->cfg;

  /* Time zero before `start` leaves: the server may act on it (and a
   * loaded machine may preempt us) before the next line runs. */
  st->t0 = st->pace_origin_us = g_get_monotonic_time ();
  if (st->stats->load != NULL && st->stats->load->start_us < 0)
    st->stats->load->start_us = st->t0;
  send_text (st, gtr_twilio_build_connected ());
  send_text (st, gtr_twilio_build_start (++st->seq, st->stream_sid,
          cfg->account_sid, st->call_sid,
          (const char *const *) st->param_names,
          (const char *const *) st->param_values));
  if (caller_done (st))
    st->caller_done_us = st->t0;   /* an empty WAV: nothing to say */
  st->tick_id = g_timeout_add (TICK_MS, on_tick, st);
  if (cfg->fast)
    st->fast_id = g_idle_add (on_fast_idle, st);
  if (advance (st))   /* sends the first media now */
    finish (st, SIM_STREAM_CALLER_HUNG_UP);
}

/* ---- connecting ----------------------------------------------------------- */

static void
connect_failed (SimStream *st, char *message)
{
  st->error = message;
  st->end = SIM_STREAM_CONNECT_FAILED;
  st->closed = TRUE;
  over (st);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SimStream *st = user_data;
  g_autoptr (GError) error = NULL;
  guint status;

  st->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source),
      result, &error);
  if (st->conn == NULL) {
    status = soup_message_get_status (st->msg);
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      connect_failed (st, g_strdup ("the caller hung up while connecting"));
    else if (status != SOUP_STATUS_NONE && status != SOUP_STATUS_SWITCHING_PROTOCOLS)
      connect_failed (st, g_strdup_printf ("handshake failed: HTTP %u (%s)",
              status, st->url));
    else
      connect_failed (st, g_strdup_printf ("could not connect: %s (%s)",
              error->message, st->url));
    return;
  }
  st->stats->connected++;
  soup_websocket_connection_set_max_incoming_payload_size (st->conn, MAX_INCOMING);
  g_signal_connect (st->conn, "message", G_CALLBACK (on_ws_message), st);
  g_signal_connect (st->conn, "closed", G_CALLBACK (on_ws_closed), st);
  g_signal_connect (st->conn, "error", G_CALLBACK (on_ws_error), st);
  start_stream (st);
}

SimStream *
sim_stream_start (const SimConfig *config, const SimStreamSpec *spec,
    SoupSession *session, GBytes *caller_audio, SimStreamStats *stats,
    SimStreamDone done, gpointer user_data)
{
  SimStream *st = g_new0 (SimStream, 1);

  st->cfg = config;
  st->url = g_strdup (spec->url);
  st->signature_url = g_strdup (spec->signature_url ? spec->signature_url : spec->url);
  st->stream_sid = g_strdup (spec->stream_sid);
  st->call_sid = g_strdup (spec->call_sid);
  st->param_names = g_strdupv ((char **) spec->param_names);
  st->param_values = g_strdupv ((char **) spec->param_values);
  st->log_prefix = g_strdup (spec->log_prefix);
  st->session = g_object_ref (session);
  st->stats = stats;
  st->done = done;
  st->user_data = user_data;
  st->caller = g_bytes_ref (caller_audio);
  st->first_media_us = st->caller_done_us = st->last_rx_us = -1;
  st->empty_since_us = -1;
  st->playback = sim_playback_new (on_mark_reached, st);
  st->cancellable = g_cancellable_new ();
  st->msg = soup_message_new (SOUP_METHOD_GET, st->url);
  if (st->msg == NULL) {
    connect_failed (st, g_strdup_printf ("'%s' is not a valid URL", st->url));
    return st;
  }
  if (config->auth_token != NULL) {
    g_autofree char *sig = gtr_twilio_signature_compute (config->auth_token,
        st->signature_url, NULL, 0);

    soup_message_headers_replace (soup_message_get_request_headers (st->msg),
        "X-Twilio-Signature", sig);
  }
  soup_session_websocket_connect_async (st->session, st->msg, NULL, NULL,
      G_PRIORITY_DEFAULT, st->cancellable, on_connected, st);
  return st;
}

void
sim_stream_free (SimStream *st)
{
  stop_timers (st);
  g_clear_handle_id (&st->close_id, g_source_remove);
  g_clear_handle_id (&st->done_id, g_source_remove);
  if (st->conn != NULL)
    g_signal_handlers_disconnect_by_data (st->conn, st);
  g_clear_object (&st->conn);
  g_clear_object (&st->msg);
  g_clear_object (&st->session);
  g_clear_object (&st->cancellable);
  sim_playback_free (st->playback);
  g_bytes_unref (st->caller);
  g_free (st->url);
  g_free (st->signature_url);
  g_free (st->stream_sid);
  g_free (st->call_sid);
  g_strfreev (st->param_names);
  g_strfreev (st->param_values);
  g_free (st->log_prefix);
  g_free (st->error);
  g_free (st);
}

/* ---- the summary ------------------------------------------------------------ */

static void
add_clears (JsonBuilder *b, GArray *clears)
{
  json_builder_set_member_name (b, "clears");
  json_builder_begin_array (b);
  for (guint i = 0; i < clears->len; i++) {
    const ClearRecord *c = &g_array_index (clears, ClearRecord, i);

    json_builder_begin_object (b);
    sim_json_add_int (b, "at_ms", c->at_ms);
    sim_json_add_int (b, "heard_ms", c->result.heard_bytes / 8);
    sim_json_add_int (b, "discarded_ms", c->result.discarded_bytes / 8);
    sim_json_add_int (b, "marks_flushed", c->result.marks_flushed);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

static void
add_violations (JsonBuilder *b, GArray *violations)
{
  sim_json_add_int (b, "violations", violations->len);
  json_builder_set_member_name (b, "violation_details");
  json_builder_begin_array (b);
  for (guint i = 0; i < violations->len; i++) {
    const Violation *v = &g_array_index (violations, Violation, i);

    json_builder_begin_object (b);
    sim_json_add_int (b, "code", v->code);
    sim_json_add_string (b, "reason", v->reason);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

void
sim_stream_stats_to_json (const SimStreamStats *stats, JsonBuilder *b)
{
  sim_json_add_int (b, "frames_sent", stats->frames_sent);
  sim_json_add_int (b, "media_sent", stats->media_sent);
  sim_json_add_int (b, "dtmf_sent", stats->dtmf_sent);
  sim_json_add_int (b, "frames_received", stats->frames_received);
  sim_json_add_int (b, "media_received", stats->media_received);
  sim_json_add_int (b, "bytes_received", stats->bytes_received);
  sim_json_add_int (b, "played_ms", stats->played_bytes / 8);
  sim_json_add_int (b, "marks_received", stats->marks_received);
  sim_json_add_int (b, "marks_echoed", stats->marks_echoed);
  sim_json_add_strings (b, "mark_names", stats->mark_names);
  sim_json_add_int (b, "clears_received", stats->clears_received);
  add_clears (b, stats->clears);
  add_violations (b, stats->violations);
  sim_json_add_int (b, "close_code", stats->close_code);
}

static void
violation_clear (gpointer data)
{
  g_free (((Violation *) data)->reason);
}

void
sim_stream_stats_init (SimStreamStats *stats)
{
  memset (stats, 0, sizeof *stats);
  stats->record = g_byte_array_new ();
  stats->mark_names = g_ptr_array_new_with_free_func (g_free);
  stats->clears = g_array_new (FALSE, FALSE, sizeof (ClearRecord));
  stats->violations = g_array_new (FALSE, FALSE, sizeof (Violation));
  g_array_set_clear_func (stats->violations, violation_clear);
}

void
sim_stream_stats_clear (SimStreamStats *stats)
{
  g_clear_pointer (&stats->load, sim_load_free);
  g_byte_array_unref (stats->record);
  g_ptr_array_unref (stats->mark_names);
  g_array_unref (stats->clears);
  g_array_unref (stats->violations);
}
