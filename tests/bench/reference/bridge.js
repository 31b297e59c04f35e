#!/usr/bin/env node
// The reference bridge of the benchmark (docs/performance.md): a Twilio Media
// Streams ↔ OpenAI Realtime bridge written the way the common sample bridges
// are — one Node.js process, the `ws` package (Debian's node-ws), the μ-law
// payload passed through as base64 text, a mark after every audio delta.
// It is what we compare twilio-realtime-server against, so it does what they
// do and nothing cleverer; it is our own code, from the documented protocols
// (../shared/README.md), not a copy of any sample.
//
//   NODE_PATH=/usr/share/nodejs node bridge.js --port 0 --realtime-url ws://127.0.0.1:P/v1/realtime
//
// Prints "reference-bridge listening on ws://127.0.0.1:PORT/media" once it
// listens.  The API key comes from OPENAI_API_KEY (never argv).  Exits on
// SIGTERM/SIGINT.
'use strict';

const http = require('http');
const { WebSocket, WebSocketServer } = require('ws');

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = parseInt(option('--port', '8081'), 10);
const realtimeUrl = option('--realtime-url', 'wss://api.openai.com/v1/realtime?model=gpt-realtime');
const apiKey = process.env.OPENAI_API_KEY || '';

// GA session.update: μ-law both ways, so the payload passes through.
const sessionUpdate = JSON.stringify({
  type: 'session.update',
  session: {
    type: 'realtime',
    output_modalities: ['audio'],
    audio: {
      input: { format: { type: 'audio/pcmu' }, turn_detection: { type: 'server_vad' } },
      output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
    },
    instructions: 'You are a helpful assistant.',
  },
});

function bridge(twilio) {
  let streamSid = null;
  let marks = 0;
  const api = new WebSocket(realtimeUrl, { headers: { Authorization: `Bearer ${apiKey}` } });
  let apiOpen = false;

  api.on('open', () => {
    apiOpen = true;
    api.send(sessionUpdate);
  });
  api.on('message', (data) => {
    let event;
    try {
      event = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (event.type === 'response.output_audio.delta' && streamSid) {
      twilio.send(JSON.stringify({ event: 'media', streamSid, media: { payload: event.delta } }));
      twilio.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: `m${++marks}` } }));
    } else if (event.type === 'input_audio_buffer.speech_started' && streamSid) {
      twilio.send(JSON.stringify({ event: 'clear', streamSid }));
    } else if (event.type === 'error') {
      console.error(`reference-bridge: API error: ${JSON.stringify(event.error)}`);
    }
  });
  api.on('error', (e) => console.error(`reference-bridge: API socket: ${e.message}`));
  api.on('close', () => twilio.close());

  twilio.on('message', (data) => {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (e) {
      return;
    }
    switch (msg.event) {
      case 'start':
        streamSid = msg.start.streamSid;
        break;
      case 'media':
        if (apiOpen)
          api.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: msg.media.payload }));
        break;
      case 'stop':
        api.close();
        break;
      default:
        break;   // connected, mark (echoed), dtmf
    }
  });
  twilio.on('close', () => {
    if (api.readyState === WebSocket.OPEN || api.readyState === WebSocket.CONNECTING)
      api.terminate();
  });
  twilio.on('error', () => {});
}

const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ server, path: '/media' });   // permessage-deflate: off by default
wss.on('connection', bridge);
server.listen(port, '127.0.0.1', () => {
  console.log(`reference-bridge listening on ws://127.0.0.1:${server.address().port}/media`);
});
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => process.exit(0));
