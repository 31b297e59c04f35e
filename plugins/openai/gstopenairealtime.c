/* openairealtime: one OpenAI Realtime API session (GA) as a GStreamer element.
 *
 * Threads.  The WebSocket lives on the process-wide network thread
 * (gtr-netloop): its SoupSession is created there, every server event is
 * handled there, and the agent's audio is pushed on the src pad from there
 * (run-to-completion, no thread of our own).  So anything downstream that can
 * block (a clock-synced audio sink, a file) must sit behind a `queue`.
 * Caller audio arrives on whatever thread upstream pushes from; client
 * events built there are handed to the network thread with
 * g_main_context_invoke (in order).  The two bounds (connect, confirmation)
 * are timeout sources on the same context, removed when they are met and
 * on stop; so are the liveness check, the reconnect backoff and the
 * handover, and the next session opened in advance lives on the same
 * SoupSession.
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
 * Every wait on the API has a bound: #GstOpenaiRealtime:connect-timeout-ms
 * from the start of the connect until the WebSocket is open (TCP, TLS and the
 * HTTP upgrade), #GstOpenaiRealtime:confirm-timeout-ms from then until a
 * `session.updated` that matches the caps (10 s each; there is no "forever").
 * A peer that never answers — a `wss://` URI at a plain-text server, a server
 * that takes the connection and says nothing, an API that sends
 * `session.created` and stops, or answers with a `session.updated` that does
 * not parse — ends in an error at the bound, never in a silent call.
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
 * One response at a time: a key press (`dtmf-event`, told to the model with
 * #GstOpenaiRealtime:dtmf-to-text) is added to the conversation at once, and
 * the `response.create` for its answer — like every one the element sends —
 * waits while a response is active, until that one is done (a barge-in drops
 * the wait: the caller's turn gets its own answer).
 *
 * Ending the call: the built-in `end_call` function tool
 * (#GstOpenaiRealtime:hangup-tool, on by default) and, when
 * #GstOpenaiRealtime:transfer-to is set, `transfer_call`, are offered with
 * the user's tools (#GstOpenaiRealtime:tools, #GstOpenaiRealtime:tools-file).
 * When the model calls one, or the application emits the `hang-up` or
 * `transfer` action signal, the response being spoken finishes, then EOS is
 * pushed (twiliosink holds it until Twilio has played everything): the
 * agent's last words are heard. The model's default is gpt-realtime-2.1
 * (gpt-realtime is retired in January 2027).
 *
 * Element messages (structure names):
 * - `openai-realtime/session`: the session is confirmed; `session` (string,
 *   the effective session JSON), `input-format`, `output-format` (strings).
 * - `openai-realtime/transcript`: `role` ("user" or "assistant"), `item-id`,
 *   `text`, `final` (boolean; assistant deltas are not final).
 * - `openai-realtime/response-done`: `response-id`, `status`, `usage` (JSON).
 * - `openai-realtime/function-call`: `name`, `call-id`, `arguments` (JSON).
 * - `openai-realtime/error`: a non-fatal API error; `type`, `code`,
 *   `message`, `param`, `event-id`, and what it answers: `event-type` (the
 *   client event's type) and `cause` ("conversation.item.truncate for item
 *   X"), empty when the error names no event we sent.
 * - `openai-realtime/hang-up`: `reason`; the last words are out, EOS follows.
 * - `openai-realtime/transfer`: `target`, `reason`; posted at once, EOS
 *   follows the last words (the application dials the target).
 * - `openai-realtime/closed`: the API closed the session for good (1000 or
 *   another final code); `code` (int), `reason` (string). EOS follows
 *   downstream.
 * - `openai-realtime/response-latency`: an answer's first audio went out;
 *   `latency-ms` (uint) since the caller stopped speaking (`speech_stopped`),
 *   `response-id`.
 * - `openai-realtime/barge-in`: the caller interrupted; `item-id`,
 *   `audio-end-ms` (what the caller heard).
 * - `openai-realtime/reconnecting`: the session was lost; `reason`
 *   ("stalled", "dropped", "closed", "session_expired").
 * - `openai-realtime/reconnected`: a new session is confirmed and has the
 *   conversation; `reason`, `gap-ms` (int64), `attempts`, `items` (uint).
 *
 * Keeping the session: a lost API session does not end the call. The
 * connection is lost when nothing comes from the API, not even a pong to
 * our WebSocket pings, for #GstOpenaiRealtime:liveness-timeout-ms (10 s;
 * libsoup 3.2 never times out a missing pong itself), when it goes without a
 * close frame, when the API closes with 1001 or 1011-1014, and after
 * `session_expired`. The element then opens a new session with the same
 * configuration, confirms it from `session.updated`, gives it the
 * conversation so far (final transcripts as user and assistant text items)
 * and goes on; caller audio meanwhile is held. Attempts are bounded
 * (#GstOpenaiRealtime:reconnect-attempts, backoff from
 * #GstOpenaiRealtime:reconnect-backoff-ms), then RESOURCE/READ "lost the API
 * session (REASON) and could not open a new one in N attempts". A close
 * with 1000 still ends the call: `openai-realtime/closed`, then EOS.
 *
 * Failures: refused connection, TLS failure, other handshake errors →
 * RESOURCE/OPEN_READ; HTTP 401/403 → RESOURCE/NOT_AUTHORIZED ("the API
 * rejected the key (HTTP 401)"); no WebSocket within connect-timeout-ms →
 * RESOURCE/OPEN_READ ("no WebSocket handshake from HOST:PORT within N ms: "
 * and where it stalled); rejected `session.update` → LIBRARY/SETTINGS with
 * details `api-code`, `api-param`, `api-message`; no matching
 * `session.updated` within confirm-timeout-ms → LIBRARY/SETTINGS ("the
 * session was not confirmed within N ms: " and why, naming the last frame
 * that did not parse), detail `timeout-ms` on both timeouts; format mismatch
 * → STREAM/FORMAT; an invalid #GstOpenaiRealtime:tools or a bad
 * #GstOpenaiRealtime:transfer-to → LIBRARY/SETTINGS at NULL→READY, a
 * structured value wrapped in quotes (which gst_parse_launch() keeps
 * around `tools='[…]'`) the same, saying what to write instead; a
 * #GstOpenaiRealtime:tools-file that is not a tools array → LIBRARY/SETTINGS
 * at READY→PAUSED (the file named, with the line and column of a JSON
 * error), an unreadable tools-file → RESOURCE/OPEN_READ; any other API error → a WARNING naming
 * the event it answers ("the API rejected conversation.item.truncate for item
 * X: …") and `openai-realtime/error`. The API key never appears in a log or
 * message.
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
#include "gstopenairealtime-tools.h"
#include "gstopenaiapi.h"
#include "gstopenaiagent.h"

#include <string.h>
#include <gst/base/gstadapter.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "gtr-protocol.h"
#include "gtr-netloop.h"
#include "gtr-events.h"
#include "gtr-inspect.h"
#include "gtr-element-util.h"

GST_DEBUG_CATEGORY_STATIC (gst_openai_realtime_debug);
#define GST_CAT_DEFAULT gst_openai_realtime_debug

#define DEFAULT_URI "wss://api.openai.com/v1/realtime"
#define DEFAULT_MODEL "gpt-realtime-2.1"
#define DEFAULT_VOICE GST_OPENAI_REALTIME_VOICE_MARIN
#define DEFAULT_SPEED 1.0
#define DEFAULT_NOISE_REDUCTION GST_OPENAI_REALTIME_NOISE_REDUCTION_NEAR_FIELD
#define DEFAULT_TURN_DETECTION GST_OPENAI_REALTIME_TURN_DETECTION_SERVER_VAD
#define DEFAULT_VAD_THRESHOLD 0.5
#define DEFAULT_PREFIX_PADDING_MS 300
#define DEFAULT_SILENCE_DURATION_MS 500
#define DEFAULT_IDLE_TIMEOUT_MS 0
#define DEFAULT_EAGERNESS GST_OPENAI_REALTIME_EAGERNESS_AUTO
#define DEFAULT_REASONING_EFFORT GST_OPENAI_REALTIME_REASONING_EFFORT_UNSET
#define DEFAULT_INTERRUPT_RESPONSE TRUE
#define DEFAULT_MAX_OUTPUT_TOKENS 0
#define DEFAULT_DTMF_TO_TEXT TRUE
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_CONFIRM_TIMEOUT_MS 10000
#define DEFAULT_LIVENESS_TIMEOUT_MS 10000
#define MIN_LIVENESS_TIMEOUT_MS 1500  /* pings go out every second at most */
#define MAX_LIVENESS_TIMEOUT_MS 15000 /* a stall is noticed within 15 s */
#define DEFAULT_RECONNECT_ATTEMPTS 5
#define DEFAULT_RECONNECT_BACKOFF_MS 250
#define MAX_RECONNECT_DELAY_MS 8000
#define DEFAULT_SESSION_MAX_AGE_MS 0 /* from the API's expires_at */
#define HANDOVER_LEAD_S 300           /* before expires_at: hand over in the last 5 min */
#define SESSION_LIFETIME_S 3600       /* what the API gives a session */
#define MIN_TIMEOUT_MS 100
#define MAX_TIMEOUT_MS 600000     /* 10 min: no wait without a bound */

#define HOLD_MS 5000            /* caller audio held before confirmation */
#define APPEND_MIN_MS 20        /* batch appends to at least this much */
#define MARK_EVERY_MS 100       /* a mark after every ≤100 ms of agent audio */
#define MAX_INCOMING_PAYLOAD (16 * 1024 * 1024)
#define KEEPALIVE_SECONDS 20
#define DEFAULT_HANGUP_TOOL TRUE
#define SENT_EVENTS_KEPT 64     /* client events other than appends */

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
  PROP_CONNECT_TIMEOUT_MS,
  PROP_CONFIRM_TIMEOUT_MS,
  PROP_STATS,
  /* liveness and reconnect */
  PROP_LIVENESS_TIMEOUT_MS,
  PROP_RECONNECT_ATTEMPTS,
  PROP_RECONNECT_BACKOFF_MS,
  PROP_SESSION_MAX_AGE_MS,
  PROP_HANGUP_TOOL,
  PROP_TRANSFER_TO,
  PROP_TOOLS_FILE,
  PROP_REASONING_EFFORT,
};

enum {
  SIGNAL_TRANSCRIPT,
  SIGNAL_FUNCTION_CALL,
  SIGNAL_FUNCTION_RESULT,
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
  guint connect_timeout_ms;
  guint confirm_timeout_ms;
  /* liveness and reconnect */
  guint liveness_timeout_ms;
  guint reconnect_attempts;
  guint reconnect_backoff_ms;
  guint session_max_age_ms;
  gboolean hangup_tool;
  char *transfer_to;
  char *tools_file;
  GstOpenaiRealtimeReasoningEffort reasoning_effort;
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
  guint connecting;            /* websocket_connect_async calls in flight */
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

  /* network-thread state */
  GMainContext *context;
  GCancellable *cancellable;
  SoupSession *session;
  SoupMessage *handshake;
  SoupWebsocketConnection *conn;
  GTlsDatabase *extra_ca;
  GTlsCertificateFlags tls_errors;
  char *endpoint;              /* host:port, for error texts */
  gint net_phase;              /* the handshake's last GSocketClientEvent, -1: none */
  guint connect_timeout_ms;    /* this run's bounds (from the settings) */
  guint confirm_timeout_ms;
  GtrTimer *connect_timer;      /* until the WebSocket is open */
  GtrTimer *confirm_timer;      /* from then until session.updated matches */
  char *parse_error;           /* the last frame that did not parse, unconfirmed */
  GHashTable *update_ids;      /* event_ids of our session.update events */
  gboolean update_sent;
  gboolean instructions_filled; /* sent with the call's parameters */
  GtrAgentOutput out;          /* the src pad, gated until PLAYING */
  GstSegment segment;
  GstClockTime out_base;       /* running time where the current item started */
  guint64 out_samples;         /* samples pushed since out_base */
  char *response_id;
  gboolean response_active;
  GHashTable *cancelled;       /* response ids whose deltas are dropped */
  char *item_id;               /* the agent item being played */
  guint64 item_bytes;          /* its audio pushed so far */
  gint64 heard_ms;             /* its audio the caller heard (echoed marks) */
  gint64 speech_stopped_us;    /* the caller's turn ended, no agent audio yet (0: none) */

  /* liveness and reconnect (network thread; see "Keeping the session") */
  guint liveness_timeout_ms;   /* this run's bounds (from the settings) */
  guint reconnect_attempts;
  guint reconnect_backoff_ms;
  guint session_max_age_ms;
  GtrTimer *liveness_timer;     /* checks last_rx_us periodically */
  gint64 last_rx_us;           /* monotonic: the last frame from the API, pongs included */
  gboolean stopping;           /* stop_connection ran: nothing reconnects */
  gboolean expired;            /* the API said session_expired */
  char *lost_reason;           /* set while reconnecting: "stalled", "dropped", … */
  char *lost_error;            /* why the last attempt failed */
  guint attempt;               /* attempts made in this reconnect */
  gint64 lost_us;              /* monotonic: when the session stopped serving */
  GtrTimer *reconnect_timer;    /* the backoff before the next attempt */
  GPtrArray *history;          /* HistoryTurn: what was said, for a new session */
  /* handover before the 60-minute limit (network thread) */
  GtrTimer *handover_timer;     /* the session's age limit */
  GtrTimer *switch_timer;       /* a confirmed standby waits for a turn boundary */
  SoupMessage *standby_handshake;
  SoupWebsocketConnection *standby;  /* the next session, opened in advance */
  char *standby_update_id;
  gboolean standby_ready;      /* its session.updated matched the caps */
  gint64 standby_expires_at;
  gboolean caller_speaking;    /* between speech_started and speech_stopped */
  gboolean turn_pending;       /* speech_stopped, its response not done yet */

  /* call control (network thread; the tools are set at READY→PAUSED) */
  GtrSentEvents *sent;         /* recent client events, to name an error's cause */
  char *session_tools;         /* the user's tools and the built-ins (JSON) */
  gboolean hangup_on;          /* end_call is among them */
  gboolean transfer_on;        /* transfer_call is among them */
  char *transfer_to;           /* this run's transfer-to */
  gboolean response_asked;     /* our response.create awaits response.created */
  gboolean response_wanted;    /* a response.create waits for the active one */
  char *wanted_instructions;
  gint ending;                 /* END_*: the call ends after the last words */
  char *end_reason;
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
/* keeping the session (below, "Keeping the session") */
static gboolean session_lost (GstOpenaiRealtime *self, const char *reason);
static void reconnect_failed (GstOpenaiRealtime *self, const char *why);
static gboolean is_reconnecting (GstOpenaiRealtime *self);
static void finish_reconnect (GstOpenaiRealtime *self);
static gboolean note_expired (GstOpenaiRealtime *self, const GtrRealtimeServerEvent *ev);
static void record_turn (GstOpenaiRealtime *self, const char *role, const char *text);
static const char *close_lost_reason (GstOpenaiRealtime *self, gushort code);
static void start_liveness (GstOpenaiRealtime *self, SoupWebsocketConnection *conn);
static void note_rx (GstOpenaiRealtime *self);
static void drop_connection (GstOpenaiRealtime *self);
static void reset_keeping (GstOpenaiRealtime *self);
static void history_turn_free (gpointer data);
static void note_turn (GstOpenaiRealtime *self, const GtrRealtimeServerEvent *ev);
static void drop_standby (GstOpenaiRealtime *self);
/* call control (defined below its users) */
static void ask_response (GstOpenaiRealtime *self, const char *instructions);
static void ask_response_on_net (gpointer element, gpointer unused);
static void note_response_created (GstOpenaiRealtime *self);
static void note_response_done (GstOpenaiRealtime *self);
static void note_speech_started (GstOpenaiRealtime *self);
static gboolean handle_builtin_call (GstOpenaiRealtime *self, const char *name,
    const char *call_id, const char *arguments);
static char *error_cause (GstOpenaiRealtime *self, const char *event_id,
    const char **type);
static gboolean note_response_create_error (GstOpenaiRealtime *self,
    const char *type, const char *code);
static gboolean prepare_call_control (GstOpenaiRealtime *self);
static gboolean check_settings (GstOpenaiRealtime *self);
static void drop_wanted_response (GstOpenaiRealtime *self);
static gboolean end_with_lost_session (GstOpenaiRealtime *self);

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

/* The schema's value (RealtimeReasoningEffort), NULL for UNSET. */
static const char *
reasoning_effort_name (GstOpenaiRealtimeReasoningEffort effort)
{
  static const char *const names[] = { NULL, "minimal", "low", "medium",
    "high", "xhigh"
  };
  return names[effort];
}

static const char *
eagerness_name (GstOpenaiRealtimeEagerness eagerness)
{
  static const char *const names[] = { "auto", "low", "medium", "high" };
  return names[eagerness];
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
  c->instructions = gtr_api_fill_placeholders (s->instructions, params);
  c->max_output_tokens = s->max_output_tokens;
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

/* A failed WebSocket handshake as the RESOURCE error a user can act on. */
static void
post_handshake_error (GstOpenaiRealtime *self, GError *err, guint status)
{
  gtr_api_post_handshake_error (GST_ELEMENT (self), self->endpoint, err, status,
      self->tls_errors);
  mark_failed (self);
}

/* ------------------------------------------------------------------------ */
/* Timers (network thread)                                                  */

/* A timer on the shared network context holding a ref on the element; the
 * slot is cleared when it is stopped (on success, on expiry, on stop). */
#define stop_timer gtr_agent_timer_stop
#define start_timer(self, slot, ms, func) \
  gtr_agent_timer_start ((self), (self)->context, (slot), (ms), (func))

/* ------------------------------------------------------------------------ */
/* Output (network thread)                                                  */

/* Output waits for PLAYING (a sink in PAUSED would block the shared
 * network thread); audio of a session that has failed since is dropped:
 * the caller hears nothing of a session that is not (or no longer)
 * confirmed.  The gate is gstopenaiagent.c's. */
static gboolean
output_failed (gpointer element)
{
  return is_failed (element);
}

#define push_out(self, obj) gtr_agent_output_push (&(self)->out, (obj))
#define clear_out_pending(self) gtr_agent_output_clear (&(self)->out)

static GstClockTime
out_position (GstOpenaiRealtime *self)
{
  return self->out_base + gst_util_uint64_scale_int (self->out_samples,
      GST_SECOND, format_rate (self->out_format));
}

/* A new agent item starts where the last ended, or now if that is later:
 * timestamps stay continuous within an item and never go back, except
 * across a barge-in flush, after which the next audio starts at the flush's
 * running time (see flush_src). */
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
  /* What was flushed was never heard: the next audio starts now, not after
   * it (a clock-synced sink — the server's recorder — would place it late). */
  self->out_base = gtr_element_running_time (GST_ELEMENT (self));
  self->out_samples = 0;
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

/* Sends `json` (taken) when connected; `note`: recorded, so that an API
 * error can name it (appends are not: their ids say what they are). */
static void
send_text (GstOpenaiRealtime *self, char *json, gboolean note)
{
  if (gtr_agent_send_text (self->conn, note ? self->sent : NULL, json))
    GST_TRACE_OBJECT (self, "sending %s", json);
  else
    GST_DEBUG_OBJECT (self, "not connected, client event dropped");
  g_free (json);
}

static void
send_now (GstOpenaiRealtime *self, char *json)
{
  send_text (self, json, TRUE);
}

/* Run `func` on the network thread (at once when already on it: twiliosrc
 * pushes from there), in order, with a ref on self. */
#define run_on_net(self, func, arg, free_arg) \
  gtr_agent_run_on_net ((self), (self)->context, (func), (arg), (free_arg))

/* The job's `json` is taken here (the job frees no argument). */
static void
send_on_net (gpointer element, gpointer json)
{
  send_now (element, json);
}

/* Send on the network thread, keeping the order of calls. Takes `json`. */
static void
send_json (GstOpenaiRealtime *self, char *json)
{
  if (json)
    run_on_net (self, send_on_net, json, NULL);
}

/* input_audio_buffer.append events of up to `chunk` bytes each, for all of
 * `adapter`; NULL when it is empty. */
static GPtrArray *
build_appends (GstAdapter *adapter, gsize chunk)
{
  GPtrArray *out = NULL;

  while (gst_adapter_available (adapter) > 0) {
    gsize n = MIN (chunk, gst_adapter_available (adapter));
    g_autofree guint8 *data = gst_adapter_take (adapter, n);

    if (!out)
      out = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (out,
        gtr_realtime_build_input_audio_buffer_append (data, n, NULL));
  }
  return out;
}

static void
send_appends_on_net (gpointer element, gpointer appends)
{
  GPtrArray *events = appends;

  for (guint i = 0; i < events->len; i++)
    send_text (element, g_steal_pointer (&events->pdata[i]), FALSE);
  g_ptr_array_unref (events);
}

/* Send what build_appends built (taken), in order with send_json. */
static void
send_appends (GstOpenaiRealtime *self, GPtrArray *appends)
{
  if (appends)
    run_on_net (self, send_appends_on_net, appends, NULL);
}

/* session.reasoning.effort added to a session.update's text (taken).  The
 * protocol library's config has no reasoning member: the one field is set
 * here, on the built event. */
static char *
add_reasoning (char *json, const char *effort)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonNode) root = NULL;
  JsonObject *reasoning;
  JsonNode *session;

  if (!json_parser_load_from_data (parser, json, -1, NULL))
    return json;                /* cannot happen: we built it */
  root = json_node_copy (json_parser_get_root (parser));
  session = JSON_NODE_HOLDS_OBJECT (root) ?
      json_object_get_member (json_node_get_object (root), "session") : NULL;
  if (!session || !JSON_NODE_HOLDS_OBJECT (session))
    return json;
  reasoning = json_object_new ();
  json_object_set_string_member (reasoning, "effort", effort);
  json_object_set_object_member (json_node_get_object (session), "reasoning",
      reasoning);
  g_free (json);
  return json_to_string (root, FALSE);
}

/* session.update: the whole configuration, or instructions only (when the
 * call's parameters arrive after the first update). */
/* The session.update text (NULL after posting the error), for the current
 * session or the next one. */
static char *
build_session_update (GstOpenaiRealtime *self, gboolean instructions_only,
    char **event_id)
{
  GtrRealtimeSessionConfig config;
  g_autoptr (GError) err = NULL;
  const char *effort = NULL;
  char *json;

  gtr_realtime_session_config_init (&config);
  g_mutex_lock (&self->settings_lock);
  g_mutex_lock (&self->lock);
  if (!instructions_only)
    effort = reasoning_effort_name (self->settings.reasoning_effort);
  if (instructions_only) {
    config.instructions = gtr_api_fill_placeholders (self->settings.instructions,
        self->call_params);
  } else {
    settings_to_config (&self->settings, self->call_params, &config);
    config.tools_json = g_strdup (self->session_tools);
    config.input_format = self->in_format;
    config.output_format = self->out_format;
  }
  self->instructions_filled = self->call_params != NULL;
  g_mutex_unlock (&self->lock);
  g_mutex_unlock (&self->settings_lock);

  json = gtr_realtime_build_session_update (&config, event_id, &err);
  gtr_realtime_session_config_clear (&config);
  if (json && effort)
    json = add_reasoning (json, effort);
  if (!json) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("invalid session settings: %s", err ? err->message : "unknown"), (NULL));
    mark_failed (self);
  }
  return json;
}

static void
send_session_update (GstOpenaiRealtime *self, gboolean instructions_only)
{
  char *event_id = NULL;
  char *json = build_session_update (self, instructions_only, &event_id);

  if (!json)
    return;
  GST_INFO_OBJECT (self, "sending session.update %s%s", event_id,
      instructions_only ? " (instructions only)" : "");
  g_hash_table_add (self->update_ids, event_id);
  self->update_sent = TRUE;
  send_now (self, json);
}

/* Once connected and both formats are known. */
static void
maybe_send_session_update (gpointer element, gpointer unused)
{
  GstOpenaiRealtime *self = element;
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
maybe_greet (gpointer element, gpointer unused)
{
  GstOpenaiRealtime *self = element;
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
  ask_response (self, instructions);
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
  GPtrArray *appends;
  gboolean first;

  /* a match confirms, a mismatch fails: either way the wait is over */
  stop_timer (&self->confirm_timer);
  if (!formats_match (self, ev))
    return;
  finish_reconnect (self);

  g_mutex_lock (&self->lock);
  first = !self->confirmed;
  self->confirmed = TRUE;
  /* held audio goes out before anything the sink thread sends next */
  appends = build_appends (self->held, 1000 * bytes_per_ms (self->in_format));
  if (appends)
    self->stats.appends++;
  g_mutex_unlock (&self->lock);
  send_appends (self, appends);
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
  const char *cause_type = NULL;
  g_autofree char *cause = NULL;

  if (note_expired (self, ev))
    return;
  if (ev->error_event_id && g_hash_table_contains (self->update_ids, ev->error_event_id)) {
    GST_ELEMENT_ERROR_WITH_DETAILS (self, LIBRARY, SETTINGS,
        ("the API rejected session.update: %s (code %s, param %s)", message,
            code, param), ("error event %s", ev->event_id ? ev->event_id : ""),
        ("api-code", G_TYPE_STRING, code, "api-param", G_TYPE_STRING, param,
            "api-message", G_TYPE_STRING, message, NULL));
    mark_failed (self);
    return;
  }
  cause = error_cause (self, ev->error_event_id, &cause_type);
  if (note_response_create_error (self, cause_type, code))
    return;
  count_error (self);
  if (cause)
    GST_ELEMENT_WARNING (self, LIBRARY, FAILED,
        ("the API rejected %s: %s (code %s, param %s)", cause, message, code,
            param), (NULL));
  else
    GST_ELEMENT_WARNING (self, LIBRARY, FAILED,
        ("the API reported an error: %s (code %s)", message, code), (NULL));
  post_element_message (self, gst_structure_new (MSG_PREFIX "error",
          "type", G_TYPE_STRING, ev->error_type ? ev->error_type : "",
          "code", G_TYPE_STRING, code, "message", G_TYPE_STRING, message,
          "param", G_TYPE_STRING, param, "event-id", G_TYPE_STRING,
          ev->error_event_id ? ev->error_event_id : "",
          "event-type", G_TYPE_STRING, cause_type ? cause_type : "",
          "cause", G_TYPE_STRING, cause ? cause : "", NULL));
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

/* The caller stopped speaking and the answer's first audio goes out now:
 * what a caller feels as the agent's reaction time (the server's histogram). */
static void
note_response_latency (GstOpenaiRealtime *self, const char *response_id)
{
  gint64 latency_ms;

  if (!self->speech_stopped_us)
    return;
  latency_ms = (g_get_monotonic_time () - self->speech_stopped_us) / 1000;
  self->speech_stopped_us = 0;
  GST_DEBUG_OBJECT (self, "first answer audio %" G_GINT64_FORMAT " ms after the "
      "caller stopped speaking", latency_ms);
  post_element_message (self, gst_structure_new (MSG_PREFIX "response-latency",
          "latency-ms", G_TYPE_UINT, (guint) MIN (latency_ms, G_MAXUINT),
          "response-id", G_TYPE_STRING, response_id ? response_id : "", NULL));
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
  note_response_latency (self, ev->response_id);
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
  if (final)
    record_turn (self, role, text);
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
  note_response_done (self);
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
  if (handle_builtin_call (self, name, call_id, args))
    return;
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
  note_response_created (self);
}

static void
handle_server_event (GstOpenaiRealtime *self, GtrRealtimeServerEvent *ev)
{
  GST_DEBUG_OBJECT (self, "server event %s", ev->type_name);
  note_turn (self, ev);
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
      self->speech_stopped_us = 0;
      on_speech_started (self);
      note_speech_started (self);
      break;
    case GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STOPPED:
      self->speech_stopped_us = g_get_monotonic_time ();
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

/* Counted and ignored; while the session is unconfirmed it may have been
 * meant as the session.updated (a frame that did not parse has no type we
 * can trust), so the confirmation timeout names the last one. */
static void
note_bad_frame (GstOpenaiRealtime *self, const char *why)
{
  gboolean confirmed;

  g_mutex_lock (&self->lock);
  self->stats.bad_frames++;
  confirmed = self->confirmed;
  g_mutex_unlock (&self->lock);
  GST_WARNING_OBJECT (self, "ignoring bad frame from the API: %s", why);
  if (confirmed)
    return;
  g_free (self->parse_error);
  self->parse_error = g_strdup (why);
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

  note_rx (self);
  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    ev = gtr_realtime_server_event_parse (text, len, 0, &err);
  if (!ev) {
    note_bad_frame (self, err ? err->message : "binary frame");
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
  if (close_lost_reason (self, code)
      && session_lost (self, close_lost_reason (self, code)))
    return;
  /* the close is the outcome: closed + EOS, not a confirmation timeout */
  stop_timer (&self->confirm_timer);
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
/* Bounds on the connect and the confirmation (network thread)              */

static void
on_network_event (SoupMessage *msg, GSocketClientEvent event,
    GIOStream *connection, gpointer data)
{
  GstOpenaiRealtime *self = data;

  GST_DEBUG_OBJECT (self, "handshake: %s", gtr_api_socket_event_name (event));
  self->net_phase = event;
}

/* connect-timeout-ms passed: report, then cancel (the callback of the
 * cancelled connect posts nothing more). */
static gboolean
on_connect_timeout (gpointer data)
{
  GstOpenaiRealtime *self = data;

  stop_timer (&self->connect_timer);
  if (is_reconnecting (self)) {
    /* the cancelled connect's callback tries again */
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

/* Why the session is not confirmed yet, for the error text. */
static char *
unconfirmed_reason (GstOpenaiRealtime *self)
{
  if (self->parse_error)
    return g_strdup_printf ("the last frame from the API did not parse: %s",
        self->parse_error);
  if (!self->update_sent)
    return g_strdup ("session.update was not sent: the caps are not "
        "negotiated on both pads");
  return g_strdup ("the API did not answer session.update with "
      "session.updated");
}

/* confirm-timeout-ms passed without a matching session.updated: the same
 * domain as a rejected session.update, since either way the session's
 * settings (and so its audio formats) are not known to be in effect. */
static gboolean
on_confirm_timeout (gpointer data)
{
  GstOpenaiRealtime *self = data;
  g_autofree char *reason = NULL;
  gboolean pending;

  stop_timer (&self->confirm_timer);
  g_mutex_lock (&self->lock);
  pending = !self->confirmed && !self->failed && !self->eos;
  g_mutex_unlock (&self->lock);
  if (!pending)
    return G_SOURCE_REMOVE;
  reason = unconfirmed_reason (self);
  if (is_reconnecting (self)) {
    reconnect_failed (self, reason);
    return G_SOURCE_REMOVE;
  }
  GST_ELEMENT_ERROR_WITH_DETAILS (self, LIBRARY, SETTINGS,
      ("the session was not confirmed within %u ms: %s",
          self->confirm_timeout_ms, reason), (NULL),
      ("timeout-ms", G_TYPE_UINT, self->confirm_timeout_ms, NULL));
  mark_failed (self);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------ */
/* Connection (network thread)                                              */

static gboolean
on_accept_certificate (SoupMessage *msg, GTlsCertificate *cert,
    GTlsCertificateFlags errors, gpointer data)
{
  GstOpenaiRealtime *self = data;

  self->tls_errors = errors;
  if (!self->extra_ca)
    return FALSE;
  self->tls_errors = gtr_api_verify_with_ca (self->extra_ca, msg, cert);
  GST_DEBUG_OBJECT (self, "certificate checked against tls-ca-file: flags 0x%x",
      self->tls_errors);
  return self->tls_errors == 0;
}

static void
connect_finished (GstOpenaiRealtime *self)
{
  gtr_agent_connect_end (self, &self->lock, &self->connect_done, &self->connecting);
}

static void
on_connected (GObject *source, GAsyncResult *res, gpointer data)
{
  GstOpenaiRealtime *self = data;
  g_autoptr (GError) err = NULL;
  SoupWebsocketConnection *conn;

  stop_timer (&self->connect_timer);
  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), res, &err);
  if (!conn && is_reconnecting (self)) {
    reconnect_failed (self, g_error_matches (err, G_IO_ERROR,
            G_IO_ERROR_CANCELLED) ? "no WebSocket handshake within "
        "connect-timeout-ms" : err->message);
    connect_finished (self);
    return;
  }
  if (!conn) {
    /* cancelled, or failing after connect-timeout-ms reported it */
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED)
        && !is_failed (self))
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
      NULL);
  g_signal_connect (conn, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_ws_closed), self);
  g_signal_connect (conn, "error", G_CALLBACK (on_ws_error), self);
  start_liveness (self, conn);
  start_timer (self, &self->confirm_timer, self->confirm_timeout_ms,
      on_confirm_timeout);
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

typedef struct {
  GstOpenaiRealtime *self;
  char *uri;
  char *model;
  char *api_key;
  char *ca_file;
  guint connect_timeout_ms;
  guint confirm_timeout_ms;
  gboolean ok;
} ConnectArgs;

static gboolean
load_extra_ca (GstOpenaiRealtime *self, const char *ca_file)
{
  self->extra_ca = gtr_api_load_ca (GST_ELEMENT (self), ca_file);
  return self->extra_ca != NULL;
}

static gboolean
start_connect (gpointer data)
{
  ConnectArgs *args = data;
  GstOpenaiRealtime *self = args->self;
  g_autoptr (GError) err = NULL;
  g_autoptr (GUri) uri = build_uri (args->uri, args->model, &err);

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
  self->endpoint = gtr_api_endpoint (uri);
  gtr_api_set_auth_header (self->handshake, g_uri_get_host (uri), args->api_key);
  /* also records why the system CAs refused the peer, for the error text */
  g_signal_connect (self->handshake, "accept-certificate",
      G_CALLBACK (on_accept_certificate), self);
  g_signal_connect (self->handshake, "network-event",
      G_CALLBACK (on_network_event), self);
  self->net_phase = -1;
  self->connect_timeout_ms = args->connect_timeout_ms;
  self->confirm_timeout_ms = args->confirm_timeout_ms;

  self->cancellable = g_cancellable_new ();
  self->session = soup_session_new ();
  GST_INFO_OBJECT (self, "connecting to %s (model %s)", self->endpoint, args->model);
  gtr_agent_connect_begin (&self->lock, &self->connecting);
  start_timer (self, &self->connect_timer, self->connect_timeout_ms,
      on_connect_timeout);
  soup_session_websocket_connect_async (self->session, self->handshake, NULL,
      NULL, G_PRIORITY_DEFAULT, self->cancellable, on_connected,
      gst_object_ref (self));
  args->ok = TRUE;
  return G_SOURCE_REMOVE;
}

/* The connect's arguments from the settings (any thread). */
static void
connect_args_fill (GstOpenaiRealtime *self, ConnectArgs *args)
{
  g_mutex_lock (&self->settings_lock);
  args->api_key = gtr_api_key_resolve (self->settings.api_key);
  args->uri = g_strdup (self->settings.uri);
  args->model = g_strdup (self->settings.model);
  args->ca_file = g_strdup (self->settings.tls_ca_file);
  args->connect_timeout_ms = self->settings.connect_timeout_ms;
  args->confirm_timeout_ms = self->settings.confirm_timeout_ms;
  g_mutex_unlock (&self->settings_lock);
}

static void
connect_args_clear (ConnectArgs *args)
{
  gtr_api_key_free (args->api_key);
  g_free (args->uri);
  g_free (args->model);
  g_free (args->ca_file);
}

static gboolean
stop_connection (gpointer data)
{
  GstOpenaiRealtime *self = data;

  self->stopping = TRUE;
  stop_timer (&self->reconnect_timer);
  drop_connection (self);
  clear_out_pending (self);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------ */
/* Keeping the session: liveness and reconnect (network thread)             */

/* A lost session is not the end of the call.  The connection is lost when
 * the API goes silent for liveness-timeout-ms (libsoup 3.2 sends keepalive
 * pings but never times out a missing pong, so we watch every incoming
 * frame, pongs included, ourselves), when it closes with a code that is not
 * final (no close frame, 1001, 1006, 1011-1014), or after session_expired.
 * Then a new session is opened with the same configuration, confirmed from
 * session.updated like the first, and given the conversation so far as
 * items; caller audio meanwhile is held as before the first confirmation. */

typedef struct {
  gboolean assistant;
  char *text;
} HistoryTurn;

static void
history_turn_free (gpointer data)
{
  HistoryTurn *turn = data;

  g_free (turn->text);
  g_free (turn);
}

/* Final transcripts, in order: what a new session is told was said. */
static void
record_turn (GstOpenaiRealtime *self, const char *role, const char *text)
{
  HistoryTurn *turn;

  if (!text || !*text)
    return;
  turn = g_new0 (HistoryTurn, 1);
  turn->assistant = g_str_equal (role, "assistant");
  turn->text = g_strdup (text);
  g_ptr_array_add (self->history, turn);
}

static void
send_history (GstOpenaiRealtime *self)
{
  GST_INFO_OBJECT (self, "carrying %u conversation items over", self->history->len);
  for (guint i = 0; i < self->history->len; i++) {
    HistoryTurn *turn = g_ptr_array_index (self->history, i);

    send_now (self, turn->assistant
        ? gtr_realtime_build_assistant_text (turn->text, NULL)
        : gtr_realtime_build_user_text (turn->text, NULL));
  }
}

static void
note_rx (GstOpenaiRealtime *self)
{
  self->last_rx_us = g_get_monotonic_time ();
}

static void
on_ws_pong (SoupWebsocketConnection *conn, GBytes *message, gpointer data)
{
  note_rx (data);
}

static gboolean
on_liveness_check (gpointer data)
{
  GstOpenaiRealtime *self = data;
  gint64 silent_ms = (g_get_monotonic_time () - self->last_rx_us) / 1000;

  if (silent_ms < self->liveness_timeout_ms)
    return G_SOURCE_CONTINUE;
  GST_WARNING_OBJECT (self, "nothing from the API (not even a pong) for %"
      G_GINT64_FORMAT " ms: the connection has stalled", silent_ms);
  session_lost (self, "stalled");
  return G_SOURCE_REMOVE;
}

/* Three pings per bound, so one slow pong is not a stall; libsoup counts
 * the interval in whole seconds. */
static guint
keepalive_seconds (GstOpenaiRealtime *self)
{
  return CLAMP (self->liveness_timeout_ms / 3000, 1, KEEPALIVE_SECONDS);
}

static void
start_liveness (GstOpenaiRealtime *self, SoupWebsocketConnection *conn)
{
  g_object_set (conn, "keepalive-interval", keepalive_seconds (self), NULL);
  g_signal_connect (conn, "pong", G_CALLBACK (on_ws_pong), self);
  note_rx (self);
  start_timer (self, &self->liveness_timer,
      MAX (50, self->liveness_timeout_ms / 10), on_liveness_check);
}

/* Forget the connection (not the call): its objects and its timers. */
static void
drop_connection (GstOpenaiRealtime *self)
{
  stop_timer (&self->handover_timer);
  drop_standby (self);
  stop_timer (&self->connect_timer);
  stop_timer (&self->confirm_timer);
  stop_timer (&self->liveness_timer);
  g_clear_pointer (&self->parse_error, g_free);
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
}

/* What the lost session knew and a new one does not: its confirmation,
 * its updates, its response and the item being played. */
static void
forget_session (GstOpenaiRealtime *self)
{
  g_mutex_lock (&self->lock);
  self->confirmed = FALSE;
  g_mutex_unlock (&self->lock);
  g_hash_table_remove_all (self->update_ids);
  self->update_sent = FALSE;
  self->instructions_filled = FALSE;
  self->expired = FALSE;
  g_clear_pointer (&self->response_id, g_free);
  self->response_active = FALSE;
  /* a response asked for, or waiting to be, was the old session's */
  self->response_asked = FALSE;
  drop_wanted_response (self);
  g_clear_pointer (&self->item_id, g_free);
  self->item_bytes = 0;
  self->heard_ms = 0;
  self->caller_speaking = FALSE;
  self->turn_pending = FALSE;
}

static gboolean
on_reconnect_timer (gpointer data)
{
  GstOpenaiRealtime *self = data;
  ConnectArgs args = { self };

  stop_timer (&self->reconnect_timer);
  GST_INFO_OBJECT (self, "opening a new session (%s), attempt %u of %u",
      self->lost_reason, self->attempt, self->reconnect_attempts);
  connect_args_fill (self, &args);
  start_connect (&args);
  connect_args_clear (&args);
  return G_SOURCE_REMOVE;
}

/* The next attempt after a backoff (the first at once: a caller is
 * waiting), or, when they are used up, the error a lost session is. */
static void
schedule_reconnect (GstOpenaiRealtime *self)
{
  guint delay;

  if (self->attempt >= self->reconnect_attempts) {
    GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, READ,
        ("lost the API session (%s) and could not open a new one in %u "
            "attempts: %s", self->lost_reason, self->attempt,
            self->lost_error ? self->lost_error : "reconnecting is off"),
        (NULL), ("reason", G_TYPE_STRING, self->lost_reason,
            "attempts", G_TYPE_UINT, self->attempt, NULL));
    mark_failed (self);
    return;
  }
  delay = self->attempt == 0 ? 0 : MIN (MAX_RECONNECT_DELAY_MS,
      (guint64) self->reconnect_backoff_ms << MIN (self->attempt - 1, 16));
  self->attempt++;
  start_timer (self, &self->reconnect_timer, delay, on_reconnect_timer);
}

/* The session stopped serving: start reconnecting.  FALSE when the call is
 * over anyway (stopped, failed, EOS). */
static gboolean
session_lost (GstOpenaiRealtime *self, const char *reason)
{
  gboolean over;

  g_mutex_lock (&self->lock);
  over = self->failed || self->eos;
  g_mutex_unlock (&self->lock);
  if (self->stopping || over)
    return FALSE;
  if (end_with_lost_session (self))
    return TRUE;
  GST_WARNING_OBJECT (self, "lost the API session (%s): opening a new one", reason);
  if (!self->lost_reason) {
    self->lost_reason = g_strdup (reason);
    self->attempt = 0;
    /* a stalled session stopped serving at its last frame, not when noticed */
    self->lost_us = g_str_equal (reason, "stalled") ? self->last_rx_us
        : g_get_monotonic_time ();
    post_element_message (self, gst_structure_new (MSG_PREFIX "reconnecting",
            "reason", G_TYPE_STRING, reason, NULL));
  }
  drop_connection (self);
  forget_session (self);
  schedule_reconnect (self);
  return TRUE;
}

/* An attempt failed (handshake, connect-timeout-ms, confirm-timeout-ms). */
static void
reconnect_failed (GstOpenaiRealtime *self, const char *why)
{
  char *copy = g_strdup (why);

  GST_WARNING_OBJECT (self, "attempt %u to open a new session failed: %s",
      self->attempt, why);
  g_free (self->lost_error);
  self->lost_error = copy;
  drop_connection (self);
  forget_session (self);
  schedule_reconnect (self);
}

static gboolean
is_reconnecting (GstOpenaiRealtime *self)
{
  return self->lost_reason != NULL && !self->stopping;
}

/* The new session is confirmed: give it the conversation, then go on. */
static void
finish_reconnect (GstOpenaiRealtime *self)
{
  gint64 gap_ms;

  if (!self->lost_reason)
    return;
  send_history (self);
  gap_ms = (g_get_monotonic_time () - self->lost_us) / 1000;
  GST_INFO_OBJECT (self, "new session confirmed after %s, %" G_GINT64_FORMAT
      " ms without one", self->lost_reason, gap_ms);
  post_element_message (self, gst_structure_new (MSG_PREFIX "reconnected",
          "reason", G_TYPE_STRING, self->lost_reason,
          "gap-ms", G_TYPE_INT64, gap_ms,
          "attempts", G_TYPE_UINT, self->attempt,
          "items", G_TYPE_UINT, self->history->len, NULL));
  g_clear_pointer (&self->lost_reason, g_free);
  g_clear_pointer (&self->lost_error, g_free);
  self->attempt = 0;
}

/* 1000 (and an application code) is the API ending the session on purpose;
 * no close frame, going away, a server error or restart is a lost
 * connection, and so is any close after session_expired. */
static const char *
close_lost_reason (GstOpenaiRealtime *self, gushort code)
{
  if (self->expired)
    return "session_expired";
  switch (code) {
    case 0:
    case SOUP_WEBSOCKET_CLOSE_ABNORMAL:
      return "dropped";
    case SOUP_WEBSOCKET_CLOSE_GOING_AWAY:
    case SOUP_WEBSOCKET_CLOSE_SERVER_ERROR:
    case 1012:                 /* service restart */
    case 1013:                 /* try again later */
    case 1014:                 /* bad gateway */
      return "closed";
    default:
      return NULL;
  }
}

/* session_expired is expected, once an hour: not a warning. */
static gboolean
note_expired (GstOpenaiRealtime *self, const GtrRealtimeServerEvent *ev)
{
  if (g_strcmp0 (ev->error_code, "session_expired") != 0)
    return FALSE;
  GST_INFO_OBJECT (self, "the API expired the session: %s",
      ev->error_message ? ev->error_message : "");
  self->expired = TRUE;
  return TRUE;
}

/* READY_TO_PAUSED, before any network activity: this run's bounds. */
static void
reset_keeping (GstOpenaiRealtime *self)
{
  g_mutex_lock (&self->settings_lock);
  self->liveness_timeout_ms = self->settings.liveness_timeout_ms;
  self->reconnect_attempts = self->settings.reconnect_attempts;
  self->reconnect_backoff_ms = self->settings.reconnect_backoff_ms;
  self->session_max_age_ms = self->settings.session_max_age_ms;
  g_mutex_unlock (&self->settings_lock);
  self->stopping = FALSE;
  self->expired = FALSE;
  g_clear_pointer (&self->lost_reason, g_free);
  g_clear_pointer (&self->lost_error, g_free);
  self->attempt = 0;
  g_ptr_array_set_size (self->history, 0);
  self->caller_speaking = FALSE;
  self->turn_pending = FALSE;
}

/* ------------------------------------------------------------------------ */
/* Handover before the 60-minute limit (network thread)                     */

/* A session lives at most 60 minutes (session.created's expires_at).  Some
 * time before, the next session is opened in advance on the same
 * SoupSession, configured and confirmed like the first, while the call goes
 * on in the current one; at the first turn boundary — nobody speaking, no
 * response pending, the agent's audio played out by the clock — the call
 * switches to it with the conversation carried over: no gap.  A standby
 * that fails is dropped; the expiry then reconnects as any lost session. */

static gboolean on_handover_due (gpointer data);

/* session-max-age-ms after the session opened, or HANDOVER_LEAD_S before
 * its expires_at. */
static void
arm_handover (GstOpenaiRealtime *self, gint64 expires_at)
{
  gint64 ms, left_s;

  if (self->session_max_age_ms) {
    ms = self->session_max_age_ms;
  } else if (expires_at > 0) {
    left_s = expires_at - g_get_real_time () / G_USEC_PER_SEC;
    /* expires_at is the API's clock against ours.  One that says the
     * session ends within minutes (or in hours) is a skewed clock, not a
     * short session: trusting it would hand over at once, and again in the
     * next session, forever (found by the element fuzzer). */
    if (left_s < 2 * HANDOVER_LEAD_S || left_s > 2 * SESSION_LIFETIME_S) {
      GST_WARNING_OBJECT (self, "the session's expires_at is %" G_GINT64_FORMAT
          " s away by our clock: assuming the API's %d minutes", left_s,
          SESSION_LIFETIME_S / 60);
      left_s = SESSION_LIFETIME_S;
    }
    ms = (left_s - HANDOVER_LEAD_S) * 1000;
  } else {
    return;
  }
  ms = CLAMP (ms, 0, G_MAXUINT);
  GST_INFO_OBJECT (self, "the next session opens in %" G_GINT64_FORMAT " ms", ms);
  start_timer (self, &self->handover_timer, (guint) ms, on_handover_due);
}

/* Turn-taking as the handover needs it (every server event of the current
 * session passes here). */
static void
note_turn (GstOpenaiRealtime *self, const GtrRealtimeServerEvent *ev)
{
  switch (ev->type) {
    case GTR_RT_EVENT_SESSION_CREATED:
      arm_handover (self, ev->expires_at);
      break;
    case GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STARTED:
      self->caller_speaking = TRUE;
      break;
    case GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STOPPED:
      /* the old session holds that turn's audio: wait for its answer */
      self->caller_speaking = FALSE;
      self->turn_pending = TRUE;
      break;
    case GTR_RT_EVENT_RESPONSE_DONE:
      self->turn_pending = FALSE;
      break;
    default:
      break;
  }
}

static gboolean
at_turn_boundary (GstOpenaiRealtime *self)
{
  GstClockTime now = gtr_element_running_time (GST_ELEMENT (self));

  return !self->response_active && !self->caller_speaking
      && !self->turn_pending && gtr_agent_output_is_empty (&self->out)
      && (!self->item_id || !GST_CLOCK_TIME_IS_VALID (now)
          || out_position (self) <= now);
}

static void
drop_standby (GstOpenaiRealtime *self)
{
  stop_timer (&self->switch_timer);
  if (self->standby) {
    g_signal_handlers_disconnect_by_data (self->standby, self);
    if (soup_websocket_connection_get_state (self->standby) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (self->standby, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_clear_object (&self->standby);
  }
  if (self->standby_handshake)
    g_signal_handlers_disconnect_by_data (self->standby_handshake, self);
  g_clear_object (&self->standby_handshake);
  g_clear_pointer (&self->standby_update_id, g_free);
  self->standby_ready = FALSE;
}

/* The call moves to the confirmed standby; the old session is closed as
 * ours (1000), its close unheard. */
static void
switch_to_standby (GstOpenaiRealtime *self)
{
  GST_INFO_OBJECT (self, "switching to the next session at a turn boundary");
  stop_timer (&self->switch_timer);
  stop_timer (&self->liveness_timer);
  g_signal_handlers_disconnect_by_data (self->conn, self);
  if (soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_object_unref (self->conn);
  self->conn = g_steal_pointer (&self->standby);
  g_signal_handlers_disconnect_by_data (self->conn, self);
  g_signal_connect (self->conn, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (self->conn, "closed", G_CALLBACK (on_ws_closed), self);
  g_signal_connect (self->conn, "error", G_CALLBACK (on_ws_error), self);
  start_liveness (self, self->conn);
  g_signal_handlers_disconnect_by_data (self->handshake, self);
  g_object_unref (self->handshake);
  self->handshake = g_steal_pointer (&self->standby_handshake);

  g_hash_table_remove_all (self->update_ids);
  g_hash_table_add (self->update_ids, g_steal_pointer (&self->standby_update_id));
  self->standby_ready = FALSE;
  self->expired = FALSE;
  g_clear_pointer (&self->response_id, g_free);
  g_clear_pointer (&self->item_id, g_free);
  self->item_bytes = 0;
  self->heard_ms = 0;
  send_history (self);
  /* the new session was confirmed before the switch: no moment without one */
  post_element_message (self, gst_structure_new (MSG_PREFIX "reconnected",
          "reason", G_TYPE_STRING, "handover", "gap-ms", G_TYPE_INT64,
          (gint64) 0, "attempts", G_TYPE_UINT, 1,
          "items", G_TYPE_UINT, self->history->len, NULL));
  arm_handover (self, self->standby_expires_at);
}

static gboolean
on_switch_check (gpointer data)
{
  GstOpenaiRealtime *self = data;

  if (!at_turn_boundary (self))
    return G_SOURCE_CONTINUE;
  switch_to_standby (self);
  return G_SOURCE_REMOVE;
}

static void
on_standby_message (SoupWebsocketConnection *conn, gint type, GBytes *message,
    gpointer data)
{
  GstOpenaiRealtime *self = data;
  g_autoptr (GtrRealtimeServerEvent) ev = NULL;
  gsize len;
  const char *text = g_bytes_get_data (message, &len);

  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    ev = gtr_realtime_server_event_parse (text, len, 0, NULL);
  if (!ev)
    return;
  if (ev->type == GTR_RT_EVENT_SESSION_CREATED) {
    self->standby_expires_at = ev->expires_at;
  } else if (ev->type == GTR_RT_EVENT_SESSION_UPDATED && !self->standby_ready) {
    gboolean same;

    g_mutex_lock (&self->lock);
    same = ev->input_format == self->in_format
        && ev->output_format == self->out_format;
    g_mutex_unlock (&self->lock);
    if (!same) {
      GST_WARNING_OBJECT (self, "the next session's formats differ: dropped");
      drop_standby (self);
      return;
    }
    GST_INFO_OBJECT (self, "the next session is confirmed; switching at the "
        "next turn boundary");
    self->standby_ready = TRUE;
    start_timer (self, &self->switch_timer, 50, on_switch_check);
  } else if (ev->type == GTR_RT_EVENT_ERROR) {
    GST_WARNING_OBJECT (self, "the next session reported an error (%s): "
        "dropped", ev->error_message ? ev->error_message : "");
    drop_standby (self);
  }
}

static void
on_standby_closed (SoupWebsocketConnection *conn, gpointer data)
{
  GstOpenaiRealtime *self = data;

  GST_WARNING_OBJECT (self, "the next session closed before the switch");
  drop_standby (self);
}

static void
on_standby_connected (GObject *source, GAsyncResult *res, gpointer data)
{
  GstOpenaiRealtime *self = data;
  g_autoptr (GError) err = NULL;
  SoupWebsocketConnection *conn;
  char *json;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), res, &err);
  if (!conn) {
    /* cancelled: the standby (or the whole connection) was dropped */
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      GST_WARNING_OBJECT (self, "could not open the next session: %s", err->message);
      drop_standby (self);
    }
    connect_finished (self);
    return;
  }
  if (g_cancellable_is_cancelled (self->cancellable) || !self->standby_handshake) {
    soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_object_unref (conn);
    connect_finished (self);
    return;
  }
  self->standby = conn;
  g_object_set (conn, "max-incoming-payload-size", (guint64) MAX_INCOMING_PAYLOAD,
      NULL);
  g_signal_connect (conn, "message", G_CALLBACK (on_standby_message), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_standby_closed), self);
  json = build_session_update (self, FALSE, &self->standby_update_id);
  if (json)
    soup_websocket_connection_send_text (conn, json);
  g_free (json);
  connect_finished (self);
}

static gboolean
on_handover_due (gpointer data)
{
  GstOpenaiRealtime *self = data;
  ConnectArgs args = { self };
  g_autoptr (GUri) uri = NULL;

  stop_timer (&self->handover_timer);
  if (self->standby_handshake || !self->session || !self->conn
      || is_reconnecting (self))
    return G_SOURCE_REMOVE;
  if (!is_confirmed (self)) {
    /* the current session first: a handover needs one to hand over from */
    start_timer (self, &self->handover_timer, 1000, on_handover_due);
    return G_SOURCE_REMOVE;
  }
  connect_args_fill (self, &args);
  uri = build_uri (args.uri, args.model, NULL);
  if (uri)
    self->standby_handshake = soup_message_new_from_uri ("GET", uri);
  if (self->standby_handshake) {
    GST_INFO_OBJECT (self, "opening the next session in advance");
    gtr_api_set_auth_header (self->standby_handshake, g_uri_get_host (uri), args.api_key);
    g_signal_connect (self->standby_handshake, "accept-certificate",
        G_CALLBACK (on_accept_certificate), self);
    gtr_agent_connect_begin (&self->lock, &self->connecting);
    soup_session_websocket_connect_async (self->session, self->standby_handshake,
        NULL, NULL, G_PRIORITY_DEFAULT, self->cancellable, on_standby_connected,
        gst_object_ref (self));
  }
  connect_args_clear (&args);
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
  self->speech_stopped_us = 0;
  reset_keeping (self);
}

static gboolean
start_session (GstOpenaiRealtime *self)
{
  ConnectArgs args = { self };

  connect_args_fill (self, &args);
  if (!args.api_key || !*args.api_key) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_AUTHORIZED,
        ("no API key: set the api-key property or OPENAI_API_KEY"), (NULL));
  } else {
    gtr_netloop_run_sync (self->context, start_connect, &args);
  }
  connect_args_clear (&args);
  return args.ok;
}

static void
set_want_playing (GstOpenaiRealtime *self, gboolean want)
{
  gtr_agent_output_want_playing (&self->out, self->context, want);
}

/* Stop the session: on the network thread, then wait for the connect
 * callback and the jobs queued before. */
static void
stop_session (GstOpenaiRealtime *self)
{
  set_want_playing (self, FALSE);
  gtr_netloop_run_sync (self->context, stop_connection, self);
  /* a cancelled connect still calls back holding a ref: READY means no
   * network activity and no ref left (gtr_agent_connects_wait) */
  gtr_agent_connects_wait (self->context, &self->lock, &self->connect_done, &self->connecting);
}

static GstStateChangeReturn
gst_openai_realtime_change_state (GstElement *element, GstStateChange transition)
{
  GstOpenaiRealtime *self = GST_OPENAI_REALTIME (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!check_settings (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      reset_state (self);
      if (!prepare_call_control (self) || !start_session (self))
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
  GPtrArray *appends = NULL;
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
  send_appends (self, appends);
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
send_instructions_update (gpointer element, gpointer unused)
{
  GstOpenaiRealtime *self = element;
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
  needed = gtr_api_has_placeholder (self->settings.instructions);
  g_mutex_unlock (&self->settings_lock);
  if (needed)
    run_on_net (self, send_instructions_update, NULL, NULL);
}

static void
note_heard (gpointer element, gpointer arg)
{
  GstOpenaiRealtime *self = element;
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
  /* the item at once; the answer when the agent has finished speaking */
  send_json (self, gtr_realtime_build_user_text (text, NULL));
  run_on_net (self, ask_response_on_net, NULL, NULL);
}

static void
push_eos_on_net (gpointer element, gpointer unused)
{
  GstOpenaiRealtime *self = element;
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
/* Call control: responses asked for, built-in tools, the end of the call   */
/* (network thread, except prepare_call_control)                            */

enum { END_NONE, END_HANG_UP, END_TRANSFER, END_DONE };

/* response.create now when no response is active or on its way, else when
 * the active one is done: the API refuses a second one
 * (conversation_already_has_active_response). */
static void
ask_response (GstOpenaiRealtime *self, const char *instructions)
{
  if (self->ending)
    return;                     /* nothing more to say: the call is ending */
  if (self->response_active || self->response_asked) {
    GST_DEBUG_OBJECT (self, "a response is active: response.create waits");
    self->response_wanted = TRUE;
    if (instructions) {
      g_free (self->wanted_instructions);
      self->wanted_instructions = g_strdup (instructions);
    }
    return;
  }
  if (!self->conn
      || soup_websocket_connection_get_state (self->conn) != SOUP_WEBSOCKET_STATE_OPEN) {
    /* send_now would drop it: nothing is on its way */
    GST_DEBUG_OBJECT (self, "not connected, no response.create");
    return;
  }
  self->response_asked = TRUE;
  send_now (self, gtr_realtime_build_response_create (instructions, NULL));
}

static void
ask_response_on_net (gpointer element, gpointer unused)
{
  GstOpenaiRealtime *self = element;
  ask_response (self, NULL);
}

static void
drop_wanted_response (GstOpenaiRealtime *self)
{
  self->response_wanted = FALSE;
  g_clear_pointer (&self->wanted_instructions, g_free);
}

static void
note_response_created (GstOpenaiRealtime *self)
{
  self->response_asked = FALSE;
}

/* The caller speaks: a response that waited for the agent to finish is not
 * asked for any more, since the caller's turn gets its own answer (turn
 * detection creates it), which sees everything added meanwhile — a key
 * press included. */
static void
note_speech_started (GstOpenaiRealtime *self)
{
  if (self->response_wanted)
    GST_DEBUG_OBJECT (self, "barge-in: the waiting response.create is dropped");
  drop_wanted_response (self);
}

/* The agent's last words are out (pushed before the EOS, which twiliosink
 * holds until Twilio has played them). */
static void
finish_ending (GstOpenaiRealtime *self)
{
  GST_INFO_OBJECT (self, "the last response is done: ending the stream (%s)",
      self->end_reason);
  if (self->ending == END_HANG_UP)
    post_element_message (self, gst_structure_new (MSG_PREFIX "hang-up",
            "reason", G_TYPE_STRING, self->end_reason, NULL));
  self->ending = END_DONE;
  push_eos (self);
}

/* The session is lost while the call is ending (its last response would
 * never be done): end it now, with what was said.  TRUE when so. */
static gboolean
end_with_lost_session (GstOpenaiRealtime *self)
{
  if (self->ending == END_NONE || self->ending == END_DONE)
    return FALSE;
  GST_INFO_OBJECT (self, "the session is lost while the call ends: ending it now");
  self->response_active = self->response_asked = FALSE;
  finish_ending (self);
  return TRUE;
}

static void
begin_ending (GstOpenaiRealtime *self, gint how, const char *reason,
    const char *target)
{
  if (self->ending) {
    GST_INFO_OBJECT (self, "the call is already ending");
    return;
  }
  self->ending = how;
  self->end_reason = g_strdup (reason);
  drop_wanted_response (self);
  if (how == END_TRANSFER) {
    GST_INFO_OBJECT (self, "transfer to %s: %s", target, reason);
    post_element_message (self, gst_structure_new (MSG_PREFIX "transfer",
            "target", G_TYPE_STRING, target, "reason", G_TYPE_STRING, reason,
            NULL));
  } else {
    GST_INFO_OBJECT (self, "hang-up: %s", reason);
  }
  if (!self->response_active && !self->response_asked)
    finish_ending (self);
  else
    GST_INFO_OBJECT (self, "the call ends when response %s is done",
        self->response_id ? self->response_id : "(asked for)");
}

static void
note_response_done (GstOpenaiRealtime *self)
{
  if (self->response_active || self->response_asked)
    return;
  if (self->ending) {
    if (self->ending != END_DONE)
      finish_ending (self);
    return;
  }
  if (self->response_wanted) {
    g_autofree char *instructions = g_steal_pointer (&self->wanted_instructions);

    self->response_wanted = FALSE;
    GST_DEBUG_OBJECT (self, "the response is done: the waiting response.create");
    ask_response (self, instructions);
  }
}

/* end_call and transfer_call, when they are offered: answered here (so the
 * conversation stays complete), not posted as function-call. */
static gboolean
handle_builtin_call (GstOpenaiRealtime *self, const char *name,
    const char *call_id, const char *arguments)
{
  gboolean hang_up = self->hangup_on && g_str_equal (name, GTR_TOOL_END_CALL);
  gboolean transfer = self->transfer_on
      && g_str_equal (name, GTR_TOOL_TRANSFER_CALL);
  g_autofree char *reason = NULL;

  if (!hang_up && !transfer)
    return FALSE;
  reason = gtr_tools_call_reason (arguments, hang_up ?
      "the agent ended the call" : "the agent transferred the call");
  GST_INFO_OBJECT (self, "the model called %s (%s)", name, call_id);
  /* no response.create after it: the call ends with this response */
  send_now (self, gtr_realtime_build_function_call_output (call_id, hang_up ?
          "{\"status\":\"the call ends after your last words\"}" :
          "{\"status\":\"the caller is put through after your last words\"}",
          NULL));
  begin_ending (self, hang_up ? END_HANG_UP : END_TRANSFER, reason,
      self->transfer_to);
  return TRUE;
}

/* The client event an API error answers, in words ("conversation.item.
 * truncate for item X"), and its type; NULL when it is not known. */
static char *
error_cause (GstOpenaiRealtime *self, const char *event_id, const char **type)
{
  const char *subject;

  *type = NULL;
  if (!gtr_sent_events_lookup (self->sent, event_id, type, &subject))
    return NULL;
  return subject ? g_strdup_printf ("%s for %s", *type, subject)
      : g_strdup (*type);
}

/* An error answering our response.create: that response is not on its way.
 * Refused because one is active (one we did not know of yet: turn
 * detection made it), it is asked again when that one is done: TRUE, not an
 * error to report. */
static gboolean
note_response_create_error (GstOpenaiRealtime *self, const char *type,
    const char *code)
{
  if (g_strcmp0 (type, "response.create") != 0)
    return FALSE;
  self->response_asked = FALSE;
  if (g_strcmp0 (code, "conversation_already_has_active_response") != 0)
    return FALSE;
  GST_INFO_OBJECT (self, "response.create came while a response was active: "
      "asked again when it is done");
  self->response_wanted = TRUE;
  return TRUE;
}

static void
reset_call_control (GstOpenaiRealtime *self)
{
  gtr_sent_events_clear (self->sent);
  g_clear_pointer (&self->session_tools, g_free);
  g_clear_pointer (&self->transfer_to, g_free);
  self->hangup_on = self->transfer_on = FALSE;
  self->response_asked = FALSE;
  drop_wanted_response (self);
  self->ending = END_NONE;
  g_clear_pointer (&self->end_reason, g_free);
}

/* ------------------------------------------------------------------------ */
/* Settings checked at NULL→READY (and again at READY→PAUSED)              */

/* Whether the text between a value's quotes would be a good value. */
static gboolean
is_tools (const char *text)
{
  return gtr_tools_validate (text, NULL);
}

static gboolean
is_name (const char *text)
{
  if (!*text)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("-_.", *p))
      return FALSE;
  return TRUE;
}

static gboolean
is_ws_uri (const char *text)
{
  return (g_str_has_prefix (text, "ws://") || g_str_has_prefix (text, "wss://"))
      && g_uri_is_valid (text, G_URI_FLAGS_ENCODED_QUERY, NULL);
}

static gboolean
is_file (const char *text)
{
  return g_file_test (text, G_FILE_TEST_IS_REGULAR);
}

typedef struct {
  const char *prop;
  gboolean (*inner_ok) (const char *inner);
  const char *example;          /* what to write in a launch description */
  const char *other_way;
  gboolean json;                /* quotes around anything are the problem */
} QuotedSetting;

/* The string properties that hold JSON or a structured value: a value
 * wrapped in quotes around something valid is quoting that reached the
 * element (gst_parse_launch() keeps single quotes; see docs). */
static const QuotedSetting quoted_settings[] = {
  { "tools", is_tools,
      "tools=\"[{\\\"type\\\":\\\"function\\\", ...}]\" (double quotes, every \" "
        "inside written \\\"; in a shell, all that inside single quotes)",
      ", or put the tools in a file and set tools-file", TRUE },
  { "tool-choice", is_name, "tool-choice=auto" },
  { "transfer-to", gtr_transfer_target_is_valid, "transfer-to=+15551234567" },
  { "uri", is_ws_uri, "uri=wss://api.openai.com/v1/realtime" },
  { "model", is_name, "model=gpt-realtime-2.1" },
  { "transcription-model", is_name, "transcription-model=gpt-4o-transcribe" },
  { "language", is_name, "language=en" },
  { "tools-file", is_file, "tools-file=/path/to/tools.json" },
  { "tls-ca-file", is_file, "tls-ca-file=/path/to/ca.pem" },
};

/* What is wrong with `value` of `qs->prop` when it is wrapped in one kind of
 * quote around a valid value; NULL when it is not. */
static char *
quoting_problem (const QuotedSetting *qs, const char *value)
{
  gsize n = value ? strlen (value) : 0;
  g_autofree char *inner = NULL, *also = NULL;

  if (n < 2 || (value[0] != '\'' && value[0] != '"') || value[n - 1] != value[0])
    return NULL;
  inner = g_strndup (value + 1, n - 2);
  if (qs->inner_ok (inner)) {
    also = g_strdup ("");
  } else if (qs->json) {
    /* JSON never starts with a quote and ends with the same one unless it
     * is a lone string, which no such property takes: the quotes are the
     * first problem, what they hold may be a second */
    g_autoptr (GError) err = NULL;
    gtr_tools_validate (inner, &err);
    also = g_strdup_printf (" (and without them the value is not valid "
        "either: %s)", err ? err->message : "?");
  } else {
    return NULL;
  }
  if (value[0] == '\'')
    return g_strdup_printf ("%s: the value is wrapped in single quotes, which "
        "gst_parse_launch() keeps as part of it (only a shell removes them)%s. "
        "Write %s instead; a value without spaces needs no quotes; or set the "
        "property from code (g_object_set, set_property) without quotes%s",
        qs->prop, also, qs->example, qs->other_way ? qs->other_way : "");
  return g_strdup_printf ("%s: the value is wrapped in double quotes that are "
      "part of it (quotes meant for a launch line, set from code or kept by a "
      "second level of quoting)%s: remove them; in a launch line write %s%s",
      qs->prop, also, qs->example, qs->other_way ? qs->other_way : "");
}

/* The string settings, checked before anything else is done with them:
 * quoting that reached the value, then the tools JSON and transfer-to.
 * Posts the error (LIBRARY/SETTINGS) naming the property. */
static gboolean
check_settings (GstOpenaiRealtime *self)
{
  g_autofree char *problem = NULL;
  g_autofree char *tools = NULL, *transfer_to = NULL;
  g_autoptr (GError) err = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (quoted_settings) && !problem; i++) {
    g_autofree char *value = NULL;
    g_object_get (self, quoted_settings[i].prop, &value, NULL);
    problem = quoting_problem (&quoted_settings[i], value);
  }
  if (problem) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("%s", problem), (NULL));
    return FALSE;
  }
  g_mutex_lock (&self->settings_lock);
  if (self->settings.tools && *self->settings.tools)
    tools = g_strdup (self->settings.tools);
  if (self->settings.transfer_to && *self->settings.transfer_to)
    transfer_to = g_strdup (self->settings.transfer_to);
  g_mutex_unlock (&self->settings_lock);
  if (tools && !gtr_tools_validate (tools, &err)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("invalid session settings: tools: %s", err->message), (NULL));
    return FALSE;
  }
  if (transfer_to && !gtr_transfer_target_is_valid (transfer_to)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("transfer-to \"%s\" is neither a phone number (+15551234567) nor a "
            "SIP URI (sip:agent@example.com)", transfer_to), (NULL));
    return FALSE;
  }
  return TRUE;
}

/* READY→PAUSED, before any network activity: the session's tools (the
 * user's, the file's, the built-ins), each checked, so that a mistake
 * fails the state change naming it instead of a session.update later. */
static gboolean
prepare_call_control (GstOpenaiRealtime *self)
{
  g_autofree char *tools = NULL, *tools_file = NULL, *file_tools = NULL;
  g_autoptr (GError) err = NULL;
  gboolean hangup;

  reset_call_control (self);
  /* again: the properties may have changed in READY */
  if (!check_settings (self))
    return FALSE;
  g_mutex_lock (&self->settings_lock);
  tools = g_strdup (self->settings.tools && *self->settings.tools ?
      self->settings.tools : NULL);
  tools_file = g_strdup (self->settings.tools_file);
  hangup = self->settings.hangup_tool;
  if (self->settings.transfer_to && *self->settings.transfer_to)
    self->transfer_to = g_strdup (self->settings.transfer_to);
  g_mutex_unlock (&self->settings_lock);

  if (tools_file && *tools_file
      && !(file_tools = gtr_tools_load_file (tools_file, &err))) {
    if (err->domain == G_FILE_ERROR)
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", err->message), (NULL));
    else
      GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("%s", err->message), (NULL));
    return FALSE;
  }
  self->session_tools = gtr_tools_combine (tools, file_tools, hangup,
      self->transfer_to != NULL, &self->hangup_on, &self->transfer_on);
  GST_INFO_OBJECT (self, "built-in tools:%s%s", self->hangup_on ?
      " " GTR_TOOL_END_CALL : "", self->transfer_on ?
      " " GTR_TOOL_TRANSFER_CALL : "");
  return TRUE;
}

typedef struct {
  gint how;
  char *reason;
  char *target;
} EndRequest;

static void
end_request_free (EndRequest *req)
{
  g_free (req->reason);
  g_free (req->target);
  g_free (req);
}

static void
end_on_net (gpointer element, gpointer arg)
{
  GstOpenaiRealtime *self = element;
  EndRequest *req = arg;

  begin_ending (self, req->how, req->reason, req->target);
}

static void
request_end (GstOpenaiRealtime *self, gint how, const char *reason,
    const char *fallback_reason, const char *target)
{
  EndRequest *req = g_new0 (EndRequest, 1);

  req->how = how;
  req->reason = g_strdup (reason && *reason ? reason : fallback_reason);
  req->target = g_strdup (target);
  run_on_net (self, end_on_net, req, (GDestroyNotify) end_request_free);
}

/* Action signal "hang-up". */
static void
gst_openai_realtime_hang_up (GstOpenaiRealtime *self, const char *reason)
{
  request_end (self, END_HANG_UP, reason, "the application ended the call",
      NULL);
}

/* Action signal "transfer": to `target`, or to transfer-to when NULL. */
static void
gst_openai_realtime_transfer (GstOpenaiRealtime *self, const char *target,
    const char *reason)
{
  g_autofree char *to = NULL;

  g_mutex_lock (&self->settings_lock);
  to = g_strdup (target && *target ? target : self->settings.transfer_to);
  g_mutex_unlock (&self->settings_lock);
  if (!to || !*to || !gtr_transfer_target_is_valid (to)) {
    GST_WARNING_OBJECT (self, "transfer needs a phone number or SIP URI "
        "(the target, or the transfer-to property): \"%s\"", to ? to : "");
    return;
  }
  request_end (self, END_TRANSFER, reason, "the application transferred the call",
      to);
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
  run_on_net (self, ask_response_on_net, NULL, NULL);
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
    case PROP_CONNECT_TIMEOUT_MS:
      s->connect_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_CONFIRM_TIMEOUT_MS:
      s->confirm_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_LIVENESS_TIMEOUT_MS:
      s->liveness_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_RECONNECT_ATTEMPTS:
      s->reconnect_attempts = g_value_get_uint (value);
      break;
    case PROP_RECONNECT_BACKOFF_MS:
      s->reconnect_backoff_ms = g_value_get_uint (value);
      break;
    case PROP_SESSION_MAX_AGE_MS:
      s->session_max_age_ms = g_value_get_uint (value);
      break;
    case PROP_HANGUP_TOOL:
      s->hangup_tool = g_value_get_boolean (value);
      break;
    case PROP_TRANSFER_TO:
      set_string (&s->transfer_to, value);
      break;
    case PROP_TOOLS_FILE:
      set_string (&s->tools_file, value);
      break;
    case PROP_REASONING_EFFORT:
      s->reasoning_effort = g_value_get_enum (value);
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
    case PROP_CONNECT_TIMEOUT_MS:
      g_value_set_uint (value, s->connect_timeout_ms);
      break;
    case PROP_CONFIRM_TIMEOUT_MS:
      g_value_set_uint (value, s->confirm_timeout_ms);
      break;
    case PROP_LIVENESS_TIMEOUT_MS:
      g_value_set_uint (value, s->liveness_timeout_ms);
      break;
    case PROP_RECONNECT_ATTEMPTS:
      g_value_set_uint (value, s->reconnect_attempts);
      break;
    case PROP_RECONNECT_BACKOFF_MS:
      g_value_set_uint (value, s->reconnect_backoff_ms);
      break;
    case PROP_SESSION_MAX_AGE_MS:
      g_value_set_uint (value, s->session_max_age_ms);
      break;
    case PROP_HANGUP_TOOL:
      g_value_set_boolean (value, s->hangup_tool);
      break;
    case PROP_TRANSFER_TO:
      g_value_set_string (value, s->transfer_to);
      break;
    case PROP_TOOLS_FILE:
      g_value_set_string (value, s->tools_file);
      break;
    case PROP_REASONING_EFFORT:
      g_value_set_enum (value, s->reasoning_effort);
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
  g_free (s->transfer_to);
  g_free (s->tools_file);
  reset_call_control (self);
  gtr_sent_events_free (self->sent);
  g_clear_pointer (&self->call_params, gst_structure_free);
  clear_out_pending (self);
  g_object_unref (self->held);
  g_object_unref (self->batch);
  g_hash_table_unref (self->update_ids);
  g_hash_table_unref (self->cancelled);
  g_free (self->response_id);
  g_free (self->item_id);
  g_free (self->lost_reason);
  g_free (self->lost_error);
  g_free (self->standby_update_id);
  g_ptr_array_unref (self->history);
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
install_uint (GObjectClass *klass, guint id, const char *name, const char *nick,
    const char *blurb, guint min, guint max, guint def)
{
  g_object_class_install_property (klass, id,
      g_param_spec_uint (name, nick, blurb, min, max, def, READY_PARAM));
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
install_keeping_properties (GObjectClass *oc)
{
  install_uint (oc, PROP_LIVENESS_TIMEOUT_MS, "liveness-timeout-ms",
      "Liveness timeout (ms)",
      "Bound, in milliseconds, on silence from the API once connected: "
      "WebSocket pings go out every third of it (1 s at least) and any frame, "
      "a pong included, counts; past it the connection has stalled and is "
      "handled as lost (a new session, see reconnect-attempts)",
      MIN_LIVENESS_TIMEOUT_MS, MAX_LIVENESS_TIMEOUT_MS,
      DEFAULT_LIVENESS_TIMEOUT_MS);
  install_uint (oc, PROP_RECONNECT_ATTEMPTS, "reconnect-attempts",
      "Reconnect attempts",
      "How many times to try opening a new session after the API connection "
      "is lost (stalled, dropped, closed other than 1000, session_expired); "
      "the conversation is carried over. When all fail: RESOURCE/READ "
      "\"lost the API session\". 0: a lost session is that error at once",
      0, 100, DEFAULT_RECONNECT_ATTEMPTS);
  install_uint (oc, PROP_RECONNECT_BACKOFF_MS, "reconnect-backoff-ms",
      "Reconnect backoff (ms)",
      "Wait, in milliseconds, before the second reconnect attempt, doubled "
      "for each further one (at most 8000); the first is at once",
      0, MAX_RECONNECT_DELAY_MS, DEFAULT_RECONNECT_BACKOFF_MS);
  install_uint (oc, PROP_SESSION_MAX_AGE_MS, "session-max-age-ms",
      "Session maximum age (ms)",
      "Age, in milliseconds, at which the next session is opened in advance "
      "and the call switched to it at a turn boundary (no gap). 0: from the "
      "session's expires_at, 5 minutes before the API's 60-minute limit",
      0, G_MAXUINT, DEFAULT_SESSION_MAX_AGE_MS);
}

static void
install_properties (GObjectClass *oc)
{
  g_object_class_install_property (oc, PROP_API_KEY,
      g_param_spec_string ("api-key", "API key",
          "The OpenAI (or Azure OpenAI) API key; write-only, never logged. "
          "Unset: the OPENAI_API_KEY environment variable, read at each connect", NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  install_string (oc, PROP_URI, "uri", "URI",
      "WebSocket address of the Realtime API (ws:// or wss://); model= is added "
      "to its query. A *.openai.azure.com host is sent the key as an api-key "
      "header instead of Authorization: Bearer", DEFAULT_URI);
  install_string (oc, PROP_MODEL, "model", "Model",
      "The Realtime model (or Azure deployment) to use. The default is "
      "gpt-realtime-2.1: gpt-realtime is retired in January 2027", DEFAULT_MODEL);
  install_string (oc, PROP_INSTRUCTIONS, "instructions", "Instructions",
      "System instructions for the agent. {name} placeholders are filled from "
      "the Twilio call's customParameters (<Parameter name=\"name\" …>). "
      "Unset: the API's default instructions", NULL);
  install_enum (oc, PROP_VOICE, "voice", "Voice",
      "The agent's voice (session.audio.output.voice)",
      GST_TYPE_OPENAI_REALTIME_VOICE, DEFAULT_VOICE);
  g_object_class_install_property (oc, PROP_SPEED,
      g_param_spec_double ("speed", "Speed",
          "Speaking speed of the agent, as a multiple of normal speed",
          0.25, 1.5, DEFAULT_SPEED, READY_PARAM));
  install_string (oc, PROP_LANGUAGE, "language", "Language",
      "Language of the caller (ISO-639-1, e.g. \"en\") for transcription; "
      "used only with transcription-model. Unset: the transcription model "
      "detects it", NULL);
  install_string (oc, PROP_TRANSCRIPTION_MODEL, "transcription-model",
      "Transcription model",
      "Model that transcribes the caller (e.g. \"gpt-4o-transcribe\", "
      "\"whisper-1\"); no caller transcripts when unset", NULL);
  install_string (oc, PROP_TRANSCRIPTION_PROMPT, "transcription-prompt",
      "Transcription prompt",
      "Prompt guiding the caller transcription (vocabulary, names); used only "
      "with transcription-model. Unset: no prompt", NULL);
  install_enum (oc, PROP_NOISE_REDUCTION, "noise-reduction", "Noise reduction",
      "Input noise reduction; near-field suits phone calls (none: off, the "
      "field is left out)",
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
  install_enum (oc, PROP_REASONING_EFFORT, "reasoning-effort",
      "Reasoning effort",
      "How much a reasoning model (gpt-realtime-2.x) thinks before it "
      "answers, sent as session.reasoning.effort: minimal, low, medium, high "
      "or xhigh (more effort: later first audio). unset (the default): no "
      "reasoning is sent and the API's default (low) applies. A model that "
      "does not reason may refuse it: the session.update then fails with "
      "LIBRARY/SETTINGS and the API's message. Set in NULL or READY",
      GST_TYPE_OPENAI_REALTIME_REASONING_EFFORT, DEFAULT_REASONING_EFFORT);
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
      "objects; calls arrive as the function-call signal/message. Checked "
      "at NULL->READY (LIBRARY/SETTINGS naming the problem). In "
      "gst_parse_launch() write tools=\"[{\\\"type\\\":…}]\": single quotes "
      "stay in the value (an error says so). Unset: only the built-in tools "
      "(hangup-tool, transfer-to) and tools-file's", NULL);
  install_string (oc, PROP_TOOL_CHOICE, "tool-choice", "Tool choice",
      "\"auto\", \"none\", \"required\" or a function name (unset: the API's "
      "default)", NULL);
  install_string (oc, PROP_TLS_CA_FILE, "tls-ca-file", "TLS CA file",
      "PEM file of an extra certificate authority to trust, in addition to "
      "the system's (for tests and private gateways). Unreadable: "
      "RESOURCE/OPEN_READ at READY->PAUSED. Unset: the system's only", NULL);
  g_object_class_install_property (oc, PROP_DTMF_TO_TEXT,
      g_param_spec_boolean ("dtmf-to-text", "DTMF to text",
          "Tell the agent about key presses (dtmf-event) as a user text item "
          "(\"The caller pressed 5.\"), added at once, followed by "
          "response.create once the response the agent is giving is done",
          DEFAULT_DTMF_TO_TEXT, READY_PARAM));
  install_uint (oc, PROP_CONNECT_TIMEOUT_MS, "connect-timeout-ms",
      "Connect timeout (ms)",
      "Bound, in milliseconds, on connecting: from the start of the connect "
      "until the WebSocket is open (TCP, TLS and the HTTP upgrade). Past it "
      "the element fails with RESOURCE/OPEN_READ \"no WebSocket handshake "
      "from HOST:PORT within N ms\". No 0: every wait has a bound",
      MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS);
  install_uint (oc, PROP_CONFIRM_TIMEOUT_MS, "confirm-timeout-ms",
      "Confirm timeout (ms)",
      "Bound, in milliseconds, on the session's confirmation: from the "
      "WebSocket being open until a session.updated that matches the caps "
      "(so the caps must be negotiated within it too). Past it the element "
      "fails with LIBRARY/SETTINGS \"the session was not confirmed within N "
      "ms\". No 0: every wait has a bound",
      MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, DEFAULT_CONFIRM_TIMEOUT_MS);
  g_object_class_install_property (oc, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters of the current session: audio-in-bytes, audio-out-bytes, "
          "appends, responses, barge-ins, errors, dropped-unconfirmed, "
          "dropped-cancelled, dropped-input-bytes, marks-sent, marks-heard, "
          "bad-frames, function-calls", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  install_keeping_properties (oc);
  g_object_class_install_property (oc, PROP_HANGUP_TOOL,
      g_param_spec_boolean ("hangup-tool", "Hang-up tool",
          "Offer the model the built-in end_call function tool, whose "
          "description tells it to call it when the caller says goodbye or "
          "asks to end the call. When it is called the element answers it, "
          "lets the response with the agent's last words finish, posts "
          "openai-realtime/hang-up and sends EOS (twiliosink closes the stream "
          "once Twilio has played everything). A user tool named end_call "
          "replaces it", DEFAULT_HANGUP_TOOL, READY_PARAM));
  install_string (oc, PROP_TRANSFER_TO, "transfer-to", "Transfer to",
      "Phone number (+15551234567) or SIP URI (sip:agent@example.com) to hand "
      "the caller to. When set, the model is offered the built-in "
      "transfer_call tool; a call to it (or the transfer action signal) posts "
      "openai-realtime/transfer (target, reason), lets the agent's last words "
      "finish, then sends EOS, and the application dials the target "
      "(twilio-realtime-server answers Twilio's <Redirect> with <Dial>). "
      "Unset: no transfer tool. Anything else fails READY->PAUSED", NULL);
  install_string (oc, PROP_TOOLS_FILE, "tools-file", "Tools file",
      "Path of a file holding function tools as a JSON array, as the tools "
      "property takes them (no JSON to quote in a launch line). Read and "
      "checked at READY->PAUSED: an unreadable file fails with "
      "RESOURCE/OPEN_READ, one that is not a JSON array of tools with "
      "LIBRARY/SETTINGS, both naming the file. Its tools are added to those "
      "of the tools property and the built-in ones. Unset: no file", NULL);
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
   * agent speaks with the result (the response.create once the response
   * that made the call is done: the API allows one at a time).
   */
  signals[SIGNAL_FUNCTION_RESULT] = g_signal_new_class_handler ("function-result",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_openai_realtime_function_result), NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * GstOpenaiRealtime::hang-up:
   * @reason: why the call ends (NULL: "the application ended the call")
   *
   * Action signal, any thread: ends the call as the end_call tool does —
   * once the response the agent is speaking (or was asked for) is done,
   * `openai-realtime/hang-up` is posted and EOS sent downstream.
   */
  signals[SIGNAL_HANG_UP] = g_signal_new_class_handler ("hang-up",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_openai_realtime_hang_up), NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * GstOpenaiRealtime::transfer:
   * @target: phone number or SIP URI (NULL: #GstOpenaiRealtime:transfer-to)
   * @reason: why (NULL: "the application transferred the call")
   *
   * Action signal, any thread: posts `openai-realtime/transfer` at once,
   * then sends EOS once the agent's current response is done.
   */
  signals[SIGNAL_TRANSFER] = g_signal_new_class_handler ("transfer",
      G_TYPE_FROM_CLASS (oc), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_openai_realtime_transfer), NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

/* ------------------------------------------------------------------------ */
/* gst-inspect-1.0 as the manual                                            */
/* (formatting: gtr_inspect_add_metadata, plugins/common/gtr-inspect.h) */

static const char *const inspect_example[] = {
  "$ gst-launch-1.0 twiliosrc port=8080 ! openairealtime instructions=\"You are a friendly receptionist.\" greeting=\"Hello, how can I help?\" ! queue ! twiliosink",
  "A one-call Twilio bridge (the key from OPENAI_API_KEY; the TwiML <Connect><Stream url=\"wss://HOST/media\"/>).",
  "$ gst-launch-1.0 autoaudiosrc ! audioconvert ! audioresample ! openairealtime ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! audioconvert ! audioresample ! autoaudiosink",
  "Talk to the agent from a microphone (S16LE 24 kHz both ways; use headphones).",
  NULL
};

static const char *const inspect_signals[] = {
  "transcript: arg0 role (string): \"user\" (the caller; final only, and only with transcription-model) or \"assistant\" (the agent); "
      "arg1 item-id (string): the conversation item; arg2 text (string): a delta when arg3 is FALSE, else the whole transcript; "
      "arg3 final (boolean). Emitted on the network thread: do not block in it.",
  "function-call: arg0 name (string): the function's name; arg1 call-id (string): pass it back with the function-result action; "
      "arg2 arguments (string): the arguments, JSON text. Emitted on the network thread: do not block in it, answer from any thread. "
      "Not emitted for the built-in end_call and transfer_call.",
  NULL
};

static const char *const inspect_actions[] = {
  "function-result: arg0 call-id (string): the call-id of function-call; arg1 output (string): the result, JSON text. "
      "Sends it (conversation.item.create, function_call_output) and asks for the answer (response.create, once the response that "
      "made the call is done): the agent speaks with the result. Any thread.",
  "hang-up: arg0 reason (string; NULL: \"the application ended the call\"). Ends the call as end_call does: once the response "
      "being spoken (or asked for) is done, openai-realtime/hang-up is posted and EOS sent; at once when the agent is quiet. Any thread.",
  "transfer: arg0 target (string): a phone number (+15551234567) or SIP URI (sip:...); NULL or empty: transfer-to; "
      "arg1 reason (string; NULL: \"the application transferred the call\"). Posts openai-realtime/transfer at once and "
      "sends EOS once the current response is done; the application dials the target. Another target is refused with a warning. "
      "Any thread.",
  NULL
};

static const char *const inspect_messages[] = {
  "openai-realtime/session: the session is confirmed. session (string): the effective session, JSON; "
      "input-format, output-format (string): the caps' formats, e.g. \"audio/x-mulaw 8000 Hz\".",
  "openai-realtime/transcript: role (string): \"user\" or \"assistant\"; item-id (string); text (string); "
      "final (boolean): FALSE for an agent delta. As the transcript signal.",
  "openai-realtime/response-done: every response.done. response-id (string); status (string): completed, cancelled, "
      "incomplete or failed; usage (string): the API's usage, JSON.",
  "openai-realtime/function-call: the model called a user tool. name, call-id, arguments (string; arguments is JSON). "
      "As the function-call signal.",
  "openai-realtime/error: a non-fatal API error (also a WARNING; counted in stats errors). type, code, message, param, "
      "event-id (string): the API's error; event-type (string): the type of the client event it answers; cause (string): "
      "that event named, e.g. \"conversation.item.truncate for item item_1\" (both empty when it names no event we sent).",
  "openai-realtime/hang-up: the agent's last words are out, EOS follows. reason (string): the model's reason or the "
      "hang-up action's.",
  "openai-realtime/transfer: the caller is to be handed over (posted at once; EOS follows the last words). target (string): "
      "transfer-to or the action's target; reason (string).",
  "openai-realtime/closed: the API closed the session for good (1000 or another final code); EOS follows. code (int); "
      "reason (string).",
  "openai-realtime/response-latency: an answer's first audio went out. latency-ms (uint): since the API's speech_stopped "
      "for the caller's turn; response-id (string).",
  "openai-realtime/barge-in: the caller interrupted the agent. item-id (string): the agent's item; audio-end-ms (int64): "
      "what the caller heard of it, where it was truncated.",
  "openai-realtime/reconnecting: the session was lost, a new one is being opened. reason (string): stalled, dropped, "
      "closed or session_expired.",
  "openai-realtime/reconnected: a new session is confirmed and has the conversation. reason (string): as reconnecting, "
      "or handover (before the 60-minute limit); gap-ms (int64): from the loss to the new confirmation (0 for a handover); "
      "attempts (uint); items (uint): conversation items carried over.",
  NULL
};

static const char *const inspect_events[] = {
  "sink, twilio/call (sticky custom downstream, from twiliosrc): its custom-parameters (a GstStructure of strings) fill "
      "{name} placeholders in instructions; passed on unchanged (twiliosink finds the call's WebSocket in it).",
  "sink, twilio/mark (serialized custom downstream, from twiliosrc; name (string)): Twilio echoed a mark this element "
      "asked for, \"ITEM_ID:MS\": the caller has heard MS ms of that item. Consumed.",
  "sink, dtmf-event (custom downstream, the standard DTMF event; number (int) 0-15, start (boolean)): a key press, told "
      "to the agent with dtmf-to-text; passed on.",
  "sink, EOS: the caller hung up; passed on.",
  "src, twilio/send-mark (serialized custom downstream; name (string) \"ITEM_ID:MS\"): after every <=100 ms of agent "
      "audio, for twiliosink to send as a Twilio mark.",
  "src, FLUSH_START/FLUSH_STOP: barge-in; twiliosink sends Twilio a clear.",
  "src, EOS: the API closed for good, or the call ends (end_call, transfer_call, hang-up, transfer) after the agent's last words.",
  NULL
};

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
      "One OpenAI Realtime API session (GA): caller audio in on the sink pad, "
      "the agent's spoken answer out on the src pad. Formats are the caps "
      "(mu-law 8 kHz, A-law 8 kHz or S16LE 24 kHz mono, each pad its own). "
      "Connects at READY->PAUSED; nothing leaves the src pad before "
      "session.updated confirms the caps. The agent's audio is pushed from "
      "the network thread: put a queue before any sink that can block. "
      "Example, signals' arguments, messages and events below (and in "
      "docs/elements.md)",
      "gst-twilio-realtime");
  gtr_inspect_add_metadata (ec, "example", inspect_example);
  gtr_inspect_add_metadata (ec, "signals", inspect_signals);
  gtr_inspect_add_metadata (ec, "actions", inspect_actions);
  gtr_inspect_add_metadata (ec, "messages", inspect_messages);
  gtr_inspect_add_metadata (ec, "events", inspect_events);
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
  s->reasoning_effort = DEFAULT_REASONING_EFFORT;
  s->interrupt_response = DEFAULT_INTERRUPT_RESPONSE;
  s->max_output_tokens = DEFAULT_MAX_OUTPUT_TOKENS;
  s->dtmf_to_text = DEFAULT_DTMF_TO_TEXT;
  s->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
  s->confirm_timeout_ms = DEFAULT_CONFIRM_TIMEOUT_MS;
  s->liveness_timeout_ms = DEFAULT_LIVENESS_TIMEOUT_MS;
  s->reconnect_attempts = DEFAULT_RECONNECT_ATTEMPTS;
  s->reconnect_backoff_ms = DEFAULT_RECONNECT_BACKOFF_MS;
  s->session_max_age_ms = DEFAULT_SESSION_MAX_AGE_MS;
  self->history = g_ptr_array_new_with_free_func (history_turn_free);
  s->hangup_tool = DEFAULT_HANGUP_TOOL;

  self->held = gst_adapter_new ();
  self->batch = gst_adapter_new ();
  self->update_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cancelled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gtr_agent_output_init (&self->out, self, self->srcpad, &self->lock, output_failed);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  self->context = gtr_netloop_ref_context ();
  self->sent = gtr_sent_events_new (SENT_EVENTS_KEPT, "input_audio_buffer.append");
}

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (openairealtime, "openairealtime",
    GST_RANK_NONE, GST_TYPE_OPENAI_REALTIME,
    GST_DEBUG_CATEGORY_INIT (gst_openai_realtime_debug, "openairealtime", 0,
        "OpenAI Realtime session"));
