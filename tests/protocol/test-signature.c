/* Tests of X-Twilio-Signature (src/protocol/gtr-signature.c) against the
 * vectors in $GTR_TESTS_DATA/signature-vectors.json, read with json-glib. */
#include "gtr-protocol.h"

#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  char *url;
  GtrTwilioParam *params;
  gsize n_params;
  char *signature;
} Vector;

static char *auth_token;
static GPtrArray *vectors;   /* of Vector*, NULL when the data is absent */

static void
vector_free (Vector *v)
{
  for (gsize i = 0; i < v->n_params; i++) {
    g_free ((char *) v->params[i].name);
    g_free ((char *) v->params[i].value);
  }
  g_free (v->params);
  g_free (v->url);
  g_free (v->signature);
  g_free (v);
}

static Vector *
vector_from_json (JsonObject *obj)
{
  Vector *v = g_new0 (Vector, 1);
  JsonArray *params = json_object_get_array_member (obj, "params");

  v->url = g_strdup (json_object_get_string_member (obj, "url"));
  v->signature = g_strdup (json_object_get_string_member (obj, "signature"));
  v->n_params = json_array_get_length (params);
  v->params = g_new0 (GtrTwilioParam, v->n_params + 1);
  for (guint i = 0; i < v->n_params; i++) {
    JsonArray *pair = json_array_get_array_element (params, i);

    v->params[i].name = g_strdup (json_array_get_string_element (pair, 0));
    v->params[i].value = g_strdup (json_array_get_string_element (pair, 1));
  }
  return v;
}

static gboolean
load_vectors (void)
{
  const char *dir = g_getenv ("GTR_TESTS_DATA");
  g_autofree char *path = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *root;
  JsonArray *list;

  if (dir == NULL)
    return FALSE;
  path = g_build_filename (dir, "signature-vectors.json", NULL);
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  auth_token = g_strdup (json_object_get_string_member (root, "auth_token"));
  list = json_object_get_array_member (root, "vectors");
  vectors = g_ptr_array_new_with_free_func ((GDestroyNotify) vector_free);
  for (guint i = 0; i < json_array_get_length (list); i++)
    g_ptr_array_add (vectors, vector_from_json (json_array_get_object_element (list, i)));
  return TRUE;
}

static gboolean
validate (const char *token, const Vector *v, const char *url, const char *signature)
{
  return gtr_twilio_signature_validate (token, url, v->params, v->n_params, signature);
}

static gboolean
skip_without_vectors (void)
{
  if (vectors != NULL)
    return FALSE;
  g_test_skip ("GTR_TESTS_DATA is not set (run through meson test)");
  return TRUE;
}

/* A different character in the same alphabet class, never equal to c. */
static char
other_char (char c)
{
  if (g_ascii_isdigit (c))
    return c == '9' ? '0' : c + 1;
  if (g_ascii_isupper (c))
    return c == 'Z' ? 'A' : c + 1;
  if (g_ascii_islower (c))
    return c == 'z' ? 'a' : c + 1;
  return c == '+' ? '/' : '+';
}

static void
test_vectors (void)
{
  if (skip_without_vectors ())
    return;
  g_assert_cmpuint (vectors->len, >=, 5);
  for (guint i = 0; i < vectors->len; i++) {
    const Vector *v = vectors->pdata[i];
    g_autofree char *computed = gtr_twilio_signature_compute (auth_token, v->url,
        v->params, v->n_params);

    g_assert_cmpstr (computed, ==, v->signature);
    g_assert_true (validate (auth_token, v, v->url, v->signature));
  }
}

/* Changing any one character of anything signed breaks the signature. */
static void
test_one_character_changes (void)
{
  if (skip_without_vectors ())
    return;
  for (guint i = 0; i < vectors->len; i++) {
    const Vector *v = vectors->pdata[i];
    g_autofree char *signature = g_strdup (v->signature);
    g_autofree char *url = g_strdup (v->url);
    g_autofree char *token = g_strdup (auth_token);

    for (gsize k = 0; signature[k]; k++) {
      char saved = signature[k];

      signature[k] = other_char (saved);
      g_assert_false (validate (auth_token, v, v->url, signature));
      signature[k] = saved;
    }
    for (gsize k = 0; url[k]; k++) {
      char saved = url[k];

      url[k] = other_char (saved);
      g_assert_false (validate (auth_token, v, url, v->signature));
      url[k] = saved;
    }
    for (gsize k = 0; token[k]; k++) {
      char saved = token[k];

      token[k] = other_char (saved);
      g_assert_false (validate (token, v, v->url, v->signature));
      token[k] = saved;
    }
  }
}

static void
change_each_char (Vector *v, char *text)
{
  for (gsize k = 0; text[k]; k++) {
    char saved = text[k];

    text[k] = other_char (saved);
    g_assert_false (validate (auth_token, v, v->url, v->signature));
    text[k] = saved;
  }
  g_assert_true (validate (auth_token, v, v->url, v->signature));
}

static void
test_param_changes (void)
{
  if (skip_without_vectors ())
    return;
  for (guint i = 0; i < vectors->len; i++) {
    Vector *v = vectors->pdata[i];

    for (gsize p = 0; p < v->n_params; p++) {
      change_each_char (v, (char *) v->params[p].name);
      change_each_char (v, (char *) v->params[p].value);
    }
    /* one parameter fewer */
    if (v->n_params > 0) {
      v->n_params--;
      g_assert_false (validate (auth_token, v, v->url, v->signature));
      v->n_params++;
    }
  }
}

/* Signed with the default port, checked without it, and the other way. */
static void
test_default_port_equivalence (void)
{
  const Vector *plain, *with_port, *custom_port;

  if (skip_without_vectors ())
    return;
  plain = vectors->pdata[0];
  with_port = vectors->pdata[1];
  custom_port = vectors->pdata[2];
  g_assert_true (validate (auth_token, plain, plain->url, with_port->signature));
  g_assert_true (validate (auth_token, with_port, with_port->url, plain->signature));
  /* a port other than the default one is part of what was signed */
  g_assert_false (validate (auth_token, custom_port,
      "http://mycompany.com/myapp.php?foo=1&bar=2", custom_port->signature));
}

/* The same, for each scheme, computed here (compute is checked above). */
static void
test_default_port_per_scheme (void)
{
  const struct { const char *without, *with; } pairs[] = {
    { "wss://example.ngrok.app/media", "wss://example.ngrok.app:443/media" },
    { "https://h.example/v?a=%20b&c", "https://h.example:443/v?a=%20b&c" },
    { "ws://127.0.0.1/media", "ws://127.0.0.1:80/media" },
    { "http://h.example/voice", "http://h.example:80/voice" },
    { "HTTPS://h.example/x", "HTTPS://h.example:443/x" },
    { "https://u:p@H.Example.COM?Q=%2F#f", "https://u:p@H.Example.COM:443?Q=%2F#f" },
  };
  const char *not_default[][2] = {
    { "https://h.example/x", "https://h.example:80/x" },
    { "http://h.example/x", "http://h.example:443/x" },
    { "wss://h.example/x", "wss://h.example:8443/x" },
    { "ftp://h.example/x", "ftp://h.example:21/x" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++) {
    g_autofree char *sig_without = gtr_twilio_signature_compute ("tok", pairs[i].without, NULL, 0);
    g_autofree char *sig_with = gtr_twilio_signature_compute ("tok", pairs[i].with, NULL, 0);

    g_assert_cmpstr (sig_with, !=, sig_without);
    g_assert_true (gtr_twilio_signature_validate ("tok", pairs[i].without, NULL, 0, sig_with));
    g_assert_true (gtr_twilio_signature_validate ("tok", pairs[i].with, NULL, 0, sig_without));
  }
  for (guint i = 0; i < G_N_ELEMENTS (not_default); i++) {
    g_autofree char *sig_with = gtr_twilio_signature_compute ("tok", not_default[i][1], NULL, 0);
    g_autofree char *sig_without = gtr_twilio_signature_compute ("tok", not_default[i][0], NULL, 0);

    g_assert_false (gtr_twilio_signature_validate ("tok", not_default[i][0], NULL, 0, sig_with));
    g_assert_false (gtr_twilio_signature_validate ("tok", not_default[i][1], NULL, 0, sig_without));
  }
}

static void
test_bad_signatures_rejected (void)
{
  const Vector *v;
  g_autofree char *longer = NULL;
  g_autofree char *shorter = NULL;

  if (skip_without_vectors ())
    return;
  v = vectors->pdata[0];
  longer = g_strconcat (v->signature, "A", NULL);
  shorter = g_strndup (v->signature, strlen (v->signature) - 1);
  g_assert_false (validate (auth_token, v, v->url, NULL));
  g_assert_false (validate (auth_token, v, v->url, ""));
  g_assert_false (validate (auth_token, v, v->url, longer));
  g_assert_false (validate (auth_token, v, v->url, shorter));
  g_assert_false (validate (auth_token, v, v->url, "not base64 at all!"));
  g_assert_false (validate ("", v, v->url, v->signature));
}

/* Sorting is by name, then value, byte-wise; the caller's order does not matter. */
static void
test_parameter_order (void)
{
  const GtrTwilioParam a[] = { { "b", "1" }, { "a", "2" }, { "a", "1" }, { "B", "0" }, { "\xc3\xa9", "x" } };
  const GtrTwilioParam b[] = { { "\xc3\xa9", "x" }, { "a", "1" }, { "B", "0" }, { "b", "1" }, { "a", "2" } };
  g_autofree char *sig_a = gtr_twilio_signature_compute ("tok", "https://h/x", a, G_N_ELEMENTS (a));
  g_autofree char *sig_b = gtr_twilio_signature_compute ("tok", "https://h/x", b, G_N_ELEMENTS (b));
  /* sorted: B0 a1 a2 b1 éx (uppercase before lowercase, UTF-8 after ASCII) */
  g_autofree char *sig_concat = gtr_twilio_signature_compute ("tok",
      "https://h/xB0a1a2b1\xc3\xa9x", NULL, 0);

  g_assert_cmpstr (sig_a, ==, sig_b);
  g_assert_cmpstr (sig_a, ==, sig_concat);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  load_vectors ();
  g_test_add_func ("/signature/vectors", test_vectors);
  g_test_add_func ("/signature/one-char-change/signature-url-token", test_one_character_changes);
  g_test_add_func ("/signature/one-char-change/params", test_param_changes);
  g_test_add_func ("/signature/default-port/vectors", test_default_port_equivalence);
  g_test_add_func ("/signature/default-port/per-scheme", test_default_port_per_scheme);
  g_test_add_func ("/signature/bad-signatures", test_bad_signatures_rejected);
  g_test_add_func ("/signature/parameter-order", test_parameter_order);
  status = g_test_run ();
  g_clear_pointer (&vectors, g_ptr_array_unref);
  g_free (auth_token);
  return status;
}
