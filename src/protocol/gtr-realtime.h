/* OpenAI Realtime API, GA interface only.
 *
 * The beta interface (flat "input_audio_format", "response.audio.delta",
 * the OpenAI-Beta header) was shut down in May 2026, and "temperature" does
 * not exist in GA: the session builder has no way to emit either, so the
 * classic silently-rejected `session.update` cannot be built here.
 *
 * Client events: each builder returns newly allocated JSON text and, through
 * `event_id` (may be NULL), the unique event_id it put on the event, so the
 * caller can match an `error` back to it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The three audio formats the API carries. */
typedef enum {
  GTR_AUDIO_FORMAT_UNSET = 0,
  GTR_AUDIO_FORMAT_PCMU,      /* {"type":"audio/pcmu"}  μ-law 8 kHz mono */
  GTR_AUDIO_FORMAT_PCMA,      /* {"type":"audio/pcma"}  A-law 8 kHz mono */
  GTR_AUDIO_FORMAT_PCM24K,    /* {"type":"audio/pcm","rate":24000}  S16LE 24 kHz mono */
} GtrAudioFormat;

/* "audio/pcmu", "audio/pcma", "audio/pcm" (NULL for UNSET). */
const char *gtr_audio_format_type_name (GtrAudioFormat format);
/* A human description used in error texts: "audio/pcm 24000 Hz". */
char *gtr_audio_format_describe (GtrAudioFormat format);
/* Bytes per millisecond of audio (8 for pcmu/pcma, 48 for pcm 24 kHz). */
guint gtr_audio_format_bytes_per_ms (GtrAudioFormat format);

typedef enum {
  GTR_NOISE_REDUCTION_UNSET = 0,   /* not emitted: the API's default applies */
  GTR_NOISE_REDUCTION_OFF,         /* not emitted either: a new session has it off, and the
                                      official schema allows only an object here */
  GTR_NOISE_REDUCTION_NEAR_FIELD,  /* {"type":"near_field"} */
  GTR_NOISE_REDUCTION_FAR_FIELD,   /* {"type":"far_field"} */
} GtrNoiseReduction;

typedef enum {
  GTR_TURN_DETECTION_UNSET = 0,    /* not emitted */
  GTR_TURN_DETECTION_SERVER_VAD,
  GTR_TURN_DETECTION_SEMANTIC_VAD,
  GTR_TURN_DETECTION_NONE,         /* emitted as null: push-to-talk */
} GtrTurnDetection;

/* A session configuration: only the fields that are set are emitted.
 * Initialise with gtr_realtime_session_config_init() (everything unset),
 * release with gtr_realtime_session_config_clear(). */
typedef struct {
  GtrAudioFormat input_format;        /* session.audio.input.format */
  GtrAudioFormat output_format;       /* session.audio.output.format */
  GtrNoiseReduction noise_reduction;  /* session.audio.input.noise_reduction (an object, never a string) */

  char *transcription_model;          /* session.audio.input.transcription: emitted when the model is set */
  char *transcription_language;
  char *transcription_prompt;

  GtrTurnDetection turn_detection;    /* session.audio.input.turn_detection.type */
  gdouble vad_threshold;              /* server_vad: < 0 unset */
  gint prefix_padding_ms;             /* server_vad: < 0 unset */
  gint silence_duration_ms;           /* server_vad: < 0 unset */
  gint idle_timeout_ms;               /* server_vad: <= 0 unset */
  gint create_response;               /* both: -1 unset, 0 false, 1 true */
  gint interrupt_response;            /* both: -1 unset, 0 false, 1 true */
  char *eagerness;                    /* semantic_vad: "low"|"medium"|"high"|"auto", NULL unset */

  char *voice;                        /* session.audio.output.voice */
  gdouble speed;                      /* session.audio.output.speed: <= 0 unset (API range 0.25–1.5) */

  gboolean audio_only;                /* TRUE: output_modalities = ["audio"] */
  char *instructions;
  gint max_output_tokens;             /* 0 unset, -1 "inf", else 1–4096 */
  char *tools_json;                   /* a JSON array of function tools, NULL unset */
  char *tool_choice;                  /* "auto"|"none"|"required", or a function name; NULL unset */
} GtrRealtimeSessionConfig;

void gtr_realtime_session_config_init (GtrRealtimeSessionConfig *config);
void gtr_realtime_session_config_clear (GtrRealtimeSessionConfig *config);

/* A process-unique event id ("evt_" + process tag + counter + random
 * suffix). */
char *gtr_realtime_new_event_id (void);

/* The id of an audio append (gtr_realtime_build_input_audio_buffer_append,
 * gtr_live_build_input_audio_append): "aud_" + process tag + counter.
 * Appends go 50 a second per call, too many to record one by one to match
 * an API error to its cause: their ids say what they are instead, and
 * gtr_realtime_event_id_is_audio tells them (of this process) apart. */
char *gtr_realtime_new_audio_event_id (void);
gboolean gtr_realtime_event_id_is_audio (const char *event_id);

/* session.update.  Fails (GTR_PROTOCOL_ERROR_BAD_VALUE, naming the field)
 * when tools_json is not a JSON array of objects, or a value is out of the
 * API's range. */
char *gtr_realtime_build_session_update (const GtrRealtimeSessionConfig *config,
    char **event_id, GError **error);

char *gtr_realtime_build_input_audio_buffer_append (const guint8 *audio, gsize len, char **event_id);
char *gtr_realtime_build_input_audio_buffer_commit (char **event_id);
char *gtr_realtime_build_input_audio_buffer_clear (char **event_id);
/* conversation.item.create: a user message with one input_text part. */
char *gtr_realtime_build_user_text (const char *text, char **event_id);
/* conversation.item.create: a function_call_output (output is JSON text, sent as a string). */
/* conversation.item.create of an assistant message holding `text`
 * (output_text): what the agent said, carried into a new session. */
char *gtr_realtime_build_assistant_text (const char *text, char **event_id);
char *gtr_realtime_build_function_call_output (const char *call_id, const char *output, char **event_id);
/* response.create, with per-response instructions when not NULL (e.g. a greeting). */
char *gtr_realtime_build_response_create (const char *instructions, char **event_id);
/* response.cancel, for `response_id` when not NULL. */
char *gtr_realtime_build_response_cancel (const char *response_id, char **event_id);
char *gtr_realtime_build_item_truncate (const char *item_id, gint content_index,
    gint64 audio_end_ms, char **event_id);

/* What a client event built above is, to name it when the API answers it
 * with an `error`: its type, event_id and what it concerns (NULL when
 * nothing): "item ID" (conversation.item.truncate/.delete/.retrieve, or a
 * conversation.item.create with an id), "call ID" (a function_call_output),
 * "response ID" (response.cancel).  FALSE when `json` is not an object with
 * a string type and event_id. */
gboolean gtr_realtime_client_event_describe (const char *json, char **type,
    char **event_id, char **subject);

typedef enum {
  GTR_RT_EVENT_OTHER = 0,  /* any type not listed: type_name keeps it */
  GTR_RT_EVENT_ERROR,
  GTR_RT_EVENT_SESSION_CREATED,
  GTR_RT_EVENT_SESSION_UPDATED,
  GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STARTED,
  GTR_RT_EVENT_INPUT_AUDIO_BUFFER_SPEECH_STOPPED,
  GTR_RT_EVENT_INPUT_AUDIO_BUFFER_COMMITTED,
  GTR_RT_EVENT_CONVERSATION_ITEM_ADDED,
  GTR_RT_EVENT_CONVERSATION_ITEM_DONE,
  GTR_RT_EVENT_CONVERSATION_ITEM_TRUNCATED,
  GTR_RT_EVENT_INPUT_TRANSCRIPTION_COMPLETED,  /* conversation.item.input_audio_transcription.completed */
  GTR_RT_EVENT_INPUT_TRANSCRIPTION_FAILED,     /* conversation.item.input_audio_transcription.failed */
  GTR_RT_EVENT_RESPONSE_CREATED,
  GTR_RT_EVENT_RESPONSE_DONE,
  GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_DELTA,
  GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA,
  GTR_RT_EVENT_RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE,
  GTR_RT_EVENT_RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE,
  GTR_RT_EVENT_RATE_LIMITS_UPDATED,
} GtrRealtimeEventType;

/* A parsed server event.  Only the fields of its type are set; strings are
 * NULL and integers -1 when absent. */
typedef struct {
  GtrRealtimeEventType type;
  char *type_name;         /* always set: the event's "type" */
  char *event_id;          /* the server's event_id */

  /* session.created / session.updated */
  GtrAudioFormat input_format;   /* UNSET if absent or not one of the three */
  GtrAudioFormat output_format;
  char *input_format_desc;       /* what the API said, for error texts: "audio/pcm 24000 Hz" */
  char *output_format_desc;
  char *session_id;
  char *session_json;            /* the whole "session" object, serialized */
  gint64 expires_at;             /* session.expires_at, Unix seconds (-1: absent) */

  /* ids shared by many events */
  char *response_id;
  char *item_id;
  char *previous_item_id;
  gint output_index;
  gint content_index;

  /* response.output_audio.delta */
  GBytes *audio;                 /* decoded */
  /* *_transcript.delta, transcription deltas */
  char *delta;
  /* *.transcript.done, input transcription completed */
  char *transcript;
  /* speech_started / speech_stopped */
  gint64 audio_start_ms;
  gint64 audio_end_ms;           /* also conversation.item.truncated */

  /* response.created / response.done */
  char *status;                  /* "completed", "cancelled", "failed", "incomplete", "in_progress" */
  char *usage_json;              /* response.usage, serialized (NULL if absent) */
  char *response_json;           /* the whole response object, serialized */

  /* response.function_call_arguments.done */
  char *name;
  char *call_id;
  char *arguments;               /* JSON text as the API sent it */

  /* error (also set for input transcription failed) */
  char *error_type;
  char *error_code;
  char *error_message;
  char *error_param;
  char *error_event_id;          /* the client event_id that caused it */

  /* conversation.item.added / .done (item_id = item.id, status = item.status;
   * for a function_call item also name, call_id and arguments) */
  char *item_type;               /* "message", "function_call", … */
  char *item_role;               /* "assistant", "user" */

  /* rate_limits.updated and anything else: the whole event, serialized */
  char *raw_json;
} GtrRealtimeServerEvent;

void gtr_realtime_server_event_free (GtrRealtimeServerEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GtrRealtimeServerEvent, gtr_realtime_server_event_free)

/* Parse one server frame.  `max_len` as for Twilio (0 = no limit).  A type
 * not in the enum parses as GTR_RT_EVENT_OTHER keeping type_name; a known
 * type with a missing or ill-typed field the element needs fails naming it.
 * Codes: OVERSIZE (before parsing), NOT_JSON (also invalid UTF-8),
 * NOT_OBJECT, MISSING_FIELD / BAD_TYPE (the message names the field, e.g.
 * "error.message"), BAD_VALUE (negative or out-of-range integers; a string
 * holding an escaped NUL, which C strings cannot carry), BAD_BASE64 (an audio
 * delta that is not strict base64: alphabet, length, padding). */
GtrRealtimeServerEvent *gtr_realtime_server_event_parse (const char *text, gssize len,
    gsize max_len, GError **error);

G_END_DECLS
