/* realtime-mock: one Realtime session on one WebSocket.
 *
 * A session lives on the main loop's thread, owns its socket, and frees
 * itself when the socket closes.  Sessions share nothing but the read-only
 * MockConfig and the log.
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef enum {
  MOCK_MODE_ECHO,   /* the caller's own audio of the turn, back */
  MOCK_MODE_TONE,   /* a 440 Hz tone as long as the turn */
  MOCK_MODE_FILE,   /* a WAV file */
  MOCK_MODE_LOOPBACK, /* every append's bytes back at once, one endless response */
} MockMode;

typedef struct {
  MockMode mode;
  GBytes *file_audio;            /* --file, as S16LE mono 24 kHz */
  char *file_name;
  gboolean reject_sessions;
  guint close_after_ms;
  guint session_max_ms;
  guint first_delta_delay_ms;
  gboolean malformed_frames;
  guint function_call_turn;      /* 0: none */
  char *function_name;
  char *function_args;
  char *transcript;              /* NULL: "caller turn N" */
  guint stall_after_ms;          /* 0: none; the process freezes once, stall_for_ms long */
  guint stall_for_ms;
  guint drop_response;           /* 0: none; the Nth response (of the process) loses its socket */
  guint end_call_turn;           /* 0: none; else that turn's answer calls end_call */
  guint transfer_call_turn;      /* 0: none; likewise transfer_call */
  gboolean live_wrong_format;    /* GPT-Live: session.started confirms another format */
  gboolean live_burst;           /* GPT-Live: a turn's audio at once, early caller fragments */
} MockConfig;

typedef struct _MockSession MockSession;

/* Starts a session on an accepted WebSocket: sends session.created (or,
 * for a beta client, the beta_api_shape_disabled error and close 4000). */
MockSession *mock_session_start (const MockConfig *config, SoupWebsocketConnection *ws,
    const char *model, gboolean beta_client);

/* The process's next audio response, 1, 2, … — Realtime and GPT-Live
 * sessions counted together, for --drop-mid-response. */
guint mock_session_next_response_ordinal (void);

/* --stall-after: arms the process's one stall, at the first call that
 * finds it set (the first session.created or session.started). */
void mock_session_arm_stall (const MockConfig *config);

/* Sessions alive right now (for a clean exit). */
guint mock_session_count (void);

/* For a clean exit: closes every open session (1001 going away); each frees
 * itself once its socket has closed. */
void mock_session_close_all (void);

/* Frees the sessions still alive (their peers never finished the close). */
void mock_session_free_all (void);

G_END_DECLS
