/* The server's configuration: the command line and the environment, checked
 * before anything listens (docs/server.md, "Options").  Secrets come only
 * from the environment or from files, never from argv. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  SERVER_LOG_TEXT,
  SERVER_LOG_JSON,
} ServerLogFormat;

typedef struct {
  GInetSocketAddress *listen;   /* where the SoupServer listens */
  char *public_url;             /* https://HOST[/PREFIX], no trailing slash; NULL: the bound address */
  char *realtime_url;           /* the agent's `uri`, NULL: the element's default */
  char *api_key;                /* secret: OPENAI_API_KEY or --api-key-file */
  char *auth_token;             /* secret: TWILIO_AUTH_TOKEN or --auth-token-file */
  char *agent_file;
  char *pipeline;               /* the per-call gst-launch description */
  guint max_calls;
  guint drain_timeout_s;
  guint prestart_timeout_s;     /* 0: no pre-start at /twiml */
  guint http_handshake_timeout_ms;  /* gtr-http-guard's bounds */
  guint http_idle_timeout_ms;
  guint network_threads;        /* network loops the calls are spread over */
  char *record_dir;
  ServerLogFormat log_format;
} ServerConfig;

#define SERVER_DEFAULT_PIPELINE "twiliosrc ! openairealtime ! twiliosink"
#define SERVER_DEFAULT_LISTEN "127.0.0.1:8080"
#define SERVER_DEFAULT_MAX_CALLS 100
#define SERVER_DEFAULT_DRAIN_TIMEOUT_S 60
#define SERVER_DEFAULT_PRESTART_TIMEOUT_S 10
#define SERVER_DEFAULT_HTTP_HANDSHAKE_TIMEOUT_MS 5000
#define SERVER_DEFAULT_HTTP_IDLE_TIMEOUT_MS 30000
#define SERVER_MAX_NETWORK_THREADS 64   /* GTR_NETLOOP_MAX */

/* Parse argv (GOption) and the environment.  FALSE with `error` set (in
 * G_OPTION_ERROR) on a usage problem; the message never carries a secret.
 * --help prints the manual and exits 0 (GOption's own behaviour). */
gboolean server_config_parse (ServerConfig *config, int *argc, char ***argv,
    GError **error);

void server_config_clear (ServerConfig *config);

G_END_DECLS
