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
import json
import os
import re
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


def client_event_validator():
    import jsonschema
    with open(os.path.join(os.environ["GTR_TESTS_DATA"], "openai-live", "live.schema.json")) as f:
        bundle = json.load(f)
    return jsonschema.Draft202012Validator({"$defs": bundle["$defs"], "$ref": "#/$defs/ClientEvent"})


def invalid_sent(events):
    """Every client event the element sent, against the strict schema: the problems, [] when none."""
    validator = client_event_validator()
    return [f"{e['event'].get('type')}: {err.message}" for e in events if e.get("dir") == "in"
            for err in validator.iter_errors(e["event"])]


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
        self.assertEqual(invalid_sent(call.events), [], "everything sent is valid under the strict schema")

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
        # the API's param, in the error's debug text (and its details)
        self.assertIn("code invalid_value, param session.audio.output.voice", out)
        mock.terminate()
        mock.wait(timeout=10)
        mock.stdout.close()

    # (caps, encoder) and settings: each run sends session.start from the caps
    # and the properties; the strict mock must start it, and every event sent
    # must validate against the schema.
    MATRIX = [
        ("audio/x-raw,format=S16LE,rate=8000,channels=1", "mulawenc", [], "audio/pcmu"),
        ("audio/x-raw,format=S16LE,rate=8000,channels=1", "alawenc", ["voice=cedar"], "audio/pcma"),
        ("audio/x-raw,format=S16LE,rate=16000,channels=1", None,
         ['greeting="Hello there."', 'instructions="Be brief."', "custom-voice-id=voice_1234"], "audio/pcm"),
        ("audio/x-raw,format=S16LE,rate=24000,channels=1", None,
         ["delegation=responses", "responses-model=gpt-5.1", 'responses-instructions="Look things up."',
          "tools-file={tools}", "tool-choice=auto", "hangup-tool=false"], "audio/pcm"),
        ("audio/x-raw,format=S16LE,rate=24000,channels=1", None,
         ["delegation=responses", "responses-model=gpt-5.1", "model=gpt-live-1"], "audio/pcm"),
    ]

    def test_settings_matrix_is_valid(self):
        """Every format and a matrix of settings: session.start is started by the strict mock, all sent events
        validate against the schema, and the confirmed format is the caps'."""
        d = tempfile.mkdtemp(prefix="gtr-live-matrix-")
        log = os.path.join(d, "api.jsonl")
        tools = os.path.join(d, "tools.json")
        with open(tools, "w") as f:
            json.dump([{"type": "function", "name": "lookup", "description": "Look up an order",
                        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}], f)
        mock = subprocess.Popen([tc.MOCK, "--port", "0", "--log", log], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(mock.kill)
        api = mock.stdout.readline().strip().rsplit(" ", 1)[1]
        for caps, enc, props, wire in self.MATRIX:
            with self.subTest(caps=caps, enc=enc, props=props):
                argv = ["gst-launch-1.0", "-m", "audiotestsrc", "is-live=true", "wave=silence",
                        "samplesperbuffer=160", "num-buffers=40", "!", caps, "!"]
                if enc:
                    argv += [enc, "!"]
                argv += ["openailive", f"uri={api}/v1/live/sessions", "api-key=test-key",
                         *(p.format(tools=tools) for p in props), "!", "fakesink"]
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
                out = proc.stdout.replace("\\", "")
                self.assertEqual(proc.returncode, 0, out + proc.stderr)
                self.assertIn("openai-realtime/session", out, "session.started matched the caps")
        mock.terminate()
        mock.wait(timeout=10)
        mock.stdout.close()
        with open(log) as f:
            events = [json.loads(l) for l in f if l.strip()]
        starts = [e["event"] for e in events if e.get("dir") == "in" and e["event"]["type"] == "session.start"]
        self.assertEqual([s["session"]["audio"]["format"]["type"] for s in starts], [m[3] for m in self.MATRIX])
        self.assertEqual([s["session"]["audio"]["format"]["rate"] for s in starts], [8000, 8000, 16000, 24000, 24000])
        self.assertEqual([e for e in events if e.get("dir") == "out" and e["event"]["type"] == "error"], [])
        self.assertEqual(invalid_sent(events), [])
        self.assertEqual(starts[2]["session"]["audio"]["output"]["voice"], {"id": "voice_1234"})
        self.assertEqual(starts[3]["session"]["delegation"]["responses"]["tools"][0]["name"], "lookup")

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
        closed = next((l for l in call.bridge_out.splitlines() if "openai-realtime/closed" in l), "")
        self.assertIn("reason=(string)close_requested", closed, "session.closed answered our session.close")
        billed = re.search(r"billed-seconds=\(double\)([0-9.]+)", closed)
        self.assertTrue(billed and float(billed.group(1)) > 1.0, closed)
        self.assertEqual(call.summary["end"], "server-closed", "the bridge ended the call\n" + call.describe())
        sent = sum(len(base64.b64decode(e["delta"])) for e in call.api_events("out", "session.output_audio.delta"))
        self.assertEqual(call.summary["played_ms"] * 8, sent, "all the agent's audio was played")

    # ---- hand-offs: an application answers what the model delegates ----

    def app_call(self, delegation):
        app = os.path.join(HERE, "live-app.py")
        return tc.Call(self, mock_args=["--mode", "echo", "--function-call-turn", "1",
                                        "--function-name", "lookup_order", "--function-args", '{"id":"42"}'],
                       bridge=lambda api, port: [os.environ.get("GTR_PYTHON3", sys.executable), app,
                                                 "--port", str(port), "--uri",
                                                 f"{api}/v1/live/sessions", "--delegation", delegation,
                                                 "--answer", "shipped yesterday"],
                       sim_args=["--play", "silence:600", "--play", "tone:500:800", "--play", "silence:4000"])

    def app_lines(self, call):
        return [json.loads(l) for l in call.bridge_out.splitlines() if l.startswith("{")]

    def test_function_call_answered_by_the_app(self):
        """delegation=responses: the backend's function call reaches the app as function-call; its
        function-result goes back as function_call_output + response.create, and the agent speaks."""
        call = self.app_call("responses")
        self.assert_clean_call(call)
        lines = self.app_lines(call)
        calls = [l for l in lines if "function-call" in l]
        self.assertEqual(len(calls), 1, call.describe())
        self.assertEqual((calls[0]["function-call"], calls[0]["arguments"]), ("lookup_order", {"id": "42"}))
        outputs = call.api_events("in", "response.item.create")
        self.assertEqual([o["item"]["call_id"] for o in outputs], [calls[0]["call-id"]])
        self.assertEqual(json.loads(outputs[0]["item"]["output"]), {"answer": "shipped yesterday"})
        self.assertTrue(call.api_events("in", "response.create"), "the backend was asked to go on")
        self.assertGreater(call.summary["played_ms"], 300, "the agent spoke the result\n" + call.describe())

    def test_delegation_answered_by_the_app(self):
        """delegation=client: session.delegation.created reaches the app as delegation; its
        delegation-result goes back as session.commentary.append, which the agent says."""
        call = self.app_call("client")
        self.assert_clean_call(call)
        lines = self.app_lines(call)
        ids = [l["delegation"] for l in lines if "delegation" in l]
        self.assertEqual(len(ids), 1, call.describe())
        appends = call.api_events("in", "session.commentary.append")
        self.assertEqual([(a["delegation_id"], a["content"]) for a in appends], [(ids[0], "shipped yesterday")])
        self.assertTrue(call.api_events("out", "session.commentary.appended"))
        self.assertGreater(call.summary["played_ms"], 300, "the agent said it\n" + call.describe())
        self.assertTrue(any(l.get("message") == "openai-live/delegation" for l in lines))

    # ---- keeping the call: a lost GPT-Live session is replaced ----

    def keeping_call(self, mock_args, props, turns, gap_ms=2500):
        caller = os.path.join(tempfile.mkdtemp(), "caller.wav")
        segments = [("silence", 600)]
        for i in range(turns):
            segments += [("tone", 500 + 100 * i, 800), ("silence", gap_ms)]
        tc.make_mulaw_wav(caller, segments)
        call = tc.Call(self, mock_args=["--mode", "echo", "--transcript", "hello there", *mock_args],
                       bridge=live_bridge(*props), sim_args=["--wav", caller, "--linger", "1500"])
        self.assert_clean_call(call)
        _, sent = tc.wav_data(caller)
        _, heard = tc.wav_data(call.heard)
        return call, tc.speech_runs(sent), tc.speech_runs(tc.without_underruns(heard)), sent, heard

    def reconnected(self, call, reason):
        gaps = [int(m.group(1)) for l in call.bridge_out.splitlines()
                if "openai-realtime/reconnected" in l and f"reason=(string){reason}" in l
                for m in [re.search(r"gap-ms=\(gint64\)(-?\d+)", l)] if m]
        self.assertTrue(gaps, f"no reconnected ({reason})\n" + call.describe())
        return gaps

    def assert_carried_over(self, call, roles=("user", "assistant")):
        """Every session after the first started with the conversation as its startup history."""
        starts = call.api_events("in", "session.start")
        self.assertGreaterEqual(len(starts), 2, call.describe())
        for start in starts[1:]:
            history = start["session"]["input"]
            self.assertEqual(history[0]["role"], "developer", history)
            said = [(m["role"], m["content"][0]["text"]) for m in history[1:]]
            self.assertTrue(said, history)
            self.assertEqual({r for r, _ in said}, set(roles), said)
            self.assertTrue(all(t == "hello there" for _, t in said), said)
        self.assertNotIn("greet the caller with exactly", json.dumps(starts[1:]), "no second greeting")

    def assert_answered_after(self, turns, answers, sent, heard, call, last):
        """The last turn (after the new session) is answered, byte for byte."""
        played = tc.without_underruns(heard)
        self.assertIn(sent[turns[last][0]:turns[last][1]], played, "the turn after the loss is echoed\n"
                      + call.describe())

    def test_dropped_connection_reconnects(self):
        """The API's socket dies mid-answer (no close frame): a new session with the conversation; the next turn is answered."""
        call, turns, answers, sent, heard = self.keeping_call(["--drop-mid-response", "2"], [], 3)
        gap, = self.reconnected(call, "dropped")
        print(f"  dropped mid-response: {gap} ms without a session", file=sys.stderr)
        self.assertLess(gap, 2000)
        self.assert_answered_after(turns, answers, sent, heard, call, 2)
        self.assert_carried_over(call)

    def test_expired_session_reconnects(self):
        """session.closed with reason expired: the call goes on in a new session, no greeting again."""
        call, turns, answers, sent, heard = self.keeping_call(["--session-max", "3500"],
                                                              ['greeting="Hello!"'], 2)
        gaps = self.reconnected(call, "session_expired")
        print(f"  expired {len(gaps)} times: {gaps} ms without a session", file=sys.stderr)
        self.assertLess(max(gaps), 2000)
        self.assert_answered_after(turns, answers, sent, heard, call, 1)
        self.assert_carried_over(call)

    def test_stall_reconnects(self):
        """The API stops answering without closing (frozen 3 s): noticed within liveness-timeout-ms, a new session."""
        call, turns, answers, sent, heard = self.keeping_call(
            ["--stall-after", "4000", "--stall-for", "3000"], ["liveness-timeout-ms=2000"], 2, gap_ms=6000)
        self.assertIn("openai-realtime/reconnecting", call.bridge_out)
        gap, = self.reconnected(call, "stalled")
        print(f"  stalled: {gap} ms without a session (the mock froze for 3000 ms)", file=sys.stderr)
        self.assertLess(gap, 3000 + 2000 + 1000)
        self.assert_answered_after(turns, answers, sent, heard, call, 1)
        self.assert_carried_over(call)

    def test_reconnect_after_a_timed_out_attempt(self):
        """The API freezes for 4 s; the first new session's handshake times out (connect-timeout-ms=1000)
        while it is frozen, and a later attempt, once it answers, carries the call on."""
        # frozen from 4 s to 8 s: the stall is noticed at about 6 s, so the first
        # attempt's 1 s bound ends a second before the mock wakes (frozen for
        # 3 s, it woke just as that bound ended, and the attempt could win);
        # the second turn comes at 9.4 s, after the new session
        call, turns, answers, sent, heard = self.keeping_call(
            ["--stall-after", "4000", "--stall-for", "4000"],
            ["liveness-timeout-ms=2000", "connect-timeout-ms=1000"], 2, gap_ms=8000)
        line = next((l for l in call.bridge_out.splitlines() if "openai-realtime/reconnected" in l), "")
        attempts = re.search(r"attempts=\(uint\)(\d+)", line)
        self.assertTrue(attempts and int(attempts.group(1)) >= 2, "a timed-out attempt, then one that worked\n"
                        + call.describe())
        self.assert_answered_after(turns, answers, sent, heard, call, 1)
        self.assert_carried_over(call)

    def test_no_reconnect_ends_the_call(self):
        """reconnect-attempts=0: a dropped session ends the call — openai-realtime/closed with the close code, EOS."""
        call = tc.Call(self, mock_args=["--mode", "echo", "--drop-mid-response", "1"],
                       bridge=live_bridge("reconnect-attempts=0"),
                       sim_args=["--play", "silence:600", "--play", "tone:500:800", "--play", "silence:8000"])
        self.assertEqual((call.sim_rc, call.bridge_rc), (0, 0), call.describe())
        self.assertEqual(call.summary["end"], "server-closed", call.describe())
        line = next((l for l in call.bridge_out.splitlines() if "openai-realtime/closed" in l), "")
        self.assertIn("code=(int)1006", line, call.describe())
        self.assertNotIn("openai-realtime/reconnecting", call.bridge_out)
        self.assertEqual(len(call.api_events("in", "session.start")), 1)

    def test_transfer_tool(self):
        """Responses delegation with transfer-to: the backend calls transfer_call; the target is posted,
        the last words play, then the line closes."""
        call = tc.Call(self, mock_args=["--mode", "echo", "--function-call-turn", "2",
                                        "--function-name", "transfer_call",
                                        "--function-args", '{"reason":"wants a person"}'],
                       bridge=live_bridge("delegation=responses", "responses-model=gpt-5.1",
                                          "transfer-to=+15551234567"),
                       sim_args=["--play", "silence:500", "--play", "tone:500:1000", "--play", "silence:2500",
                                 "--play", "tone:500:500", "--play", "silence:10000"])
        self.assertEqual((call.sim_rc, call.summary["violations"], call.bridge_rc), (0, 0, 0), call.describe())
        start, = call.api_events("in", "session.start")
        names = [t.get("name") for t in start["session"]["delegation"]["responses"]["tools"]]
        self.assertEqual(sorted(names), ["end_call", "transfer_call"])
        line = next((l for l in call.bridge_out.splitlines() if "openai-realtime/transfer" in l), "")
        self.assertIn("target=(string)+15551234567", line, call.describe())
        self.assertIn('reason=(string)"wants a person"', line)
        self.assertNotIn("openai-realtime/hang-up", call.bridge_out)
        self.assertEqual(call.summary["end"], "server-closed", call.describe())
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
