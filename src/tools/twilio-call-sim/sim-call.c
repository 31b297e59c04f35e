/* twilio-call-sim: one Media Stream call (see sim-call.h). */
#include "sim-call.h"
#include "sim-audio.h"
#include "sim-playback.h"

#include "gtr-protocol.h"

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
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

typedef struct {
  const SimConfig *cfg;
  GMainLoop *loop;
  SoupSession *session;
  SoupMessage *msg;
  SoupWebsocketConnection *conn;
  int exit_code;

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
  GByteArray *record;

  guint tick_id;
  guint fast_id;
  guint close_id;
  guint sigint_id;
  guint sigterm_id;
  gboolean finishing;
  gboolean closed;

  /* the summary */
  guint64 frames_sent, media_sent, dtmf_sent;
  guint64 frames_received, media_received, bytes_received, played_bytes;
  guint64 marks_received, marks_echoed, clears_received;
  GPtrArray *mark_names;
  GArray *clears;
  GArray *violations;
  gint close_code;
} SimCall;

static gint64
ms_since (gint64 origin_us, gint64 now_us)
{
  return (now_us - origin_us) / G_TIME_SPAN_MILLISECOND;
}

static void
send_text (SimCall *call, char *text)
{
  if (call->conn != NULL && !call->closed &&
      soup_websocket_connection_get_state (call->conn) == SOUP_WEBSOCKET_STATE_OPEN) {
    soup_websocket_connection_send_text (call->conn, text);
    call->frames_sent++;
  }
  g_free (text);
}

/* ---- playback: what the caller hears ------------------------------- */

static void
on_mark_reached (const char *name, gpointer user_data)
{
  SimCall *call = user_data;

  call->marks_echoed++;
  g_ptr_array_add (call->mark_names, g_strdup (name));
  send_text (call, gtr_twilio_build_mark_echo (++call->seq,
          call->cfg->stream_sid, name));
}

/* Play every 20 ms frame whose time has come, into the record. */
static void
play_due (SimCall *call, gint64 now)
{
  guint64 due = (guint64) ((now - call->t0) / FRAME_US);

  while (call->played_frames < due) {
    guint8 frame[FRAME_BYTES];
    gsize audio = sim_playback_play (call->playback, frame, FRAME_BYTES);

    call->played_bytes += audio;
    call->played_frames++;
    g_byte_array_append (call->record, frame, FRAME_BYTES);
  }
  if (sim_playback_buffered (call->playback) > 0)
    call->empty_since_us = -1;
  else if (call->empty_since_us < 0)
    call->empty_since_us = now;
}

/* ---- what the sim receives ------------------------------------------ */

static void
add_violation (SimCall *call, gint code, const char *reason)
{
  Violation v = { code, g_strdup (reason) };

  g_array_append_val (call->violations, v);
  g_printerr ("twilio-call-sim: Twilio would log %d: %s\n", code, reason);
}

static void
handle_message (SimCall *call, GtrTwilioMessage *m, gint64 now)
{
  SimClearResult res;
  ClearRecord rec;

  switch (m->type) {
    case GTR_TWILIO_EVENT_MEDIA:
      call->media_received++;
      call->bytes_received += g_bytes_get_size (m->payload);
      sim_playback_push_audio (call->playback, m->payload);
      break;
    case GTR_TWILIO_EVENT_MARK:
      call->marks_received++;
      sim_playback_push_mark (call->playback, m->name);
      break;
    case GTR_TWILIO_EVENT_CLEAR:
      call->clears_received++;
      sim_playback_clear (call->playback, &res);
      rec.at_ms = ms_since (call->t0, now);
      rec.result = res;
      g_array_append_val (call->clears, rec);
      break;
    default:
      /* outbound_parse only returns media, mark and clear */
      add_violation (call, TWILIO_INVALID_MESSAGE, "unsupported event");
      break;
  }
}

static void
on_text (SimCall *call, GBytes *bytes, gint64 now)
{
  gsize len;
  const char *text = g_bytes_get_data (bytes, &len);
  g_autoptr (GError) error = NULL;
  g_autoptr (GtrTwilioMessage) m = gtr_twilio_outbound_parse (text, len, 0, &error);

  if (m == NULL) {
    g_autofree char *reason = g_strdup_printf ("%s: %s",
        gtr_protocol_error_code_name (error->code), error->message);
    add_violation (call, TWILIO_INVALID_MESSAGE, reason);
    return;
  }
  if (g_strcmp0 (m->stream_sid, call->cfg->stream_sid) != 0) {
    g_autofree char *reason = g_strdup_printf ("wrong streamSid '%s' "
        "(this stream is '%s')", m->stream_sid, call->cfg->stream_sid);
    add_violation (call, TWILIO_INVALID_MESSAGE, reason);
    return;
  }
  if (call->finishing)
    return;   /* the call is over for Twilio: validated, not played */
  play_due (call, now);   /* new audio queues behind what is already played */
  handle_message (call, m, now);
  play_due (call, now);
}

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *bytes,
    gpointer user_data)
{
  SimCall *call = user_data;
  gint64 now = g_get_monotonic_time ();

  call->frames_received++;
  call->last_rx_us = now;
  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    g_autofree char *reason = g_strdup_printf ("binary frame (%" G_GSIZE_FORMAT
        " bytes)", g_bytes_get_size (bytes));
    add_violation (call, TWILIO_MALFORMED_MESSAGE, reason);
    return;
  }
  on_text (call, bytes, now);
}

/* ---- ending the call -------------------------------------------------- */

static void
stop_timers (SimCall *call)
{
  g_clear_handle_id (&call->tick_id, g_source_remove);
  g_clear_handle_id (&call->fast_id, g_source_remove);
  g_clear_handle_id (&call->sigint_id, g_source_remove);
  g_clear_handle_id (&call->sigterm_id, g_source_remove);
}

static gboolean
on_close_timeout (gpointer user_data)
{
  SimCall *call = user_data;

  call->close_id = 0;
  g_printerr ("twilio-call-sim: the server did not answer our close\n");
  g_main_loop_quit (call->loop);
  return G_SOURCE_REMOVE;
}

static void
finish (SimCall *call)
{
  if (call->finishing)
    return;
  call->finishing = TRUE;
  play_due (call, g_get_monotonic_time ());
  stop_timers (call);
  if (call->closed) {
    g_main_loop_quit (call->loop);
    return;
  }
  if (!call->cfg->no_stop)
    send_text (call, gtr_twilio_build_stop (++call->seq, call->cfg->stream_sid,
            call->cfg->account_sid, call->cfg->call_sid));
  soup_websocket_connection_close (call->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  call->close_id = g_timeout_add (CLOSE_WAIT_MS, on_close_timeout, call);
}

static void
on_ws_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  SimCall *call = user_data;

  call->closed = TRUE;
  call->close_code = soup_websocket_connection_get_close_code (conn);
  if (!call->finishing) {
    g_printerr ("twilio-call-sim: the server closed the stream (code %d)\n",
        call->close_code);
    finish (call);
    return;
  }
  g_clear_handle_id (&call->close_id, g_source_remove);
  g_main_loop_quit (call->loop);
}

static void
on_ws_error (SoupWebsocketConnection *conn, GError *error, gpointer user_data)
{
  g_printerr ("twilio-call-sim: websocket error: %s\n", error->message);
}

/* SIGINT/SIGTERM hang up like a caller: stop, close, record, summary. */
static gboolean
on_hangup_signal (gpointer user_data)
{
  finish (user_data);   /* removes both signal sources */
  return G_SOURCE_CONTINUE;
}

/* ---- what the sim sends ------------------------------------------------ */

static gboolean
caller_done (const SimCall *call)
{
  return call->caller_offset >= g_bytes_get_size (call->caller);
}

/* The next 20 ms of the caller: its audio, then silence. */
static void
send_media (SimCall *call, gint64 now)
{
  gsize size;
  const guint8 *audio = g_bytes_get_data (call->caller, &size);
  guint8 frame[FRAME_BYTES];
  gsize n = MIN (FRAME_BYTES, size - call->caller_offset);

  memcpy (frame, audio + call->caller_offset, n);
  memset (frame + n, SIM_MULAW_SILENCE, FRAME_BYTES - n);
  if (n > 0) {
    call->caller_offset += n;
    if (caller_done (call))
      call->caller_done_us = now;
  }
  if (call->first_media_us < 0)
    call->first_media_us = now;
  call->chunk++;
  send_text (call, gtr_twilio_build_inbound_media (++call->seq,
          call->cfg->stream_sid, call->chunk, (call->chunk - 1) * 20,
          frame, FRAME_BYTES));
  call->media_sent++;
}

static void
send_due_dtmf (SimCall *call, gint64 now)
{
  GArray *dtmf = call->cfg->dtmf;

  while (call->first_media_us >= 0 && call->dtmf_next < dtmf->len) {
    const SimDtmf *d = &g_array_index (dtmf, SimDtmf, call->dtmf_next);

    if (ms_since (call->first_media_us, now) < d->at_ms)
      break;
    send_text (call, gtr_twilio_build_dtmf (++call->seq, call->cfg->stream_sid,
            d->digit));
    call->dtmf_sent++;
    call->dtmf_next++;
  }
}

/* Real-time media: one frame per 20 ms since pace_origin_us. */
static void
send_due_media (SimCall *call, gint64 now)
{
  gint64 due = (now - call->pace_origin_us) / FRAME_US + 1;

  if (call->cfg->fast && !caller_done (call))
    return;   /* the idle sender has it */
  if (now < call->pace_origin_us)
    return;
  while (call->pace_sent < due) {
    send_media (call, now);
    call->pace_sent++;
  }
}

static gboolean
should_end (const SimCall *call, gint64 now)
{
  gint64 quiet_since;

  if (!caller_done (call) || call->caller_done_us < 0)
    return FALSE;
  if (call->cfg->until_quiet_ms < 0)
    return ms_since (call->caller_done_us, now) >= call->cfg->linger_ms;
  if (call->empty_since_us < 0)
    return FALSE;
  quiet_since = MAX (call->caller_done_us, MAX (call->last_rx_us,
          call->empty_since_us));
  return ms_since (quiet_since, now) >= call->cfg->until_quiet_ms;
}

/* Bring playback and sending up to now; TRUE when the call should end. */
static gboolean
advance (SimCall *call)
{
  gint64 now = g_get_monotonic_time ();

  play_due (call, now);
  send_due_media (call, now);
  send_due_dtmf (call, now);
  return should_end (call, now);
}

static gboolean
on_tick (gpointer user_data)
{
  SimCall *call = user_data;

  if (!advance (call))
    return G_SOURCE_CONTINUE;
  call->tick_id = 0;
  finish (call);
  return G_SOURCE_REMOVE;
}

/* --fast: the caller's frames back to back, one per main-loop iteration. */
static gboolean
on_fast_idle (gpointer user_data)
{
  SimCall *call = user_data;
  gint64 now = g_get_monotonic_time ();

  send_media (call, now);
  if (!caller_done (call))
    return G_SOURCE_CONTINUE;
  call->fast_id = 0;
  call->pace_origin_us = now + FRAME_US;   /* silence resumes in real time */
  call->pace_sent = 0;
  return G_SOURCE_REMOVE;
}

static void
start_stream (SimCall *call)
{
  const SimConfig *cfg = call->cfg;

  send_text (call, gtr_twilio_build_connected ());
  send_text (call, gtr_twilio_build_start (++call->seq, cfg->stream_sid,
          cfg->account_sid, cfg->call_sid,
          (const char *const *) cfg->param_names->pdata,
          (const char *const *) cfg->param_values->pdata));
  call->t0 = call->pace_origin_us = g_get_monotonic_time ();
  if (caller_done (call))
    call->caller_done_us = call->t0;   /* an empty WAV: nothing to say */
  call->tick_id = g_timeout_add (TICK_MS, on_tick, call);
  if (cfg->fast)
    call->fast_id = g_idle_add (on_fast_idle, call);
  call->sigint_id = g_unix_signal_add (SIGINT, on_hangup_signal, call);
  call->sigterm_id = g_unix_signal_add (SIGTERM, on_hangup_signal, call);
  if (advance (call))   /* sends the first media now */
    finish (call);
}

/* ---- connecting ----------------------------------------------------------- */

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SimCall *call = user_data;
  g_autoptr (GError) error = NULL;
  guint status;

  call->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source),
      result, &error);
  if (call->conn == NULL) {
    status = soup_message_get_status (call->msg);
    if (status != SOUP_STATUS_NONE && status != SOUP_STATUS_SWITCHING_PROTOCOLS)
      g_printerr ("handshake failed: HTTP %u\n", status);
    else
      g_printerr ("could not connect: %s\n", error->message);
    call->exit_code = SIM_EXIT_CONNECT;
    g_main_loop_quit (call->loop);
    return;
  }
  soup_websocket_connection_set_max_incoming_payload_size (call->conn, MAX_INCOMING);
  g_signal_connect (call->conn, "message", G_CALLBACK (on_ws_message), call);
  g_signal_connect (call->conn, "closed", G_CALLBACK (on_ws_closed), call);
  g_signal_connect (call->conn, "error", G_CALLBACK (on_ws_error), call);
  start_stream (call);
}

static gboolean
connect_call (SimCall *call, GError **error)
{
  const SimConfig *cfg = call->cfg;

  call->session = soup_session_new ();
  if (cfg->ca_file != NULL) {
    g_autoptr (GTlsDatabase) db = g_tls_file_database_new (cfg->ca_file, error);

    if (db == NULL)
      return FALSE;
    soup_session_set_tls_database (call->session, db);
  }
  call->msg = soup_message_new (SOUP_METHOD_GET, cfg->url);
  if (call->msg == NULL) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--url '%s' is not a valid URL", cfg->url);
    return FALSE;
  }
  if (cfg->auth_token != NULL) {
    const char *signed_url = cfg->signature_url ? cfg->signature_url : cfg->url;
    g_autofree char *sig = gtr_twilio_signature_compute (cfg->auth_token,
        signed_url, NULL, 0);

    soup_message_headers_replace (soup_message_get_request_headers (call->msg),
        "X-Twilio-Signature", sig);
  }
  soup_session_websocket_connect_async (call->session, call->msg, NULL, NULL,
      G_PRIORITY_DEFAULT, NULL, on_connected, call);
  return TRUE;
}

/* ---- the summary ------------------------------------------------------------ */

static void
add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_clears (JsonBuilder *b, GArray *clears)
{
  json_builder_set_member_name (b, "clears");
  json_builder_begin_array (b);
  for (guint i = 0; i < clears->len; i++) {
    const ClearRecord *c = &g_array_index (clears, ClearRecord, i);

    json_builder_begin_object (b);
    add_int (b, "at_ms", c->at_ms);
    add_int (b, "heard_ms", c->result.heard_bytes / 8);
    add_int (b, "discarded_ms", c->result.discarded_bytes / 8);
    add_int (b, "marks_flushed", c->result.marks_flushed);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

static void
add_violations (JsonBuilder *b, GArray *violations)
{
  add_int (b, "violations", violations->len);
  json_builder_set_member_name (b, "violation_details");
  json_builder_begin_array (b);
  for (guint i = 0; i < violations->len; i++) {
    const Violation *v = &g_array_index (violations, Violation, i);

    json_builder_begin_object (b);
    add_int (b, "code", v->code);
    json_builder_set_member_name (b, "reason");
    json_builder_add_string_value (b, v->reason);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

static char *
summary_json (const SimCall *call)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  add_int (b, "frames_sent", call->frames_sent);
  add_int (b, "media_sent", call->media_sent);
  add_int (b, "dtmf_sent", call->dtmf_sent);
  add_int (b, "frames_received", call->frames_received);
  add_int (b, "media_received", call->media_received);
  add_int (b, "bytes_received", call->bytes_received);
  add_int (b, "played_ms", call->played_bytes / 8);
  add_int (b, "marks_received", call->marks_received);
  add_int (b, "marks_echoed", call->marks_echoed);
  json_builder_set_member_name (b, "mark_names");
  json_builder_begin_array (b);
  for (guint i = 0; i < call->mark_names->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (call->mark_names, i));
  json_builder_end_array (b);
  add_int (b, "clears_received", call->clears_received);
  add_clears (b, call->clears);
  add_violations (b, call->violations);
  add_int (b, "close_code", call->close_code);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* Print the summary, write it and the record; FALSE if a file failed. */
static gboolean
write_outputs (SimCall *call)
{
  g_autofree char *json = summary_json (call);
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;

  if (call->cfg->record_path != NULL) {
    g_autoptr (GBytes) rec = g_bytes_new (call->record->data, call->record->len);

    if (!sim_audio_write_wav (call->cfg->record_path, rec, &error)) {
      g_printerr ("twilio-call-sim: could not write --record %s: %s\n",
          call->cfg->record_path, error->message);
      g_clear_error (&error);
      ok = FALSE;
    }
  }
  if (call->cfg->summary_path != NULL) {
    g_autofree char *line = g_strconcat (json, "\n", NULL);

    if (!g_file_set_contents (call->cfg->summary_path, line, -1, &error)) {
      g_printerr ("twilio-call-sim: %s\n", error->message);
      ok = FALSE;
    }
  }
  printf ("%s\n", json);
  fflush (stdout);
  return ok;
}

static void
violation_clear (gpointer data)
{
  g_free (((Violation *) data)->reason);
}

static void
sim_call_init (SimCall *call, const SimConfig *config, GBytes *caller_audio)
{
  memset (call, 0, sizeof *call);
  call->cfg = config;
  call->loop = g_main_loop_new (NULL, FALSE);
  call->caller = g_bytes_ref (caller_audio);
  call->first_media_us = call->caller_done_us = call->last_rx_us = -1;
  call->empty_since_us = -1;
  call->playback = sim_playback_new (on_mark_reached, call);
  call->record = g_byte_array_new ();
  call->mark_names = g_ptr_array_new_with_free_func (g_free);
  call->clears = g_array_new (FALSE, FALSE, sizeof (ClearRecord));
  call->violations = g_array_new (FALSE, FALSE, sizeof (Violation));
  g_array_set_clear_func (call->violations, violation_clear);
}

static void
sim_call_clear (SimCall *call)
{
  stop_timers (call);
  g_clear_handle_id (&call->close_id, g_source_remove);
  if (call->conn != NULL)
    g_signal_handlers_disconnect_by_data (call->conn, call);
  g_clear_object (&call->conn);
  g_clear_object (&call->msg);
  g_clear_object (&call->session);
  sim_playback_free (call->playback);
  g_byte_array_unref (call->record);
  g_ptr_array_unref (call->mark_names);
  g_array_unref (call->clears);
  g_array_unref (call->violations);
  g_bytes_unref (call->caller);
  g_main_loop_unref (call->loop);
}

int
sim_call_run (const SimConfig *config, GBytes *caller_audio)
{
  SimCall call;
  g_autoptr (GError) error = NULL;
  int exit_code;

  sim_call_init (&call, config, caller_audio);
  if (!connect_call (&call, &error)) {
    g_printerr ("twilio-call-sim: %s\n", error->message);
    sim_call_clear (&call);
    return SIM_EXIT_USAGE;
  }
  g_main_loop_run (call.loop);
  exit_code = call.exit_code;
  if (!write_outputs (&call) && exit_code == SIM_EXIT_OK)
    exit_code = SIM_EXIT_USAGE;
  if (exit_code == SIM_EXIT_OK && call.violations->len > 0)
    exit_code = SIM_EXIT_VIOLATIONS;
  sim_call_clear (&call);
  return exit_code;
}
