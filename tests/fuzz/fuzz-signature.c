/* libFuzzer target: X-Twilio-Signature.
 *
 * The input is lines: the auth token, the URL, then parameters as
 * "name=value", and last the signature to check.  compute and validate
 * run on every input; validate must accept what compute produced, and
 * reject the empty signature. */
#include "gtr-protocol.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static GtrTwilioParam *
split_params (char **lines, gsize n, GPtrArray *owned)
{
  GtrTwilioParam *params = g_new0 (GtrTwilioParam, n + 1);

  for (gsize i = 0; i < n; i++) {
    char **pair = g_strsplit (lines[i], "=", 2);

    params[i].name = pair[0] ? pair[0] : "";
    params[i].value = pair[0] && pair[1] ? pair[1] : "";
    g_ptr_array_add (owned, pair);
  }
  return params;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GPtrArray) owned = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  guint n = g_strv_length (lines);
  const char *token = n > 0 ? lines[0] : "";
  const char *url = n > 1 ? lines[1] : "";
  const char *signature = n > 2 ? lines[n - 1] : NULL;
  gsize n_params = n > 3 ? n - 3 : 0;
  g_autofree GtrTwilioParam *params = split_params (lines + MIN (n, 2), n_params, owned);
  g_autofree char *computed = gtr_twilio_signature_compute (token, url, params, n_params);

  gtr_twilio_signature_validate (token, url, params, n_params, signature);
  if (computed == NULL || strlen (computed) != 28)
    g_error ("compute gave %s", computed ? computed : "NULL");
  if (!gtr_twilio_signature_validate (token, url, params, n_params, computed))
    g_error ("validate rejected what compute produced");
  if (gtr_twilio_signature_validate (token, url, params, n_params, ""))
    g_error ("validate accepted an empty signature");
  return 0;
}
