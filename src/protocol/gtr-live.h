/* OpenAI GPT-Live (`/v1/live/sessions`, Azure `/openai/v1/live/sessions`),
 * primary WebSocket only.  A separate API from Realtime: the model is named
 * in `session.start` (never in the URL), one audio format serves both
 * directions, there is no VAD, no commit, no truncate, no response.create
 * for speech, and text reaches the model only as instructions, thinking or
 * commentary appends.  Facts and what is unconfirmed:
 * ../shared/openai-live/README.md; the schema every builder is checked
 * against: tests/data/openai-live/live.schema.json.
 *
 * Client events: each builder returns newly allocated JSON text and,
 * through `event_id` (may be NULL), the unique `event_id` it put on the
 * event.  The server echoes that id as `client_event_id` on what the event
 * causes, an `error` included, so the caller can match an error back to it.
 * The builders only emit fields the schema names: the session object is
 * strict on the server, and a field it does not know fails the start.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* `session.audio.format`: the one format for both directions. */
typedef enum {
  GTR_LIVE_FORMAT_UNSET = 0,   /* not emitted (the server's default is unconfirmed) */
  GTR_LIVE_FORMAT_PCMU,        /* {"type":"audio/pcmu","rate":8000}  μ-law 8 kHz mono */
  GTR_LIVE_FORMAT_PCMA,        /* {"type":"audio/pcma","rate":8000}  A-law 8 kHz mono */
  GTR_LIVE_FORMAT_PCM16K,      /* {"type":"audio/pcm","rate":16000}  S16LE 16 kHz mono */
  GTR_LIVE_FORMAT_PCM24K,      /* {"type":"audio/pcm","rate":24000}  S16LE 24 kHz mono */
} GtrLiveAudioFormat;

/* "audio/pcmu", "audio/pcma", "audio/pcm" (NULL for UNSET or out of range). */
const char *gtr_live_audio_format_type_name (GtrLiveAudioFormat format);
/* 8000, 16000, 24000 (0 for UNSET). */
guint gtr_live_audio_format_rate (GtrLiveAudioFormat format);
/* Bytes per millisecond: 8 for G.711, 32 / 48 for PCM16 at 16 / 24 kHz. */
guint gtr_live_audio_format_bytes_per_ms (GtrLiveAudioFormat format);
/* "audio/pcmu 8000 Hz", … ("unset" for UNSET), for error texts. */
char *gtr_live_audio_format_describe (GtrLiveAudioFormat format);
/* The format for a wire type and rate ("audio/pcm", 16000), as the element
 * derives it from its caps; UNSET for any pair the schema does not allow
 * (μ-law at 16 kHz, PCM at 8 kHz, …). */
GtrLiveAudioFormat gtr_live_audio_format_from_type_rate (const char *type, gint64 rate);

/* Who speaks a startup-history message (`session.input`). */
typedef enum {
  GTR_LIVE_ROLE_DEVELOPER,     /* input_text */
  GTR_LIVE_ROLE_USER,          /* input_text */
  GTR_LIVE_ROLE_ASSISTANT,     /* output_text */
} GtrLiveRole;

typedef enum {
  GTR_LIVE_DELEGATION_UNSET = 0,  /* not emitted: the server's default is client delegation */
  GTR_LIVE_DELEGATION_CLIENT,     /* {"type":"client"} */
  GTR_LIVE_DELEGATION_RESPONSES,  /* {"type":"responses","responses":{…}} */
} GtrLiveDelegation;

/* The Responses backend of `delegation`.  In session.start `model` is
 * required; in session.update every field is optional (sparse: the server
 * keeps what is not sent). */
typedef struct {
  char *model;          /* a Responses model (Azure: a deployment) */
  char *instructions;   /* the backend prompt, separate from the Live instructions */
  char *tools_json;     /* a JSON array of tools, NULL unset (checked against the schema's tool shapes) */
  char *tool_choice;    /* "auto"|"none"|"required", or a function name; NULL unset */
} GtrLiveResponsesConfig;

/* A session.start configuration: only the fields that are set are emitted.
 * Initialise with gtr_live_session_config_init() (everything unset),
 * release with gtr_live_session_config_clear().
 *
 * There is no greeting field in GPT-Live: the model decides when to speak.
 * What the schema offers instead is the startup history (`input`, e.g. a
 * developer message asking to greet the caller with a given sentence) or a
 * session.instructions.append once the session has started.  There are no
 * top-level tools either: tools belong to the Responses backend. */
typedef struct {
  char *model;                     /* required: "gpt-live-1", "gpt-live-1.1" (Azure: deployment) */
  char *instructions;              /* NULL or "" unset: the server's default prompt */
  GtrLiveAudioFormat format;       /* session.audio.format */
  char *voice;                     /* session.audio.output.voice, a name ("marin", …) */
  char *custom_voice_id;           /* session.audio.output.voice as {"id":…}; not with `voice` */
  gint store;                      /* -1 unset, 0 false, 1 true */
  GtrLiveDelegation delegation;
  GtrLiveResponsesConfig responses;  /* used when delegation is RESPONSES */
  GPtrArray *input;                /* startup history, see gtr_live_session_config_add_input() */
} GtrLiveSessionConfig;

void gtr_live_session_config_init (GtrLiveSessionConfig *config);
void gtr_live_session_config_clear (GtrLiveSessionConfig *config);
/* Appends one text message to `session.input` (at most 128 are sent). */
void gtr_live_session_config_add_input (GtrLiveSessionConfig *config,
    GtrLiveRole role, const char *text);

void gtr_live_responses_config_init (GtrLiveResponsesConfig *responses);
void gtr_live_responses_config_clear (GtrLiveResponsesConfig *responses);

/* session.start.  Fails with MISSING_FIELD ("session.model",
 * "session.delegation.responses.model") or BAD_VALUE naming the field: both
 * voice and custom_voice_id, an enum out of range, more than 128 input
 * messages, store not -1/0/1, tools_json that is not an array of tools the
 * schema knows (an unknown tool type or an unknown field of a function
 * tool), an empty tool_choice. */
char *gtr_live_build_session_start (const GtrLiveSessionConfig *config,
    char **event_id, GError **error);

/* session.update: the only mutable part, the Responses backend (a session
 * started with Responses delegation).  Sparse: only the set fields are sent.
 * Tools are limited to function and web_search, as the schema says.  Fails
 * with BAD_VALUE when nothing is set or a field is invalid as above. */
char *gtr_live_build_session_update (const GtrLiveResponsesConfig *responses,
    char **event_id, GError **error);

/* session.input_audio.append: raw audio in the session format, base64. */
char *gtr_live_build_input_audio_append (const guint8 *audio, gsize len, char **event_id);
char *gtr_live_build_input_audio_mute (char **event_id);
char *gtr_live_build_input_audio_unmute (char **event_id);

/* The three ways text reaches the model. */
typedef enum {
  GTR_LIVE_APPEND_INSTRUCTIONS,  /* session.instructions.append: may redirect current speech */
  GTR_LIVE_APPEND_THINKING,      /* session.thinking.append: silent context */
  GTR_LIVE_APPEND_COMMENTARY,    /* session.commentary.append: context to say (a task's result) */
} GtrLiveAppendKind;

/* session.{instructions,thinking,commentary}.append.  `delegation_id` NULL
 * is sent as null (general context), else the id of a client delegation
 * (session.delegation.created).  This is also how a caller's DTMF key or
 * any text input reaches the model: GPT-Live has no user-text or DTMF
 * command on the primary WebSocket, so the element words it as text. */
char *gtr_live_build_append (GtrLiveAppendKind kind, const char *content,
    const char *delegation_id, char **event_id);

/* response.item.create with a Responses input item given as JSON text (an
 * object with a string "type").  BAD_VALUE ("item") otherwise. */
char *gtr_live_build_response_item_create (const char *item_json, char **event_id,
    GError **error);
/* response.item.create of {"type":"function_call_output","call_id","output"}:
 * the result of a backend function call (Responses delegation). */
char *gtr_live_build_function_call_output (const char *call_id, const char *output,
    char **event_id);
/* response.create: let the backend continue after tool results. */
char *gtr_live_build_response_create (char **event_id);
char *gtr_live_build_session_close (char **event_id);

typedef enum {
  GTR_LIVE_EVENT_OTHER = 0,  /* any type not listed (transport.* too): type_name and raw_json keep it */
  GTR_LIVE_EVENT_ERROR,
  GTR_LIVE_EVENT_SESSION_STARTED,
  GTR_LIVE_EVENT_SESSION_UPDATED,
  GTR_LIVE_EVENT_SESSION_CLOSED,
  GTR_LIVE_EVENT_INPUT_AUDIO_MUTED,
  GTR_LIVE_EVENT_INPUT_AUDIO_UNMUTED,
  GTR_LIVE_EVENT_INSTRUCTIONS_APPENDED,
  GTR_LIVE_EVENT_THINKING_APPENDED,
  GTR_LIVE_EVENT_COMMENTARY_APPENDED,
  GTR_LIVE_EVENT_OUTPUT_AUDIO_DELTA,
  GTR_LIVE_EVENT_INPUT_AUDIO_APPEND,     /* sideband only: the caller's audio reflected */
  GTR_LIVE_EVENT_INPUT_TRANSCRIPT_DELTA,
  GTR_LIVE_EVENT_OUTPUT_TRANSCRIPT_DELTA,
  GTR_LIVE_EVENT_DELEGATION_CREATED,
  GTR_LIVE_EVENT_RESPONSE_EVENT,         /* a nested Responses streaming event */
  GTR_LIVE_EVENT_USAGE_UPDATED,
  GTR_LIVE_EVENT_INFO,
} GtrLiveEventType;

/* A parsed server event.  Only the fields of its type are set; strings are
 * NULL, integers -1 and doubles < 0 when absent. */
typedef struct {
  GtrLiveEventType type;
  char *type_name;            /* always set: the event's "type" */
  char *event_id;             /* the server's event_id (absent on audio deltas) */
  char *client_event_id;      /* the event_id of the client event that caused it */

  /* session.started / .updated / .closed: the resolved session */
  char *session_id;
  char *model;
  char *status;               /* "active" */
  gint64 expires_at;          /* Unix seconds */
  char *instructions;
  GtrLiveAudioFormat format;  /* UNSET when absent or not a format the schema allows */
  char *format_desc;          /* what the server said ("audio/pcm 22050 Hz"); NULL when absent */
  char *voice;                /* audio.output.voice as a name */
  char *custom_voice_id;      /* audio.output.voice as {"id":…} */
  char *delegation_type;      /* delegation.type: "client", "responses"; NULL for none/null */
  gint store;                 /* -1 absent, 0, 1 */
  char *session_json;         /* the whole "session" object, serialized */

  /* session.closed */
  char *reason;               /* close_requested, expired, content, remote_hangup, connection_lost, … */
  /* session.closed / session.usage.updated: cumulative billed seconds */
  gdouble usage_seconds;
  gdouble context_usage_ratio;  /* session.usage.updated context_window.usage_ratio */

  /* session.output_audio.delta (delta) / session.input_audio.append (audio): decoded */
  GBytes *audio;
  /* *_transcript.delta */
  char *delta;
  /* transcripts, *.appended (and sideband audio deltas): session timeline, ms */
  gint64 start_ms;
  gint64 end_ms;

  /* session.delegation.created (delegation_id also on response.event) */
  char *delegation_id;
  char *delegation_target;    /* "client", "responses" */
  char *response_id;
  gint64 offset_ms;

  /* response.event: the nested event's type and JSON; for a function_call
   * item (response.output_item.added/.done) also its name, call_id and
   * arguments: the tool call the application must answer with
   * gtr_live_build_function_call_output() + gtr_live_build_response_create(). */
  char *response_event_type;
  char *response_event_json;
  char *call_name;
  char *call_id;
  char *call_arguments;       /* JSON text as the server sent it */

  /* error (error.*) */
  char *error_type;
  char *error_code;
  char *error_message;
  char *error_param;
  char *error_client_event_id;  /* error.client_event_id */
  /* info */
  char *info_code;
  char *info_message;

  /* OTHER: the whole event text */
  char *raw_json;
} GtrLiveServerEvent;

void gtr_live_server_event_free (GtrLiveServerEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GtrLiveServerEvent, gtr_live_server_event_free)

/* The event_id of the client event an `error` refers to: error.client_event_id,
 * else the top-level client_event_id, else NULL. */
const char *gtr_live_server_event_error_client_event_id (const GtrLiveServerEvent *event);

/* Parse one server frame.  `max_len` as for Realtime (0 = no limit).  A
 * type not in the enum parses as GTR_LIVE_EVENT_OTHER keeping type_name and
 * raw_json; a known type with a missing or ill-typed field fails naming it
 * ("error.message", "session.audio.format.rate").  Codes: OVERSIZE,
 * NOT_JSON, NOT_OBJECT, MISSING_FIELD, BAD_TYPE, BAD_VALUE (negative
 * numbers, an escaped NUL), BAD_BASE64 (audio that is not strict base64).
 * An audio format of the right shape but not one the schema allows is not
 * an error: format is UNSET and format_desc says what the server sent. */
GtrLiveServerEvent *gtr_live_server_event_parse (const char *text, gssize len,
    gsize max_len, GError **error);

G_END_DECLS
