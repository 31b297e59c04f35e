/* openairealtime: one OpenAI Realtime API session (GA) as a GStreamer element.
 *
 * Threads.  The WebSocket lives on the process-wide network thread
 * (gtr-netloop): its SoupSession is created there, every server event is
 * handled there, and the agent's audio is pushed on the src pad from there
 * (run-to-completion, no thread of our own).  So anything downstream that can
 * block (a clock-synced audio sink, a file) must sit behind a `queue`.
 * Caller audio arrives on whatever thread upstream pushes from; client
 * events built there are handed to the network thread with
 * g_main_context_invoke (in order).
 *
 * Locking.  `settings_lock` guards the properties; `lock` guards the per-run
 * state shared between the sink-pad thread, the network thread and the
 * application (stats, the held input, formats, the call's parameters).
 * Output-side state (items, responses, timestamps) is touched only on the
 * network thread.
 */

/**
 * SECTION:element-openairealtime
 * @title: openairealtime
 *
 * One OpenAI Realtime API session (GA interface). Caller audio that enters the
 * sink pad is streamed to the API (`input_audio_buffer.append`); the agent's
 * spoken answer (`response.output_audio.delta`) leaves the src pad.
 *
 * Formats are caps, never properties: the session's input format comes from
 * the sink caps, its output format from the caps negotiated on the src pad
 * (μ-law 8 kHz, A-law 8 kHz or S16LE 24 kHz mono). The element connects when
 * it goes from READY to PAUSED, sends `session.update`, and checks the
 * `session.updated` answer against the caps: a rejected update is an error
 * (LIBRARY, SETTINGS) carrying the API's message, a format mismatch an error
 * (STREAM, FORMAT). No audio leaves the element before the session is
 * confirmed; caller audio arriving before is held (up to 5 s).
 *
 * The agent says #GstOpenaiRealtime:greeting first. Barge-in: when the caller
 * starts speaking over the agent (`input_audio_buffer.speech_started`), the
 * src pad is flushed (twiliosink turns the flush into a Twilio `clear`), the
 * response is cancelled, and the agent's item is truncated at what the caller
 * actually heard, known from the echoed marks: after every ≤100 ms of audio
 * the element sends a `twilio/send-mark` event downstream named
 * `ITEM_ID:MS`, and twiliosrc brings the `twilio/mark` echo back to the sink
 * pad.
 *
 * The agent's audio is pushed from the shared network thread: put a `queue`
 * before any sink that syncs to the clock or can block.
 *
 * Element messages (structure names):
 * - `openai-realtime/session`: the session is confirmed; `session` (string,
 *   the effective session JSON), `input-format`, `output-format` (strings).
 * - `openai-realtime/transcript`: `role` ("user" or "assistant"), `item-id`,
 *   `text`, `final` (boolean; assistant deltas are not final).
 * - `openai-realtime/response-done`: `response-id`, `status`, `usage` (JSON).
 * - `openai-realtime/function-call`: `name`, `call-id`, `arguments` (JSON).
 * - `openai-realtime/error`: a non-fatal API error; `type`, `code`,
 *   `message`, `param`, `event-id`.
 * - `openai-realtime/closed`: the API closed the session; `code` (int),
 *   `reason` (string). EOS follows downstream.
 * - `openai-realtime/barge-in`: the caller interrupted; `item-id`,
 *   `audio-end-ms` (what the caller heard).
 *
 * Failures: refused connection, TLS failure, other handshake errors →
 * RESOURCE/OPEN_READ; HTTP 401/403 → RESOURCE/NOT_AUTHORIZED ("the API
 * rejected the key (HTTP 401)"); rejected `session.update` → LIBRARY/SETTINGS
 * with details `api-code`, `api-param`, `api-message`; format mismatch →
 * STREAM/FORMAT. The API key never appears in a log or message.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 twiliosrc port=8080 ! openairealtime instructions="You are a friendly receptionist." greeting="Hello, how can I help?" ! queue ! twiliosink
 * ]| A one-call Twilio bridge (key from OPENAI_API_KEY).
 * |[
 * gst-launch-1.0 autoaudiosrc ! audioconvert ! audioresample ! openairealtime ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! audioconvert ! audioresample ! autoaudiosink
 * ]| Talk to the agent from a microphone (S16LE 24 kHz both ways).
 */

#include <config.h>

#include "gstopenairealtime.h"
#include "gstopenairealtime-enums.h"
#include "gstopenairealtime-enumtypes.h"

#include <string.h>
#include <gst/base/gstadapter.h>
#include <libsoup/soup.h>

#include "gtr-protocol.h"
#include "gtr-netloop.h"
#include "gtr-events.h"
#include "gtr-element-util.h"

GST_DEBUG_CATEGORY_STATIC (gst_openai_realtime_debug);
#define GST_CAT_DEFAULT gst_openai_realtime_debug

#define DEFAULT_URI "wss://api.openai.com/v1/realtime"
#define DEFAULT_MODEL "gpt-realtime"
#define DEFAULT_VOICE GST_OPENAI_REALTIME_VOICE_MARIN
#define DEFAULT_SPEED 1.0
#define DEFAULT_NOISE_REDUCTION GST_OPENAI_REALTIME_NOISE_REDUCTION_NEAR_FIELD
#define DEFAULT_TURN_DETECTION GST_OPENAI_REALTIME_TURN_DETECTION_SERVER_VAD
#define DEFAULT_VAD_THRESHOLD 0.5
#define DEFAULT_PREFIX_PADDING_MS 300
#define DEFAULT_SILENCE_DURATION_MS 500
#define DEFAULT_IDLE_TIMEOUT_MS 0
#define DEFAULT_EAGERNESS GST_OPENAI_REALTIME_EAGERNESS_AUTO
#define DEFAULT_INTERRUPT_RESPONSE TRUE
#define DEFAULT_MAX_OUTPUT_TOKENS 0
#define DEFAULT_DTMF_TO_TEXT TRUE

#define HOLD_MS 5000            /* caller audio held before confirmation */
#define APPEND_MIN_MS 20        /* batch appends to at least this much */
#define MARK_EVERY_MS 100       /* a mark after every ≤100 ms of agent audio */
#define MAX_INCOMING_PAYLOAD (16 * 1024 * 1024)
#define KEEPALIVE_SECONDS 20

#define MSG_PREFIX "openai-realtime/"

enum {
  PROP_0,
  PROP_API_KEY,
  PROP_URI,
  PROP_MODEL,
  PROP_INSTRUCTIONS,
  PROP_VOICE,
  PROP_SPEED,
  PROP_LANGUAGE,
  PROP_TRANSCRIPTION_MODEL,
  PROP_TRANSCRIPTION_PROMPT,
  PROP_NOISE_REDUCTION,
  PROP_TURN_DETECTION,
  PROP_VAD_THRESHOLD,
  PROP_PREFIX_PADDING_MS,
  PROP_SILENCE_DURATION_MS,
  PROP_IDLE_TIMEOUT_MS,
  PROP_EAGERNESS,
  PROP_INTERRUPT_RESPONSE,
  PROP_MAX_OUTPUT_TOKENS,
  PROP_GREETING,
  PROP_TOOLS,
  PROP_TOOL_CHOICE,
  PROP_TLS_CA_FILE,
  PROP_DTMF_TO_TEXT,
  PROP_STATS,
};

enum {
  SIGNAL_TRANSCRIPT,
  SIGNAL_FUNCTION_CALL,
  SIGNAL_FUNCTION_RESULT,
  LAST_SIGNAL
};
static guint signals[LAST_SIGNAL];

typedef struct {
  char *api_key;
  char *uri;
  char *model;
  char *instructions;
  GstOpenaiRealtimeVoice voice;
  gdouble speed;
  char *language;
  char *transcription_model;
  char *transcription_prompt;
  GstOpenaiRealtimeNoiseReduction noise_reduction;
  GstOpenaiRealtimeTurnDetection turn_detection;
  gdouble vad_threshold;
  gint prefix_padding_ms;
  gint silence_duration_ms;
  gint idle_timeout_ms;
  GstOpenaiRealtimeEagerness eagerness;
  gboolean interrupt_response;
  gint max_output_tokens;
  char *greeting;
  char *tools;
  char *tool_choice;
  char *tls_ca_file;
  gboolean dtmf_to_text;
} Settings;

typedef struct {
  guint64 audio_in_bytes;
  guint64 audio_out_bytes;
  guint64 appends;
  guint64 responses;
  guint64 barge_ins;
  guint64 errors;
  guint64 dropped_unconfirmed;
  guint64 dropped_cancelled;
  guint64 dropped_input_bytes;
  guint64 marks_sent;
  guint64 marks_heard;
  guint64 bad_frames;
  guint64 function_calls;
} Stats;

struct _GstOpenaiRealtime {
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  GMutex settings_lock;
  Settings settings;

  GMutex lock;
  GCond connect_done;          /* signalled when a connect attempt has finished */
  gboolean connecting;         /* a websocket_connect_async is in flight */
  /* shared per-run state (lock) */
  Stats stats;
  GtrAudioFormat in_format;
  GtrAudioFormat out_format;
  gboolean confirmed;
  gboolean caller_present;     /* a buffer or the call event reached the sink pad */
  gboolean greeted;            /* the greeting was asked for (network thread) */
  gboolean failed;             /* an error was posted: stop feeding */
  gboolean eos;                /* the API closed: EOS sent */
  GstAdapter *held;            /* caller audio before confirmation */
  gboolean held_warned;
  GstAdapter *batch;           /* caller audio after confirmation */
  GstStructure *call_params;   /* the call's customParameters */
  gboolean want_playing;       /* PLAYING was reached and not left since */
  gint playing;                /* atomic; set true only by set_playing */

  /* network-thread state */
  GMainContext *context;
  GCancellable *cancellable;
  SoupSession *session;
  SoupMessage *handshake;
  SoupWebsocketConnection *conn;
  GTlsDatabase *extra_ca;
  GTlsCertificateFlags tls_errors;
  char *endpoint;              /* host:port, for error texts */
  GHashTable *update_ids;      /* event_ids of our session.update events */
  gboolean update_sent;
  gboolean instructions_filled; /* sent with the call's parameters */
  GQueue out_pending;          /* buffers/events waiting for PLAYING */
  GstSegment segment;
  GstClockTime out_base;       /* running time where the current item started */
  guint64 out_samples;         /* samples pushed since out_base */
  char *response_id;
  gboolean response_active;
  GHashTable *cancelled;       /* response ids whose deltas are dropped */
  char *item_id;               /* the agent item being played */
  guint64 item_bytes;          /* its audio pushed so far */
  gint64 heard_ms;             /* its audio the caller heard (echoed marks) */
};

#define CAPS_STR \
  "audio/x-mulaw, rate=(int)8000, channels=(int)1; " \
  "audio/x-alaw, rate=(int)8000, channels=(int)1; " \
  "audio/x-raw, format=(string)S16LE, rate=(int)24000, channels=(int)1, layout=(string)interleaved"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));

#define gst_openai_realtime_parent_class parent_class
G_DEFINE_TYPE (GstOpenaiRealtime, gst_openai_realtime, GST_TYPE_ELEMENT);

static void send_json (GstOpenaiRealtime *self, char *json);

/* ------------------------------------------------------------------------ */
/* Formats                                                                  */

/* The one place caps become a GtrAudioFormat. */
static GtrAudioFormat
format_from_caps (const GstCaps *caps)
{
  const GstStructure *s;
  const char *name;

  if (!caps || gst_caps_get_size (caps) < 1)
    return GTR_AUDIO_FORMAT_UNSET;
  s = gst_caps_get_structure (caps, 0);
  name = gst_structure_get_name (s);
  if (g_str_equal (name, "audio/x-mulaw"))
    return GTR_AUDIO_FORMAT_PCMU;
  if (g_str_equal (name, "audio/x-alaw"))
    return GTR_AUDIO_FORMAT_PCMA;
  if (g_str_equal (name, "audio/x-raw"))
    return GTR_AUDIO_FORMAT_PCM24K;
  return GTR_AUDIO_FORMAT_UNSET;
}

/* How a format is named in our caps, for error texts. */
static const char *
format_caps_desc (GtrAudioFormat format)
{
  switch (format) {
    case GTR_AUDIO_FORMAT_PCMU:
      return "audio/x-mulaw 8000 Hz";
    case GTR_AUDIO_FORMAT_PCMA:
      return "audio/x-alaw 8000 Hz";
    case GTR_AUDIO_FORMAT_PCM24K:
      return "audio/x-raw S16LE 24000 Hz";
    default:
      return "unset";
  }
}

static guint
format_rate (GtrAudioFormat format)
{
  return format == GTR_AUDIO_FORMAT_PCM24K ? 24000 : 8000;
}

static guint
format_sample_bytes (GtrAudioFormat format)
{
  return format == GTR_AUDIO_FORMAT_PCM24K ? 2 : 1;
}

static guint
bytes_per_ms (GtrAudioFormat format)
{
  return format_rate (format) / 1000 * format_sample_bytes (format);
}

/* ------------------------------------------------------------------------ */
/* Settings                                                                 */

static const char *
voice_name (GstOpenaiRealtimeVoice voice)
{
  GEnumClass *klass = g_type_class_ref (GST_TYPE_OPENAI_REALTIME_VOICE);
  GEnumValue *value = g_enum_get_value (klass, voice);
  const char *nick = value ? value->value_nick : "marin";

  g_type_class_unref (klass);
  return nick;                  /* static strings of the registered type */
}

static const char *
eagerness_name (GstOpenaiRealtimeEagerness eagerness)
{
  static const char *const names[] = { "auto", "low", "medium", "high" };
  return names[eagerness];
}

/* Replace each {name} with the call's custom parameter `name`; unknown
 * placeholders stay as written. */
static char *
fill_placeholders (const char *text, const GstStructure *params)
{
  GString *out;
  const char *p = text;

  if (!text)
    return NULL;
  out = g_string_new (NULL);
  while (*p) {
    const char *close = NULL;
    if (*p == '{' && params)
      close = strchr (p + 1, '}');
    if (close) {
      g_autofree char *name = g_strndup (p + 1, close - p - 1);
      const char *value = gst_structure_get_string (params, name);
      if (value) {
        g_string_append (out, value);
        p = close + 1;
        continue;
      }
    }
    g_string_append_c (out, *p++);
  }
  return g_string_free (out, FALSE);
}

static gboolean
has_placeholder (const char *text)
{
  return text && strchr (text, '{') && strchr (text, '}');
}

static void
settings_to_config (const Settings *s, const GstStructure *params,
    GtrRealtimeSessionConfig *c)
{
  /* "none" is left out: the strict schema has no null here, and the API's
   * default is no noise reduction */
  static const GtrNoiseReduction noise[] = { GTR_NOISE_REDUCTION_UNSET,
    GTR_NOISE_REDUCTION_NEAR_FIELD, GTR_NOISE_REDUCTION_FAR_FIELD
  };
  static const GtrTurnDetection turn[] = { GTR_TURN_DETECTION_SERVER_VAD,
    GTR_TURN_DETECTION_SEMANTIC_VAD, GTR_TURN_DETECTION_NONE
  };

  c->noise_reduction = noise[s->noise_reduction];
  if (s->transcription_model && *s->transcription_model) {
    c->transcription_model = g_strdup (s->transcription_model);
    c->transcription_language = g_strdup (s->language);
    c->transcription_prompt = g_strdup (s->transcription_prompt);
  }
  c->turn_detection = turn[s->turn_detection];
  if (s->turn_detection == GST_OPENAI_REALTIME_TURN_DETECTION_SERVER_VAD) {
    c->vad_threshold = s->vad_threshold;
    c->prefix_padding_ms = s->prefix_padding_ms;
    c->silence_duration_ms = s->silence_duration_ms;
    c->idle_timeout_ms = s->idle_timeout_ms;
  } else if (s->turn_detection == GST_OPENAI_REALTIME_TURN_DETECTION_SEMANTIC_VAD) {
    c->eagerness = g_strdup (eagerness_name (s->eagerness));
  }
  if (s->turn_detection != GST_OPENAI_REALTIME_TURN_DETECTION_NONE)
    c->interrupt_response = s->interrupt_response ? 1 : 0;
  c->voice = g_strdup (voice_name (s->voice));
  c->speed = s->speed;
  c->audio_only = TRUE;
  c->instructions = fill_placeholders (s->instructions, params);
  c->max_output_tokens = s->max_output_tokens;
  c->tools_json = g_strdup (s->tools && *s->tools ? s->tools : NULL);
  c->tool_choice = g_strdup (s->tool_choice && *s->tool_choice ? s->tool_choice : NULL);
}

/* ------------------------------------------------------------------------ */
/* Bus messages and errors                                                  */

static void
post_element_message (GstOpenaiRealtime *self, GstStructure *s)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static void
count_error (GstOpenaiRealtime *self)
{
  g_mutex_lock (&self->lock);
  self->stats.errors++;
  g_mutex_unlock (&self->lock);
}

/* After a fatal error (call it after posting the error, so that ours is the
 * first on the bus): stop feeding the API and refuse upstream data. */
static void
mark_failed (GstOpenaiRealtime *self)
{
  g_mutex_lock (&self->lock);
  self->failed = TRUE;
  self->stats.errors++;
  g_mutex_unlock (&self->lock);
}

static gboolean
is_failed (GstOpenaiRealtime *self)
{
  gboolean failed;

  g_mutex_lock (&self->lock);
  failed = self->failed;
  g_mutex_unlock (&self->lock);
  return failed;
}

static const char *
tls_reason (GTlsCertificateFlags flags)
{
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return "the certificate is signed by an unknown authority";
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return "the certificate does not match the host name";
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    return "the certificate has expired";
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    return "the certificate is not yet valid";
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    return "the certificate has been revoked";
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    return "the certificate uses an insecure algorithm";
  return "the certificate was not accepted";
}

/* A failed WebSocket handshake as the RESOURCE error a user can act on. */
static void
post_handshake_error (GstOpenaiRealtime *self, GError *err, guint status)
{
  const char *where = self->endpoint;

  if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("could not connect to %s: connection refused", where),
        ("%s", err->message));
  } else if (err->domain == G_TLS_ERROR || self->tls_errors) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("TLS handshake with %s failed: %s", where,
            self->tls_errors ? tls_reason (self->tls_errors) : err->message),
        ("%s", err->message));
  } else if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN) {
    GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED,
        ("the API rejected the key (HTTP %u)", status), ("%s", err->message),
        ("http-status-code", G_TYPE_UINT, status, NULL));
  } else if (status >= 200 && status != SOUP_STATUS_SWITCHING_PROTOCOLS) {
    GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_READ,
        ("HTTP %u %s from %s", status, soup_status_get_phrase (status), where),
        ("%s", err->message),
        ("http-status-code", G_TYPE_UINT, status, NULL));
  } else {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("could not connect to %s: %s", where, err->message), (NULL));
  }
  mark_failed (self);
}

/* ------------------------------------------------------------------------ */
/* Output (network thread)                                                  */

static void
push_now (GstOpenaiRealtime *self, GstMiniObject *obj)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (GST_IS_BUFFER (obj))
    ret = gst_pad_push (self->srcpad, GST_BUFFER (obj));
  else
    gst_pad_push_event (self->srcpad, GST_EVENT (obj));
  if (ret != GST_FLOW_OK)
    GST_DEBUG_OBJECT (self, "push returned %s", gst_flow_get_name (ret));
}

/* Push downstream, or hold until PLAYING: a sink in PAUSED would block the
 * shared network thread. */
static void
push_out (GstOpenaiRealtime *self, GstMiniObject *obj)
{
  if (g_atomic_int_get (&self->playing) && g_queue_is_empty (&self->out_pending))
    push_now (self, obj);
  else
    g_queue_push_tail (&self->out_pending, obj);
}

static gboolean
drain_out_pending (gpointer data)
{
  GstOpenaiRealtime *self = data;
  GstMiniObject *obj;

  while (g_atomic_int_get (&self->playing)
      && (obj = g_queue_pop_head (&self->out_pending)))
    push_now (self, obj);
  return G_SOURCE_REMOVE;
}

static void
clear_out_pending (GstOpenaiRealtime *self)
{
  g_queue_clear_full (&self->out_pending, (GDestroyNotify) gst_mini_object_unref);
}

static GstClockTime
out_position (GstOpenaiRealtime *self)
{
  return self->out_base + gst_util_uint64_scale_int (self->out_samples,
      GST_SECOND, format_rate (self->out_format));
}

/* A new agent item starts where the last ended, or now if that is later:
 * timestamps stay continuous within an item and never go back. */
static gboolean
start_item (GstOpenaiRealtime *self, const char *item_id)
{
  GstClockTime pos = out_position (self);
  GstClockTime now = gtr_element_running_time (GST_ELEMENT (self));

  g_free (self->item_id);
  self->item_id = g_strdup (item_id);
  self->item_bytes = 0;
  self->heard_ms = 0;
  if (now <= pos)
    return FALSE;
  self->out_base = now;
  self->out_samples = 0;
  return TRUE;
}

static void
push_mark (GstOpenaiRealtime *self)
{
  g_autofree char *name = g_strdup_printf ("%s:%" G_GUINT64_FORMAT,
      self->item_id, self->item_bytes / bytes_per_ms (self->out_format));
  GstStructure *s = gst_structure_new (GTR_EVENT_SEND_MARK, "name",
      G_TYPE_STRING, name, NULL);

  GST_LOG_OBJECT (self, "mark %s", name);
  push_out (self, GST_MINI_OBJECT (gst_event_new_custom
          (GST_EVENT_CUSTOM_DOWNSTREAM, s)));
  g_mutex_lock (&self->lock);
  self->stats.marks_sent++;
  g_mutex_unlock (&self->lock);
}

/* The agent's audio: pieces of at most MARK_EVERY_MS, each followed by a mark. */
static void
push_agent_audio (GstOpenaiRealtime *self, const char *item_id, GBytes *audio)
{
  gsize len, off = 0;
  const guint8 *data = g_bytes_get_data (audio, &len);
  guint sample = format_sample_bytes (self->out_format);
  gsize piece_max = MARK_EVERY_MS * bytes_per_ms (self->out_format);
  gboolean discont = FALSE;

  len -= len % sample;
  if (!self->item_id || g_strcmp0 (self->item_id, item_id) != 0)
    discont = start_item (self, item_id);

  while (off < len) {
    gsize piece = MIN (piece_max, len - off);
    GstBuffer *buf = gst_buffer_new_memdup (data + off, piece);
    guint64 samples = piece / sample;

    GST_BUFFER_PTS (buf) = out_position (self);
    self->out_samples += samples;
    GST_BUFFER_DURATION (buf) = out_position (self) - GST_BUFFER_PTS (buf);
    if (discont)
      GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    discont = FALSE;
    self->item_bytes += piece;
    off += piece;

    g_mutex_lock (&self->lock);
    self->stats.audio_out_bytes += piece;
    g_mutex_unlock (&self->lock);
    push_out (self, GST_MINI_OBJECT (buf));
    push_mark (self);
  }
}

/* Barge-in: drop what the caller has not heard. */
static void
flush_src (GstOpenaiRealtime *self)
{
  clear_out_pending (self);
  gst_pad_push_event (self->srcpad, gst_event_new_flush_start ());
  gst_pad_push_event (self->srcpad, gst_event_new_flush_stop (FALSE));
  gst_pad_push_event (self->srcpad, gst_event_new_segment (&self->segment));
}

static void
push_eos (GstOpenaiRealtime *self)
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

/* ------------------------------------------------------------------------ */
/* Client events                                                            */

static void
send_now (GstOpenaiRealtime *self, char *json)
{
  if (self->conn && soup_websocket_connection_get_state (self->conn) ==
      SOUP_WEBSOCKET_STATE_OPEN) {
    GST_TRACE_OBJECT (self, "sending %s", json);
    soup_websocket_connection_send_text (self->conn, json);
  } else {
    GST_DEBUG_OBJECT (self, "not connected, client event dropped");
  }
  g_free (json);
}

typedef struct {
  GstOpenaiRealtime *self;
  char *json;
} SendJob;

static gboolean
send_job_run (gpointer data)
{
  SendJob *job = data;

  send_now (job->self, job->json);
  gst_object_unref (job->self);
  g_free (job);
  return G_SOURCE_REMOVE;
}

/* Send on the network thread, keeping the order of calls. Takes `json`. */
static void
send_json (GstOpenaiRealtime *self, char *json)
{
  SendJob *job;

  if (!json)
    return;
  if (gtr_netloop_is_current ()) {
    send_now (self, json);
    return;
  }
  job = g_new0 (SendJob, 1);
  job->self = gst_object_ref (self);
  job->json = json;
  g_main_context_invoke (self->context, send_job_run, job);
}

/* Run `func` on the network thread (at once when already on it: twiliosrc
 * pushes from there), with a ref on self. */
typedef void (*NetFunc) (GstOpenaiRealtime *self, gpointer arg);
typedef struct {
  GstOpenaiRealtime *self;
  NetFunc func;
  gpointer arg;
  GDestroyNotify free_arg;
} NetJob;

static gboolean
net_job_run (gpointer data)
{
  NetJob *job = data;

  job->func (job->self, job->arg);
  if (job->free_arg)
    job->free_arg (job->arg);
  gst_object_unref (job->self);
  g_free (job);
  return G_SOURCE_REMOVE;
}

static void
run_on_net (GstOpenaiRealtime *self, NetFunc func, gpointer arg,
    GDestroyNotify free_arg)
{
  NetJob *job;

  if (gtr_netloop_is_current ()) {
    func (self, arg);
    if (free_arg)
      free_arg (arg);
    return;
  }
  job = g_new0 (NetJob, 1);
  job->self = gst_object_ref (self);
  job->func = func;
  job->arg = arg;
  job->free_arg = free_arg;
  g_main_context_invoke (self->context, net_job_run, job);
}

static char *
build_appends (GstAdapter *adapter, gsize chunk)
{
  GString *out = NULL;

  while (gst_adapter_available (adapter) > 0) {
    gsize n = MIN (chunk, gst_adapter_available (adapter));
    g_autofree guint8 *data = gst_adapter_take (adapter, n);
    g_autofree char *json = gtr_realtime_build_input_audio_buffer_append (data, n, NULL);

    /* several events travel as one string separated by '\n' */
    if (!out)
      out = g_string_new (json);
    else
      g_string_append_printf (out, "\n%s", json);
  }
  return out ? g_string_free (out, FALSE) : NULL;
}

/* Send a possibly multi-event string built by build_appends, one frame each. */
static void
send_lines (GstOpenaiRealtime *self, char *lines)
{
  char **parts;

  if (!lines)
    return;
  parts = g_strsplit (lines, "\n", -1);
  for (char **p = parts; *p; p++)
    send_json (self, g_strdup (*p));
  g_strfreev (parts);
  g_free (lines);
}

/* session.update: the whole configuration, or instructions only (when the
 * call's parameters arrive after the first update). */
static void
send_session_update (GstOpenaiRealtime *self, gboolean instructions_only)
{
  GtrRealtimeSessionConfig config;
  g_autoptr (GError) err = NULL;
  char *event_id = NULL;
  char *json;

  gtr_realtime_session_config_init (&config);
  g_mutex_lock (&self->settings_lock);
  g_mutex_lock (&self->lock);
  if (instructions_only) {
    config.instructions = fill_placeholders (self->settings.instructions,
        self->call_params);
  } else {
    settings_to_config (&self->settings, self->call_params, &config);
    config.input_format = self->in_format;
    config.output_format = self->out_format;
  }
  self->instructions_filled = self->call_params != NULL;
  g_mutex_unlock (&self->lock);
  g_mutex_unlock (&self->settings_lock);

  json = gtr_realtime_build_session_update (&config, &event_id, &err);
  gtr_realtime_session_config_clear (&config);
  if (!json) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("invalid session settings: %s", err ? err->message : "unknown"), (NULL));
    mark_failed (self);
    return;
  }
  GST_INFO_OBJECT (self, "sending session.update %s%s", event_id,
      instructions_only ? " (instructions only)" : "");
  g_hash_table_add (self->update_ids, event_id);
  self->update_sent = TRUE;
  send_now (self, json);
}

/* Once connected and both formats are known. */
static void
maybe_send_session_update (GstOpenaiRealtime *self, gpointer unused)
{
  gboolean ready;

  g_mutex_lock (&self->lock);
  ready = self->in_format != GTR_AUDIO_FORMAT_UNSET
      && self->out_format != GTR_AUDIO_FORMAT_UNSET && !self->failed;
  g_mutex_unlock (&self->lock);
  if (ready && self->conn && !self->update_sent)
    send_session_update (self, FALSE);
}

/* ------------------------------------------------------------------------ */
/* Server events (network thread)                                           */

static gboolean
formats_match (GstOpenaiRealtime *self, const GtrRealtimeServerEvent *ev)
{
  GtrAudioFormat in_fmt, out_fmt;

  g_mutex_lock (&self->lock);
  in_fmt = self->in_format;
  out_fmt = self->out_format;
  g_mutex_unlock (&self->lock);

  if (ev->output_format != out_fmt) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("session output format is %s but the src caps are %s",
            ev->output_format_desc ? ev->output_format_desc : "unknown",
            format_caps_desc (out_fmt)), (NULL));
  } else if (ev->input_format != in_fmt) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("session input format is %s but the sink caps are %s",
            ev->input_format_desc ? ev->input_format_desc : "unknown",
            format_caps_desc (in_fmt)), (NULL));
  } else {
    return TRUE;
  }
  mark_failed (self);
  return FALSE;
}

/* The agent speaks first — but only to someone: once the session is
 * confirmed and the caller is on the line (the call event or caller audio
 * reached the sink pad).  A standalone twiliosrc confirms the session long
 * before Twilio connects; a greeting then would be spoken to no one, and
 * its audio would reach twiliosink before the call it belongs to.
 * Network thread. */
static void
maybe_greet (GstOpenaiRealtime *self, gpointer unused)
{
  g_autofree char *greeting = NULL;
  g_autofree char *instructions = NULL;
  gboolean ready;

  g_mutex_lock (&self->lock);
  ready = self->confirmed && !self->failed && self->caller_present && !self->greeted;
  if (ready)
    self->greeted = TRUE;
  g_mutex_unlock (&self->lock);
  if (!ready)
    return;
  g_mutex_lock (&self->settings_lock);
  greeting = g_strdup (self->settings.greeting);
  g_mutex_unlock (&self->settings_lock);
  if (!greeting || !*greeting)
    return;
  instructions = g_strdup_printf ("Say exactly the following to the caller, "
      "word for word, and nothing else: \"%s\"", greeting);
  send_now (self, gtr_realtime_build_response_create (instructions, NULL));
}

/* Called from the streaming thread for each buffer and the call event. */
static void
note_caller_present (GstOpenaiRealtime *self)
{
  gboolean first;

  g_mutex_lock (&self->lock);
  first = !self->caller_present;
  self->caller_present = TRUE;
  g_mutex_unlock (&self->lock);
  if (first)
    run_on_net (self, maybe_greet, NULL, NULL);
}

static void
on_session_updated (GstOpenaiRealtime *self, GtrRealtimeServerEvent *ev)
{
  char *appends;
  gboolean first;

  if (!formats_match (self, ev))
    return;

  g_mutex_lock (&self->lock);
  first = !self->confirmed;
  self->confirmed = TRUE;
  /* held audio goes out before anything the sink thread sends next */
  appends = build_appends (self->held, 1000 * bytes_per_ms (self->in_format));
  if (appends)
    self->stats.appends++;
  g_mutex_unlock (&self->lock);
  send_lines (self, appends);
  if (!first)
    return;

  GST_INFO_OBJECT (self, "session confirmed");
  post_element_message (self, gst_structure_new (MSG_PREFIX "session",
          "session", G_TYPE_STRING, ev->session_json ? ev->session_json : "{}",
          "input-format", G_TYPE_STRING, format_caps_desc (self->in_format),
          "output-format", G_TYPE_STRING, format_caps_desc (self->out_format),
          NULL));
  maybe_greet (self, NULL);
}

static void
on_api_error (GstOpenaiRealtime *self, GtrRealtimeServerEvent *ev)
{
  const char *code = ev->error_code ? ev->error_code : "";
  const char *param = ev->error_param ? ev->error_param : "";
  const char *message = ev->error_message ? ev->error_message : "";

  if (ev->error_event_id && g_hash_table_contains (self->update_ids, ev->error_event_id)) {
    GST_ELEMENT_ERROR_WITH_DETAILS (self, LIBRARY, SETTINGS,
        ("the API rejected session.update: %s (code %s, param %s)", message,
            code, param), ("error event %s", ev->event_id ? ev->event_id : ""),
        ("api-code", G_TYPE_STRING, code, "api-param", G_TYPE_STRING, param,
            "api-message", G_TYPE_STRING, message, NULL));
    mark_failed (self);
    return;
  }
  count_error (self);
  GST_ELEMENT_WARNING (self, LIBRARY, FAILED,
      ("the API reported an error: %s (code %s)", message, code), (NULL));
  post_element_message (self, gst_structure_new (MSG_PREFIX "error",
          "type", G_TYPE_STRING, ev->error_type ? ev->error_type : "",
          "code", G_TYPE_STRING, code, "message", G_TYPE_STRING, message,
          "param", G_TYPE_STRING, param, "event-id", G_TYPE_STRING,
          ev->error_event_id ? ev->error_event_id : "", NULL));
}

static gboolean
is_confirmed (GstOpenaiRealtime *self)
{
  gboolean confirmed;

  g_mutex_lock (&self->lock);
  confirmed = self->confirmed && !self->failed;
  g_mutex_unlock (&self->lock);
  return confirmed;
}

static void
on_audio_delta (GstOpenaiRealtime *self, GtrRealtimeServerEvent *ev)
{
  gboolean drop_unconfirmed = !is_confirmed (self);
  gboolean drop_cancelled = ev->response_id
      && g_hash_table_contains (self->cancelled, ev->response_id);

  if (drop_unconfirmed || drop_cancelled || !ev->audio) {
    g_mutex_lock (&self->lock);
    if (drop_unconfirmed)
      self->stats.dropped_unconfirmed++;
    else if (drop_cancelled)
      self->stats.dropped_cancelled++;
    g_mutex_unlock (&self->lock);
    GST_LOG_OBJECT (self, "delta dropped (%s)",
        drop_unconfirmed ? "unconfirmed session" : "cancelled response");
    return;
  }
  push_agent_audio (self, ev->item_id ? ev->item_id : "item", ev->audio);
}

static gint64
item_sent_ms (GstOpenaiRealtime *self)
{
  return self->item_bytes / bytes_per_ms (self->out_format);
}

static void
on_speech_started (GstOpenaiRealtime *self)
{
  gboolean interrupt_response;
  /* The caller cuts in while the agent's item is still unheard, or while
   * its response is still being generated (everything sent so far may have
   * been heard, but the API holds more of the item than that). */
  gboolean interrupted = self->item_id
      && (self->heard_ms < item_sent_ms (self) || self->response_active);

  g_mutex_lock (&self->settings_lock);
  interrupt_response = self->settings.interrupt_response;
  g_mutex_unlock (&self->settings_lock);

  if (self->response_active && self->response_id) {
    /* with interrupt_response the API cancels the response itself */
    if (!interrupt_response)
      send_now (self, gtr_realtime_build_response_cancel (self->response_id, NULL));
    g_hash_table_add (self->cancelled, g_strdup (self->response_id));
    self->response_active = FALSE;
  }
  if (!interrupted)
    return;

  {
    gint64 end_ms = MIN (self->heard_ms, item_sent_ms (self));

    GST_INFO_OBJECT (self, "barge-in: truncating %s at %" G_GINT64_FORMAT
        " ms of %" G_GINT64_FORMAT, self->item_id, end_ms, item_sent_ms (self));
    flush_src (self);
    send_now (self, gtr_realtime_build_item_truncate (self->item_id, 0, end_ms, NULL));
    post_element_message (self, gst_structure_new (MSG_PREFIX "barge-in",
            "item-id", G_TYPE_STRING, self->item_id,
            "audio-end-ms", G_TYPE_INT64, end_ms, NULL));
    g_mutex_lock (&self->lock);
    self->stats.barge_ins++;
    g_mutex_unlock (&self->lock);
    g_clear_pointer (&self->item_id, g_free);
    self->item_bytes = 0;
    self->heard_ms = 0;
  }
}

static void
emit_transcript (GstOpenaiRealtime *self, const char *role,
    const char *item_id, const char *text, gboolean final)
{
  if (!text)
    return;
  item_id = item_id ? item_id : "";
  post_element_message (self, gst_structure_new (MSG_PREFIX "transcript",
          "role", G_TYPE_STRING, role, "item-id", G_TYPE_STRING, item_id,
          "text", G_TYPE_STRING, text, "final", G_TYPE_BOOLEAN, final, NULL));
  g_signal_emit (self, signals[SIGNAL_TRANSCRIPT], 0, role, item_id, text, final);
}

static void
on_response_done (GstOpenaiRealtime *self, GtrRealtimeServerEvent *ev)
{
  if (g_strcmp0 (ev->response_id, self->response_id) == 0)
    self->response_active = FALSE;
  g_mutex_lock (&self->lock);
  self->stats.responses++;
  g_mutex_unlock (&self->lock);
  post_element_message (self, gst_structure_new (MSG_PREFIX "response-done",
          "response-id", G_TYPE_STRING, ev->response_id ? ev->response_id : "",
          "status", G_TYPE_STRING, ev->status ? ev->status : "",
          "usage", G_TYPE_STRING, ev->usage_json ? ev->usage_json : "{}", NULL));
}

static void
on_function_call (GstOpenaiRealtime *self, GtrRealtimeServerEvent *ev)
{
  const char *name = ev->name ? ev->name : "";
  const char *call_id = ev->call_id ? ev->call_id : "";
  const char *args = ev->arguments ? ev->arguments : "{}";

  GST_INFO_OBJECT (self, "function call %s (%s)", name, call_id);
  g_mutex_lock (&self->lock);
  self->stats.function_calls++;
  g_mutex_unlock (&self->lock);
  post_element_message (self, gst_structure_new (MSG_PREFIX "function-call",
          "name", G_TYPE_STRING, name, "call-id", G_TYPE_STRING, call_id,
          "arguments", G_TYPE_STRING, args, NULL));
  g_signal_emit (self, signals[SIGNAL_FUNCTION_CALL], 0, name, call_id, args);
}

static void
on_response_created (GstOpenaiRealtime *self, GtrRealtimeServerEvent *ev)
{
  g_free (self->response_id);
  self->response_id = g_strdup (ev->response_id);
  self->response_active = TRUE;
}

static void
handle_server_event (GstOpenaiRealtime *self, GtrRealtimeServerEvent *ev)
{
  GST_DEBUG_OBJECT (self, "server event %s", ev->type_name);
  switch (ev->type) {
    case GTR_RT_EVENT_SESSION_UPDATED:
      on_session_updated (self, ev);
      break;
    case GTR_RT_EVENT_ERROR:
      on_api_error (self, ev);
      break;
    case GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_DELTA:
      on_audio_delta (self, ev);
      break;
    case GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STARTED:
      on_speech_started (self);
      break;
    case GTR_RT_EVENT_RESPONSE_CREATED:
      on_response_created (self, ev);
      break;
    case GTR_RT_EVENT_RESPONSE_DONE:
      on_response_done (self, ev);
      break;
    case GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA:
      emit_transcript (self, "assistant", ev->item_id, ev->delta, FALSE);
      break;
    case GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE:
      emit_transcript (self, "assistant", ev->item_id, ev->transcript, TRUE);
      break;
    case GTR_RT_EVENT_INPUT_TRANSCRIPTION_COMPLETED:
      emit_transcript (self, "user", ev->item_id, ev->transcript, TRUE);
      break;
    case GTR_RT_EVENT_RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE:
      on_function_call (self, ev);
      break;
    default:
      break;
  }
}

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *message,
    gpointer data)
{
  GstOpenaiRealtime *self = data;
  g_autoptr (GError) err = NULL;
  g_autoptr (GtrRealtimeServerEvent) ev = NULL;
  gsize len;
  const char *text = g_bytes_get_data (message, &len);

  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    ev = gtr_realtime_server_event_parse (text, len, 0, &err);
  if (!ev) {
    g_mutex_lock (&self->lock);
    self->stats.bad_frames++;
    g_mutex_unlock (&self->lock);
    GST_WARNING_OBJECT (self, "ignoring bad frame from the API: %s",
        err ? err->message : "binary frame");
    return;
  }
  handle_server_event (self, ev);
}

static void
on_ws_closed (SoupWebsocketConnection *conn, gpointer data)
{
  GstOpenaiRealtime *self = data;
  gushort code = soup_websocket_connection_get_close_code (conn);
  const char *reason = soup_websocket_connection_get_close_data (conn);

  GST_INFO_OBJECT (self, "the API closed the session: %u %s", code,
      reason ? reason : "");
  post_element_message (self, gst_structure_new (MSG_PREFIX "closed",
          "code", G_TYPE_INT, (gint) code,
          "reason", G_TYPE_STRING, reason ? reason : "", NULL));
  if (!is_failed (self))
    push_eos (self);
}

static void
on_ws_error (SoupWebsocketConnection *conn, GError *err, gpointer data)
{
  GstOpenaiRealtime *self = data;

  GST_WARNING_OBJECT (self, "WebSocket error: %s", err->message);
  count_error (self);
}

/* ------------------------------------------------------------------------ */
/* Connection (network thread)                                              */

static gboolean
on_accept_certificate (SoupMessage *msg, GTlsCertificate *cert,
    GTlsCertificateFlags errors, gpointer data)
{
  GstOpenaiRealtime *self = data;
  GUri *uri = soup_message_get_uri (msg);
  g_autoptr (GSocketConnectable) identity = NULL;
  GTlsCertificateFlags flags;

  self->tls_errors = errors;
  if (!self->extra_ca)
    return FALSE;
  identity = g_network_address_new (g_uri_get_host (uri), g_uri_get_port (uri));
  flags = g_tls_database_verify_chain (self->extra_ca, cert,
      G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, identity, NULL,
      G_TLS_DATABASE_VERIFY_NONE, NULL, NULL);
  self->tls_errors = flags;
  GST_DEBUG_OBJECT (self, "certificate checked against tls-ca-file: flags 0x%x",
      flags);
  return flags == 0;
}

static void
connect_finished (GstOpenaiRealtime *self)
{
  g_mutex_lock (&self->lock);
  self->connecting = FALSE;
  g_cond_broadcast (&self->connect_done);
  g_mutex_unlock (&self->lock);
  gst_object_unref (self);
}

static void
on_connected (GObject *source, GAsyncResult *res, gpointer data)
{
  GstOpenaiRealtime *self = data;
  g_autoptr (GError) err = NULL;
  SoupWebsocketConnection *conn;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), res, &err);
  if (!conn) {
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      post_handshake_error (self, err, self->handshake ?
          soup_message_get_status (self->handshake) : 0);
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
      "keepalive-interval", (guint) KEEPALIVE_SECONDS, NULL);
  g_signal_connect (conn, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_ws_closed), self);
  g_signal_connect (conn, "error", G_CALLBACK (on_ws_error), self);
  maybe_send_session_update (self, NULL);
  connect_finished (self);
}

/* The URI with model= added (an existing query is kept). */
static GUri *
build_uri (const char *uri_str, const char *model, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (uri_str, G_URI_FLAGS_ENCODED_QUERY, error);
  g_autofree char *escaped = NULL;
  g_autofree char *query = NULL;
  const char *old;

  if (!uri)
    return NULL;
  old = g_uri_get_query (uri);
  if (old && (g_str_has_prefix (old, "model=") || strstr (old, "&model=")))
    return g_steal_pointer (&uri);
  escaped = g_uri_escape_string (model, NULL, FALSE);
  query = old && *old ? g_strdup_printf ("%s&model=%s", old, escaped)
      : g_strdup_printf ("model=%s", escaped);
  return g_uri_build (G_URI_FLAGS_ENCODED_QUERY, g_uri_get_scheme (uri),
      NULL, g_uri_get_host (uri), g_uri_get_port (uri), g_uri_get_path (uri),
      query, NULL);
}

static gboolean
is_azure_host (const char *host)
{
  return host && g_str_has_suffix (host, ".openai.azure.com");
}

typedef struct {
  GstOpenaiRealtime *self;
  char *uri;
  char *model;
  char *api_key;
  char *ca_file;
  gboolean ok;
} ConnectArgs;

static gboolean
load_extra_ca (GstOpenaiRealtime *self, const char *ca_file)
{
  g_autoptr (GError) err = NULL;

  self->extra_ca = g_tls_file_database_new (ca_file, &err);
  if (self->extra_ca)
    return TRUE;
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
      ("could not read tls-ca-file %s: %s", ca_file, err->message), (NULL));
  return FALSE;
}

static gboolean
start_connect (gpointer data)
{
  ConnectArgs *args = data;
  GstOpenaiRealtime *self = args->self;
  g_autoptr (GError) err = NULL;
  g_autoptr (GUri) uri = build_uri (args->uri, args->model, &err);
  SoupMessageHeaders *headers;

  if (!uri || !g_uri_get_host (uri)) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("invalid uri \"%s\": %s", args->uri, err ? err->message : "no host"),
        (NULL));
    return G_SOURCE_REMOVE;
  }
  if (args->ca_file && *args->ca_file && !load_extra_ca (self, args->ca_file))
    return G_SOURCE_REMOVE;

  self->handshake = soup_message_new_from_uri ("GET", uri);
  if (!self->handshake) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("invalid uri \"%s\": not a ws:// or wss:// address", args->uri), (NULL));
    /* READY_TO_PAUSED fails: no PAUSED_TO_READY will free the CA database */
    g_clear_object (&self->extra_ca);
    return G_SOURCE_REMOVE;
  }
  self->endpoint = g_strdup_printf ("%s:%d", g_uri_get_host (uri),
      g_uri_get_port (uri) > 0 ? g_uri_get_port (uri)
      : (g_str_equal (g_uri_get_scheme (uri), "wss")
          || g_str_equal (g_uri_get_scheme (uri), "https")) ? 443 : 80);
  headers = soup_message_get_request_headers (self->handshake);
  if (is_azure_host (g_uri_get_host (uri))) {
    soup_message_headers_replace (headers, "api-key", args->api_key);
  } else {
    g_autofree char *bearer = g_strdup_printf ("Bearer %s", args->api_key);
    soup_message_headers_replace (headers, "Authorization", bearer);
  }
  /* also records why the system CAs refused the peer, for the error text */
  g_signal_connect (self->handshake, "accept-certificate",
      G_CALLBACK (on_accept_certificate), self);

  self->cancellable = g_cancellable_new ();
  self->session = soup_session_new ();
  GST_INFO_OBJECT (self, "connecting to %s (model %s)", self->endpoint, args->model);
  g_mutex_lock (&self->lock);
  self->connecting = TRUE;
  g_mutex_unlock (&self->lock);
  soup_session_websocket_connect_async (self->session, self->handshake, NULL,
      NULL, G_PRIORITY_DEFAULT, self->cancellable, on_connected,
      gst_object_ref (self));
  args->ok = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
stop_connection (gpointer data)
{
  GstOpenaiRealtime *self = data;

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
  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->extra_ca);
  g_clear_pointer (&self->endpoint, g_free);
  clear_out_pending (self);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------ */
/* Per-run state                                                            */

static void
reset_state (GstOpenaiRealtime *self)
{
  g_mutex_lock (&self->lock);
  memset (&self->stats, 0, sizeof (self->stats));
  self->in_format = GTR_AUDIO_FORMAT_UNSET;
  self->out_format = GTR_AUDIO_FORMAT_UNSET;
  self->confirmed = FALSE;
  self->caller_present = FALSE;
  self->greeted = FALSE;
  self->failed = FALSE;
  self->eos = FALSE;
  self->held_warned = FALSE;
  gst_adapter_clear (self->held);
  gst_adapter_clear (self->batch);
  g_clear_pointer (&self->call_params, gst_structure_free);
  g_mutex_unlock (&self->lock);

  self->tls_errors = 0;
  g_hash_table_remove_all (self->update_ids);
  g_hash_table_remove_all (self->cancelled);
  self->update_sent = FALSE;
  self->instructions_filled = FALSE;
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  self->out_base = 0;
  self->out_samples = 0;
  g_clear_pointer (&self->response_id, g_free);
  self->response_active = FALSE;
  g_clear_pointer (&self->item_id, g_free);
  self->item_bytes = 0;
  self->heard_ms = 0;
}

static gboolean
start_session (GstOpenaiRealtime *self)
{
  ConnectArgs args = { self };

  g_mutex_lock (&self->settings_lock);
  args.api_key = g_strdup (self->settings.api_key);
  if (!args.api_key || !*args.api_key) {
    g_free (args.api_key);
    args.api_key = g_strdup (g_getenv ("OPENAI_API_KEY"));
  }
  args.uri = g_strdup (self->settings.uri);
  args.model = g_strdup (self->settings.model);
  args.ca_file = g_strdup (self->settings.tls_ca_file);
  g_mutex_unlock (&self->settings_lock);

  if (!args.api_key || !*args.api_key) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_AUTHORIZED,
        ("no API key: set the api-key property or OPENAI_API_KEY"), (NULL));
  } else {
    gtr_netloop_run_sync (start_connect, &args);
  }
  if (args.api_key)
    memset (args.api_key, 0, strlen (args.api_key));
  g_free (args.api_key);
  g_free (args.uri);
  g_free (args.model);
  g_free (args.ca_file);
  return args.ok;
}

static gboolean
net_barrier (gpointer unused)
{
  return G_SOURCE_REMOVE;
}

/* A cancelled connect still calls back, holding a ref: wait for it, so
 * that READY means no network activity and no ref left on the element.
 * The callback clears `connecting` before it drops its ref (it may not touch
 * the element after that): one more turn of the network loop makes sure it
 * has returned, ref dropped.  That turn also runs every job queued before
 * (set_playing, SendJob, NetJob), each of which holds a ref. */
static void
wait_connect_finished (GstOpenaiRealtime *self)
{
  g_return_if_fail (!gtr_netloop_is_current ());
  g_mutex_lock (&self->lock);
  while (self->connecting)
    g_cond_wait (&self->connect_done, &self->lock);
  g_mutex_unlock (&self->lock);
  gtr_netloop_run_sync (net_barrier, NULL);
}

/* Queued in PAUSED_TO_PLAYING; may run after PLAYING_TO_PAUSED has been
 * through: then it must not turn pushing back on. */
static gboolean
set_playing (gpointer data)
{
  GstOpenaiRealtime *self = data;

  g_mutex_lock (&self->lock);
  g_atomic_int_set (&self->playing, self->want_playing);
  g_mutex_unlock (&self->lock);
  drain_out_pending (self);
  gst_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
set_want_playing (GstOpenaiRealtime *self, gboolean want)
{
  g_mutex_lock (&self->lock);
  self->want_playing = want;
  if (!want)
    g_atomic_int_set (&self->playing, FALSE);
  g_mutex_unlock (&self->lock);
}

/* Stop the session: on the network thread, then wait for the connect
 * callback and the jobs queued before. */
static void
stop_session (GstOpenaiRealtime *self)
{
  set_want_playing (self, FALSE);
  gtr_netloop_run_sync (stop_connection, self);
  wait_connect_finished (self);
}

static GstStateChangeReturn
gst_openai_realtime_change_state (GstElement *element, GstStateChange transition)
{
  GstOpenaiRealtime *self = GST_OPENAI_REALTIME (element);
  GstStateChangeReturn ret;

  switch (transition) {
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
    /* no PAUSED_TO_READY follows a failed READY_TO_PAUSED */
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
      stop_session (self);
    return ret;
  }

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      /* the agent speaks when it has something to say: like a live source */
      ret = GST_STATE_CHANGE_NO_PREROLL;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      set_want_playing (self, TRUE);
      g_main_context_invoke (self->context, set_playing, gst_object_ref (self));
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

static GstFlowReturn
gst_openai_realtime_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  GstOpenaiRealtime *self = GST_OPENAI_REALTIME (parent);
  char *appends = NULL;
  gboolean overflow_warning = FALSE;
  GstFlowReturn ret = GST_FLOW_OK;
  gsize size = gst_buffer_get_size (buf);

  note_caller_present (self);
  g_mutex_lock (&self->lock);
  if (self->failed) {
    ret = GST_FLOW_ERROR;
  } else if (self->eos) {
    ret = GST_FLOW_EOS;
  } else if (self->in_format == GTR_AUDIO_FORMAT_UNSET) {
    ret = GST_FLOW_NOT_NEGOTIATED;
  } else if (!self->confirmed) {
    gsize max = HOLD_MS * bytes_per_ms (self->in_format);

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
    if (gst_adapter_available (self->batch) >= APPEND_MIN_MS * bytes_per_ms (self->in_format)) {
      appends = build_appends (self->batch, gst_adapter_available (self->batch));
      self->stats.appends++;
    }
  }
  g_mutex_unlock (&self->lock);
  gst_buffer_unref (buf);

  if (overflow_warning)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("the session is not confirmed after %d s: dropping the oldest caller audio",
            HOLD_MS / 1000), (NULL));
  send_lines (self, appends);
  return ret;
}

/* Negotiate the src pad: downstream's caps ∩ ours, preferring the input's
 * format; pushes caps and a segment.  Returns the chosen format. */
static GtrAudioFormat
negotiate_src (GstOpenaiRealtime *self, GstCaps *in_caps)
{
  g_autoptr (GstCaps) tmpl = gst_pad_get_pad_template_caps (self->srcpad);
  g_autoptr (GstCaps) peer = gst_pad_peer_query_caps (self->srcpad, tmpl);
  g_autoptr (GstCaps) same = NULL;
  GstCaps *caps;
  GtrAudioFormat format;

  if (gst_caps_is_empty (peer))
    return GTR_AUDIO_FORMAT_UNSET;
  same = gst_caps_intersect (peer, in_caps);
  caps = gst_caps_fixate (gst_caps_copy (gst_caps_is_empty (same) ? peer : same));
  format = format_from_caps (caps);
  GST_INFO_OBJECT (self, "src caps %" GST_PTR_FORMAT, caps);
  if (!gst_pad_push_event (self->srcpad, gst_event_new_caps (caps)))
    format = GTR_AUDIO_FORMAT_UNSET;
  gst_caps_unref (caps);
  if (format != GTR_AUDIO_FORMAT_UNSET)
    gst_pad_push_event (self->srcpad, gst_event_new_segment (&self->segment));
  return format;
}

static gboolean
handle_sink_caps (GstOpenaiRealtime *self, GstCaps *caps)
{
  GtrAudioFormat in_fmt = format_from_caps (caps);
  GtrAudioFormat out_fmt;

  g_mutex_lock (&self->lock);
  out_fmt = self->out_format;
  if (self->in_format != GTR_AUDIO_FORMAT_UNSET && self->in_format != in_fmt) {
    g_mutex_unlock (&self->lock);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("the input format cannot change during a session"), (NULL));
    return FALSE;
  }
  self->in_format = in_fmt;
  g_mutex_unlock (&self->lock);

  if (out_fmt == GTR_AUDIO_FORMAT_UNSET) {
    out_fmt = negotiate_src (self, caps);
    if (out_fmt == GTR_AUDIO_FORMAT_UNSET) {
      GST_WARNING_OBJECT (self, "downstream accepts none of our formats");
      return FALSE;
    }
    g_mutex_lock (&self->lock);
    self->out_format = out_fmt;
    g_mutex_unlock (&self->lock);
  }
  run_on_net (self, maybe_send_session_update, NULL, NULL);
  return TRUE;
}

static void
send_instructions_update (GstOpenaiRealtime *self, gpointer unused)
{
  if (self->update_sent && !self->instructions_filled)
    send_session_update (self, TRUE);
}

static void
handle_call_event (GstOpenaiRealtime *self, const GstStructure *s)
{
  GstStructure *params = NULL;
  gboolean needed;

  if (!gst_structure_get (s, "custom-parameters", GST_TYPE_STRUCTURE, &params, NULL)
      || !params)
    return;
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->call_params, gst_structure_free);
  self->call_params = params;   /* gst_structure_get copied it */
  g_mutex_unlock (&self->lock);

  g_mutex_lock (&self->settings_lock);
  needed = has_placeholder (self->settings.instructions);
  g_mutex_unlock (&self->settings_lock);
  if (needed)
    run_on_net (self, send_instructions_update, NULL, NULL);
}

static void
note_heard (GstOpenaiRealtime *self, gpointer arg)
{
  const char *name = arg;
  const char *colon = strrchr (name, ':');
  gint64 ms;

  if (!colon)
    return;
  g_mutex_lock (&self->lock);
  self->stats.marks_heard++;
  g_mutex_unlock (&self->lock);
  if (!self->item_id || strncmp (name, self->item_id, colon - name) != 0
      || self->item_id[colon - name] != '\0')
    return;
  ms = g_ascii_strtoll (colon + 1, NULL, 10);
  self->heard_ms = MAX (self->heard_ms, ms);
  GST_LOG_OBJECT (self, "caller heard %s up to %" G_GINT64_FORMAT " ms",
      self->item_id, self->heard_ms);
}

static void
handle_dtmf (GstOpenaiRealtime *self, const GstStructure *s)
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
  text = g_strdup_printf ("The caller pressed %c.", digits[number]);
  GST_INFO_OBJECT (self, "%s", text);
  send_json (self, gtr_realtime_build_user_text (text, NULL));
  send_json (self, gtr_realtime_build_response_create (NULL, NULL));
}

static void
push_eos_on_net (GstOpenaiRealtime *self, gpointer unused)
{
  push_eos (self);
}

static gboolean
gst_openai_realtime_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstOpenaiRealtime *self = GST_OPENAI_REALTIME (parent);
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
      /* our src pad has its own timeline */
      gst_event_unref (event);
      return TRUE;
    case GST_EVENT_EOS:
      run_on_net (self, push_eos_on_net, NULL, NULL);
      gst_event_unref (event);
      return TRUE;
    case GST_EVENT_FLUSH_START:
    case GST_EVENT_FLUSH_STOP:
      /* upstream flushes concern caller audio, not our output */
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
        handle_call_event (self, s);
        note_caller_present (self);
      }
      break;
    default:
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}

/* ------------------------------------------------------------------------ */
/* Action signal                                                            */

static void
gst_openai_realtime_function_result (GstOpenaiRealtime *self,
    const char *call_id, const char *output)
{
  if (!call_id || !output) {
    GST_WARNING_OBJECT (self, "function-result needs a call-id and an output");
    return;
  }
  GST_INFO_OBJECT (self, "function result for %s", call_id);
  send_json (self, gtr_realtime_build_function_call_output (call_id, output, NULL));
  send_json (self, gtr_realtime_build_response_create (NULL, NULL));
}

/* ------------------------------------------------------------------------ */
/* Properties                                                               */

static GstStructure *
build_stats (GstOpenaiRealtime *self)
{
  Stats st;

  g_mutex_lock (&self->lock);
  st = self->stats;
  g_mutex_unlock (&self->lock);
  return gst_structure_new ("openai-realtime/stats",
      "audio-in-bytes", G_TYPE_UINT64, st.audio_in_bytes,
      "audio-out-bytes", G_TYPE_UINT64, st.audio_out_bytes,
      "appends", G_TYPE_UINT64, st.appends,
      "responses", G_TYPE_UINT64, st.responses,
      "barge-ins", G_TYPE_UINT64, st.barge_ins,
      "errors", G_TYPE_UINT64, st.errors,
      "dropped-unconfirmed", G_TYPE_UINT64, st.dropped_unconfirmed,
      "dropped-cancelled", G_TYPE_UINT64, st.dropped_cancelled,
      "dropped-input-bytes", G_TYPE_UINT64, st.dropped_input_bytes,
      "marks-sent", G_TYPE_UINT64, st.marks_sent,
      "marks-heard", G_TYPE_UINT64, st.marks_heard,
      "bad-frames", G_TYPE_UINT64, st.bad_frames,
      "function-calls", G_TYPE_UINT64, st.function_calls, NULL);
}

static void
set_string (char **field, const GValue *value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
gst_openai_realtime_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstOpenaiRealtime *self = GST_OPENAI_REALTIME (object);
  Settings *s = &self->settings;
  GstState state;

  GST_OBJECT_LOCK (self);
  state = GST_STATE (self);
  GST_OBJECT_UNLOCK (self);
  if (state > GST_STATE_READY) {
    GST_WARNING_OBJECT (self, "property %s can only be changed in NULL or READY",
        pspec->name);
    return;
  }

  g_mutex_lock (&self->settings_lock);
  switch (prop_id) {
    case PROP_API_KEY:
      if (s->api_key)
        memset (s->api_key, 0, strlen (s->api_key));
      set_string (&s->api_key, value);
      break;
    case PROP_URI:
      set_string (&s->uri, value);
      if (!s->uri)
        s->uri = g_strdup (DEFAULT_URI);
      break;
    case PROP_MODEL:
      set_string (&s->model, value);
      if (!s->model)
        s->model = g_strdup (DEFAULT_MODEL);
      break;
    case PROP_INSTRUCTIONS:
      set_string (&s->instructions, value);
      break;
    case PROP_VOICE:
      s->voice = g_value_get_enum (value);
      break;
    case PROP_SPEED:
      s->speed = g_value_get_double (value);
      break;
    case PROP_LANGUAGE:
      set_string (&s->language, value);
      break;
    case PROP_TRANSCRIPTION_MODEL:
      set_string (&s->transcription_model, value);
      break;
    case PROP_TRANSCRIPTION_PROMPT:
      set_string (&s->transcription_prompt, value);
      break;
    case PROP_NOISE_REDUCTION:
      s->noise_reduction = g_value_get_enum (value);
      break;
    case PROP_TURN_DETECTION:
      s->turn_detection = g_value_get_enum (value);
      break;
    case PROP_VAD_THRESHOLD:
      s->vad_threshold = g_value_get_double (value);
      break;
    case PROP_PREFIX_PADDING_MS:
      s->prefix_padding_ms = g_value_get_int (value);
      break;
    case PROP_SILENCE_DURATION_MS:
      s->silence_duration_ms = g_value_get_int (value);
      break;
    case PROP_IDLE_TIMEOUT_MS:
      s->idle_timeout_ms = g_value_get_int (value);
      break;
    case PROP_EAGERNESS:
      s->eagerness = g_value_get_enum (value);
      break;
    case PROP_INTERRUPT_RESPONSE:
      s->interrupt_response = g_value_get_boolean (value);
      break;
    case PROP_MAX_OUTPUT_TOKENS:
      s->max_output_tokens = g_value_get_int (value);
      break;
    case PROP_GREETING:
      set_string (&s->greeting, value);
      break;
    case PROP_TOOLS:
      set_string (&s->tools, value);
      break;
    case PROP_TOOL_CHOICE:
      set_string (&s->tool_choice, value);
      break;
    case PROP_TLS_CA_FILE:
      set_string (&s->tls_ca_file, value);
      break;
    case PROP_DTMF_TO_TEXT:
      s->dtmf_to_text = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->settings_lock);
}

static void
gst_openai_realtime_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec)
{
  GstOpenaiRealtime *self = GST_OPENAI_REALTIME (object);
  Settings *s = &self->settings;

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, build_stats (self));
    return;
  }
  g_mutex_lock (&self->settings_lock);
  switch (prop_id) {
    case PROP_URI:
      g_value_set_string (value, s->uri);
      break;
    case PROP_MODEL:
      g_value_set_string (value, s->model);
      break;
    case PROP_INSTRUCTIONS:
      g_value_set_string (value, s->instructions);
      break;
    case PROP_VOICE:
      g_value_set_enum (value, s->voice);
      break;
    case PROP_SPEED:
      g_value_set_double (value, s->speed);
      break;
    case PROP_LANGUAGE:
      g_value_set_string (value, s->language);
      break;
    case PROP_TRANSCRIPTION_MODEL:
      g_value_set_string (value, s->transcription_model);
      break;
    case PROP_TRANSCRIPTION_PROMPT:
      g_value_set_string (value, s->transcription_prompt);
      break;
    case PROP_NOISE_REDUCTION:
      g_value_set_enum (value, s->noise_reduction);
      break;
    case PROP_TURN_DETECTION:
      g_value_set_enum (value, s->turn_detection);
      break;
    case PROP_VAD_THRESHOLD:
      g_value_set_double (value, s->vad_threshold);
      break;
    case PROP_PREFIX_PADDING_MS:
      g_value_set_int (value, s->prefix_padding_ms);
      break;
    case PROP_SILENCE_DURATION_MS:
      g_value_set_int (value, s->silence_duration_ms);
      break;
    case PROP_IDLE_TIMEOUT_MS:
      g_value_set_int (value, s->idle_timeout_ms);
      break;
    case PROP_EAGERNESS:
      g_value_set_enum (value, s->eagerness);
      break;
    case PROP_INTERRUPT_RESPONSE:
      g_value_set_boolean (value, s->interrupt_response);
      break;
    case PROP_MAX_OUTPUT_TOKENS:
      g_value_set_int (value, s->max_output_tokens);
      break;
    case PROP_GREETING:
      g_value_set_string (value, s->greeting);
      break;
    case PROP_TOOLS:
      g_value_set_string (value, s->tools);
      break;
    case PROP_TOOL_CHOICE:
      g_value_set_string (value, s->tool_choice);
      break;
    case PROP_TLS_CA_FILE:
      g_value_set_string (value, s->tls_ca_file);
      break;
    case PROP_DTMF_TO_TEXT:
      g_value_set_boolean (value, s->dtmf_to_text);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->settings_lock);
}

static void
gst_openai_realtime_finalize (GObject *object)
{
  GstOpenaiRealtime *self = GST_OPENAI_REALTIME (object);
  Settings *s = &self->settings;

  if (s->api_key)
    memset (s->api_key, 0, strlen (s->api_key));
  g_free (s->api_key);
  g_free (s->uri);
  g_free (s->model);
  g_free (s->instructions);
  g_free (s->language);
  g_free (s->transcription_model);
  g_free (s->transcription_prompt);
  g_free (s->greeting);
  g_free (s->tools);
  g_free (s->tool_choice);
  g_free (s->tls_ca_file);
  g_clear_pointer (&self->call_params, gst_structure_free);
  clear_out_pending (self);
  g_object_unref (self->held);
  g_object_unref (self->batch);
  g_hash_table_unref (self->update_ids);
  g_hash_table_unref (self->cancelled);
  g_free (self->response_id);
  g_free (self->item_id);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->settings_lock);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->connect_done);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

#define READY_PARAM (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)

static void
install_string (GObjectClass *klass, guint id, const char *name,
    const char *nick, const char *blurb, const char *def)
{
  g_object_class_install_property (klass, id,
      g_param_spec_string (name, nick, blurb, def, READY_PARAM));
}

static void
install_int (GObjectClass *klass, guint id, const char *name, const char *nick,
    const char *blurb, gint min, gint max, gint def)
{
  g_object_class_install_property (klass, id,
      g_param_spec_int (name, nick, blurb, min, max, def, READY_PARAM));
}

static void
install_enum (GObjectClass *klass, guint id, const char *name, const char *nick,
    const char *blurb, GType type, gint def)
{
  g_object_class_install_property (klass, id,
      g_param_spec_enum (name, nick, blurb, type, def, READY_PARAM));
  gst_type_mark_as_plugin_api (type, 0);
}

static void
install_properties (GObjectClass *oc)
{
  g_object_class_install_property (oc, PROP_API_KEY,
      g_param_spec_string ("api-key", "API key",
          "The OpenAI (or Azure OpenAI) API key; write-only, never logged. "
          "Falls back to the OPENAI_API_KEY environment variable", NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  install_string (oc, PROP_URI, "uri", "URI",
      "WebSocket address of the Realtime API (ws:// or wss://); model= is added "
      "to its query. A *.openai.azure.com host is sent the key as an api-key "
      "header instead of Authorization: Bearer", DEFAULT_URI);
  install_string (oc, PROP_MODEL, "model", "Model",
      "The Realtime model (or Azure deployment) to use", DEFAULT_MODEL);
  install_string (oc, PROP_INSTRUCTIONS, "instructions", "Instructions",
      "System instructions for the agent. {name} placeholders are filled from "
      "the Twilio call's customParameters (<Parameter name=\"name\" …>)", NULL);
  install_enum (oc, PROP_VOICE, "voice", "Voice",
      "The agent's voice (session.audio.output.voice)",
      GST_TYPE_OPENAI_REALTIME_VOICE, DEFAULT_VOICE);
  g_object_class_install_property (oc, PROP_SPEED,
      g_param_spec_double ("speed", "Speed",
          "Speaking speed of the agent, as a multiple of normal speed",
          0.25, 1.5, DEFAULT_SPEED, READY_PARAM));
  install_string (oc, PROP_LANGUAGE, "language", "Language",
      "Language of the caller (ISO-639-1, e.g. \"en\") for transcription; "
      "used only with transcription-model", NULL);
  install_string (oc, PROP_TRANSCRIPTION_MODEL, "transcription-model",
      "Transcription model",
      "Model that transcribes the caller (e.g. \"gpt-4o-transcribe\", "
      "\"whisper-1\"); no caller transcripts when unset", NULL);
  install_string (oc, PROP_TRANSCRIPTION_PROMPT, "transcription-prompt",
      "Transcription prompt",
      "Prompt guiding the caller transcription (vocabulary, names); used only "
      "with transcription-model", NULL);
  install_enum (oc, PROP_NOISE_REDUCTION, "noise-reduction", "Noise reduction",
      "Input noise reduction; near-field suits phone calls",
      GST_TYPE_OPENAI_REALTIME_NOISE_REDUCTION, DEFAULT_NOISE_REDUCTION);
  install_enum (oc, PROP_TURN_DETECTION, "turn-detection", "Turn detection",
      "How the API decides the caller has finished speaking (none: no "
      "automatic turns)", GST_TYPE_OPENAI_REALTIME_TURN_DETECTION,
      DEFAULT_TURN_DETECTION);
  g_object_class_install_property (oc, PROP_VAD_THRESHOLD,
      g_param_spec_double ("vad-threshold", "VAD threshold",
          "server-vad activation threshold (higher needs louder speech)",
          0.0, 1.0, DEFAULT_VAD_THRESHOLD, READY_PARAM));
  install_int (oc, PROP_PREFIX_PADDING_MS, "prefix-padding-ms",
      "Prefix padding (ms)", "server-vad: audio kept before detected speech",
      0, 10000, DEFAULT_PREFIX_PADDING_MS);
  install_int (oc, PROP_SILENCE_DURATION_MS, "silence-duration-ms",
      "Silence duration (ms)", "server-vad: silence that ends the caller's turn",
      0, 10000, DEFAULT_SILENCE_DURATION_MS);
  install_int (oc, PROP_IDLE_TIMEOUT_MS, "idle-timeout-ms", "Idle timeout (ms)",
      "server-vad: the agent speaks up after this much caller silence "
      "(the API accepts 5000-30000; 0 = off)", 0, 30000, DEFAULT_IDLE_TIMEOUT_MS);
  install_enum (oc, PROP_EAGERNESS, "eagerness", "Eagerness",
      "semantic-vad: how quickly the agent takes its turn",
      GST_TYPE_OPENAI_REALTIME_EAGERNESS, DEFAULT_EAGERNESS);
  g_object_class_install_property (oc, PROP_INTERRUPT_RESPONSE,
      g_param_spec_boolean ("interrupt-response", "Interrupt response",
          "The API cancels its response when the caller starts speaking (when "
          "FALSE the element sends response.cancel itself on barge-in)",
          DEFAULT_INTERRUPT_RESPONSE, READY_PARAM));
  install_int (oc, PROP_MAX_OUTPUT_TOKENS, "max-output-tokens",
      "Max output tokens", "Limit per response (0 = the API's default, no limit)",
      0, 4096, DEFAULT_MAX_OUTPUT_TOKENS);
  install_string (oc, PROP_GREETING, "greeting", "Greeting",
      "What the agent says first, verbatim, once the session is confirmed "
      "(nothing when unset)", NULL);
  install_string (oc, PROP_TOOLS, "tools", "Tools",
      "Function tools as a JSON array of {\"type\":\"function\",\"name\",…} "
      "objects; calls arrive as the function-call signal/message", NULL);
  install_string (oc, PROP_TOOL_CHOICE, "tool-choice", "Tool choice",
      "\"auto\", \"none\", \"required\" or a function name (unset: the API's "
      "default)", NULL);
  install_string (oc, PROP_TLS_CA_FILE, "tls-ca-file", "TLS CA file",
      "PEM file of an extra certificate authority to trust, in addition to "
      "the system's (for tests and private gateways)", NULL);
  g_object_class_install_property (oc, PROP_DTMF_TO_TEXT,
      g_param_spec_boolean ("dtmf-to-text", "DTMF to text",
          "Tell the agent about key presses (dtmf-event) as a user text item "
          "(\"The caller pressed 5.\") followed by response.create",
          DEFAULT_DTMF_TO_TEXT, READY_PARAM));
  g_object_class_install_property (oc, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters of the current session: audio-in-bytes, audio-out-bytes, "
          "appends, responses, barge-ins, errors, dropped-unconfirmed, "
          "dropped-cancelled, dropped-input-bytes, marks-sent, marks-heard, "
          "bad-frames, function-calls", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
install_signals (GObjectClass *oc)
{
  /**
   * GstOpenaiRealtime::transcript:
   * @role: "user" (the caller) or "assistant" (the agent)
   * @item_id: the conversation item
   * @text: the text (a delta when @final is FALSE)
   * @final: TRUE for a complete transcript
   */
  signals[SIGNAL_TRANSCRIPT] = g_signal_new ("transcript",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN);
  /**
   * GstOpenaiRealtime::function-call:
   * @name: the function's name
   * @call_id: pass it back with #GstOpenaiRealtime::function-result
   * @arguments: the arguments, JSON text
   *
   * Emitted on the network thread: answer with function-result, from any thread.
   */
  signals[SIGNAL_FUNCTION_CALL] = g_signal_new ("function-call",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * GstOpenaiRealtime::function-result:
   * @call_id: the call-id of the function-call
   * @output: the result, JSON text
   *
   * Action signal: sends function_call_output and response.create, so the
   * agent speaks with the result.
   */
  signals[SIGNAL_FUNCTION_RESULT] = g_signal_new_class_handler ("function-result",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_openai_realtime_function_result), NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
gst_openai_realtime_class_init (GstOpenaiRealtimeClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  GstElementClass *ec = GST_ELEMENT_CLASS (klass);

  oc->set_property = gst_openai_realtime_set_property;
  oc->get_property = gst_openai_realtime_get_property;
  oc->finalize = gst_openai_realtime_finalize;
  ec->change_state = GST_DEBUG_FUNCPTR (gst_openai_realtime_change_state);

  install_properties (oc);
  install_signals (oc);

  gst_element_class_add_static_pad_template (ec, &sink_template);
  gst_element_class_add_static_pad_template (ec, &src_template);
  gst_element_class_set_static_metadata (ec, "OpenAI Realtime session",
      "Filter/Audio/Network",
      "Talks with an OpenAI Realtime API agent: caller audio in, agent audio "
      "out (messages openai-realtime/session, transcript, response-done, "
      "function-call, error, closed, barge-in)",
      "gst-twilio-realtime");
}

static void
gst_openai_realtime_init (GstOpenaiRealtime *self)
{
  Settings *s = &self->settings;

  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_openai_realtime_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_openai_realtime_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  g_mutex_init (&self->settings_lock);
  g_mutex_init (&self->lock);
  g_cond_init (&self->connect_done);
  s->uri = g_strdup (DEFAULT_URI);
  s->model = g_strdup (DEFAULT_MODEL);
  s->voice = DEFAULT_VOICE;
  s->speed = DEFAULT_SPEED;
  s->noise_reduction = DEFAULT_NOISE_REDUCTION;
  s->turn_detection = DEFAULT_TURN_DETECTION;
  s->vad_threshold = DEFAULT_VAD_THRESHOLD;
  s->prefix_padding_ms = DEFAULT_PREFIX_PADDING_MS;
  s->silence_duration_ms = DEFAULT_SILENCE_DURATION_MS;
  s->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
  s->eagerness = DEFAULT_EAGERNESS;
  s->interrupt_response = DEFAULT_INTERRUPT_RESPONSE;
  s->max_output_tokens = DEFAULT_MAX_OUTPUT_TOKENS;
  s->dtmf_to_text = DEFAULT_DTMF_TO_TEXT;

  self->held = gst_adapter_new ();
  self->batch = gst_adapter_new ();
  self->update_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cancelled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_queue_init (&self->out_pending);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  self->context = gtr_netloop_ref_context ();
}

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (openairealtime, "openairealtime",
    GST_RANK_NONE, GST_TYPE_OPENAI_REALTIME,
    GST_DEBUG_CATEGORY_INIT (gst_openai_realtime_debug, "openairealtime", 0,
        "OpenAI Realtime session"));
