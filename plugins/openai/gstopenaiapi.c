/* Shared by openairealtime and openailive: see gstopenaiapi.h. */
#include <config.h>

#include "gstopenaiapi.h"

#include <string.h>

char *
gtr_api_fill_placeholders (const char *text, const GstStructure *params)
{
  GString *out;
  const char *p = text;

  if (!text)
    return NULL;
  out = g_string_new (NULL);
  while (*p) {
    const char *close = NULL;
    if (*p == '{' && params)
      close = strchr (p + 1, '}');
    if (close) {
      g_autofree char *name = g_strndup (p + 1, close - p - 1);
      const char *value = gst_structure_get_string (params, name);
      if (value) {
        g_string_append (out, value);
        p = close + 1;
        continue;
      }
    }
    g_string_append_c (out, *p++);
  }
  return g_string_free (out, FALSE);
}

gboolean
gtr_api_has_placeholder (const char *text)
{
  return text && strchr (text, '{') && strchr (text, '}');
}

char *
gtr_api_key_resolve (const char *property)
{
  const char *env;

  if (property && *property)
    return g_strdup (property);
  env = g_getenv ("OPENAI_API_KEY");
  return env && *env ? g_strdup (env) : NULL;
}

void
gtr_api_key_free (char *key)
{
  if (key)
    memset (key, 0, strlen (key));
  g_free (key);
}

gboolean
gtr_api_is_azure_host (const char *host)
{
  return host && g_str_has_suffix (host, ".openai.azure.com");
}

void
gtr_api_set_auth_header (SoupMessage *msg, const char *host, const char *api_key)
{
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);

  if (gtr_api_is_azure_host (host)) {
    soup_message_headers_replace (headers, "api-key", api_key);
  } else {
    g_autofree char *bearer = g_strdup_printf ("Bearer %s", api_key);
    soup_message_headers_replace (headers, "Authorization", bearer);
  }
}

char *
gtr_api_endpoint (GUri *uri)
{
  const char *scheme = g_uri_get_scheme (uri);
  gboolean secure = g_str_equal (scheme, "wss") || g_str_equal (scheme, "https");

  return g_strdup_printf ("%s:%d", g_uri_get_host (uri),
      g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : secure ? 443 : 80);
}

GTlsDatabase *
gtr_api_load_ca (GstElement *element, const char *ca_file)
{
  g_autoptr (GError) err = NULL;
  GTlsDatabase *db = g_tls_file_database_new (ca_file, &err);

  if (!db)
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
        ("could not read tls-ca-file %s: %s", ca_file, err->message), (NULL));
  return db;
}

GTlsCertificateFlags
gtr_api_verify_with_ca (GTlsDatabase *ca, SoupMessage *msg, GTlsCertificate *cert)
{
  GUri *uri = soup_message_get_uri (msg);
  g_autoptr (GSocketConnectable) identity =
      g_network_address_new (g_uri_get_host (uri), g_uri_get_port (uri));

  return g_tls_database_verify_chain (ca, cert,
      G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, identity, NULL,
      G_TLS_DATABASE_VERIFY_NONE, NULL, NULL);
}

const char *
gtr_api_tls_reason (GTlsCertificateFlags flags)
{
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return "the certificate is signed by an unknown authority";
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return "the certificate does not match the host name";
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    return "the certificate has expired";
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    return "the certificate is not yet valid";
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    return "the certificate has been revoked";
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    return "the certificate uses an insecure algorithm";
  return "the certificate was not accepted";
}

const char *
gtr_api_socket_event_name (gint event)
{
  GEnumClass *klass = g_type_class_ref (G_TYPE_SOCKET_CLIENT_EVENT);
  GEnumValue *value = g_enum_get_value (klass, event);
  const char *nick = value ? value->value_nick : "none";

  g_type_class_unref (klass);
  return nick;                  /* static strings of the registered type */
}

const char *
gtr_api_connect_stall_reason (gint phase)
{
  switch (phase) {
    case G_SOCKET_CLIENT_TLS_HANDSHAKING:
      return "the TLS handshake did not finish (a wss:// URI at a plain-text "
          "server?)";
    case G_SOCKET_CLIENT_CONNECTED:
    case G_SOCKET_CLIENT_PROXY_NEGOTIATING:
    case G_SOCKET_CLIENT_PROXY_NEGOTIATED:
    case G_SOCKET_CLIENT_TLS_HANDSHAKED:
    case G_SOCKET_CLIENT_COMPLETE:
      return "the server accepted the connection but did not answer the "
          "WebSocket upgrade";
    case G_SOCKET_CLIENT_RESOLVED:
    case G_SOCKET_CLIENT_CONNECTING:
      return "no TCP connection was established (the server does not answer)";
    default:                   /* none yet, or resolving */
      return "the host name was not resolved";
  }
}

void
gtr_api_post_handshake_error (GstElement *element, const char *where,
    GError *err, guint status, GTlsCertificateFlags tls_errors)
{
  if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)) {
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
        ("could not connect to %s: connection refused", where),
        ("%s", err->message));
  } else if (err->domain == G_TLS_ERROR || tls_errors) {
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
        ("TLS handshake with %s failed: %s", where,
            tls_errors ? gtr_api_tls_reason (tls_errors) : err->message),
        ("%s", err->message));
  } else if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN) {
    GST_ELEMENT_ERROR_WITH_DETAILS (element, RESOURCE, NOT_AUTHORIZED,
        ("the API rejected the key (HTTP %u)", status), ("%s", err->message),
        ("http-status-code", G_TYPE_UINT, status, NULL));
  } else if (status >= 200 && status != SOUP_STATUS_SWITCHING_PROTOCOLS) {
    GST_ELEMENT_ERROR_WITH_DETAILS (element, RESOURCE, OPEN_READ,
        ("HTTP %u %s from %s", status, soup_status_get_phrase (status), where),
        ("%s", err->message),
        ("http-status-code", G_TYPE_UINT, status, NULL));
  } else {
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
        ("could not connect to %s: %s", where, err->message), (NULL));
  }
}
