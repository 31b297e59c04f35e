/* twilio-call-sim: one voice-webhook request, made as Twilio makes it.
 *
 * POST: the parameters form-encoded in the body; GET: in the query string.
 * Signed with X-Twilio-Signature when given a token (over the URL and the
 * POST parameters, or over the whole GET URL).  The answer must be 2xx and
 * arrive within the bound; its body is the TwiML.
 */
#pragma once

#include "gtr-signature.h"

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define SIM_WEBHOOK_ERROR (sim_webhook_error_quark ())
GQuark sim_webhook_error_quark (void);

typedef enum {
  SIM_WEBHOOK_ERROR_CONNECT,   /* refused, TLS, the peer closed without answering */
  SIM_WEBHOOK_ERROR_STATUS,    /* an answer that is not 2xx */
  SIM_WEBHOOK_ERROR_TIMEOUT,   /* no answer within the bound */
} SimWebhookError;

/* Strings are copied: the caller may free them once this returns.  The
 * signature is over `signed_url` (the public form of `url` behind a tunnel;
 * NULL: `url`).  A cancelled `cancellable` ends the request with
 * G_IO_ERROR_CANCELLED. */
void sim_webhook_request_async (SoupSession *session, const char *method,
    const char *url, const char *signed_url, const GtrTwilioParam *params, gsize n_params,
    const char *auth_token, guint timeout_ms, GCancellable *cancellable,
    GAsyncReadyCallback callback, gpointer user_data);

/* The body, or NULL with the error.  `status` is the HTTP status when there
 * was an answer (also a non-2xx one), 0 otherwise. */
GBytes *sim_webhook_request_finish (GAsyncResult *result, guint *status,
    GError **error);

G_END_DECLS
