/* gtr-signature.c — X-Twilio-Signature, computed and checked.
 *
 * signature = base64 (HMAC-SHA1 (auth_token, url + name1 + value1 + …)),
 * the parameters sorted by name, then value, byte-wise.  Twilio may sign
 * the URL with or without its default port, so the check also tries the
 * other form.
 */
#include "gtr-protocol.h"

#include <string.h>

static int
compare_params (const void *a, const void *b)
{
  const GtrTwilioParam *pa = *(const GtrTwilioParam *const *) a;
  const GtrTwilioParam *pb = *(const GtrTwilioParam *const *) b;
  int by_name = strcmp (pa->name, pb->name);   /* strcmp compares as unsigned char */

  return by_name != 0 ? by_name : strcmp (pa->value, pb->value);
}

char *
gtr_twilio_signature_compute (const char *auth_token, const char *url,
    const GtrTwilioParam *params, gsize n_params)
{
  g_autoptr (GHmac) hmac = NULL;
  g_autofree const GtrTwilioParam **sorted = NULL;
  guint8 digest[20];
  gsize digest_len = sizeof digest;

  g_return_val_if_fail (auth_token != NULL && url != NULL, NULL);
  g_return_val_if_fail (params != NULL || n_params == 0, NULL);

  sorted = g_new (const GtrTwilioParam *, n_params + 1);
  for (gsize i = 0; i < n_params; i++) {
    g_return_val_if_fail (params[i].name != NULL && params[i].value != NULL, NULL);
    sorted[i] = &params[i];
  }
  qsort (sorted, n_params, sizeof *sorted, compare_params);

  hmac = g_hmac_new (G_CHECKSUM_SHA1, (const guchar *) auth_token, strlen (auth_token));
  g_hmac_update (hmac, (const guchar *) url, -1);
  for (gsize i = 0; i < n_params; i++) {
    g_hmac_update (hmac, (const guchar *) sorted[i]->name, -1);
    g_hmac_update (hmac, (const guchar *) sorted[i]->value, -1);
  }
  g_hmac_get_digest (hmac, digest, &digest_len);
  return g_base64_encode (digest, digest_len);
}

static gint
default_port (const char *scheme)
{
  if (g_ascii_strcasecmp (scheme, "https") == 0 || g_ascii_strcasecmp (scheme, "wss") == 0)
    return 443;
  if (g_ascii_strcasecmp (scheme, "http") == 0 || g_ascii_strcasecmp (scheme, "ws") == 0)
    return 80;
  return -1;
}

/* The URL with its default port written out if it has none, or without it
 * if it has the default one; NULL when neither applies.  Path and query
 * stay as they are (not decoded, not re-encoded). */
static char *
url_with_port_toggled (const char *url)
{
  const GUriFlags flags = G_URI_FLAGS_ENCODED | G_URI_FLAGS_NON_DNS;
  g_autoptr (GUri) uri = g_uri_parse (url, flags, NULL);
  g_autoptr (GUri) other = NULL;
  char *result;
  gsize scheme_len;
  gint port, dflt;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return NULL;
  port = g_uri_get_port (uri);
  dflt = default_port (g_uri_get_scheme (uri));
  if (dflt < 0 || (port != -1 && port != dflt))
    return NULL;
  other = g_uri_build (flags, g_uri_get_scheme (uri), g_uri_get_userinfo (uri),
      g_uri_get_host (uri), port == -1 ? dflt : -1, g_uri_get_path (uri),
      g_uri_get_query (uri), g_uri_get_fragment (uri));
  result = g_uri_to_string (other);
  /* GUri lowercases the scheme: keep it as it was written. */
  scheme_len = strlen (g_uri_get_scheme (uri));
  if (g_ascii_strncasecmp (result, url, scheme_len) == 0)
    memcpy (result, url, scheme_len);
  return result;
}

/* Compares all of `expected` whatever the inputs, so the time taken does
 * not tell how much of a forged signature was right. */
static gboolean
constant_time_equal (const char *expected, const char *given)
{
  gsize expected_len = strlen (expected);
  gsize given_len = strlen (given);
  guint diff = expected_len != given_len;

  for (gsize i = 0; i < expected_len; i++) {
    guchar g = i < given_len ? (guchar) given[i] : 0;

    diff |= (guchar) expected[i] ^ g;
  }
  return diff == 0;
}

static gboolean
signature_matches (const char *auth_token, const char *url,
    const GtrTwilioParam *params, gsize n_params, const char *signature)
{
  g_autofree char *expected = gtr_twilio_signature_compute (auth_token, url,
      params, n_params);

  return expected != NULL && constant_time_equal (expected, signature);
}

gboolean
gtr_twilio_signature_validate (const char *auth_token, const char *url,
    const GtrTwilioParam *params, gsize n_params, const char *signature)
{
  g_autofree char *other_url = NULL;
  gboolean as_given, other_form = FALSE;

  g_return_val_if_fail (auth_token != NULL && url != NULL, FALSE);
  if (signature == NULL || signature[0] == '\0')
    return FALSE;

  as_given = signature_matches (auth_token, url, params, n_params, signature);
  other_url = url_with_port_toggled (url);
  if (other_url != NULL)
    other_form = signature_matches (auth_token, other_url, params, n_params, signature);
  return as_given | other_form;
}
