/* twilio-call-sim: the voice webhook (see sim-webhook.h). */
#include "sim-webhook.h"

#include <string.h>

G_DEFINE_QUARK (sim-webhook-error-quark, sim_webhook_error)

/* What Twilio's webhook requests say they are. */
#define TWILIO_USER_AGENT "TwilioProxy/1.1"

typedef struct {
  char *url;
  SoupMessage *msg;
  GCancellable *cancellable;   /* ours: the bound and the caller's cancel both trip it */
  GCancellable *caller_cancellable;
  gulong caller_handler;
  guint timer;
  guint timeout_ms;
  gboolean timed_out;
  guint status;
} Request;

static void
request_free (Request *r)
{
  g_clear_handle_id (&r->timer, g_source_remove);
  if (r->caller_cancellable != NULL) {
    g_cancellable_disconnect (r->caller_cancellable, r->caller_handler);
    g_object_unref (r->caller_cancellable);
  }
  g_clear_object (&r->cancellable);
  g_clear_object (&r->msg);
  g_free (r->url);
  g_free (r);
}

/* application/x-www-form-urlencoded, in the order given (names may repeat). */
static char *
form_encode (const GtrTwilioParam *params, gsize n_params)
{
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < n_params; i++) {
    g_autofree char *name = g_uri_escape_string (params[i].name, NULL, FALSE);
    g_autofree char *value = g_uri_escape_string (params[i].value, NULL, FALSE);

    g_string_append_printf (s, "%s%s=%s", i ? "&" : "", name, value);
  }
  return g_string_free (s, FALSE);
}

static void
on_caller_cancelled (GCancellable *caller, gpointer user_data)
{
  g_cancellable_cancel (user_data);
}

static gboolean
on_timeout (gpointer user_data)
{
  Request *r = g_task_get_task_data (user_data);

  r->timer = 0;
  r->timed_out = TRUE;
  g_cancellable_cancel (r->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Request *r = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source),
      result, &error);
  const char *url = r->url;

  g_clear_handle_id (&r->timer, g_source_remove);
  if (body == NULL) {
    if (r->timed_out)
      g_task_return_new_error (task, SIM_WEBHOOK_ERROR, SIM_WEBHOOK_ERROR_TIMEOUT,
          "webhook %s did not answer within %u ms", url, r->timeout_ms);
    else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      g_task_return_error (task, g_steal_pointer (&error));
    else
      g_task_return_new_error (task, SIM_WEBHOOK_ERROR, SIM_WEBHOOK_ERROR_CONNECT,
          "could not reach webhook %s: %s", url, error->message);
    return;
  }
  r->status = soup_message_get_status (r->msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (r->status)) {
    g_task_return_new_error (task, SIM_WEBHOOK_ERROR, SIM_WEBHOOK_ERROR_STATUS,
        "webhook %s answered HTTP %u", url, r->status);
    return;
  }
  g_task_return_pointer (task, g_steal_pointer (&body), (GDestroyNotify) g_bytes_unref);
}

/* The message as Twilio sends it, signed; NULL for a URL libsoup cannot use. */
static SoupMessage *
build_message (const char *method, const char *url, const char *signed_url,
    const GtrTwilioParam *params, gsize n_params, const char *auth_token)
{
  g_autofree char *form = form_encode (params, n_params);
  gboolean post = g_str_equal (method, SOUP_METHOD_POST);
  /* GET: the parameters follow the URL's own query, if it has one */
  g_autofree char *full = post ? g_strdup (url)
      : g_strconcat (url, strchr (url, '?') ? "&" : "?", form, NULL);
  g_autofree char *full_signed = post ? g_strdup (signed_url)
      : g_strconcat (signed_url, strchr (signed_url, '?') ? "&" : "?", form, NULL);
  SoupMessage *msg = post
      ? soup_message_new_from_encoded_form (method, url, g_steal_pointer (&form))
      : soup_message_new (method, full);
  SoupMessageHeaders *headers;

  if (msg == NULL)
    return NULL;
  headers = soup_message_get_request_headers (msg);
  soup_message_headers_replace (headers, "User-Agent", TWILIO_USER_AGENT);
  if (auth_token != NULL) {
    /* POST: the URL and the sorted parameters; GET: the whole URL */
    g_autofree char *sig = gtr_twilio_signature_compute (auth_token, full_signed,
        post ? params : NULL, post ? n_params : 0);

    soup_message_headers_replace (headers, "X-Twilio-Signature", sig);
  }
  return msg;
}

void
sim_webhook_request_async (SoupSession *session, const char *method,
    const char *url, const char *signed_url, const GtrTwilioParam *params,
    gsize n_params, const char *auth_token, guint timeout_ms,
    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (session, NULL, callback, user_data);
  Request *r = g_new0 (Request, 1);

  g_task_set_task_data (task, r, (GDestroyNotify) request_free);
  r->url = g_strdup (url);
  r->msg = build_message (method, url, signed_url ? signed_url : url, params,
      n_params, auth_token);
  if (r->msg == NULL) {
    g_task_return_new_error (task, SIM_WEBHOOK_ERROR, SIM_WEBHOOK_ERROR_CONNECT,
        "'%s' is not a URL the sim can request", url);
    g_object_unref (task);
    return;
  }
  r->cancellable = g_cancellable_new ();
  if (cancellable != NULL) {
    r->caller_cancellable = g_object_ref (cancellable);
    r->caller_handler = g_cancellable_connect (cancellable,
        G_CALLBACK (on_caller_cancelled), r->cancellable, NULL);
  }
  r->timeout_ms = timeout_ms;
  r->timer = g_timeout_add (timeout_ms, on_timeout, task);
  soup_session_send_and_read_async (session, r->msg, G_PRIORITY_DEFAULT,
      r->cancellable, on_read, task);
}

GBytes *
sim_webhook_request_finish (GAsyncResult *result, guint *status, GError **error)
{
  Request *r = g_task_get_task_data (G_TASK (result));

  *status = r->status;
  return g_task_propagate_pointer (G_TASK (result), error);
}
