#!/bin/sh
# One-call Twilio bridge: a phone call to an OpenAI Realtime agent.
#
#   OPENAI_API_KEY=sk-… ./pipelines/bridge.sh
#
# Point a Twilio number's voice webhook at TwiML such as
#   <Response><Connect><Stream url="wss://YOUR-HOST/media"/></Connect></Response>
# with wss://YOUR-HOST forwarded to this machine's port $PORT (default 8080).
# twiliosrc serves that one call and ends with EOS when it ends; the agent
# greets the caller and answers in μ-law 8 kHz, which twiliosink plays back.
#
# Environment: OPENAI_API_KEY (required), PORT (8080), ADDRESS (127.0.0.1: a
# tunnel on this machine; 0.0.0.0 to take connections from elsewhere),
# INSTRUCTIONS, GREETING, VOICE (marin), MODEL (gpt-realtime-2.1), URI (the API;
# e.g. ws://127.0.0.1:PORT/v1/realtime for realtime-mock with
# OPENAI_API_KEY=test-key, as tests/integration does).  The key is read by openairealtime from
# OPENAI_API_KEY, so it never appears on a command line.  See
# docs/openairealtime.md.
set -eu

if [ -z "${OPENAI_API_KEY:-}" ]; then
  echo "bridge.sh: set OPENAI_API_KEY" >&2
  exit 2
fi

# Run from a build tree without installing: meson devenv -C build, or
# GST_PLUGIN_PATH=build/plugins.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${GST_PLUGIN_PATH:-}" ] && [ -d "$here/build/plugins" ]; then
  GST_PLUGIN_PATH="$here/build/plugins"
  export GST_PLUGIN_PATH
fi

exec gst-launch-1.0 -e \
  twiliosrc address="${ADDRESS:-127.0.0.1}" port="${PORT:-8080}" ! \
  openairealtime \
    uri="${URI:-wss://api.openai.com/v1/realtime}" \
    model="${MODEL:-gpt-realtime-2.1}" \
    voice="${VOICE:-marin}" \
    instructions="${INSTRUCTIONS:-You are a friendly, concise phone assistant. Keep answers short.}" \
    greeting="${GREETING:-Hello! How can I help you today?}" ! \
  queue ! \
  twiliosink
