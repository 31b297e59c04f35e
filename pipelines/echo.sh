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
# 0.0.0.0 to accept other hosts), STREAM_PATH (/media).  Handshake check:
# PUBLIC_URL (the wss:// URL in the TwiML) with TWILIO_AUTH_TOKEN in the
# environment — twiliosrc reads the token from there itself, so it never
# appears on a command line (`ps`) or in GStreamer's parse log, and answers
# 403 to any handshake Twilio did not sign.  TWILIO_AUTH_TOKEN without
# PUBLIC_URL is refused: the signature cannot be checked.
# See docs/twilio-elements.md.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${GST_PLUGIN_PATH:-}" ] && [ -d "$here/build/plugins" ]; then
  GST_PLUGIN_PATH="$here/build/plugins"
  export GST_PLUGIN_PATH
fi

set -- twiliosrc address="${ADDRESS:-127.0.0.1}" port="${PORT:-8080}" \
  path="${STREAM_PATH:-/media}"
if [ -n "${PUBLIC_URL:-}" ]; then
  set -- "$@" public-url="$PUBLIC_URL"
fi

echo "echo.sh: waiting for one call on ws://${ADDRESS:-127.0.0.1}:${PORT:-8080}${STREAM_PATH:-/media}" >&2
# queue: the network thread hands over to twiliosink's own streaming thread.
exec gst-launch-1.0 -e "$@" ! queue ! twiliosink
