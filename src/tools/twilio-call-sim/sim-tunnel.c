/* twilio-call-sim: a tunnel's two origins (see sim-tunnel.h). */
#include "sim-tunnel.h"

#include <string.h>

typedef struct {
  char *host;
  gint port;          /* always explicit */
  gboolean secure;    /* https/wss */
} Origin;

struct _SimTunnel {
  Origin public;
  Origin local;
};

static gboolean
is_secure (const char *scheme)
{
  return g_strcmp0 (scheme, "https") == 0 || g_strcmp0 (scheme, "wss") == 0;
}

static gboolean
is_websocket (const char *scheme)
{
  return g_strcmp0 (scheme, "ws") == 0 || g_strcmp0 (scheme, "wss") == 0;
}

static gint
port_of (GUri *uri)
{
  gint port = g_uri_get_port (uri);

  return port >= 0 ? port : is_secure (g_uri_get_scheme (uri)) ? 443 : 80;
}

static gboolean
origin_of (const char *url, Origin *origin)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;

  if (uri == NULL || (g_strcmp0 (scheme, "http") != 0 && g_strcmp0 (scheme, "https") != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    return FALSE;
  origin->host = g_strdup (g_uri_get_host (uri));
  origin->port = port_of (uri);
  origin->secure = is_secure (scheme);
  return TRUE;
}

SimTunnel *
sim_tunnel_new (const char *public_origin, const char *local_url, GError **error)
{
  g_autoptr (GUri) pub = g_uri_parse (public_origin, G_URI_FLAGS_NONE, NULL);
  g_autoptr (SimTunnel) t = g_new0 (SimTunnel, 1);

  if (pub == NULL || !origin_of (public_origin, &t->public) ||
      (*g_uri_get_path (pub) != '\0' && g_strcmp0 (g_uri_get_path (pub), "/") != 0) ||
      g_uri_get_query (pub) != NULL) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--public-url '%s' must be http(s)://HOST[:PORT] with no path", public_origin);
    return NULL;
  }
  if (!origin_of (local_url, &t->local)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "'%s' is not an http(s) URL", local_url);
    return NULL;
  }
  return g_steal_pointer (&t);
}

void
sim_tunnel_free (SimTunnel *t)
{
  g_free (t->public.host);
  g_free (t->local.host);
  g_free (t);
}

static char *
move (const char *url, const Origin *from, const Origin *to)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GUri) moved = NULL;
  const char *scheme;
  gint default_port;

  if (uri == NULL || g_uri_get_host (uri) == NULL ||
      g_ascii_strcasecmp (g_uri_get_host (uri), from->host) != 0 ||
      port_of (uri) != from->port)
    return g_strdup (url);
  if (is_websocket (g_uri_get_scheme (uri)))
    scheme = to->secure ? "wss" : "ws";
  else
    scheme = to->secure ? "https" : "http";
  default_port = to->secure ? 443 : 80;
  moved = g_uri_build (G_URI_FLAGS_NONE, scheme, g_uri_get_userinfo (uri),
      to->host, to->port == default_port ? -1 : to->port, g_uri_get_path (uri),
      g_uri_get_query (uri), g_uri_get_fragment (uri));
  return g_uri_to_string (moved);
}

char *
sim_tunnel_to_local (const SimTunnel *t, const char *url)
{
  return t ? move (url, &t->public, &t->local) : g_strdup (url);
}

char *
sim_tunnel_to_public (const SimTunnel *t, const char *url)
{
  return t ? move (url, &t->local, &t->public) : g_strdup (url);
}
