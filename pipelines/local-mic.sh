#!/bin/sh
# Talk to an OpenAI Realtime agent from this machine's microphone and
# speakers: no phone, no Twilio.
#
#   OPENAI_API_KEY=sk-… ./pipelines/local-mic.sh
#
# The microphone is converted to S16LE 24 kHz mono (the API's PCM format, the
# best quality it carries); the agent's answer comes back in the same format.
# The unbounded queue keeps the clock-synced audio sink from holding up the
# network thread that pushes the agent's audio (see docs/openairealtime.md).
# Use headphones: the agent hearing itself counts as the caller speaking.
#
# Environment: OPENAI_API_KEY (required), INSTRUCTIONS, GREETING, VOICE,
# MODEL, URI (e.g. ws://127.0.0.1:PORT/v1/realtime for realtime-mock, with
# OPENAI_API_KEY=test-key), MIC and SPEAKER (the source and sink elements:
# autoaudiosrc / autoaudiosink; tests/integration uses a live test tone and
# a fakesink).
set -eu

if [ -z "${OPENAI_API_KEY:-}" ]; then
  echo "local-mic.sh: set OPENAI_API_KEY" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${GST_PLUGIN_PATH:-}" ] && [ -d "$here/build/plugins" ]; then
  GST_PLUGIN_PATH="$here/build/plugins"
  export GST_PLUGIN_PATH
fi

exec gst-launch-1.0 -e \
  ${MIC:-autoaudiosrc} ! audioconvert ! audioresample ! \
  openairealtime \
    uri="${URI:-wss://api.openai.com/v1/realtime}" \
    model="${MODEL:-gpt-realtime-2.1}" \
    voice="${VOICE:-marin}" \
    noise-reduction=far-field \
    instructions="${INSTRUCTIONS:-You are a helpful voice assistant. Keep answers short.}" \
    greeting="${GREETING:-Hi! What would you like to talk about?}" ! \
  queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! \
  audioconvert ! audioresample ! ${SPEAKER:-autoaudiosink}
