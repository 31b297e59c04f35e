/* What the two agent elements, openairealtime (Realtime API) and openailive
 * (GPT-Live), share to reach an OpenAI voice API: the key and how a host
 * wants it, the extra CA, a failed handshake as an error a user can act on,
 * where a connect that did not finish stopped, and the call's
 * {placeholders}.  No element state: each element keeps its own connection
 * and calls these on the network thread (the placeholders from any). */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Replace each {name} with the call's custom parameter `name` (Twilio's
 * <Parameter>s); unknown placeholders stay as written.  NULL for NULL. */
char *gtr_api_fill_placeholders (const char *text, const GstStructure *params);
/* Whether `text` may hold a placeholder (a '{' and a '}'). */
gboolean gtr_api_has_placeholder (const char *text);

/* The key: `property` when set and not empty, else OPENAI_API_KEY, else
 * NULL.  Free with gtr_api_key_free(), which wipes it first. */
char *gtr_api_key_resolve (const char *property);
void gtr_api_key_free (char *key);

/* An Azure OpenAI host (*.openai.azure.com): the key goes in `api-key`. */
gboolean gtr_api_is_azure_host (const char *host);
/* Puts the key on the handshake as the host expects it: Azure's api-key
 * header, else Authorization: Bearer. */
void gtr_api_set_auth_header (SoupMessage *msg, const char *host, const char *api_key);

/* "host:port" (443 for wss/https, 80 otherwise), for error texts. */
char *gtr_api_endpoint (GUri *uri);

/* The tls-ca-file as a database; posts RESOURCE/OPEN_READ naming the file
 * and returns NULL when it cannot be read. */
GTlsDatabase *gtr_api_load_ca (GstElement *element, const char *ca_file);
/* The peer's certificate checked against `ca` for the handshake's host:
 * 0 when it is trusted. */
GTlsCertificateFlags gtr_api_verify_with_ca (GTlsDatabase *ca, SoupMessage *msg,
    GTlsCertificate *cert);
/* Why a certificate was refused, in words ("… signed by an unknown authority"). */
const char *gtr_api_tls_reason (GTlsCertificateFlags flags);

/* "tls-handshaking", …, or "none" before the first GSocketClientEvent. */
const char *gtr_api_socket_event_name (gint event);
/* Where a connect that did not finish stopped, from its last
 * GSocketClientEvent (-1: none yet). */
const char *gtr_api_connect_stall_reason (gint phase);

/* A failed WebSocket handshake with `endpoint` as the RESOURCE error a user
 * can act on: refused (OPEN_READ), TLS (OPEN_READ, why the certificate was
 * refused when `tls_errors`), 401/403 (NOT_AUTHORIZED "the API rejected the
 * key"), another HTTP status (OPEN_READ, detail http-status-code). */
void gtr_api_post_handshake_error (GstElement *element, const char *endpoint,
    GError *err, guint status, GTlsCertificateFlags tls_errors);

G_END_DECLS
