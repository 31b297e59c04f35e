/* realtime-mock: one GPT-Live session (/v1/live/sessions) on one WebSocket.
 *
 * An independent implementation of the documented protocol
 * (tests/data/openai-live/, docs/realtime-mock.md "GPT-Live"): session.start
 * checked strictly as the first message, session.started with the resolved
 * configuration, the caller's audio echoed after the caller stops talking,
 * transcripts of both sides with start_ms/end_ms, the model falling silent
 * when the caller talks over it, delegations (tool calls), session.close →
 * session.closed.  Like a Realtime session it lives on the main loop's
 * thread, owns its socket and frees itself when the socket closes.
 */
#pragma once

#include "mock-session.h"

G_BEGIN_DECLS

typedef struct _MockLive MockLive;

/* `azure`: the session came in on /openai/v1/live/sessions (the model is a
 * deployment name).  Nothing is sent until the client's session.start. */
MockLive *mock_live_start (const MockConfig *config, SoupWebsocketConnection *ws, gboolean azure);

guint mock_live_count (void);
/* For a clean exit: closes every open session (1001); each frees itself
 * once its socket has closed. */
void mock_live_close_all (void);
/* Frees the sessions still alive. */
void mock_live_free_all (void);

G_END_DECLS
