/* openailive: one OpenAI GPT-Live session (/v1/live/sessions) as a
 * GStreamer element, the sibling of openairealtime for OpenAI's second voice
 * API.  Same pads' role, same bus contract where the meaning is the same
 * (docs/elements.md), its own protocol (src/protocol/gtr-live.h).
 *
 * Threads and locking as in openairealtime: the WebSocket, every server
 * event, the timers and every push on the src pad are on the process-wide
 * network thread (gtr-netloop); caller audio arrives on upstream's thread
 * and its appends are handed over in order.  `settings_lock` guards the
 * properties, `lock` the state shared with the sink-pad thread and the
 * application (stats, the held input, the format, the call's parameters);
 * the output side (the agent's queue, what was pushed and heard) is touched
 * only on the network thread.
 *
 * What differs from Realtime, and why the code differs:
 * - one audio format for both directions, set once in session.start: the
 *   pads proxy caps, so the src pad carries exactly the sink pad's format;
 * - session.start is sent once the caps (and, when the instructions hold
 *   {placeholders}, the call's parameters) are known: GPT-Live's
 *   instructions cannot be changed later;
 * - no truncate, no VAD events, no response.create for speech: barge-in is
 *   ours (pacing by marks + Twilio clear, see "Playback" below);
 * - text reaches the model only as appends: DTMF is an instructions append.
 */

/**
 * SECTION:element-openailive
 * @title: openailive
 *
 * One OpenAI GPT-Live session (`wss://api.openai.com/v1/live/sessions`,
 * models gpt-live-1 and gpt-live-1.1; Azure's `/openai/v1/live/sessions`).
 * Caller audio that enters the sink pad is streamed to the model
 * (`session.input_audio.append`); the model's speech
 * (`session.output_audio.delta`) leaves the src pad.
 *
 * Formats are caps: GPT-Live has one audio format for both directions, so
 * both pads carry the same one (μ-law 8 kHz, A-law 8 kHz, S16LE 16 kHz or
 * S16LE 24 kHz mono). The element connects at READY→PAUSED, sends
 * `session.start` with that format, and checks `session.started` against
 * the caps: a rejected start is an error (LIBRARY, SETTINGS) with the API's
 * words, a different format an error (STREAM, FORMAT). No audio leaves the
 * element before the session is confirmed; caller audio is held until then
 * (up to 5 s). Bounds: #GstOpenaiLive:connect-timeout-ms,
 * #GstOpenaiLive:confirm-timeout-ms, #GstOpenaiLive:liveness-timeout-ms.
 *
 * Playback and barge-in: GPT-Live decides turns itself and never says what
 * the caller heard. With a Twilio call upstream (the `twilio/call` event),
 * at most #GstOpenaiLive:max-queued-ms of the agent's audio is ever unplayed
 * at Twilio: the element holds the rest and releases it as Twilio echoes
 * the marks it asks for after every ≤100 ms. When the caller starts talking
 * over the agent (the first `session.input_transcript.delta` while agent
 * audio is unplayed), what is held is dropped and the src pad flushed
 * (twiliosink turns it into a Twilio `clear`).
 *
 * A lost session (no close frame, a close other than 1000, a stall, or
 * session.closed with reason expired) is replaced: a new session with the
 * conversation as its startup history (#GstOpenaiLive:reconnect-attempts).
 */

#include <config.h>

#include "gstopenailive.h"
#include "gstopenairealtime-enums.h"
#include "gstopenairealtime-enumtypes.h"
#include "gstopenairealtime-tools.h"
#include "gstopenaiapi.h"
#include "gstopenaiagent.h"

#include <string.h>
#include <gst/base/gstadapter.h>
#include <libsoup/soup.h>

#include "gtr-protocol.h"
#include "gtr-live.h"
#include "gtr-netloop.h"
#include "gtr-events.h"
#include "gtr-inspect.h"
#include "gtr-element-util.h"

GST_DEBUG_CATEGORY_STATIC (gst_openai_live_debug);
#define GST_CAT_DEFAULT gst_openai_live_debug

#define DEFAULT_URI "wss://api.openai.com/v1/live/sessions"
#define DEFAULT_MODEL "gpt-live-1.1"
#define DEFAULT_VOICE "marin"
#define DEFAULT_DELEGATION GST_OPENAI_LIVE_DELEGATION_CLIENT
#define DEFAULT_DTMF_TO_TEXT TRUE
#define DEFAULT_HANGUP_TOOL TRUE
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_CONFIRM_TIMEOUT_MS 10000
#define DEFAULT_LIVENESS_TIMEOUT_MS 10000
#define DEFAULT_MAX_QUEUED_MS 200
#define MIN_TIMEOUT_MS 100
#define MAX_TIMEOUT_MS 600000
#define MIN_LIVENESS_TIMEOUT_MS 1500
#define MAX_LIVENESS_TIMEOUT_MS 15000
#define MAX_QUEUED_MS_MAX 10000
#define DEFAULT_RECONNECT_ATTEMPTS 5
#define DEFAULT_RECONNECT_BACKOFF_MS 250
#define MAX_RECONNECT_DELAY_MS 8000
#define HISTORY_KEPT 120        /* session.input takes at most 128 messages */

#define HOLD_MS 5000            /* caller audio held before confirmation */
#define APPEND_MIN_MS 20        /* batch appends to at least this much */
#define MARK_EVERY_MS 100       /* a mark after every ≤100 ms of agent audio */
#define MARK_WAIT_MS 2000       /* paced, no echo: assume played (bounded wait) */
#define QUIET_MS 600            /* hang-up: the model has stopped speaking */
#define END_MAX_MS 10000        /* hang-up: the last words' bound */
#define CLOSE_WAIT_MS 2000      /* session.close: the bound on session.closed */
#define MAX_INCOMING_PAYLOAD (16 * 1024 * 1024)
#define SENT_EVENTS_KEPT 256

#define MSG_PREFIX "openai-realtime/"   /* one contract with openairealtime */
#define LIVE_PREFIX "openai-live/"      /* what only GPT-Live has */

enum {
  PROP_0,
  PROP_API_KEY,
  PROP_URI,
  PROP_MODEL,
  PROP_INSTRUCTIONS,
  PROP_VOICE,
  PROP_CUSTOM_VOICE_ID,
  PROP_GREETING,
  PROP_DELEGATION,
  PROP_RESPONSES_MODEL,
  PROP_RESPONSES_INSTRUCTIONS,
  PROP_TOOLS,
  PROP_TOOLS_FILE,
  PROP_TOOL_CHOICE,
  PROP_HANGUP_TOOL,
  PROP_TRANSFER_TO,
  PROP_TLS_CA_FILE,
  PROP_DTMF_TO_TEXT,
  PROP_CONNECT_TIMEOUT_MS,
  PROP_CONFIRM_TIMEOUT_MS,
  PROP_LIVENESS_TIMEOUT_MS,
  PROP_MAX_QUEUED_MS,
  PROP_RECONNECT_ATTEMPTS,
  PROP_RECONNECT_BACKOFF_MS,
  PROP_STATS,
};

enum {
  SIGNAL_TRANSCRIPT,
  SIGNAL_FUNCTION_CALL,
  SIGNAL_FUNCTION_RESULT,
  SIGNAL_DELEGATION,
  SIGNAL_DELEGATION_RESULT,
  SIGNAL_HANG_UP,
  SIGNAL_TRANSFER,
  LAST_SIGNAL
};
static guint signals[LAST_SIGNAL];

typedef struct {
  char *api_key;
  char *uri;
  char *model;
  char *instructions;
  char *voice;
  char *custom_voice_id;
  char *greeting;
  GstOpenaiLiveDelegation delegation;
  char *responses_model;
  char *responses_instructions;
  char *tools;
  char *tools_file;
  char *tool_choice;
  gboolean hangup_tool;
  char *transfer_to;
  char *tls_ca_file;
  gboolean dtmf_to_text;
  guint connect_timeout_ms;
  guint confirm_timeout_ms;
  guint liveness_timeout_ms;
  guint max_queued_ms;
  guint reconnect_attempts;
  guint reconnect_backoff_ms;
} Settings;

typedef struct {
  guint64 audio_in_bytes;
  guint64 audio_out_bytes;
  guint64 appends;
  guint64 barge_ins;
  guint64 cleared_ms;          /* agent audio dropped or cleared by barge-ins */
  guint64 max_unplayed_ms;     /* the most ever unplayed at Twilio */
  guint64 errors;
  guint64 marks_sent;
  guint64 marks_heard;
  guint64 marks_missing;       /* paced waits that ended without an echo */
  guint64 bad_frames;
  guint64 function_calls;
  guint64 delegations;
  guint64 dropped_input_bytes;
  guint64 dropped_unconfirmed;  /* deltas before confirmation */
  guint64 reconnects;          /* sessions that replaced a lost one */
} Stats;

/* The end of a call we end: wait for the last words, send session.close and
 * wait (CLOSE_WAIT_MS at most) for session.closed — its reason and billed
 * seconds — then EOS. */
enum { END_NONE, END_WAITING, END_CLOSING, END_DONE };

struct _GstOpenaiLive {
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  GMutex settings_lock;
  Settings settings;

  GMutex lock;
  GCond connect_done;
  guint connecting;            /* websocket_connect_async calls in flight */
  /* shared per-run state (lock) */
  Stats stats;
  GtrLiveAudioFormat format;   /* the caps' format, both pads */
  gboolean confirmed;
  gboolean failed;
  gboolean eos;
  gboolean buffer_seen;        /* the first caller buffer: sticky events are in */
  GstAdapter *held;            /* caller audio before confirmation */
  gboolean held_warned;
  GstAdapter *batch;           /* caller audio after confirmation */
  GstStructure *call_params;
  gboolean call_seen;          /* a twilio/call event: marks will be echoed */

  /* network-thread state */
  GMainContext *context;
  GCancellable *cancellable;
  SoupSession *session;
  SoupMessage *handshake;
  SoupWebsocketConnection *conn;
  GTlsDatabase *extra_ca;
  GTlsCertificateFlags tls_errors;
  char *endpoint;
  gint net_phase;
  guint connect_timeout_ms;    /* this run's bounds */
  guint confirm_timeout_ms;
  guint liveness_timeout_ms;
  guint max_queued_ms;
  GtrTimer *connect_timer;
  GtrTimer *confirm_timer;
  GtrTimer *liveness_timer;
  GtrTimer *mark_timer;         /* a paced wait for an echo */
  GtrTimer *end_timer;          /* hang-up: waiting for the last words */
  gint64 last_rx_us;
  char *parse_error;
  char *start_id;              /* our session.start's event_id */
  gboolean start_sent;
  char *session_tools;         /* Responses tools with the built-ins (JSON) */
  gboolean hangup_on;
  gboolean transfer_on;        /* transfer_call is among the tools */
  char *run_transfer_to;       /* this run's transfer-to */
  gboolean end_is_transfer;    /* the end posts transfer (at once), not hang-up */
  gboolean closed_seen;        /* session.closed arrived */
  GtrSentEvents *sent;
  GtrAgentOutput out;          /* the src pad, gated until PLAYING */
  GstSegment segment;
  GstClockTime out_base;
  guint64 out_samples;
  GstAdapter *agent;           /* agent audio not yet pushed (paced) */
  guint64 pushed_ms;           /* agent audio pushed since the start */
  guint64 heard_ms;            /* of it, what Twilio's echoes say was played */
  gint64 last_delta_us;        /* monotonic: the last agent audio delta */
  gint ending;                 /* END_*: the call ends after the last words */
  gint64 end_asked_us;
  char *end_reason;
  char *uri;                   /* this run's, for a reconnect */

  /* keeping the call when the session is lost (network thread) */
  guint reconnect_attempts;    /* this run's bounds */
  guint reconnect_backoff_ms;
  GPtrArray *history;          /* Turn: what was said, for the next session */
  char *lost_reason;           /* set while reconnecting */
  char *lost_error;            /* why the last attempt failed */
  guint attempt;               /* attempts made in this reconnect */
  gint64 lost_us;
  GtrTimer *reconnect_timer;
  gboolean stopping;           /* stop_connection ran: nothing reconnects */
};

typedef struct {
  gboolean assistant;
  GString *text;
} Turn;

#define CAPS_STR \
  "audio/x-mulaw, rate=(int)8000, channels=(int)1; " \
  "audio/x-alaw, rate=(int)8000, channels=(int)1; " \
  "audio/x-raw, format=(string)S16LE, rate=(int){ 24000, 16000 }, channels=(int)1, layout=(string)interleaved"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));

#define gst_openai_live_parent_class parent_class
G_DEFINE_TYPE (GstOpenaiLive, gst_openai_live, GST_TYPE_ELEMENT);

static void release_agent_audio (GstOpenaiLive *self);
static void maybe_end (GstOpenaiLive *self);
static void begin_end (GstOpenaiLive *self, const char *reason);
static void begin_transfer (GstOpenaiLive *self, const char *target, const char *reason);
static gboolean session_lost (GstOpenaiLive *self, const char *reason);
static void reconnect_failed (GstOpenaiLive *self, const char *why);

/* ------------------------------------------------------------------------ */
/* Formats                                                                  */

/* The one place caps become a GtrLiveAudioFormat. */
static GtrLiveAudioFormat
format_from_caps (const GstCaps *caps)
{
  const GstStructure *s;
  const char *name;
  gint rate = 0;

  if (!caps || gst_caps_get_size (caps) < 1)
    return GTR_LIVE_FORMAT_UNSET;
  s = gst_caps_get_structure (caps, 0);
  name = gst_structure_get_name (s);
  gst_structure_get_int (s, "rate", &rate);
  if (g_str_equal (name, "audio/x-mulaw"))
    return gtr_live_audio_format_from_type_rate ("audio/pcmu", rate);
  if (g_str_equal (name, "audio/x-alaw"))
    return gtr_live_audio_format_from_type_rate ("audio/pcma", rate);
  if (g_str_equal (name, "audio/x-raw"))
    return gtr_live_audio_format_from_type_rate ("audio/pcm", rate);
  return GTR_LIVE_FORMAT_UNSET;
}

static const char *
format_caps_desc (GtrLiveAudioFormat format)
{
  switch (format) {
    case GTR_LIVE_FORMAT_PCMU:
      return "audio/x-mulaw 8000 Hz";
    case GTR_LIVE_FORMAT_PCMA:
      return "audio/x-alaw 8000 Hz";
    case GTR_LIVE_FORMAT_PCM16K:
      return "audio/x-raw S16LE 16000 Hz";
    case GTR_LIVE_FORMAT_PCM24K:
      return "audio/x-raw S16LE 24000 Hz";
    default:
      return "unset";
  }
}

static guint
sample_bytes (GtrLiveAudioFormat format)
{
  return format == GTR_LIVE_FORMAT_PCM16K || format == GTR_LIVE_FORMAT_PCM24K ? 2 : 1;
}

static guint
bytes_per_ms (GtrLiveAudioFormat format)
{
  return MAX (1, gtr_live_audio_format_bytes_per_ms (format));
}

/* ------------------------------------------------------------------------ */
/* Bus messages, errors, timers                                             */

static void
post_element_message (GstOpenaiLive *self, GstStructure *s)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static void
count (GstOpenaiLive *self, guint64 *field, guint64 n)
{
  g_mutex_lock (&self->lock);
  *field += n;
  g_mutex_unlock (&self->lock);
}

static void
mark_failed (GstOpenaiLive *self)
{
  g_mutex_lock (&self->lock);
  self->failed = TRUE;
  self->stats.errors++;
  g_mutex_unlock (&self->lock);
}

static gboolean
is_failed (GstOpenaiLive *self)
{
  gboolean failed;

  g_mutex_lock (&self->lock);
  failed = self->failed;
  g_mutex_unlock (&self->lock);
  return failed;
}

static gboolean
is_confirmed (GstOpenaiLive *self)
{
  gboolean confirmed;

  g_mutex_lock (&self->lock);
  confirmed = self->confirmed && !self->failed && !self->eos;
  g_mutex_unlock (&self->lock);
  return confirmed;
}

#define stop_timer gtr_agent_timer_stop
#define start_timer(self, slot, ms, func) \
  gtr_agent_timer_start ((self), (self)->context, (slot), (ms), (func))

/* ------------------------------------------------------------------------ */
/* Output (network thread)                                                  */

static gboolean
output_failed (gpointer element)
{
  return is_failed (element);
}

#define push_out(self, obj) gtr_agent_output_push (&(self)->out, (obj))
#define clear_out_pending(self) gtr_agent_output_clear (&(self)->out)

static GstClockTime
out_position (GstOpenaiLive *self)
{
  return self->out_base + gst_util_uint64_scale_int (self->out_samples,
      GST_SECOND, gtr_live_audio_format_rate (self->format));
}

static void
push_piece (GstOpenaiLive *self, GstBuffer *buf)
{
  GstClockTime now = gtr_element_running_time (GST_ELEMENT (self));
  gsize size = gst_buffer_get_size (buf);
  g_autofree char *name = NULL;

  /* audio after a pause starts now; within a turn it stays continuous */
  if (now > out_position (self) + 20 * GST_MSECOND) {
    self->out_base = now;
    self->out_samples = 0;
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  }
  GST_BUFFER_PTS (buf) = out_position (self);
  self->out_samples += size / sample_bytes (self->format);
  GST_BUFFER_DURATION (buf) = out_position (self) - GST_BUFFER_PTS (buf);
  self->pushed_ms += size / bytes_per_ms (self->format);
  g_mutex_lock (&self->lock);
  self->stats.audio_out_bytes += size;
  self->stats.marks_sent++;
  self->stats.max_unplayed_ms = MAX (self->stats.max_unplayed_ms,
      self->pushed_ms - MIN (self->heard_ms, self->pushed_ms));
  g_mutex_unlock (&self->lock);
  push_out (self, GST_MINI_OBJECT (buf));
  name = g_strdup_printf ("live:%" G_GUINT64_FORMAT, self->pushed_ms);
  push_out (self, GST_MINI_OBJECT (gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
              gst_structure_new (GTR_EVENT_SEND_MARK, "name", G_TYPE_STRING,
                  name, NULL))));
}

static gboolean
on_mark_timeout (gpointer data)
{
  GstOpenaiLive *self = data;

  stop_timer (&self->mark_timer);
  GST_WARNING_OBJECT (self, "no mark echo within %d ms: taking %" G_GUINT64_FORMAT
      " ms as played", MARK_WAIT_MS, self->pushed_ms - MIN (self->heard_ms, self->pushed_ms));
  count (self, &self->stats.marks_missing, 1);
  self->heard_ms = self->pushed_ms;
  release_agent_audio (self);
  return G_SOURCE_REMOVE;
}

static gboolean
pacing (GstOpenaiLive *self)
{
  gboolean call_seen;

  if (self->max_queued_ms == 0 || self->ending == END_DONE)
    return FALSE;
  g_mutex_lock (&self->lock);
  call_seen = self->call_seen;
  g_mutex_unlock (&self->lock);
  return call_seen && gtr_agent_output_is_playing (&self->out);
}

/* Push what is held, in pieces of ≤MARK_EVERY_MS each followed by a mark;
 * paced, only while what is unplayed at Twilio stays within max-queued-ms. */
static void
release_agent_audio (GstOpenaiLive *self)
{
  guint bpms = bytes_per_ms (self->format);
  gboolean paced = pacing (self);
  gsize piece_max = MIN (MARK_EVERY_MS, paced ? self->max_queued_ms : MARK_EVERY_MS) * bpms;

  piece_max -= piece_max % sample_bytes (self->format);
  while (gst_adapter_available (self->agent) > 0) {
    gsize piece = MIN (piece_max, gst_adapter_available (self->agent));
    guint64 unplayed = self->pushed_ms - MIN (self->heard_ms, self->pushed_ms);

    if (paced && unplayed + piece / bpms > self->max_queued_ms) {
      if (!self->mark_timer)
        start_timer (self, &self->mark_timer, MARK_WAIT_MS, on_mark_timeout);
      return;
    }
    push_piece (self, gst_adapter_take_buffer (self->agent, piece));
  }
  stop_timer (&self->mark_timer);
  maybe_end (self);
}

static void
push_eos (GstOpenaiLive *self)
{
  g_mutex_lock (&self->lock);
  if (self->eos) {
    g_mutex_unlock (&self->lock);
    return;
  }
  self->eos = TRUE;
  g_mutex_unlock (&self->lock);
  push_out (self, GST_MINI_OBJECT (gst_event_new_eos ()));
}

/* The session is over: what is held goes out unpaced (twiliosink holds the
 * EOS until Twilio has played it all), then EOS. */
static void
finish_output (GstOpenaiLive *self)
{
  self->ending = END_DONE;
  stop_timer (&self->end_timer);
  release_agent_audio (self);
  push_eos (self);
}

/* Barge-in: drop what the caller has not heard. */
static void
barge_in (GstOpenaiLive *self)
{
  guint64 unplayed = self->pushed_ms - MIN (self->heard_ms, self->pushed_ms);
  guint64 held = gst_adapter_available (self->agent) / bytes_per_ms (self->format);

  if (unplayed == 0 && held == 0)
    return;
  GST_INFO_OBJECT (self, "the caller talks over the agent: dropping %" G_GUINT64_FORMAT
      " ms held, clearing %" G_GUINT64_FORMAT " ms at Twilio", held, unplayed);
  gst_adapter_clear (self->agent);
  stop_timer (&self->mark_timer);
  self->out_base = gtr_element_running_time (GST_ELEMENT (self));
  self->out_samples = 0;
  clear_out_pending (self);
  gst_pad_push_event (self->srcpad, gst_event_new_flush_start ());
  gst_pad_push_event (self->srcpad, gst_event_new_flush_stop (FALSE));
  gst_pad_push_event (self->srcpad, gst_event_new_segment (&self->segment));
  g_mutex_lock (&self->lock);
  self->stats.barge_ins++;
  self->stats.cleared_ms += unplayed + held;
  g_mutex_unlock (&self->lock);
  post_element_message (self, gst_structure_new (MSG_PREFIX "barge-in",
          "item-id", G_TYPE_STRING, "",
          "audio-end-ms", G_TYPE_INT64, (gint64) self->heard_ms,
          "cleared-ms", G_TYPE_UINT64, unplayed + held, NULL));
  self->heard_ms = self->pushed_ms;
}

/* ------------------------------------------------------------------------ */
/* Client events                                                            */

/* Sends `json` (taken) when connected; `note`: recorded, so that an API
 * error can name it (appends are not: their ids say what they are). */
static void
send_text (GstOpenaiLive *self, char *json, gboolean note)
{
  if (gtr_agent_send_text (self->conn, note ? self->sent : NULL, json))
    GST_TRACE_OBJECT (self, "sending %s", json);
  else
    GST_DEBUG_OBJECT (self, "not connected, client event dropped");
  g_free (json);
}

static void
send_now (GstOpenaiLive *self, char *json)
{
  send_text (self, json, TRUE);
}

#define run_on_net(self, func, arg, free_arg) \
  gtr_agent_run_on_net ((self), (self)->context, (func), (arg), (free_arg))

/* The job's `json` is taken here (the job frees no argument). */
static void
send_on_net (gpointer element, gpointer json)
{
  send_now (element, json);
}

static void
send_audio_on_net (gpointer element, gpointer json)
{
  send_text (element, json, FALSE);
}

/* Send on the network thread, keeping the order of calls. Takes `json`. */
static void
send_json (GstOpenaiLive *self, char *json)
{
  if (json)
    run_on_net (self, send_on_net, json, NULL);
}

/* The same for an append built by build_appends. */
static void
send_audio (GstOpenaiLive *self, char *json)
{
  if (json)
    run_on_net (self, send_audio_on_net, json, NULL);
}

/* One append of all of `adapter` (≥20 ms of caller audio), for send_audio. */
static char *
build_appends (GstAdapter *adapter)
{
  gsize n = gst_adapter_available (adapter);
  g_autofree guint8 *data = NULL;

  if (n == 0)
    return NULL;
  data = gst_adapter_take (adapter, n);
  return gtr_live_build_input_audio_append (data, n, NULL);
}

/* ------------------------------------------------------------------------ */
/* The session: start and confirmation (network thread)                     */

static char *
greeting_input (const char *greeting)
{
  return g_strdup_printf ("Begin the call: greet the caller with exactly "
      "these words, then listen: \"%s\"", greeting);
}

/* The session.start text from the settings, the format and the call's
 * parameters; NULL with `error` set when a setting cannot be sent. */
static char *
build_start (GstOpenaiLive *self, const GstStructure *params, GError **error)
{
  GtrLiveSessionConfig c;
  char *json;
  Settings *s = &self->settings;

  gtr_live_session_config_init (&c);
  g_mutex_lock (&self->settings_lock);
  c.model = g_strdup (s->model);
  c.instructions = gtr_api_fill_placeholders (s->instructions, params);
  c.format = self->format;
  if (s->custom_voice_id && *s->custom_voice_id)
    c.custom_voice_id = g_strdup (s->custom_voice_id);
  else if (s->voice && *s->voice)
    c.voice = g_strdup (s->voice);
  if (self->lost_reason) {
    /* a new session for a call that goes on: what was said, not a greeting */
    guint first = self->history->len > HISTORY_KEPT ? self->history->len - HISTORY_KEPT : 0;

    gtr_live_session_config_add_input (&c, GTR_LIVE_ROLE_DEVELOPER,
        "The call goes on after a short technical interruption: do not greet "
        "the caller again; carry on from the conversation so far.");
    for (guint i = first; i < self->history->len; i++) {
      Turn *t = g_ptr_array_index (self->history, i);
      gtr_live_session_config_add_input (&c, t->assistant ? GTR_LIVE_ROLE_ASSISTANT
          : GTR_LIVE_ROLE_USER, t->text->str);
    }
  } else if (s->greeting && *s->greeting) {
    g_autofree char *text = greeting_input (s->greeting);
    g_autofree char *filled = gtr_api_fill_placeholders (text, params);
    gtr_live_session_config_add_input (&c, GTR_LIVE_ROLE_DEVELOPER, filled);
  }
  if (s->delegation == GST_OPENAI_LIVE_DELEGATION_RESPONSES) {
    c.delegation = GTR_LIVE_DELEGATION_RESPONSES;
    c.responses.model = g_strdup (s->responses_model);
    c.responses.instructions = gtr_api_fill_placeholders (s->responses_instructions, params);
    c.responses.tools_json = g_strdup (self->session_tools);
    if (s->tool_choice && *s->tool_choice)
      c.responses.tool_choice = g_strdup (s->tool_choice);
  } else {
    c.delegation = GTR_LIVE_DELEGATION_CLIENT;
  }
  g_mutex_unlock (&self->settings_lock);
  g_clear_pointer (&self->start_id, g_free);
  json = gtr_live_build_session_start (&c, &self->start_id, error);
  gtr_live_session_config_clear (&c);
  return json;
}

/* session.start once the caps are known and, when the instructions hold
 * {placeholders}, the call's parameters (or the first buffer, after which
 * no twilio/call can come). */
static void
maybe_start (GstOpenaiLive *self, gpointer unused)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GstStructure) params = NULL;
  gboolean ready, needs_params;
  char *json;

  if (self->start_sent || !self->conn)
    return;
  g_mutex_lock (&self->settings_lock);
  needs_params = gtr_api_has_placeholder (self->settings.instructions)
      || gtr_api_has_placeholder (self->settings.greeting)
      || gtr_api_has_placeholder (self->settings.responses_instructions);
  g_mutex_unlock (&self->settings_lock);
  g_mutex_lock (&self->lock);
  ready = self->format != GTR_LIVE_FORMAT_UNSET
      && (!needs_params || self->call_params || self->buffer_seen);
  params = self->call_params ? gst_structure_copy (self->call_params) : NULL;
  g_mutex_unlock (&self->lock);
  if (!ready)
    return;
  json = build_start (self, params, &err);
  if (!json) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("invalid session settings: %s", err->message), (NULL));
    mark_failed (self);
    return;
  }
  self->start_sent = TRUE;
  GST_INFO_OBJECT (self, "session.start (%s)", format_caps_desc (self->format));
  send_now (self, json);
}

static void
on_session_started (GstOpenaiLive *self, GtrLiveServerEvent *ev)
{
  g_autofree char *held = NULL;
  g_autofree char *api_fmt = NULL;

  if (self->start_id && ev->client_event_id
      && g_strcmp0 (ev->client_event_id, self->start_id) != 0)
    GST_DEBUG_OBJECT (self, "session.started names %s, not our %s",
        ev->client_event_id, self->start_id);
  stop_timer (&self->confirm_timer);
  if (ev->format != self->format) {
    api_fmt = ev->format_desc ? g_strdup (ev->format_desc)
        : gtr_live_audio_format_describe (ev->format);
    GST_ELEMENT_ERROR_WITH_DETAILS (self, STREAM, FORMAT,
        ("the API started the session with audio %s, but the caps are %s: "
            "nothing is played in a format the caller's line does not carry",
            api_fmt, format_caps_desc (self->format)), (NULL),
        ("api-format", G_TYPE_STRING, api_fmt, NULL));
    mark_failed (self);
    return;
  }
  g_mutex_lock (&self->lock);
  self->confirmed = TRUE;
  if (gst_adapter_available (self->held) > 0)
    held = build_appends (self->held);
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "session %s confirmed", ev->session_id ? ev->session_id : "?");
  if (self->lost_reason) {
    gint64 gap_ms = (g_get_monotonic_time () - self->lost_us) / 1000;

    GST_INFO_OBJECT (self, "reconnected after %s: %" G_GINT64_FORMAT " ms, %u attempt(s)",
        self->lost_reason, gap_ms, self->attempt + 1);
    count (self, &self->stats.reconnects, 1);
    post_element_message (self, gst_structure_new (MSG_PREFIX "reconnected",
            "reason", G_TYPE_STRING, self->lost_reason, "gap-ms", G_TYPE_INT64, gap_ms,
            "attempts", G_TYPE_UINT, self->attempt + 1,
            "items", G_TYPE_UINT, MIN (self->history->len, HISTORY_KEPT), NULL));
    g_clear_pointer (&self->lost_reason, g_free);
    g_clear_pointer (&self->lost_error, g_free);
  }
  post_element_message (self, gst_structure_new (MSG_PREFIX "session",
          "session", G_TYPE_STRING, ev->session_json ? ev->session_json : "{}",
          "input-format", G_TYPE_STRING, format_caps_desc (self->format),
          "output-format", G_TYPE_STRING, format_caps_desc (self->format),
          "session-id", G_TYPE_STRING, ev->session_id ? ev->session_id : "",
          "expires-at", G_TYPE_INT64, ev->expires_at, NULL));
  if (held)
    send_audio (self, g_steal_pointer (&held));
}

static void
on_api_error (GstOpenaiLive *self, GtrLiveServerEvent *ev)
{
  const char *cause_id = gtr_live_server_event_error_client_event_id (ev);
  const char *type = NULL, *subject = NULL;
  g_autofree char *cause = NULL;
  gboolean confirmed;

  g_mutex_lock (&self->lock);
  confirmed = self->confirmed;
  g_mutex_unlock (&self->lock);
  if (!confirmed && (!cause_id || g_strcmp0 (cause_id, self->start_id) == 0)) {
    /* a rejected session.start, or an admission error before the start */
    stop_timer (&self->confirm_timer);
    GST_ELEMENT_ERROR_WITH_DETAILS (self, LIBRARY, SETTINGS,
        ("the API rejected session.start: %s", ev->error_message),
        ("code %s, param %s", ev->error_code ? ev->error_code : "",
            ev->error_param ? ev->error_param : ""),
        ("api-code", G_TYPE_STRING, ev->error_code ? ev->error_code : "",
            "api-param", G_TYPE_STRING, ev->error_param ? ev->error_param : "",
            "api-type", G_TYPE_STRING, ev->error_type ? ev->error_type : "",
            "api-message", G_TYPE_STRING, ev->error_message, NULL));
    mark_failed (self);
    return;
  }
  if (cause_id && gtr_sent_events_lookup (self->sent, cause_id, &type, &subject))
    cause = subject ? g_strdup_printf ("%s for %s", type, subject) : g_strdup (type);
  GST_ELEMENT_WARNING (self, LIBRARY, FAILED,
      ("the API rejected %s: %s", cause ? cause : "a client event", ev->error_message),
      ("code %s, param %s", ev->error_code ? ev->error_code : "",
          ev->error_param ? ev->error_param : ""));
  count (self, &self->stats.errors, 1);
  post_element_message (self, gst_structure_new (MSG_PREFIX "error",
          "type", G_TYPE_STRING, ev->error_type ? ev->error_type : "",
          "code", G_TYPE_STRING, ev->error_code ? ev->error_code : "",
          "message", G_TYPE_STRING, ev->error_message,
          "param", G_TYPE_STRING, ev->error_param ? ev->error_param : "",
          "event-id", G_TYPE_STRING, cause_id ? cause_id : "",
          "event-type", G_TYPE_STRING, type ? type : "",
          "cause", G_TYPE_STRING, cause ? cause : "", NULL));
}

/* The conversation so far, for a session that replaces a lost one:
 * fragments of one speaker in a row make one turn. */
static void
record_fragment (GstOpenaiLive *self, gboolean assistant, const char *delta)
{
  Turn *last = self->history->len ? g_ptr_array_index (self->history,
      self->history->len - 1) : NULL;

  if (!last || last->assistant != assistant) {
    last = g_new0 (Turn, 1);
    last->assistant = assistant;
    last->text = g_string_new (NULL);
    g_ptr_array_add (self->history, last);
    while (self->history->len > HISTORY_KEPT)
      g_ptr_array_remove_index (self->history, 0);
  }
  g_string_append (last->text, last->text->len ? delta : delta + strspn (delta, " "));
}

static void
turn_free (gpointer data)
{
  Turn *t = data;

  g_string_free (t->text, TRUE);
  g_free (t);
}

static void
emit_transcript (GstOpenaiLive *self, const char *role, GtrLiveServerEvent *ev)
{
  if (!ev->delta)
    return;
  record_fragment (self, g_str_equal (role, "assistant"), ev->delta);
  post_element_message (self, gst_structure_new (MSG_PREFIX "transcript",
          "role", G_TYPE_STRING, role, "item-id", G_TYPE_STRING, "",
          "text", G_TYPE_STRING, ev->delta, "final", G_TYPE_BOOLEAN, FALSE,
          "start-ms", G_TYPE_INT64, ev->start_ms, "end-ms", G_TYPE_INT64, ev->end_ms,
          NULL));
  g_signal_emit (self, signals[SIGNAL_TRANSCRIPT], 0, role, "", ev->delta, FALSE);
}

static void
on_audio_delta (GstOpenaiLive *self, GtrLiveServerEvent *ev)
{
  gsize len = ev->audio ? g_bytes_get_size (ev->audio) : 0;

  if (!is_confirmed (self)) {
    count (self, &self->stats.dropped_unconfirmed, 1);
    return;
  }
  len -= len % sample_bytes (self->format);
  if (len == 0)
    return;
  self->last_delta_us = g_get_monotonic_time ();
  gst_adapter_push (self->agent, gst_buffer_new_memdup (g_bytes_get_data (ev->audio, NULL), len));
  release_agent_audio (self);
}

static void
on_function_call (GstOpenaiLive *self, GtrLiveServerEvent *ev)
{
  if (!ev->call_name || !ev->call_id
      || !g_str_equal (ev->response_event_type, "response.output_item.done"))
    return;   /* the call is whole in output_item.done (added has no arguments yet) */
  if (self->hangup_on && g_str_equal (ev->call_name, GTR_TOOL_END_CALL)) {
    g_autofree char *reason = gtr_tools_call_reason (ev->call_arguments,
        "the agent ended the call");
    send_now (self, gtr_live_build_function_call_output (ev->call_id,
            "{\"ok\":true}", NULL));
    begin_end (self, reason);
    return;
  }
  if (self->transfer_on && g_str_equal (ev->call_name, GTR_TOOL_TRANSFER_CALL)) {
    g_autofree char *reason = gtr_tools_call_reason (ev->call_arguments,
        "the agent transferred the call");
    send_now (self, gtr_live_build_function_call_output (ev->call_id,
            "{\"ok\":true}", NULL));
    begin_transfer (self, self->run_transfer_to, reason);
    return;
  }
  count (self, &self->stats.function_calls, 1);
  post_element_message (self, gst_structure_new (MSG_PREFIX "function-call",
          "name", G_TYPE_STRING, ev->call_name, "call-id", G_TYPE_STRING, ev->call_id,
          "arguments", G_TYPE_STRING, ev->call_arguments ? ev->call_arguments : "{}",
          NULL));
  g_signal_emit (self, signals[SIGNAL_FUNCTION_CALL], 0, ev->call_name, ev->call_id,
      ev->call_arguments ? ev->call_arguments : "{}");
}

static void
on_session_closed (GstOpenaiLive *self, GtrLiveServerEvent *ev)
{
  /* the session's time is up, or the API lost it: the call is not over */
  if (!self->ending && (g_strcmp0 (ev->reason, "expired") == 0
          || g_strcmp0 (ev->reason, "connection_lost") == 0)
      && session_lost (self, g_strcmp0 (ev->reason, "expired") == 0
          ? "session_expired" : "dropped"))
    return;
  self->closed_seen = TRUE;
  GST_INFO_OBJECT (self, "session closed: %s, %.1f s billed",
      ev->reason ? ev->reason : "?", ev->usage_seconds);
  post_element_message (self, gst_structure_new (MSG_PREFIX "closed",
          "code", G_TYPE_INT, (gint) SOUP_WEBSOCKET_CLOSE_NORMAL,
          "reason", G_TYPE_STRING, ev->reason ? ev->reason : "",
          "billed-seconds", G_TYPE_DOUBLE, MAX (0.0, ev->usage_seconds), NULL));
  if (!is_failed (self))
    finish_output (self);
}

static void
handle_server_event (GstOpenaiLive *self, GtrLiveServerEvent *ev)
{
  switch (ev->type) {
    case GTR_LIVE_EVENT_SESSION_STARTED:
      on_session_started (self, ev);
      break;
    case GTR_LIVE_EVENT_ERROR:
      on_api_error (self, ev);
      break;
    case GTR_LIVE_EVENT_OUTPUT_AUDIO_DELTA:
      on_audio_delta (self, ev);
      break;
    case GTR_LIVE_EVENT_INPUT_TRANSCRIPT_DELTA:
      barge_in (self);
      emit_transcript (self, "user", ev);
      break;
    case GTR_LIVE_EVENT_OUTPUT_TRANSCRIPT_DELTA:
      emit_transcript (self, "assistant", ev);
      break;
    case GTR_LIVE_EVENT_DELEGATION_CREATED:
      count (self, &self->stats.delegations, 1);
      if (g_strcmp0 (ev->delegation_target, "client") == 0) {
        post_element_message (self, gst_structure_new (LIVE_PREFIX "delegation",
                "delegation-id", G_TYPE_STRING, ev->delegation_id,
                "offset-ms", G_TYPE_INT64, ev->offset_ms, NULL));
        g_signal_emit (self, signals[SIGNAL_DELEGATION], 0, ev->delegation_id);
      }
      break;
    case GTR_LIVE_EVENT_RESPONSE_EVENT:
      on_function_call (self, ev);
      break;
    case GTR_LIVE_EVENT_USAGE_UPDATED:
      post_element_message (self, gst_structure_new (LIVE_PREFIX "usage",
              "billed-seconds", G_TYPE_DOUBLE, MAX (0.0, ev->usage_seconds), NULL));
      break;
    case GTR_LIVE_EVENT_SESSION_CLOSED:
      on_session_closed (self, ev);
      break;
    default:
      GST_LOG_OBJECT (self, "%s", ev->type_name);
      break;
  }
}

/* ------------------------------------------------------------------------ */
/* Ending the call after the last words (network thread)                    */

/* Once the model has been quiet for QUIET_MS (or END_MAX_MS have passed)
 * and everything held is pushed: session.close, hang-up, EOS. */
/* session.closed did not come within CLOSE_WAIT_MS: end without it. */
static gboolean
on_close_wait (gpointer data)
{
  GstOpenaiLive *self = data;

  stop_timer (&self->end_timer);
  GST_INFO_OBJECT (self, "no session.closed within %d ms of session.close", CLOSE_WAIT_MS);
  finish_output (self);
  return G_SOURCE_REMOVE;
}

static void
maybe_end (GstOpenaiLive *self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->ending != END_WAITING)
    return;
  if (now - self->end_asked_us < END_MAX_MS * 1000
      && (now - self->last_delta_us < QUIET_MS * 1000
          || gst_adapter_available (self->agent) > 0))
    return;
  GST_INFO_OBJECT (self, "ending the call: %s", self->end_reason);
  self->ending = END_CLOSING;
  send_now (self, gtr_live_build_session_close (NULL));
  if (!self->end_is_transfer)   /* a transfer was posted when it was asked for */
    post_element_message (self, gst_structure_new (MSG_PREFIX "hang-up",
            "reason", G_TYPE_STRING, self->end_reason, NULL));
  start_timer (self, &self->end_timer, CLOSE_WAIT_MS, on_close_wait);
}

static gboolean
on_end_check (gpointer data)
{
  GstOpenaiLive *self = data;

  /* release (unpaced at the bound) and re-check: the timer repeats */
  if (self->ending == END_WAITING && self->end_asked_us
      && g_get_monotonic_time () - self->end_asked_us >= END_MAX_MS * 1000)
    gst_adapter_clear (self->agent);
  maybe_end (self);
  return self->ending == END_WAITING ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* The call ends once the agent's last words are out (maybe_end). */
static void
begin_end (GstOpenaiLive *self, const char *reason)
{
  /* also between sessions (reconnecting): session.close then goes nowhere
   * and the close wait ends the call */
  if (self->ending)
    return;
  self->ending = END_WAITING;
  self->end_asked_us = g_get_monotonic_time ();
  g_free (self->end_reason);
  self->end_reason = g_strdup (reason ? reason : "the application ended the call");
  start_timer (self, &self->end_timer, 100, on_end_check);
  maybe_end (self);
}

static void
hang_up_on_net (gpointer element, gpointer reason)
{
  GstOpenaiLive *self = element;
  begin_end (self, reason);
}

/* openai-realtime/transfer at once (the application dials the target),
 * then the call ends as a hang-up does, after the last words. */
static void
begin_transfer (GstOpenaiLive *self, const char *target, const char *reason)
{
  if (self->ending)
    return;
  reason = reason ? reason : "the application transferred the call";
  GST_INFO_OBJECT (self, "transfer to %s: %s", target, reason);
  post_element_message (self, gst_structure_new (MSG_PREFIX "transfer",
          "target", G_TYPE_STRING, target, "reason", G_TYPE_STRING, reason, NULL));
  self->end_is_transfer = TRUE;
  begin_end (self, reason);
}

typedef struct {
  char *target;
  char *reason;
} Transfer;

static void
transfer_free (gpointer data)
{
  Transfer *t = data;

  g_free (t->target);
  g_free (t->reason);
  g_free (t);
}

static void
transfer_on_net (gpointer element, gpointer data)
{
  GstOpenaiLive *self = element;
  Transfer *t = data;

  begin_transfer (self, t->target, t->reason);
}

/* ------------------------------------------------------------------------ */
/* WebSocket (network thread)                                               */

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer data)
{
  GstOpenaiLive *self = data;
  g_autoptr (GError) err = NULL;
  g_autoptr (GtrLiveServerEvent) ev = NULL;
  gsize len;
  const char *text = g_bytes_get_data (message, &len);

  self->last_rx_us = g_get_monotonic_time ();
  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    ev = gtr_live_server_event_parse (text, len, 0, &err);
  if (!ev) {
    const char *why = err ? err->message : "binary frame";
    GST_WARNING_OBJECT (self, "ignoring a frame that does not parse: %s", why);
    count (self, &self->stats.bad_frames, 1);
    g_free (self->parse_error);
    self->parse_error = g_strdup (why);
    return;
  }
  handle_server_event (self, ev);
}

static void
on_ws_closed (SoupWebsocketConnection *conn, gpointer data)
{
  GstOpenaiLive *self = data;
  gushort code = soup_websocket_connection_get_close_code (conn);
  const char *reason = soup_websocket_connection_get_close_data (conn);

  if (code == 0)   /* libsoup's "no close frame": 1006, as a browser reports it */
    code = SOUP_WEBSOCKET_CLOSE_ABNORMAL;
  GST_INFO_OBJECT (self, "the API closed the WebSocket: %u %s", code, reason ? reason : "");
  stop_timer (&self->confirm_timer);
  stop_timer (&self->liveness_timer);
  if (self->closed_seen || is_failed (self))
    return;
  if (code != SOUP_WEBSOCKET_CLOSE_NORMAL && !self->ending) {
    const char *why = code == SOUP_WEBSOCKET_CLOSE_ABNORMAL ? "dropped" : "closed";

    if (self->lost_reason) {   /* a new session that did not last */
      g_autofree char *what = g_strdup_printf ("the new session closed (%u)", code);
      reconnect_failed (self, what);
      return;
    }
    if (session_lost (self, why))
      return;
  }
  post_element_message (self, gst_structure_new (MSG_PREFIX "closed",
          "code", G_TYPE_INT, (gint) code,
          "reason", G_TYPE_STRING, reason ? reason : "",
          "billed-seconds", G_TYPE_DOUBLE, 0.0, NULL));
  finish_output (self);
}

static void
on_ws_pong (SoupWebsocketConnection *conn, GBytes *message, gpointer data)
{
  GstOpenaiLive *self = data;

  self->last_rx_us = g_get_monotonic_time ();
}

/* libsoup 3.2 pings (keepalive-interval) but never times out a missing
 * pong: every frame and pong counts as life, silence past the bound ends
 * the call loudly instead of leaving the caller in dead air. */
static gboolean
on_liveness_check (gpointer data)
{
  GstOpenaiLive *self = data;
  gint64 silent_ms = (g_get_monotonic_time () - self->last_rx_us) / 1000;

  if (silent_ms < self->liveness_timeout_ms)
    return G_SOURCE_CONTINUE;
  stop_timer (&self->liveness_timer);
  GST_WARNING_OBJECT (self, "nothing from the API (not even a pong) for %" G_GINT64_FORMAT
      " ms: the connection has stalled", silent_ms);
  if (!self->lost_reason && session_lost (self, "stalled"))
    return G_SOURCE_REMOVE;
  if (self->lost_reason) {
    reconnect_failed (self, "the new session stalled");
    return G_SOURCE_REMOVE;
  }
  GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, READ,
      ("the API stopped answering: nothing from %s (not even a pong) for %"
          G_GINT64_FORMAT " ms", self->endpoint, silent_ms), (NULL),
      ("timeout-ms", G_TYPE_UINT, self->liveness_timeout_ms, NULL));
  mark_failed (self);
  return G_SOURCE_REMOVE;
}

static void
on_network_event (SoupMessage *msg, GSocketClientEvent event, GIOStream *connection,
    gpointer data)
{
  GstOpenaiLive *self = data;

  GST_DEBUG_OBJECT (self, "handshake: %s", gtr_api_socket_event_name (event));
  self->net_phase = event;
}

static gboolean
on_connect_timeout (gpointer data)
{
  GstOpenaiLive *self = data;

  stop_timer (&self->connect_timer);
  if (self->lost_reason) {
    /* the cancelled connect's callback counts the attempt */
    g_cancellable_cancel (self->cancellable);
    return G_SOURCE_REMOVE;
  }
  GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_READ,
      ("no WebSocket handshake from %s within %u ms: %s", self->endpoint,
          self->connect_timeout_ms, gtr_api_connect_stall_reason (self->net_phase)),
      ("last network event: %s", gtr_api_socket_event_name (self->net_phase)),
      ("timeout-ms", G_TYPE_UINT, self->connect_timeout_ms, NULL));
  mark_failed (self);
  g_cancellable_cancel (self->cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
on_confirm_timeout (gpointer data)
{
  GstOpenaiLive *self = data;
  g_autofree char *reason = NULL;
  gboolean pending;

  stop_timer (&self->confirm_timer);
  g_mutex_lock (&self->lock);
  pending = !self->confirmed && !self->failed && !self->eos;
  g_mutex_unlock (&self->lock);
  if (!pending)
    return G_SOURCE_REMOVE;
  if (self->parse_error)
    reason = g_strdup_printf ("the last frame from the API did not parse: %s",
        self->parse_error);
  else if (!self->start_sent)
    reason = g_strdup ("session.start was not sent: the caps are not negotiated");
  else
    reason = g_strdup ("the API did not answer session.start with session.started");
  if (self->lost_reason) {
    reconnect_failed (self, reason);
    return G_SOURCE_REMOVE;
  }
  GST_ELEMENT_ERROR_WITH_DETAILS (self, LIBRARY, SETTINGS,
      ("the session was not confirmed within %u ms: %s", self->confirm_timeout_ms,
          reason), (NULL),
      ("timeout-ms", G_TYPE_UINT, self->confirm_timeout_ms, NULL));
  mark_failed (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_accept_certificate (SoupMessage *msg, GTlsCertificate *cert,
    GTlsCertificateFlags errors, gpointer data)
{
  GstOpenaiLive *self = data;

  self->tls_errors = errors;
  if (!self->extra_ca)
    return FALSE;
  self->tls_errors = gtr_api_verify_with_ca (self->extra_ca, msg, cert);
  return self->tls_errors == 0;
}

static void
connect_finished (GstOpenaiLive *self)
{
  gtr_agent_connect_end (self, &self->lock, &self->connect_done, &self->connecting);
}

static void
on_connected (GObject *source, GAsyncResult *res, gpointer data)
{
  GstOpenaiLive *self = data;
  g_autoptr (GError) err = NULL;
  SoupWebsocketConnection *conn;

  stop_timer (&self->connect_timer);
  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), res, &err);
  if (!conn && self->lost_reason && !self->stopping) {
    reconnect_failed (self, g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED)
        ? "no WebSocket handshake within connect-timeout-ms" : err->message);
    connect_finished (self);
    return;
  }
  if (!conn) {
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !is_failed (self)) {
      gtr_api_post_handshake_error (GST_ELEMENT (self), self->endpoint, err,
          self->handshake ? soup_message_get_status (self->handshake) : 0,
          self->tls_errors);
      mark_failed (self);
    }
    connect_finished (self);
    return;
  }
  if (g_cancellable_is_cancelled (self->cancellable) || self->conn) {
    soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_object_unref (conn);
    connect_finished (self);
    return;
  }
  GST_INFO_OBJECT (self, "connected to %s", self->endpoint);
  self->conn = conn;
  g_object_set (conn, "max-incoming-payload-size", (guint64) MAX_INCOMING_PAYLOAD,
      "keepalive-interval", CLAMP (self->liveness_timeout_ms / 3000, 1, 20), NULL);
  g_signal_connect (conn, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_ws_closed), self);
  g_signal_connect (conn, "pong", G_CALLBACK (on_ws_pong), self);
  self->last_rx_us = g_get_monotonic_time ();
  start_timer (self, &self->liveness_timer, MAX (50, self->liveness_timeout_ms / 10),
      on_liveness_check);
  start_timer (self, &self->confirm_timer, self->confirm_timeout_ms, on_confirm_timeout);
  maybe_start (self, NULL);
  connect_finished (self);
}

typedef struct {
  GstOpenaiLive *self;
  char *uri;
  char *api_key;
  char *ca_file;
  gboolean ok;
} ConnectArgs;

static gboolean
start_connect (gpointer data)
{
  ConnectArgs *args = data;
  GstOpenaiLive *self = args->self;
  g_autoptr (GError) err = NULL;
  g_autoptr (GUri) uri = g_uri_parse (args->uri, G_URI_FLAGS_ENCODED_QUERY, &err);

  if (!uri || !g_uri_get_host (uri)) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("invalid uri \"%s\": %s", args->uri, err ? err->message : "no host"), (NULL));
    return G_SOURCE_REMOVE;
  }
  if (g_uri_get_query (uri) && strstr (g_uri_get_query (uri), "model=")) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("invalid uri \"%s\": GPT-Live takes the model in session.start, not in "
            "the URL: drop ?model= and set the model property", args->uri), (NULL));
    return G_SOURCE_REMOVE;
  }
  if (args->ca_file && *args->ca_file
      && !(self->extra_ca = gtr_api_load_ca (GST_ELEMENT (self), args->ca_file)))
    return G_SOURCE_REMOVE;
  g_free (self->uri);
  self->uri = g_strdup (args->uri);
  self->handshake = soup_message_new_from_uri ("GET", uri);
  if (!self->handshake) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("invalid uri \"%s\": not a ws:// or wss:// address", args->uri), (NULL));
    g_clear_object (&self->extra_ca);
    return G_SOURCE_REMOVE;
  }
  self->endpoint = gtr_api_endpoint (uri);
  gtr_api_set_auth_header (self->handshake, g_uri_get_host (uri), args->api_key);
  g_signal_connect (self->handshake, "accept-certificate",
      G_CALLBACK (on_accept_certificate), self);
  g_signal_connect (self->handshake, "network-event", G_CALLBACK (on_network_event), self);
  self->net_phase = -1;
  self->cancellable = g_cancellable_new ();
  self->session = soup_session_new ();
  GST_INFO_OBJECT (self, "connecting to %s", self->endpoint);
  gtr_agent_connect_begin (&self->lock, &self->connecting);
  start_timer (self, &self->connect_timer, self->connect_timeout_ms, on_connect_timeout);
  soup_session_websocket_connect_async (self->session, self->handshake, NULL, NULL,
      G_PRIORITY_DEFAULT, self->cancellable, on_connected, gst_object_ref (self));
  args->ok = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
stop_connection (gpointer data)
{
  GstOpenaiLive *self = data;

  self->stopping = TRUE;
  stop_timer (&self->reconnect_timer);
  stop_timer (&self->connect_timer);
  stop_timer (&self->confirm_timer);
  stop_timer (&self->liveness_timer);
  stop_timer (&self->mark_timer);
  stop_timer (&self->end_timer);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  if (self->conn) {
    g_signal_handlers_disconnect_by_data (self->conn, self);
    if (soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (self->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_clear_object (&self->conn);
  }
  if (self->handshake)
    g_signal_handlers_disconnect_by_data (self->handshake, self);
  g_clear_object (&self->handshake);
  if (self->session)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->extra_ca);
  g_clear_pointer (&self->endpoint, g_free);
  clear_out_pending (self);
  gst_adapter_clear (self->agent);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------ */
/* Keeping the call: a new session for a lost one (network thread)          */

/* A lost session is not the end of the call (the same rules as
 * openairealtime's): a WebSocket that goes without a close frame or closes
 * with another code than 1000, a stall (liveness-timeout-ms), or
 * session.closed with reason "expired" or "connection_lost".  Then a new
 * session is started with the same settings and the conversation so far as
 * its startup history (session.input: the transcripts, text only), confirmed
 * like the first; caller audio meanwhile is held.  What the element holds of
 * the agent's audio still plays.  Attempts are bounded, with backoff. */

static void
drop_conn (GstOpenaiLive *self)
{
  stop_timer (&self->confirm_timer);
  stop_timer (&self->liveness_timer);
  if (self->conn) {
    g_signal_handlers_disconnect_by_data (self->conn, self);
    if (soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (self->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_clear_object (&self->conn);
  }
  if (self->handshake)
    g_signal_handlers_disconnect_by_data (self->handshake, self);
  g_clear_object (&self->handshake);
}

static gboolean on_reconnect_timer (gpointer data);

static void
schedule_attempt (GstOpenaiLive *self)
{
  guint delay = 0;

  if (self->attempt > 0)
    delay = MIN ((guint64) self->reconnect_backoff_ms << MIN (self->attempt - 1, 16),
        MAX_RECONNECT_DELAY_MS);
  start_timer (self, &self->reconnect_timer, MAX (delay, 1), on_reconnect_timer);
}

static gboolean
session_lost (GstOpenaiLive *self, const char *reason)
{
  if (self->reconnect_attempts == 0 || self->stopping || self->ending || is_failed (self))
    return FALSE;
  GST_WARNING_OBJECT (self, "the API session was lost (%s): opening a new one", reason);
  g_free (self->lost_reason);
  self->lost_reason = g_strdup (reason);
  self->lost_us = g_get_monotonic_time ();
  self->attempt = 0;
  drop_conn (self);
  g_mutex_lock (&self->lock);
  self->confirmed = FALSE;      /* caller audio is held until the new session */
  g_mutex_unlock (&self->lock);
  self->start_sent = FALSE;
  self->closed_seen = FALSE;
  g_clear_pointer (&self->parse_error, g_free);
  post_element_message (self, gst_structure_new (MSG_PREFIX "reconnecting",
          "reason", G_TYPE_STRING, reason, NULL));
  schedule_attempt (self);
  return TRUE;
}

static void
reconnect_failed (GstOpenaiLive *self, const char *why)
{
  drop_conn (self);
  g_free (self->lost_error);
  self->lost_error = g_strdup (why);
  self->attempt++;
  GST_INFO_OBJECT (self, "reconnect attempt %u failed: %s", self->attempt, why);
  if (self->attempt < self->reconnect_attempts) {
    schedule_attempt (self);
    return;
  }
  GST_ELEMENT_ERROR (self, RESOURCE, READ,
      ("lost the API session (%s) and could not open a new one in %u attempts: %s",
          self->lost_reason, self->attempt, why), (NULL));
  mark_failed (self);
}

static gboolean
on_reconnect_timer (gpointer data)
{
  GstOpenaiLive *self = data;
  g_autoptr (GUri) uri = NULL;
  char *key;

  stop_timer (&self->reconnect_timer);
  if (self->stopping || !self->lost_reason || self->ending)
    return G_SOURCE_REMOVE;
  if (g_cancellable_is_cancelled (self->cancellable)) {
    /* the last attempt was cancelled at connect-timeout-ms: a fresh one,
     * or this attempt would be cancelled before it starts */
    g_object_unref (self->cancellable);
    self->cancellable = g_cancellable_new ();
  }
  uri = g_uri_parse (self->uri, G_URI_FLAGS_ENCODED_QUERY, NULL);
  self->handshake = uri ? soup_message_new_from_uri ("GET", uri) : NULL;
  if (!self->handshake) {
    reconnect_failed (self, "the uri is no longer valid");
    return G_SOURCE_REMOVE;
  }
  g_mutex_lock (&self->settings_lock);
  key = gtr_api_key_resolve (self->settings.api_key);
  g_mutex_unlock (&self->settings_lock);
  gtr_api_set_auth_header (self->handshake, g_uri_get_host (uri), key ? key : "");
  gtr_api_key_free (key);
  g_signal_connect (self->handshake, "accept-certificate",
      G_CALLBACK (on_accept_certificate), self);
  g_signal_connect (self->handshake, "network-event", G_CALLBACK (on_network_event), self);
  self->net_phase = -1;
  GST_INFO_OBJECT (self, "reconnect attempt %u to %s", self->attempt + 1, self->endpoint);
  gtr_agent_connect_begin (&self->lock, &self->connecting);
  start_timer (self, &self->connect_timer, self->connect_timeout_ms, on_connect_timeout);
  soup_session_websocket_connect_async (self->session, self->handshake, NULL, NULL,
      G_PRIORITY_DEFAULT, self->cancellable, on_connected, gst_object_ref (self));
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------ */
/* State changes                                                            */

static void
reset_state (GstOpenaiLive *self)
{
  g_mutex_lock (&self->lock);
  memset (&self->stats, 0, sizeof (self->stats));
  self->format = GTR_LIVE_FORMAT_UNSET;
  self->confirmed = self->failed = self->eos = FALSE;
  self->buffer_seen = self->held_warned = self->call_seen = FALSE;
  gst_adapter_clear (self->held);
  gst_adapter_clear (self->batch);
  g_clear_pointer (&self->call_params, gst_structure_free);
  g_mutex_unlock (&self->lock);

  self->tls_errors = 0;
  g_clear_pointer (&self->parse_error, g_free);
  g_clear_pointer (&self->start_id, g_free);
  self->start_sent = FALSE;
  self->closed_seen = FALSE;
  gtr_sent_events_clear (self->sent);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  self->out_base = 0;
  self->out_samples = 0;
  gst_adapter_clear (self->agent);
  self->pushed_ms = self->heard_ms = 0;
  self->last_delta_us = 0;
  self->ending = END_NONE;
  self->end_asked_us = 0;
  g_clear_pointer (&self->end_reason, g_free);
  self->end_is_transfer = FALSE;
  g_ptr_array_set_size (self->history, 0);
  g_clear_pointer (&self->lost_reason, g_free);
  g_clear_pointer (&self->lost_error, g_free);
  self->attempt = 0;
  self->stopping = FALSE;
}

/* NULL→READY: what can be checked without the network, so that a mistake
 * fails the state change naming it. */
static gboolean
check_settings (GstOpenaiLive *self)
{
  g_autofree char *tools = NULL, *file = NULL, *file_tools = NULL, *rmodel = NULL;
  g_autofree char *transfer_to = NULL;
  g_autoptr (GError) err = NULL;
  gboolean responses, hangup;

  g_mutex_lock (&self->settings_lock);
  responses = self->settings.delegation == GST_OPENAI_LIVE_DELEGATION_RESPONSES;
  hangup = self->settings.hangup_tool;
  if (self->settings.tools && *self->settings.tools)
    tools = g_strdup (self->settings.tools);
  if (self->settings.tools_file && *self->settings.tools_file)
    file = g_strdup (self->settings.tools_file);
  if (self->settings.responses_model && *self->settings.responses_model)
    rmodel = g_strdup (self->settings.responses_model);
  if (self->settings.transfer_to && *self->settings.transfer_to)
    transfer_to = g_strdup (self->settings.transfer_to);
  g_mutex_unlock (&self->settings_lock);

  if (transfer_to && !gtr_transfer_target_is_valid (transfer_to)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("transfer-to \"%s\" is neither a phone number (+15551234567) nor a "
            "SIP URI (sip:agent@example.com)", transfer_to), (NULL));
    return FALSE;
  }

  if (tools && g_str_has_prefix (tools, "'")) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("tools: the value starts with a single quote: write tools=\"[...]\" "
            "in gst-launch, or drop the quotes in code (gst_parse_launch keeps them)"),
        (NULL));
    return FALSE;
  }
  if (tools && !gtr_tools_validate (tools, &err)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("invalid session settings: tools: %s", err->message), (NULL));
    return FALSE;
  }
  if (file && !(file_tools = gtr_tools_load_file (file, &err))) {
    if (err->domain == G_FILE_ERROR)
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", err->message), (NULL));
    else
      GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("%s", err->message), (NULL));
    return FALSE;
  }
  if ((tools || file) && !responses) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("tools need delegation=responses: with client delegation GPT-Live hands "
            "tasks to the application (the delegation signal), not tools"), (NULL));
    return FALSE;
  }
  if (responses && !rmodel) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("delegation=responses needs responses-model (the Responses model that "
            "does the work, e.g. gpt-5.1)"), (NULL));
    return FALSE;
  }
  g_free (self->session_tools);
  self->session_tools = responses ? gtr_tools_combine (tools, file_tools, hangup,
      transfer_to != NULL, &self->hangup_on, &self->transfer_on) : NULL;
  if (!responses)
    self->hangup_on = self->transfer_on = FALSE;
  g_free (self->run_transfer_to);
  self->run_transfer_to = g_steal_pointer (&transfer_to);
  return TRUE;
}

static gboolean
start_session (GstOpenaiLive *self)
{
  ConnectArgs args = { self };

  g_mutex_lock (&self->settings_lock);
  args.api_key = gtr_api_key_resolve (self->settings.api_key);
  args.uri = g_strdup (self->settings.uri);
  args.ca_file = g_strdup (self->settings.tls_ca_file);
  self->connect_timeout_ms = self->settings.connect_timeout_ms;
  self->confirm_timeout_ms = self->settings.confirm_timeout_ms;
  self->liveness_timeout_ms = self->settings.liveness_timeout_ms;
  self->max_queued_ms = self->settings.max_queued_ms;
  self->reconnect_attempts = self->settings.reconnect_attempts;
  self->reconnect_backoff_ms = self->settings.reconnect_backoff_ms;
  g_mutex_unlock (&self->settings_lock);
  if (!args.api_key)
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_AUTHORIZED,
        ("no API key: set the api-key property or OPENAI_API_KEY"), (NULL));
  else
    gtr_netloop_run_sync (self->context, start_connect, &args);
  gtr_api_key_free (args.api_key);
  g_free (args.uri);
  g_free (args.ca_file);
  return args.ok;
}

static void
set_want_playing (GstOpenaiLive *self, gboolean want)
{
  gtr_agent_output_want_playing (&self->out, self->context, want);
}

static void
stop_session (GstOpenaiLive *self)
{
  set_want_playing (self, FALSE);
  gtr_netloop_run_sync (self->context, stop_connection, self);
  gtr_agent_connects_wait (self->context, &self->lock, &self->connect_done, &self->connecting);
}

static GstStateChangeReturn
gst_openai_live_change_state (GstElement *element, GstStateChange transition)
{
  GstOpenaiLive *self = GST_OPENAI_LIVE (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!check_settings (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      reset_state (self);
      if (!start_session (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      set_want_playing (self, FALSE);
      break;
    default:
      break;
  }
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE) {
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
      stop_session (self);
    return ret;
  }
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      ret = GST_STATE_CHANGE_NO_PREROLL;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      set_want_playing (self, TRUE);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      stop_session (self);
      break;
    default:
      break;
  }
  return ret;
}

/* ------------------------------------------------------------------------ */
/* Sink pad                                                                 */

static void
maybe_start_on_net (gpointer element, gpointer unused)
{
  GstOpenaiLive *self = element;
  maybe_start (self, NULL);
}

static GstFlowReturn
gst_openai_live_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  GstOpenaiLive *self = GST_OPENAI_LIVE (parent);
  char *appends = NULL;
  gboolean overflow_warning = FALSE, first = FALSE;
  GstFlowReturn ret = GST_FLOW_OK;
  gsize size = gst_buffer_get_size (buf);

  g_mutex_lock (&self->lock);
  first = !self->buffer_seen;
  self->buffer_seen = TRUE;
  if (self->failed) {
    ret = GST_FLOW_ERROR;
  } else if (self->eos) {
    ret = GST_FLOW_EOS;
  } else if (self->format == GTR_LIVE_FORMAT_UNSET) {
    ret = GST_FLOW_NOT_NEGOTIATED;
  } else if (!self->confirmed) {
    gsize max = HOLD_MS * bytes_per_ms (self->format);

    self->stats.audio_in_bytes += size;
    gst_adapter_push (self->held, gst_buffer_ref (buf));
    if (gst_adapter_available (self->held) > max) {
      gsize excess = gst_adapter_available (self->held) - max;
      gst_adapter_flush (self->held, excess);
      self->stats.dropped_input_bytes += excess;
      overflow_warning = !self->held_warned;
      self->held_warned = TRUE;
    }
  } else {
    self->stats.audio_in_bytes += size;
    gst_adapter_push (self->batch, gst_buffer_ref (buf));
    if (gst_adapter_available (self->batch) >= APPEND_MIN_MS * bytes_per_ms (self->format)) {
      appends = build_appends (self->batch);
      self->stats.appends++;
    }
  }
  g_mutex_unlock (&self->lock);
  gst_buffer_unref (buf);

  if (first)
    run_on_net (self, maybe_start_on_net, NULL, NULL);
  if (overflow_warning)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("the session is not confirmed after %d s: dropping the oldest caller audio",
            HOLD_MS / 1000), (NULL));
  send_audio (self, appends);
  return ret;
}

static gboolean
handle_sink_caps (GstOpenaiLive *self, GstCaps *caps)
{
  GtrLiveAudioFormat fmt = format_from_caps (caps);
  GtrLiveAudioFormat old;

  g_mutex_lock (&self->lock);
  old = self->format;
  g_mutex_unlock (&self->lock);
  if (fmt == GTR_LIVE_FORMAT_UNSET)
    return FALSE;
  if (old != GTR_LIVE_FORMAT_UNSET) {
    if (old == fmt)
      return TRUE;
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("the audio format cannot change during a GPT-Live session (%s, then %s)",
            format_caps_desc (old), format_caps_desc (fmt)), (NULL));
    return FALSE;
  }
  /* the one format serves both directions: the src pad carries it too */
  if (!gst_pad_push_event (self->srcpad, gst_event_new_caps (caps))) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("downstream does not accept %s, and GPT-Live speaks in the format it "
            "hears: put audioconvert/audioresample (or mulawenc) after openailive",
            format_caps_desc (fmt)), (NULL));
    return FALSE;
  }
  gst_pad_push_event (self->srcpad, gst_event_new_segment (&self->segment));
  g_mutex_lock (&self->lock);
  self->format = fmt;
  g_mutex_unlock (&self->lock);
  run_on_net (self, maybe_start_on_net, NULL, NULL);
  return TRUE;
}

static void
note_heard (gpointer element, gpointer arg)
{
  GstOpenaiLive *self = element;
  const char *name = arg;

  if (!g_str_has_prefix (name, "live:"))
    return;
  count (self, &self->stats.marks_heard, 1);
  self->heard_ms = MAX (self->heard_ms, g_ascii_strtoull (name + 5, NULL, 10));
  stop_timer (&self->mark_timer);
  release_agent_audio (self);
}

static void
handle_dtmf (GstOpenaiLive *self, const GstStructure *s)
{
  static const char digits[] = "0123456789*#ABCD";
  gint number = -1;
  gboolean start = TRUE, to_text;
  g_autofree char *text = NULL;

  g_mutex_lock (&self->settings_lock);
  to_text = self->settings.dtmf_to_text;
  g_mutex_unlock (&self->settings_lock);
  gst_structure_get_boolean (s, "start", &start);
  if (!to_text || !start || !gst_structure_get_int (s, "number", &number)
      || number < 0 || number > 15 || !is_confirmed (self))
    return;
  /* no DTMF or user-text event on GPT-Live's WebSocket: an instructions
   * append reaches the model at once, even while it speaks */
  text = g_strdup_printf ("The caller pressed %c on the phone keypad.", digits[number]);
  GST_INFO_OBJECT (self, "%s", text);
  send_json (self, gtr_live_build_append (GTR_LIVE_APPEND_INSTRUCTIONS, text, NULL, NULL));
}

static void
finish_on_net (gpointer element, gpointer unused)
{
  GstOpenaiLive *self = element;
  push_eos (self);
}

static gboolean
gst_openai_live_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstOpenaiLive *self = GST_OPENAI_LIVE (parent);
  const GstStructure *s = gst_event_get_structure (event);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      ok = handle_sink_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:
    case GST_EVENT_FLUSH_START:
    case GST_EVENT_FLUSH_STOP:
      /* caller-side timeline and flushes: our src pad has its own */
      gst_event_unref (event);
      return TRUE;
    case GST_EVENT_EOS:
      run_on_net (self, finish_on_net, NULL, NULL);
      gst_event_unref (event);
      return TRUE;
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (s && gst_structure_has_name (s, GTR_EVENT_MARK)) {
        const char *name = gst_structure_get_string (s, "name");
        if (name)
          run_on_net (self, note_heard, g_strdup (name), g_free);
        gst_event_unref (event);
        return TRUE;
      }
      if (s && gst_structure_has_name (s, GTR_EVENT_DTMF))
        handle_dtmf (self, s);
      break;
    case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
      if (s && gst_structure_has_name (s, GTR_EVENT_CALL)) {
        GstStructure *params = NULL;

        gst_structure_get (s, "custom-parameters", GST_TYPE_STRUCTURE, &params, NULL);
        g_mutex_lock (&self->lock);
        self->call_seen = TRUE;
        g_clear_pointer (&self->call_params, gst_structure_free);
        self->call_params = params ? params : gst_structure_new_empty ("twilio/custom-parameters");
        g_mutex_unlock (&self->lock);
        run_on_net (self, maybe_start_on_net, NULL, NULL);
      }
      break;
    default:
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}

/* ------------------------------------------------------------------------ */
/* Action signals                                                           */

typedef struct {
  char *call_id;
  char *output;
} Result;

static void
result_free (gpointer data)
{
  Result *r = data;

  g_free (r->call_id);
  g_free (r->output);
  g_free (r);
}

static void
function_result_on_net (gpointer element, gpointer data)
{
  GstOpenaiLive *self = element;
  Result *r = data;

  send_now (self, gtr_live_build_function_call_output (r->call_id, r->output, NULL));
  send_now (self, gtr_live_build_response_create (NULL));
}

static void
gst_openai_live_function_result (GstOpenaiLive *self, const char *call_id,
    const char *output)
{
  Result *r;

  g_return_if_fail (call_id != NULL);
  r = g_new0 (Result, 1);
  r->call_id = g_strdup (call_id);
  r->output = g_strdup (output ? output : "");
  run_on_net (self, function_result_on_net, r, result_free);
}

static void
delegation_result_on_net (gpointer element, gpointer data)
{
  GstOpenaiLive *self = element;
  Result *r = data;

  send_now (self, gtr_live_build_append (GTR_LIVE_APPEND_COMMENTARY, r->output,
          r->call_id, NULL));
}

static void
gst_openai_live_delegation_result (GstOpenaiLive *self, const char *delegation_id,
    const char *text)
{
  Result *r;

  g_return_if_fail (delegation_id != NULL && text != NULL);
  r = g_new0 (Result, 1);
  r->call_id = g_strdup (delegation_id);
  r->output = g_strdup (text);
  run_on_net (self, delegation_result_on_net, r, result_free);
}

static void
gst_openai_live_hang_up (GstOpenaiLive *self, const char *reason)
{
  run_on_net (self, hang_up_on_net, g_strdup (reason), g_free);
}

static void
gst_openai_live_transfer (GstOpenaiLive *self, const char *target, const char *reason)
{
  Transfer *t;
  g_autofree char *to = NULL;

  g_mutex_lock (&self->settings_lock);
  to = g_strdup (target && *target ? target : self->settings.transfer_to);
  g_mutex_unlock (&self->settings_lock);
  if (!to || !*to || !gtr_transfer_target_is_valid (to)) {
    GST_WARNING_OBJECT (self, "transfer needs a phone number or SIP URI "
        "(the target, or the transfer-to property): \"%s\"", to ? to : "");
    return;
  }
  t = g_new0 (Transfer, 1);
  t->target = g_steal_pointer (&to);
  t->reason = g_strdup (reason);
  run_on_net (self, transfer_on_net, t, transfer_free);
}

/* ------------------------------------------------------------------------ */
/* Properties                                                               */

static GstStructure *
stats_structure (GstOpenaiLive *self)
{
  Stats st;

  g_mutex_lock (&self->lock);
  st = self->stats;
  g_mutex_unlock (&self->lock);
  return gst_structure_new ("application/x-openailive-stats",
      "audio-in-bytes", G_TYPE_UINT64, st.audio_in_bytes,
      "audio-out-bytes", G_TYPE_UINT64, st.audio_out_bytes,
      "appends", G_TYPE_UINT64, st.appends,
      "barge-ins", G_TYPE_UINT64, st.barge_ins,
      "cleared-ms", G_TYPE_UINT64, st.cleared_ms,
      "max-unplayed-ms", G_TYPE_UINT64, st.max_unplayed_ms,
      "errors", G_TYPE_UINT64, st.errors,
      "marks-sent", G_TYPE_UINT64, st.marks_sent,
      "marks-heard", G_TYPE_UINT64, st.marks_heard,
      "marks-missing", G_TYPE_UINT64, st.marks_missing,
      "bad-frames", G_TYPE_UINT64, st.bad_frames,
      "function-calls", G_TYPE_UINT64, st.function_calls,
      "delegations", G_TYPE_UINT64, st.delegations,
      "dropped-input-bytes", G_TYPE_UINT64, st.dropped_input_bytes,
      "dropped-unconfirmed", G_TYPE_UINT64, st.dropped_unconfirmed,
      "reconnects", G_TYPE_UINT64, st.reconnects, NULL);
}

static void
set_string (char **slot, const GValue *value)
{
  g_free (*slot);
  *slot = g_value_dup_string (value);
}

static void
gst_openai_live_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstOpenaiLive *self = GST_OPENAI_LIVE (object);
  Settings *s = &self->settings;

  g_mutex_lock (&self->settings_lock);
  switch (prop_id) {
    case PROP_API_KEY:
      if (s->api_key)
        memset (s->api_key, 0, strlen (s->api_key));
      set_string (&s->api_key, value);
      break;
    case PROP_URI: set_string (&s->uri, value); break;
    case PROP_MODEL: set_string (&s->model, value); break;
    case PROP_INSTRUCTIONS: set_string (&s->instructions, value); break;
    case PROP_VOICE: set_string (&s->voice, value); break;
    case PROP_CUSTOM_VOICE_ID: set_string (&s->custom_voice_id, value); break;
    case PROP_GREETING: set_string (&s->greeting, value); break;
    case PROP_DELEGATION: s->delegation = g_value_get_enum (value); break;
    case PROP_RESPONSES_MODEL: set_string (&s->responses_model, value); break;
    case PROP_RESPONSES_INSTRUCTIONS: set_string (&s->responses_instructions, value); break;
    case PROP_TOOLS: set_string (&s->tools, value); break;
    case PROP_TOOLS_FILE: set_string (&s->tools_file, value); break;
    case PROP_TOOL_CHOICE: set_string (&s->tool_choice, value); break;
    case PROP_HANGUP_TOOL: s->hangup_tool = g_value_get_boolean (value); break;
    case PROP_TRANSFER_TO: set_string (&s->transfer_to, value); break;
    case PROP_TLS_CA_FILE: set_string (&s->tls_ca_file, value); break;
    case PROP_DTMF_TO_TEXT: s->dtmf_to_text = g_value_get_boolean (value); break;
    case PROP_CONNECT_TIMEOUT_MS: s->connect_timeout_ms = g_value_get_uint (value); break;
    case PROP_CONFIRM_TIMEOUT_MS: s->confirm_timeout_ms = g_value_get_uint (value); break;
    case PROP_LIVENESS_TIMEOUT_MS: s->liveness_timeout_ms = g_value_get_uint (value); break;
    case PROP_MAX_QUEUED_MS: s->max_queued_ms = g_value_get_uint (value); break;
    case PROP_RECONNECT_ATTEMPTS: s->reconnect_attempts = g_value_get_uint (value); break;
    case PROP_RECONNECT_BACKOFF_MS: s->reconnect_backoff_ms = g_value_get_uint (value); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->settings_lock);
}

static void
gst_openai_live_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstOpenaiLive *self = GST_OPENAI_LIVE (object);
  Settings *s = &self->settings;

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, stats_structure (self));
    return;
  }
  g_mutex_lock (&self->settings_lock);
  switch (prop_id) {
    case PROP_URI: g_value_set_string (value, s->uri); break;
    case PROP_MODEL: g_value_set_string (value, s->model); break;
    case PROP_INSTRUCTIONS: g_value_set_string (value, s->instructions); break;
    case PROP_VOICE: g_value_set_string (value, s->voice); break;
    case PROP_CUSTOM_VOICE_ID: g_value_set_string (value, s->custom_voice_id); break;
    case PROP_GREETING: g_value_set_string (value, s->greeting); break;
    case PROP_DELEGATION: g_value_set_enum (value, s->delegation); break;
    case PROP_RESPONSES_MODEL: g_value_set_string (value, s->responses_model); break;
    case PROP_RESPONSES_INSTRUCTIONS: g_value_set_string (value, s->responses_instructions); break;
    case PROP_TOOLS: g_value_set_string (value, s->tools); break;
    case PROP_TOOLS_FILE: g_value_set_string (value, s->tools_file); break;
    case PROP_TOOL_CHOICE: g_value_set_string (value, s->tool_choice); break;
    case PROP_HANGUP_TOOL: g_value_set_boolean (value, s->hangup_tool); break;
    case PROP_TRANSFER_TO: g_value_set_string (value, s->transfer_to); break;
    case PROP_TLS_CA_FILE: g_value_set_string (value, s->tls_ca_file); break;
    case PROP_DTMF_TO_TEXT: g_value_set_boolean (value, s->dtmf_to_text); break;
    case PROP_CONNECT_TIMEOUT_MS: g_value_set_uint (value, s->connect_timeout_ms); break;
    case PROP_CONFIRM_TIMEOUT_MS: g_value_set_uint (value, s->confirm_timeout_ms); break;
    case PROP_LIVENESS_TIMEOUT_MS: g_value_set_uint (value, s->liveness_timeout_ms); break;
    case PROP_MAX_QUEUED_MS: g_value_set_uint (value, s->max_queued_ms); break;
    case PROP_RECONNECT_ATTEMPTS: g_value_set_uint (value, s->reconnect_attempts); break;
    case PROP_RECONNECT_BACKOFF_MS: g_value_set_uint (value, s->reconnect_backoff_ms); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->settings_lock);
}

#define RW_READY (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)

static void
str_prop (GObjectClass *oc, guint id, const char *name, const char *blurb,
    const char *def)
{
  g_object_class_install_property (oc, id,
      g_param_spec_string (name, name, blurb, def, RW_READY));
}

static void
install_properties (GObjectClass *oc)
{
  g_object_class_install_property (oc, PROP_API_KEY,
      g_param_spec_string ("api-key", "API key",
          "OpenAI API key (write-only; never logged). Unset: the OPENAI_API_KEY "
          "environment variable, read at each connect. Azure hosts get it as api-key",
          NULL, G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  str_prop (oc, PROP_URI, "uri", "The GPT-Live WebSocket address (no query: the "
      "model goes in session.start); Azure: wss://RESOURCE.openai.azure.com/openai/v1/live/sessions",
      DEFAULT_URI);
  str_prop (oc, PROP_MODEL, "model", "session.model: gpt-live-1, gpt-live-1.1 "
      "(Azure: the deployment name)", DEFAULT_MODEL);
  str_prop (oc, PROP_INSTRUCTIONS, "instructions", "The Live (frontend) prompt; "
      "{name} is replaced by the call's Twilio <Parameter> name. Unset: the "
      "server's default prompt", NULL);
  str_prop (oc, PROP_VOICE, "voice", "session.audio.output.voice: a built-in voice "
      "name (marin, cedar, quartz, ...)", DEFAULT_VOICE);
  str_prop (oc, PROP_CUSTOM_VOICE_ID, "custom-voice-id", "A custom voice's id "
      "(sent as {\"id\": ...}, instead of voice). Unset: voice is used", NULL);
  str_prop (oc, PROP_GREETING, "greeting", "What the agent says first: sent as a "
      "developer message of the startup history (GPT-Live has no greeting field); "
      "{name} placeholders as in instructions. Unset: the model decides", NULL);
  g_object_class_install_property (oc, PROP_DELEGATION,
      g_param_spec_enum ("delegation", "Delegation",
          "Who does the work the model hands off: the application (client: the "
          "delegation signal, answered with delegation-result) or a Responses "
          "model with the tools (responses)",
          GST_TYPE_OPENAI_LIVE_DELEGATION, DEFAULT_DELEGATION, RW_READY));
  str_prop (oc, PROP_RESPONSES_MODEL, "responses-model", "delegation=responses: "
      "the backend model (Azure: a deployment). Unset: required with responses", NULL);
  str_prop (oc, PROP_RESPONSES_INSTRUCTIONS, "responses-instructions",
      "delegation=responses: the backend prompt ({name} placeholders as in "
      "instructions). Unset: none", NULL);
  str_prop (oc, PROP_TOOLS, "tools", "delegation=responses: the backend's tools, a "
      "JSON array (function tools in the flat Responses shape). Unset: none but the "
      "built-in end_call", NULL);
  str_prop (oc, PROP_TOOLS_FILE, "tools-file", "delegation=responses: a file "
      "holding a JSON array of tools, added to tools. Unset: none", NULL);
  str_prop (oc, PROP_TOOL_CHOICE, "tool-choice", "delegation=responses: auto, none, "
      "required or a function's name. Unset: the API's default (auto)", NULL);
  g_object_class_install_property (oc, PROP_HANGUP_TOOL,
      g_param_spec_boolean ("hangup-tool", "Hang-up tool",
          "delegation=responses: offer the built-in end_call function; when the "
          "backend calls it, the agent's last words play, then the call ends",
          DEFAULT_HANGUP_TOOL, RW_READY));
  str_prop (oc, PROP_TRANSFER_TO, "transfer-to", "delegation=responses: a phone "
      "number (+15551234567) or SIP URI to hand the caller to; offers the built-in "
      "transfer_call function. Unset: no transfer tool (the transfer action still "
      "takes a target)", NULL);
  str_prop (oc, PROP_TLS_CA_FILE, "tls-ca-file", "PEM file of a CA to trust for "
      "wss:// besides the system's. Unset: the system's CAs only", NULL);
  g_object_class_install_property (oc, PROP_DTMF_TO_TEXT,
      g_param_spec_boolean ("dtmf-to-text", "DTMF to text",
          "Tell the model of each key press (dtmf-event) as an instructions "
          "append (GPT-Live has no DTMF event on a WebSocket)",
          DEFAULT_DTMF_TO_TEXT, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (oc, PROP_CONNECT_TIMEOUT_MS,
      g_param_spec_uint ("connect-timeout-ms", "Connect timeout",
          "From the start of the connect until the WebSocket is open (TCP, TLS, "
          "upgrade); past it RESOURCE/OPEN_READ", MIN_TIMEOUT_MS, MAX_TIMEOUT_MS,
          DEFAULT_CONNECT_TIMEOUT_MS, RW_READY));
  g_object_class_install_property (oc, PROP_CONFIRM_TIMEOUT_MS,
      g_param_spec_uint ("confirm-timeout-ms", "Confirmation timeout",
          "From the open WebSocket until a session.started that matches the caps; "
          "past it LIBRARY/SETTINGS", MIN_TIMEOUT_MS, MAX_TIMEOUT_MS,
          DEFAULT_CONFIRM_TIMEOUT_MS, RW_READY));
  g_object_class_install_property (oc, PROP_LIVENESS_TIMEOUT_MS,
      g_param_spec_uint ("liveness-timeout-ms", "Liveness timeout",
          "Nothing from the API, not even a pong to our pings, for this long: "
          "the connection has stalled, RESOURCE/READ", MIN_LIVENESS_TIMEOUT_MS,
          MAX_LIVENESS_TIMEOUT_MS, DEFAULT_LIVENESS_TIMEOUT_MS, RW_READY));
  g_object_class_install_property (oc, PROP_MAX_QUEUED_MS,
      g_param_spec_uint ("max-queued-ms", "Most unplayed audio at Twilio",
          "With a Twilio call upstream: the most agent audio sent to Twilio and "
          "not yet played (known from mark echoes); the rest waits here, so a "
          "barge-in clears at most this much. 0: no pacing", 0, MAX_QUEUED_MS_MAX,
          DEFAULT_MAX_QUEUED_MS, RW_READY));
  g_object_class_install_property (oc, PROP_RECONNECT_ATTEMPTS,
      g_param_spec_uint ("reconnect-attempts", "Reconnect attempts",
          "Attempts to start a new session after a lost one (the conversation "
          "carried over as startup history); then RESOURCE/READ. 0: a lost "
          "session ends the call", 0, 100, DEFAULT_RECONNECT_ATTEMPTS, RW_READY));
  g_object_class_install_property (oc, PROP_RECONNECT_BACKOFF_MS,
      g_param_spec_uint ("reconnect-backoff-ms", "Reconnect backoff",
          "Wait before the second attempt, doubled for each further one (at most "
          "8 s); the first is at once", 0, MAX_RECONNECT_DELAY_MS,
          DEFAULT_RECONNECT_BACKOFF_MS, RW_READY));
  g_object_class_install_property (oc, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters of this run (application/x-openailive-stats): audio-in-bytes, "
          "audio-out-bytes, appends, barge-ins, cleared-ms, max-unplayed-ms, errors, "
          "marks-sent, marks-heard, marks-missing, bad-frames, function-calls, "
          "delegations, dropped-input-bytes, dropped-unconfirmed, reconnects",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
install_signals (GObjectClass *oc)
{
  signals[SIGNAL_TRANSCRIPT] = g_signal_new ("transcript",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN);
  signals[SIGNAL_FUNCTION_CALL] = g_signal_new ("function-call",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_FUNCTION_RESULT] = g_signal_new_class_handler ("function-result",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_openai_live_function_result), NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_DELEGATION] = g_signal_new ("delegation",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_DELEGATION_RESULT] = g_signal_new_class_handler ("delegation-result",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_openai_live_delegation_result), NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_HANG_UP] = g_signal_new_class_handler ("hang-up",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_openai_live_hang_up), NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_TRANSFER] = g_signal_new_class_handler ("transfer",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_openai_live_transfer), NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

/* ------------------------------------------------------------------------ */
/* gst-inspect-1.0 as the manual (docs/elements.md is checked against it)   */

static const char *const inspect_example[] = {
  "$ gst-launch-1.0 twiliosrc port=8080 ! openailive instructions=\"You are a friendly receptionist.\" greeting=\"Hello, how can I help?\" ! twiliosink",
  "A one-call Twilio bridge to GPT-Live, mu-law both ways (the key from OPENAI_API_KEY).",
  NULL
};

static const char *const inspect_signals[] = {
  "transcript: arg0 role (string): \"user\" (the caller) or \"assistant\" (the agent); arg1 item-id (string): "
      "always empty (GPT-Live has no items); arg2 text (string): a fragment, in arrival order; arg3 final (boolean): "
      "always FALSE (GPT-Live sends no completed transcripts). Network thread: do not block in it.",
  "function-call: arg0 name (string); arg1 call-id (string): pass it back with function-result; arg2 arguments "
      "(string): JSON text. delegation=responses only (the backend called a tool). Not emitted for end_call "
      "and transfer_call.",
  "delegation: arg0 delegation-id (string): client delegation handed a task to the application (no task text: "
      "work it out from the transcripts); answer with delegation-result.",
  NULL
};

static const char *const inspect_actions[] = {
  "function-result: arg0 call-id (string); arg1 output (string): the result. Sends function_call_output and "
      "response.create so the backend goes on. Any thread.",
  "delegation-result: arg0 delegation-id (string); arg1 text (string): what the agent is to say. Sent as "
      "session.commentary.append. Any thread.",
  "hang-up: arg0 reason (string; NULL: \"the application ended the call\"). Once the model has been quiet for 600 ms "
      "(at most 10 s) and its audio is out: session.close, openai-realtime/hang-up, EOS. Any thread.",
  "transfer: arg0 target (string): a phone number or SIP URI; NULL or empty: transfer-to; arg1 reason (string; "
      "NULL: \"the application transferred the call\"). Posts openai-realtime/transfer at once, then ends the call "
      "as hang-up does (without the hang-up message); the application dials the target. Any thread.",
  NULL
};

static const char *const inspect_messages[] = {
  "openai-realtime/session: session.started matched the caps. session (string): the started session, JSON; "
      "input-format, output-format (string): the caps' one format; session-id (string); expires-at (int64, Unix s).",
  "openai-realtime/transcript: role, item-id, text (string), final (boolean), start-ms, end-ms (int64: the session "
      "timeline). As the transcript signal.",
  "openai-realtime/function-call: name, call-id, arguments (string). As the function-call signal.",
  "openai-realtime/error: a non-fatal API error (also a WARNING). type, code, message, param (string); event-id "
      "(string): the client_event_id it names; event-type, cause (string): that event, when we sent it.",
  "openai-realtime/barge-in: the caller talked over the agent. item-id (string, empty); audio-end-ms (int64): agent "
      "audio heard so far in the session; cleared-ms (uint64): what was dropped or cleared.",
  "openai-realtime/hang-up: the call ends after the last words. reason (string).",
  "openai-realtime/transfer: the caller is to be handed over (posted at once; EOS follows the last words). "
      "target (string): transfer-to or the action's target; reason (string).",
  "openai-realtime/closed: the session is over; EOS follows. code (int): 1000 after session.closed, else the "
      "WebSocket's; reason (string): session.closed's (close_requested, expired, content, ...) or the close's; "
      "billed-seconds (double).",
  "openai-realtime/reconnecting: the session was lost, a new one is being started. reason (string): stalled, "
      "dropped, closed or session_expired.",
  "openai-realtime/reconnected: a new session is confirmed with the conversation as its startup history. reason "
      "(string); gap-ms (int64): from the loss to the confirmation; attempts (uint); items (uint): turns carried over.",
  "openai-live/delegation: as the delegation signal. delegation-id (string); offset-ms (int64).",
  "openai-live/usage: session.usage.updated. billed-seconds (double, cumulative).",
  NULL
};

static const char *const inspect_events[] = {
  "sink, twilio/call (sticky, from twiliosrc): custom-parameters fill {name} placeholders; turns pacing on "
      "(twiliosrc echoes marks); passed on.",
  "sink, twilio/mark (from twiliosrc; name \"live:MS\"): the caller has heard MS ms of agent audio. Consumed.",
  "sink, dtmf-event (number 0-15, start): a key press, told to the model with dtmf-to-text; passed on.",
  "sink, EOS: the caller hung up; EOS follows on src.",
  "src, twilio/send-mark (name \"live:MS\"): after every <=100 ms of agent audio.",
  "src, FLUSH_START/FLUSH_STOP: barge-in; twiliosink sends Twilio a clear.",
  "src, EOS: the session closed, the caller hung up, or the call ended (end_call, transfer_call, hang-up, "
      "transfer) after the last words.",
  NULL
};

static void
gst_openai_live_finalize (GObject *object)
{
  GstOpenaiLive *self = GST_OPENAI_LIVE (object);
  Settings *s = &self->settings;

  if (s->api_key)
    memset (s->api_key, 0, strlen (s->api_key));
  g_free (s->api_key);
  g_free (s->uri);
  g_free (s->model);
  g_free (s->instructions);
  g_free (s->voice);
  g_free (s->custom_voice_id);
  g_free (s->greeting);
  g_free (s->responses_model);
  g_free (s->responses_instructions);
  g_free (s->tools);
  g_free (s->tools_file);
  g_free (s->tool_choice);
  g_free (s->tls_ca_file);
  g_free (s->transfer_to);
  g_free (self->run_transfer_to);
  g_free (self->session_tools);
  g_free (self->parse_error);
  g_free (self->start_id);
  g_free (self->end_reason);
  g_free (self->uri);
  g_free (self->lost_reason);
  g_free (self->lost_error);
  g_ptr_array_unref (self->history);
  g_clear_pointer (&self->call_params, gst_structure_free);
  g_object_unref (self->held);
  g_object_unref (self->batch);
  g_object_unref (self->agent);
  gtr_sent_events_free (self->sent);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->settings_lock);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->connect_done);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_openai_live_class_init (GstOpenaiLiveClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  GstElementClass *ec = GST_ELEMENT_CLASS (klass);

  oc->set_property = gst_openai_live_set_property;
  oc->get_property = gst_openai_live_get_property;
  oc->finalize = gst_openai_live_finalize;
  ec->change_state = GST_DEBUG_FUNCPTR (gst_openai_live_change_state);

  install_properties (oc);
  install_signals (oc);
  gst_element_class_add_static_pad_template (ec, &sink_template);
  gst_element_class_add_static_pad_template (ec, &src_template);
  gst_element_class_set_static_metadata (ec, "OpenAI GPT-Live session",
      "Filter/Audio/Network",
      "One OpenAI GPT-Live session (/v1/live/sessions): caller audio in on the sink "
      "pad, the agent's speech out on the src pad, in one format for both (the caps: "
      "mu-law 8 kHz, A-law 8 kHz, S16LE 16 or 24 kHz mono). Connects at "
      "READY->PAUSED; nothing leaves the src pad before session.started confirms "
      "the caps. With a Twilio call, at most max-queued-ms of agent audio is "
      "unplayed at Twilio, so a barge-in clears little. Example, signals' "
      "arguments, messages and events below (and in docs/elements.md)",
      "gst-twilio-realtime");
  gtr_inspect_add_metadata (ec, "example", inspect_example);
  gtr_inspect_add_metadata (ec, "signals", inspect_signals);
  gtr_inspect_add_metadata (ec, "actions", inspect_actions);
  gtr_inspect_add_metadata (ec, "messages", inspect_messages);
  gtr_inspect_add_metadata (ec, "events", inspect_events);
  gst_type_mark_as_plugin_api (GST_TYPE_OPENAI_LIVE_DELEGATION, 0);
}

static void
gst_openai_live_init (GstOpenaiLive *self)
{
  Settings *s = &self->settings;

  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_openai_live_chain));
  gst_pad_set_event_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_openai_live_sink_event));
  GST_PAD_SET_PROXY_CAPS (self->sinkpad);
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  GST_PAD_SET_PROXY_CAPS (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  g_mutex_init (&self->settings_lock);
  g_mutex_init (&self->lock);
  g_cond_init (&self->connect_done);
  s->uri = g_strdup (DEFAULT_URI);
  s->model = g_strdup (DEFAULT_MODEL);
  s->voice = g_strdup (DEFAULT_VOICE);
  s->delegation = DEFAULT_DELEGATION;
  s->hangup_tool = DEFAULT_HANGUP_TOOL;
  s->dtmf_to_text = DEFAULT_DTMF_TO_TEXT;
  s->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
  s->confirm_timeout_ms = DEFAULT_CONFIRM_TIMEOUT_MS;
  s->liveness_timeout_ms = DEFAULT_LIVENESS_TIMEOUT_MS;
  s->max_queued_ms = DEFAULT_MAX_QUEUED_MS;
  s->reconnect_attempts = DEFAULT_RECONNECT_ATTEMPTS;
  s->reconnect_backoff_ms = DEFAULT_RECONNECT_BACKOFF_MS;
  self->history = g_ptr_array_new_with_free_func (turn_free);
  self->held = gst_adapter_new ();
  self->batch = gst_adapter_new ();
  self->agent = gst_adapter_new ();
  gtr_agent_output_init (&self->out, self, self->srcpad, &self->lock, output_failed);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  self->context = gtr_netloop_ref_context ();
  self->sent = gtr_sent_events_new (SENT_EVENTS_KEPT, "session.input_audio.append");
}

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (openailive, "openailive",
    GST_RANK_NONE, GST_TYPE_OPENAI_LIVE,
    GST_DEBUG_CATEGORY_INIT (gst_openai_live_debug, "openailive", 0,
        "OpenAI GPT-Live session"));
