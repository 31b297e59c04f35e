/* openairealtime: the session's function tools — the user's (the `tools`
 * property, the `tools-file` property) and the built-in call-control tools
 * (`end_call`, `transfer_call`) — and the recent client events an API
 * `error` is matched to.  Plain GLib + json-glib: no element state. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GTR_TOOL_END_CALL "end_call"
#define GTR_TOOL_TRANSFER_CALL "transfer_call"

/* Checks that `json` is a JSON array of tool objects, each with a string
 * "type" and, for a function, a non-empty string "name".  The error names
 * the problem ("element 2 has no \"name\"", "line 3, column 7: …"). */
gboolean gtr_tools_validate (const char *json, GError **error);

/* The text of `path`, validated as above; G_FILE_ERROR when it cannot be
 * read, GTR_PROTOCOL_ERROR when it is not a tools array.  The message
 * starts with the file's name. */
char *gtr_tools_load_file (const char *path, GError **error);

/* One JSON array: the tools of `user` and of `file` (each valid or NULL),
 * then end_call when `hangup` and transfer_call when `transfer` — unless a
 * user tool already has that name (then the name is the user's and
 * `*hangup_on` / `*transfer_on` say FALSE).  NULL when there is no tool. */
char *gtr_tools_combine (const char *user, const char *file, gboolean hangup,
    gboolean transfer, gboolean *hangup_on, gboolean *transfer_on);

/* A transfer target: a phone number ("+15551234567", digits with an
 * optional leading +, 3 to 15 digits) or a SIP URI ("sip:…" or "sips:…"). */
gboolean gtr_transfer_target_is_valid (const char *target);

/* The "reason" string of a function call's arguments (JSON text), or
 * `fallback` when there is none. */
char *gtr_tools_call_reason (const char *arguments, const char *fallback);

/* A bounded record of the client events sent last (event_id → type and what
 * it concerns), oldest forgotten first.  Network thread only.  Audio
 * appends are not noted (50 a second per call would cost a record and a
 * parse each): their ids say what they are (gtr_realtime_event_id_is_audio)
 * and a lookup answers `audio_type` for them, at any age. */
typedef struct _GtrSentEvents GtrSentEvents;

GtrSentEvents *gtr_sent_events_new (guint capacity, const char *audio_type);
void gtr_sent_events_free (GtrSentEvents *sent);
void gtr_sent_events_clear (GtrSentEvents *sent);
/* Records a client event as sent (its JSON text); others are ignored. */
void gtr_sent_events_note (GtrSentEvents *sent, const char *json);
/* The type of the event `event_id` and what it concerns ("item X", …, NULL
 * when nothing), or FALSE when it is not (or no longer) known. */
gboolean gtr_sent_events_lookup (GtrSentEvents *sent, const char *event_id,
    const char **type, const char **subject);

G_END_DECLS
