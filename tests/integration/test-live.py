#!/usr/bin/python3
"""End-to-end GPT-Live calls: twilio-call-sim → gst-launch-1.0 twiliosrc !
openailive ! twiliosink → realtime-mock's /v1/live/sessions, every piece a
separate process on 127.0.0.1.  The harness (Call, WAV helpers) is
test-call.py's; what is asserted is what the caller and the API observe: the
bytes the caller heard, the sim's summary (marks, clears), the API's event
log, the bridge's exit code and error text.  Peers that never answer are
small raw servers here.

`test-live.py NAME` runs one test (tests/integration/meson.build).
"""
import base64
import hashlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("test_call", os.path.join(HERE, "test-call.py"))
tc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tc)


def live_bridge(*props, path="/v1/live/sessions"):
    return lambda api, port: [
        "gst-launch-1.0", "-m", "twiliosrc", "address=127.0.0.1", f"port={port}", "!",
        "openailive", f"uri={api}{path}", "api-key=test-key", *props, "!", "twiliosink"]


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts and then never says a word,
    or (`upgrade`) completes the WebSocket handshake and then says nothing."""

    def __init__(self, test, upgrade=False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.upgrade = upgrade
        self.frames = []
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()
        test.addCleanup(self.close)

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.upgrade:
                threading.Thread(target=self.handshake, args=(conn,), daemon=True).start()

    def handshake(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        key = next(l.split(b":", 1)[1].strip() for l in data.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        while True:   # read (and keep) what the client sends; answer nothing, not even pings
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            self.frames.append(chunk)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class TestLive(unittest.TestCase):

    def assert_clean_call(self, call):
        self.assertEqual(call.sim_rc, 0, call.describe())
        self.assertEqual(call.summary["violations"], 0, call.describe())
        self.assertEqual(call.bridge_rc, 0, call.describe())
        self.assertEqual(call.api_events("out", "error"), [], call.describe())

    def assert_loud_and_silent(self, call, text):
        """The bridge failed with `text` and the caller heard nothing."""
        self.assertNotEqual(call.bridge_rc, 0, call.describe())
        self.assertIn(text, call.bridge_out, call.describe())
        self.assertEqual(call.summary["bytes_received"], 0, "no audio reached the caller\n" + call.describe())

    def test_echo_byte_exact(self):
        """μ-law end to end: session.start carries the caps' format, the caller hears its words back byte for byte."""
        caller = os.path.join(tempfile.mkdtemp(), "caller.wav")
        tc.make_mulaw_wav(caller, [("silence", 600), ("tone", 500, 1200), ("silence", 2500),
                                   ("tone", 700, 800), ("silence", 2500)])
        call = tc.Call(self, mock_args=["--mode", "echo"], bridge=live_bridge(),
                       sim_args=["--wav", caller, "--linger", "1500"])
        self.assert_clean_call(call)
        start, = call.api_events("in", "session.start")
        self.assertEqual(start["session"]["audio"]["format"], {"type": "audio/pcmu", "rate": 8000})
        self.assertEqual(start["session"]["model"], "gpt-live-1.1")
        _, sent = tc.wav_data(caller)
        _, heard = tc.wav_data(call.heard)
        turns, answers = tc.speech_runs(sent), tc.speech_runs(heard)
        self.assertEqual((len(turns), len(answers)), (2, 2), call.describe())
        # The mock speaks at real time, 100 ms per delta, and the sim plays
        # with no jitter buffer: a delta a little late is a 20 ms frame of
        # silence in the record (an underrun), never a changed byte.
        played = tc.without_underruns(heard)
        for (ts, te), (hs, he) in zip(turns, answers):
            self.assertGreater(hs, te, "an answer comes after its turn")
            self.assertIn(sent[ts:te], played, "the caller's own words, byte for byte")
        self.assertIn("openai-realtime/session", call.bridge_out)
        self.assertIn("role=(string)user", call.bridge_out, "the caller's transcript reached the bus")
        self.assertIn("role=(string)assistant", call.bridge_out, "the agent's transcript reached the bus")

    def barge_in_call(self, *props):
        # Turn 1: 2 s; its echo comes all at once (--live-burst); the caller cuts in 600 ms into it.
        return tc.Call(self, mock_args=["--mode", "echo", "--live-burst"], bridge=live_bridge(*props),
                       sim_args=["--play", "silence:500", "--play", "tone:500:2000", "--play", "silence:1100",
                                 "--play", "tone:700:600", "--play", "silence:2500"])

    def test_barge_in_clears_at_most_the_bound(self):
        """The API sends a 2 s answer at once; Twilio never holds more than max-queued-ms of it, and a barge-in clears that."""
        call = self.barge_in_call()
        self.assert_clean_call(call)
        self.assertEqual(call.summary["clears_received"], 1, call.describe())
        clear = call.summary["clears"][0]
        self.assertGreater(clear["heard_ms"], 300, call.describe())
        self.assertLess(clear["heard_ms"], 1200, "the caller did not hear the whole answer")
        self.assertLessEqual(clear["discarded_ms"], 200, "at most max-queued-ms (200) was unplayed at Twilio")
        api_ms = sum(len(base64.b64decode(e["delta"])) for e in call.api_events("out", "session.output_audio.delta")) // 8
        self.assertGreater(api_ms, 2500, call.describe())
        self.assertLess(call.summary["bytes_received"] // 8, api_ms - 1000,
                        "what the caller was not to hear never reached Twilio")
        self.assertIn("openai-realtime/barge-in", call.bridge_out)
        # what docs/openailive.md states: the caller starts talking 3600 ms into the stream
        print(f"clear {clear['at_ms'] - 3600} ms after the caller's onset; {clear['heard_ms']} ms of the "
              f"answer heard, {clear['discarded_ms']} ms unplayed at Twilio cleared", file=sys.stderr)

    def test_barge_in_without_pacing(self):
        """max-queued-ms=0 sends the burst on at once: the same barge-in then clears all the rest at Twilio."""
        call = self.barge_in_call("max-queued-ms=0")
        self.assert_clean_call(call)
        self.assertEqual(call.summary["clears_received"], 1, call.describe())
        clear = call.summary["clears"][0]
        self.assertGreater(clear["discarded_ms"], 1000, call.describe())
        print(f"unpaced: clear {clear['at_ms'] - 3600} ms after the onset; {clear['discarded_ms']} ms "
              "unplayed at Twilio cleared", file=sys.stderr)

    # twiliosrc's caps are known before any call, so session.start goes at
    # start-up; instructions with a {placeholder} defer it to the call's
    # `start`, which is how these two run with a caller on the line.
    def test_rejected_start_is_loud(self):
        """A rejected session.start during a call ends it with the API's words; the caller hears nothing."""
        call = tc.Call(self, mock_args=["--mode", "echo", "--reject-sessions"],
                       bridge=live_bridge('instructions="Help {name}."'),
                       sim_args=["--param", "name=Ada", "--play", "silence:500", "--play", "tone:500:1000",
                                 "--play", "silence:1500"])
        self.assert_loud_and_silent(call, "the API rejected session.start: The session configuration was rejected")

    def test_wrong_format_is_loud(self):
        """session.started with another format than the caps: STREAM/FORMAT, nothing to the caller."""
        call = tc.Call(self, mock_args=["--mode", "echo", "--live-wrong-format"],
                       bridge=live_bridge('instructions="Help {name}."'),
                       sim_args=["--param", "name=Ada", "--play", "silence:500", "--play", "tone:500:1000",
                                 "--play", "silence:1500"])
        self.assert_loud_and_silent(call, "the API started the session with audio audio/pcm 24000 Hz, "
                                          "but the caps are audio/x-mulaw 8000 Hz")

    def test_strict_settings_unknown_voice_is_loud(self):
        """A voice GPT-Live does not have: the strict session refuses it at start-up, in the API's words."""
        mock = subprocess.Popen([tc.MOCK, "--port", "0"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(mock.kill)
        api = mock.stdout.readline().strip().rsplit(" ", 1)[1]
        proc = subprocess.run(live_bridge("voice=nosuchvoice")(api, tc.free_port()),
                              capture_output=True, text=True, timeout=60)
        out = proc.stdout + proc.stderr
        self.assertNotEqual(proc.returncode, 0, out)
        self.assertIn("the API rejected session.start: Invalid value: 'nosuchvoice'", out.replace("\\", ""))
        self.assertIn("api-param=(string)session.audio.output.voice", out.replace("\\", ""))
        mock.terminate()
        mock.wait(timeout=10)
        mock.stdout.close()

    def test_dtmf_reaches_the_model(self):
        """A key press reaches GPT-Live as an instructions append, acknowledged."""
        call = tc.Call(self, mock_args=["--mode", "echo"], bridge=live_bridge(),
                       sim_args=["--play", "silence:1500", "--dtmf", "5@500", "--linger", "1000"])
        self.assert_clean_call(call)
        appends = call.api_events("in", "session.instructions.append")
        self.assertTrue(any("pressed 5" in a["content"] for a in appends), appends)
        self.assertTrue(call.api_events("out", "session.instructions.appended"))

    def test_greeting_and_placeholders(self):
        """Twilio's <Parameter>s fill {placeholders}; the greeting goes as startup history."""
        call = tc.Call(self, mock_args=["--mode", "echo"],
                       bridge=live_bridge('instructions="Help {name}."', 'greeting="Hello {name}!"'),
                       sim_args=["--param", "name=Ada", "--play", "silence:1000"])
        self.assert_clean_call(call)
        start, = call.api_events("in", "session.start")
        self.assertEqual(start["session"]["instructions"], "Help Ada.")
        self.assertIn('"Hello Ada!"', start["session"]["input"][0]["content"][0]["text"])

    def test_hang_up_tool(self):
        """Responses delegation: the backend calls end_call; the last words play, session.close, the line closes."""
        call = tc.Call(self, mock_args=["--mode", "echo", "--function-call-turn", "2",
                                        "--function-name", "end_call", "--function-args", '{"reason":"bye"}'],
                       bridge=live_bridge("delegation=responses", "responses-model=gpt-5.1"),
                       sim_args=["--play", "silence:500", "--play", "tone:500:1000", "--play", "silence:2500",
                                 "--play", "tone:500:500", "--play", "silence:10000"])
        self.assertEqual((call.sim_rc, call.summary["violations"], call.bridge_rc), (0, 0, 0), call.describe())
        start, = call.api_events("in", "session.start")
        names = [t.get("name") for t in start["session"]["delegation"]["responses"]["tools"]]
        self.assertIn("end_call", names)
        self.assertTrue(call.api_events("in", "session.close"), call.describe())
        self.assertIn("openai-realtime/hang-up", call.bridge_out)
        self.assertIn("reason=(string)bye", call.bridge_out)
        self.assertEqual(call.summary["end"], "server-closed", "the bridge ended the call\n" + call.describe())
        sent = sum(len(base64.b64decode(e["delta"])) for e in call.api_events("out", "session.output_audio.delta"))
        self.assertEqual(call.summary["played_ms"] * 8, sent, "all the agent's audio was played")

    def test_silent_tcp_peer_times_out(self):
        """An API that takes the TCP connection and never answers the upgrade: an error at connect-timeout-ms."""
        server = SilentServer(self)
        call = tc.Call(self, bridge=lambda api, port: live_bridge("connect-timeout-ms=1000")(
            f"ws://127.0.0.1:{server.port}", port),
            sim_args=["--play", "silence:3000"])
        self.assert_loud_and_silent(call, f"no WebSocket handshake from 127.0.0.1:{server.port} within 1000 ms")

    def test_silent_websocket_peer_times_out(self):
        """An API that upgrades and then never answers session.start: an error at confirm-timeout-ms."""
        server = SilentServer(self, upgrade=True)
        call = tc.Call(self, bridge=lambda api, port: live_bridge("confirm-timeout-ms=1000")(
            f"ws://127.0.0.1:{server.port}", port),
            sim_args=["--play", "silence:3000"])
        self.assert_loud_and_silent(call, "the session was not confirmed within 1000 ms: the API did not "
                                          "answer session.start with session.started")
        self.assertTrue(server.frames, "session.start was sent")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + [f"TestLive.{n}" for n in sys.argv[1:]] if len(sys.argv) > 1 else None,
                  verbosity=2)
