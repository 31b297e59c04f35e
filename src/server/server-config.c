/* Command line and environment of twilio-realtime-server.  See
 * server-config.h and docs/server.md. */
#include "server-config.h"
#include "gtr-option-error.h"

#include <string.h>

static gboolean
parse_port (const char *text, guint16 *port)
{
  guint64 value;

  if (!text || !*text || !g_ascii_string_to_unsigned (text, 10, 0, 65535,
          &value, NULL))
    return FALSE;
  *port = (guint16) value;
  return TRUE;
}

/* ADDR:PORT, [V6ADDR]:PORT; the environment's PORT, when set, replaces the
 * port (the convention of PaaS platforms and container runtimes). */
static gboolean
parse_listen (ServerConfig *config, const char *text, GError **error)
{
  const char *colon = strrchr (text, ':');
  g_autofree char *host = NULL;
  const char *env_port = g_getenv ("PORT");
  GInetAddress *address;
  guint16 port;

  if (!colon || colon == text || !parse_port (colon + 1, &port))
    return gtr_option_error (error, "--listen '%s': expected ADDR:PORT, e.g. %s",
        text, SERVER_DEFAULT_LISTEN);
  host = g_strndup (text, colon - text);
  if (host[0] == '[' && host[strlen (host) - 1] == ']') {
    memmove (host, host + 1, strlen (host));
    host[strlen (host) - 1] = '\0';
  }
  if (env_port && !parse_port (env_port, &port))
    return gtr_option_error (error, "PORT='%s' in the environment is not a port "
        "number (0-65535)", env_port);
  address = g_inet_address_new_from_string (host);
  if (!address)
    return gtr_option_error (error, "--listen '%s': '%s' is not an IP address",
        text, host);
  config->listen = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (address, port));
  g_object_unref (address);
  return TRUE;
}

/* https://HOST[:PORT][/PREFIX] (or http:// for a test on loopback): the
 * address Twilio reaches, over which it signs. */
static gboolean
check_public_url (ServerConfig *config, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  const char *scheme;
  gsize len;

  if (!config->public_url)
    return TRUE;
  uri = g_uri_parse (config->public_url, G_URI_FLAGS_NONE, NULL);
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (!uri || !g_uri_get_host (uri) || !*g_uri_get_host (uri)
      || (g_strcmp0 (scheme, "https") != 0 && g_strcmp0 (scheme, "http") != 0)
      || g_uri_get_query (uri) || g_uri_get_fragment (uri))
    return gtr_option_error (error, "--public-url '%s': expected https://HOST[/PREFIX] "
        "(the base URL Twilio reaches, without query)", config->public_url);
  len = strlen (config->public_url);
  while (len > 0 && config->public_url[len - 1] == '/')
    config->public_url[--len] = '\0';
  return TRUE;
}

/* A secret: the first line of FILE (trailing whitespace dropped), else the
 * environment variable.  Errors name the file, never its content. */
static gboolean
read_secret (const char *file, const char *env_name, const char *option,
    char **secret, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *contents = NULL;
  const char *env = g_getenv (env_name);

  if (!file) {
    *secret = env && *env ? g_strdup (env) : NULL;
    return TRUE;
  }
  if (!g_file_get_contents (file, &contents, NULL, &local))
    return gtr_option_error (error, "%s: %s", option, local->message);
  contents[strcspn (contents, "\r\n")] = '\0';
  g_strchomp (contents);
  if (!*contents)
    return gtr_option_error (error, "%s '%s' is empty", option, file);
  *secret = g_steal_pointer (&contents);
  return TRUE;
}

static gboolean
parse_log_format (const char *text, ServerLogFormat *format, GError **error)
{
  if (!text || g_str_equal (text, "text"))
    *format = SERVER_LOG_TEXT;
  else if (g_str_equal (text, "json"))
    *format = SERVER_LOG_JSON;
  else
    return gtr_option_error (error, "--log-format '%s': expected text or json", text);
  return TRUE;
}

static gboolean
check_counts (gint max_calls, gint drain_timeout, gint prestart_timeout,
    ServerConfig *config, GError **error)
{
  if (max_calls < 1)
    return gtr_option_error (error, "--max-calls takes N >= 1");
  if (drain_timeout < 0 || drain_timeout > 86400)
    return gtr_option_error (error, "--drain-timeout takes SECONDS from 0 to 86400");
  if (prestart_timeout < 0 || prestart_timeout > 600)
    return gtr_option_error (error, "--prestart-timeout takes SECONDS from 0 to 600");
  config->max_calls = max_calls;
  config->drain_timeout_s = drain_timeout;
  config->prestart_timeout_s = prestart_timeout;
  return TRUE;
}

/* GOption quotes the whole argument in "Unknown option --api-key=sk-…":
 * say it again with the option's name only. */
static void
redact_unknown_option (GError *error, int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-' && strstr (error->message, argv[i])) {
      g_autofree char *name = g_strndup (argv[i], strcspn (argv[i], "="));

      g_free (error->message);
      error->message = g_strdup_printf ("unknown option %s", name);
      return;
    }
  }
}

typedef struct {
  char *listen;
  char *api_key_file;
  char *auth_token_file;
  char *log_format;
  gint max_calls;
  gint drain_timeout;
  gint prestart_timeout;
  gint http_handshake_timeout;
  gint http_idle_timeout;
  gint network_threads;
} RawOptions;

static gboolean
check_options (ServerConfig *config, RawOptions *raw, GError **error)
{
  if (!config->realtime_url && g_getenv ("OPENAI_REALTIME_URL")
      && *g_getenv ("OPENAI_REALTIME_URL"))
    config->realtime_url = g_strdup (g_getenv ("OPENAI_REALTIME_URL"));
  if (!config->pipeline)
    config->pipeline = g_strdup (SERVER_DEFAULT_PIPELINE);
  if (!parse_listen (config, raw->listen ? raw->listen : SERVER_DEFAULT_LISTEN, error)
      || !check_public_url (config, error)
      || !read_secret (raw->api_key_file, "OPENAI_API_KEY", "--api-key-file",
          &config->api_key, error)
      || !read_secret (raw->auth_token_file, "TWILIO_AUTH_TOKEN",
          "--auth-token-file", &config->auth_token, error)
      || !parse_log_format (raw->log_format, &config->log_format, error)
      || !check_counts (raw->max_calls, raw->drain_timeout, raw->prestart_timeout,
          config, error))
    return FALSE;
  if (raw->http_handshake_timeout < 100 || raw->http_handshake_timeout > 600000
      || raw->http_idle_timeout < 100 || raw->http_idle_timeout > 3600000)
    return gtr_option_error (error, "--http-handshake-timeout takes MS from 100 to "
        "600000, --http-idle-timeout MS from 100 to 3600000");
  config->http_handshake_timeout_ms = raw->http_handshake_timeout;
  config->http_idle_timeout_ms = raw->http_idle_timeout;
  if (raw->network_threads == 0)
    raw->network_threads = MIN (g_get_num_processors (), SERVER_MAX_NETWORK_THREADS);
  if (raw->network_threads < 1 || raw->network_threads > SERVER_MAX_NETWORK_THREADS)
    return gtr_option_error (error, "--network-threads takes N from 1 to %d",
        SERVER_MAX_NETWORK_THREADS);
  config->network_threads = raw->network_threads;
  if (config->auth_token && !config->public_url)
    return gtr_option_error (error, "a Twilio auth token is configured but "
        "--public-url is not: Twilio signs the public URL, so it is needed to "
        "check X-Twilio-Signature");
  return TRUE;
}

gboolean
server_config_parse (ServerConfig *config, int *argc, char ***argv,
    GError **error)
{
  RawOptions raw = { .max_calls = SERVER_DEFAULT_MAX_CALLS,
    .drain_timeout = SERVER_DEFAULT_DRAIN_TIMEOUT_S,
    .prestart_timeout = SERVER_DEFAULT_PRESTART_TIMEOUT_S,
    .http_handshake_timeout = SERVER_DEFAULT_HTTP_HANDSHAKE_TIMEOUT_MS,
    .http_idle_timeout = SERVER_DEFAULT_HTTP_IDLE_TIMEOUT_MS };
  const GOptionEntry entries[] = {
    { "listen", 0, 0, G_OPTION_ARG_STRING, &raw.listen, "Address to listen on "
          "(default " SERVER_DEFAULT_LISTEN "; PORT in the environment replaces the port)", "ADDR:PORT" },
    { "public-url", 0, 0, G_OPTION_ARG_STRING, &config->public_url, "The https "
          "base URL Twilio reaches (a TLS proxy's); used in TwiML and for signatures", "URL" },
    { "realtime-url", 0, 0, G_OPTION_ARG_STRING, &config->realtime_url, "The agent "
          "element's API address, its uri (default OPENAI_REALTIME_URL, else the element's own: "
          "Realtime's, or GPT-Live's for openailive)", "URL" },
    { "api-key-file", 0, 0, G_OPTION_ARG_FILENAME, &raw.api_key_file, "Read the "
          "OpenAI API key from FILE (default: OPENAI_API_KEY from the environment)", "FILE" },
    { "auth-token-file", 0, 0, G_OPTION_ARG_FILENAME, &raw.auth_token_file, "Read "
          "the Twilio auth token from FILE (default: TWILIO_AUTH_TOKEN); when set, "
          "every webhook and handshake must be signed", "FILE" },
    { "agent", 0, 0, G_OPTION_ARG_FILENAME, &config->agent_file, "The agent: a "
          "key file of agent-element properties (docs/server.md)", "FILE" },
    { "pipeline", 0, 0, G_OPTION_ARG_STRING, &config->pipeline, "Per-call pipeline, "
          "a gst-launch description with a twiliosrc and a twiliosink (default \""
          SERVER_DEFAULT_PIPELINE "\")", "DESC" },
    { "max-calls", 0, 0, G_OPTION_ARG_INT, &raw.max_calls, "Concurrent calls "
          "taken; beyond, callers hear an apology (default 100)", "N" },
    { "drain-timeout", 0, 0, G_OPTION_ARG_INT, &raw.drain_timeout, "On SIGTERM/"
          "SIGINT, let calls finish this long, then end them (default 60)", "SECONDS" },
    { "prestart-timeout", 0, 0, G_OPTION_ARG_INT, &raw.prestart_timeout, "Start "
          "a call's pipeline (and agent session) at the webhook, and end it if its "
          "stream has not come within SECONDS (default 10; 0: start at the stream)", "SECONDS" },
    { "http-handshake-timeout", 0, 0, G_OPTION_ARG_INT, &raw.http_handshake_timeout,
          "Close an HTTP connection whose request headers are not complete within "
          "MS (default 5000)", "MS" },
    { "http-idle-timeout", 0, 0, G_OPTION_ARG_INT, &raw.http_idle_timeout, "Close "
          "a kept-alive HTTP connection idle for MS (default 30000)", "MS" },
    { "network-threads", 0, 0, G_OPTION_ARG_INT, &raw.network_threads, "Network "
          "threads the calls are spread over, each call on one (default, or 0: one "
          "per core)", "N" },
    { "record-dir", 0, 0, G_OPTION_ARG_FILENAME, &config->record_dir, "Write "
          "per call a stereo WAV (caller left, agent right) and a transcript "
          "(JSON lines) here", "DIR" },
    { "log-format", 0, 0, G_OPTION_ARG_STRING, &raw.log_format, "text (default) "
          "or json (one object per line)", "FORMAT" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- the multi-call "
      "host: Twilio voice webhook and Media Streams to a voice agent");
  gboolean ok;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Secrets come from the environment "
      "(OPENAI_API_KEY, TWILIO_AUTH_TOKEN) or from files, never from the "
      "command line.\nExit: 0 after a clean stop (SIGTERM/SIGINT), 1 could not "
      "listen, 2 usage error.  Manual: docs/server.md.");
  ok = g_option_context_parse (ctx, argc, argv, error);
  if (!ok && g_error_matches (*error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION))
    redact_unknown_option (*error, *argc, *argv);
  else if (ok && *argc > 1)
    /* not echoed: it might be a secret typed where it does not belong */
    ok = gtr_option_error (error, "unexpected argument: the server takes options only");
  if (ok)
    ok = check_options (config, &raw, error);
  g_free (raw.listen);
  g_free (raw.api_key_file);
  g_free (raw.auth_token_file);
  g_free (raw.log_format);
  return ok;
}

void
server_config_clear (ServerConfig *config)
{
  g_clear_object (&config->listen);
  g_free (config->public_url);
  g_free (config->realtime_url);
  if (config->api_key)
    memset (config->api_key, 0, strlen (config->api_key));
  g_free (config->api_key);
  if (config->auth_token)
    memset (config->auth_token, 0, strlen (config->auth_token));
  g_free (config->auth_token);
  g_free (config->agent_file);
  g_free (config->pipeline);
  g_free (config->record_dir);
  memset (config, 0, sizeof (*config));
}
