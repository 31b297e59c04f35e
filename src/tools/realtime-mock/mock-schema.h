/* realtime-mock: what the Realtime API (GA) accepts, checked field by field.
 *
 * The field tables follow the strict official schema
 * (tests/data/realtime.strict.schema.json): a member the schema does not know
 * is "unknown_parameter", a JSON type the schema does not allow is
 * "invalid_type", an enum value or number out of range is "invalid_value",
 * a missing required member is "missing_required_parameter" — each with the
 * API's wording and the dotted path of the offending member as `param`.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* What the API would answer: error.code, error.message, error.param. */
typedef struct {
  const char *code;
  char *message;
  char *param;
} MockApiError;

void mock_api_error_clear (MockApiError *err);

/* Checks one client event (any known type) against its shape.  Returns
 * FALSE and fills `err` (code "invalid_value", param "type" for an unknown
 * event type) when the API would reject it. */
gboolean mock_schema_check_client_event (JsonObject *event, MockApiError *err);

/* What a checked session.update (its "session", `update`) asks of the
 * session's `model` (the update's own "model" wins): `reasoning` only for a
 * reasoning model (gpt-realtime-2*), else "unsupported_parameter". */
gboolean mock_schema_check_for_model (JsonObject *update, const char *model, MockApiError *err);

/* The session the API starts with (session.created), as a new object. */
JsonObject *mock_schema_default_session (const char *session_id, const char *model);

/* Merges a checked `update` (the "session" of a session.update) into
 * `session`: nested plain objects are merged member by member, anything else
 * is replaced; the result is normalised (VAD defaults filled in, the pcm
 * rate made explicit). */
void mock_schema_merge_session (JsonObject *session, JsonObject *update);

/* A copy of `session` as the API shows it in session.created/updated. */
JsonNode *mock_schema_session_view (JsonObject *session);

G_END_DECLS
