/* twilio-call-sim: what a tunnel (ngrok) or a balancer does between Twilio
 * and a local server: Twilio uses the public origin (https://example.ngrok.app),
 * the requests land on the local one (http://127.0.0.1:8080).
 *
 * With --public-url the sim sends to the local origin and signs over the
 * public URL, as Twilio would have; a URL of the public origin in TwiML
 * (a <Stream url>, an absolute <Redirect>) is sent to the local origin.
 * Only the scheme, host and port change; ws:// and wss:// follow http:// and
 * https://.  A NULL tunnel changes nothing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SimTunnel SimTunnel;

/* `public_origin`: http(s)://HOST[:PORT] with no path; `local_url`: any
 * http(s) URL on the local origin.  NULL with a usage message otherwise. */
SimTunnel *sim_tunnel_new (const char *public_origin, const char *local_url,
    GError **error);
void sim_tunnel_free (SimTunnel *tunnel);

/* `url` moved to the other origin when it is on this one; else a copy. */
char *sim_tunnel_to_local (const SimTunnel *tunnel, const char *url);
char *sim_tunnel_to_public (const SimTunnel *tunnel, const char *url);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SimTunnel, sim_tunnel_free)

G_END_DECLS
