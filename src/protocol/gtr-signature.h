/* X-Twilio-Signature: base64(HMAC-SHA1(auth_token, url + sorted(name+value…))).
 *
 * One function serves the voice webhook (an https URL plus form parameters,
 * repeated names allowed) and the Media Streams handshake (the wss URL, no
 * parameters).  Parameters are sorted by name, then value, byte-wise.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *name;
  const char *value;
} GtrTwilioParam;

/* Newly allocated base64 signature of `url` and `params` (n_params may be 0). */
char *gtr_twilio_signature_compute (const char *auth_token, const char *url,
    const GtrTwilioParam *params, gsize n_params);

/* TRUE when `signature` matches the URL as given, or the URL with its
 * default port added/removed (Twilio signs either form).  The comparison is
 * constant-time.  FALSE for a NULL or empty signature. */
gboolean gtr_twilio_signature_validate (const char *auth_token, const char *url,
    const GtrTwilioParam *params, gsize n_params, const char *signature);

G_END_DECLS
