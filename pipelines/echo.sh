#!/bin/sh
# One-call loopback over Twilio: dial your Twilio number and hear yourself.
#
#   ./pipelines/echo.sh                 # listens on 127.0.0.1:8080/media
#   PORT=9000 ./pipelines/echo.sh
#
# How to point a Twilio number at it:
#   1. Expose the port over TLS with a tunnel, e.g.
#        ngrok http 8080        (gives https://abc123.ngrok.app)
#        cloudflared tunnel --url http://127.0.0.1:8080
#   2. In the Twilio console, set the number's "A call comes in" webhook to a
#      TwiML Bin (or any URL returning) this TwiML, with the tunnel's host:
#        <Response>
#          <Connect><Stream url="wss://abc123.ngrok.app/media"/></Connect>
#        </Response>
#   3. Run this script, then call the number.  twiliosrc serves that one call;
#      the pipeline ends (EOS) when you hang up.
#
# Environment: PORT (8080), ADDRESS (127.0.0.1: a tunnel connects locally;
# 0.0.0.0 to accept other hosts), STREAM_PATH (/media).  Optional handshake
# check: PUBLIC_URL (the wss:// URL in the TwiML) and TWILIO_AUTH_TOKEN —
# twiliosrc then answers 403 to any handshake Twilio did not sign.  The
# token is passed as a property on gst-launch's command line, so it is
# visible to other users of this machine in `ps`; use the embedded API
# (docs/twilio-elements.md) where that matters.
# See docs/twilio-elements.md.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${GST_PLUGIN_PATH:-}" ] && [ -d "$here/build/plugins" ]; then
  GST_PLUGIN_PATH="$here/build/plugins"
  export GST_PLUGIN_PATH
fi

set -- twiliosrc address="${ADDRESS:-127.0.0.1}" port="${PORT:-8080}" \
  path="${STREAM_PATH:-/media}"
if [ -n "${PUBLIC_URL:-}" ] && [ -n "${TWILIO_AUTH_TOKEN:-}" ]; then
  set -- "$@" public-url="$PUBLIC_URL" auth-token="$TWILIO_AUTH_TOKEN"
fi

echo "echo.sh: waiting for one call on ws://${ADDRESS:-127.0.0.1}:${PORT:-8080}${STREAM_PATH:-/media}" >&2
# queue: the network thread hands over to twiliosink's own streaming thread.
exec gst-launch-1.0 -e "$@" ! queue ! twiliosink
