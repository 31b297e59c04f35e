/* realtime-mock: what GPT-Live (/v1/live/sessions) accepts, checked field
 * by field.
 *
 * An implementation of the documented protocol of its own
 * (tests/data/openai-live/live.schema.json and README of ../shared/openai-live),
 * independent of the product's protocol code.  The session configuration of
 * session.start is closed, as the docs say; so are the other client events
 * (the schema's choice).  The first problem found is reported as the API
 * shapes it: `unknown_parameter`, `invalid_type`, `invalid_value` or
 * `missing_required_parameter`, with the dotted path as `param` and the
 * same wording as the Realtime side (mock-schema.h).
 */
#pragma once

#include "mock-schema.h"

G_BEGIN_DECLS

/* Checks one client event (any of the 11 types) against its shape. */
gboolean mock_live_check_client_event (JsonObject *event, MockApiError *err);

/* Beyond the shape: what a started session refuses (a voice no one knows,
 * `client` on a primary WebSocket, a model not served on the path). */
gboolean mock_live_check_session (JsonObject *config, gboolean azure, MockApiError *err);

/* The resolved configuration of a checked session.start's `session`, as
 * session.started shows it: `id`, `expires_at`, `status`, and the defaults
 * (input [], voice marin, delegation client, store false, instructions
 * null, audio.format PCM 24 kHz when absent).  A new object. */
JsonObject *mock_live_resolve_session (JsonObject *config, const char *id, gint64 expires_at);

G_END_DECLS
