#!/usr/bin/python3
"""End-to-end calls: twilio-call-sim → gst-launch-1.0 twiliosrc ! openairealtime
! twiliosink → realtime-mock, every piece a separate process on 127.0.0.1,
exactly as a user runs them.  What is asserted is what a caller and the API
would observe: the bytes the caller heard (the sim's record), the sim's
protocol summary, the API's event log, the bridge's exit code.

Run by meson (tests/integration/meson.build) with the paths of the tools in
the environment; `test-call.py NAME` runs one test.
"""
import base64
import json
import re
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.environ["GTR_TWILIO_CALL_SIM"]
MOCK = os.environ["GTR_REALTIME_MOCK"]
MULAW_SILENCE = (0xFF, 0x7F)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"bridge exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def wav_data(path):
    """The data chunk of a WAV file (the sim records μ-law WAV)."""
    with open(path, "rb") as f:
        blob = f.read()
    assert blob[:4] == b"RIFF" and blob[8:12] == b"WAVE", path
    pos, fmt = 12, None
    while pos + 8 <= len(blob):
        cid, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        body = blob[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            return fmt, body
        pos += 8 + size + (size & 1)
    raise AssertionError(f"{path}: no data chunk")


def make_mulaw_wav(path, segments):
    """A μ-law 8 kHz WAV made by GStreamer: segments of ("tone", hz, ms) or ("silence", ms)."""
    parts = []
    for seg in segments:
        if seg[0] == "tone":
            parts.append(f"audiotestsrc wave=sine freq={seg[1]} volume=0.5 samplesperbuffer=80 num-buffers={seg[2] // 10}")
        else:
            parts.append(f"audiotestsrc wave=silence samplesperbuffer=80 num-buffers={seg[1] // 10}")
    desc = " ".join(f"{p} ! audio/x-raw,rate=8000,channels=1,format=S16LE ! c.sink_{i}"
                    for i, p in enumerate(parts))
    subprocess.run(["gst-launch-1.0", "-q", "concat", "name=c", "!", "audioconvert", "!",
                    "mulawenc", "!", "wavenc", "!", "filesink", f"location={path}"] + desc.split(),
                   check=True, stdout=subprocess.DEVNULL)


def speech_runs(data, min_gap=400 * 8):
    """(start, end) byte ranges of non-silent audio, gaps shorter than min_gap merged."""
    runs, start, last = [], None, None
    for i, b in enumerate(data):
        if b not in MULAW_SILENCE and (b & 0x7F) < 0x70:   # louder than a few LSB
            if start is None:
                start = i
            elif i - last > min_gap:
                runs.append((start, last + 1))
                start = i
            last = i
    if start is not None:
        runs.append((start, last + 1))
    return runs


def without_underruns(heard):
    """What played, less the 20 ms frames of silence the sim records when
    Twilio's playback buffer ran dry (an echo arriving at exactly real time
    underruns now and then, as it would on a phone): whole 160-byte runs of
    μ-law silence."""
    return re.sub(rb"(\xff{160})+", b"", heard)


class Call:
    """One call: the mock, the bridge, the sim.  Files in a temp dir."""

    def __init__(self, test, mock_args=(), element_props=(), sim_args=(), bridge=None):
        """`bridge(api, port)` gives the bridge's argv, or (argv, extra
        environment) (default: the gst-launch line below with
        `element_props` on openairealtime)."""
        self.dir = tempfile.mkdtemp(prefix="gtr-call-")
        self.log = os.path.join(self.dir, "api.jsonl")
        self.heard = os.path.join(self.dir, "heard.wav")
        self.mock_err = open(os.path.join(self.dir, "mock.err"), "w")
        self.mock = subprocess.Popen([MOCK, "--port", "0", "--log", self.log, *mock_args],
                                     stdout=subprocess.PIPE, stderr=self.mock_err, text=True)
        test.addCleanup(self.mock.kill)
        line = self.mock.stdout.readline().strip()
        test.assertTrue(line.startswith("realtime-mock listening on "), line)
        api = line.rsplit(" ", 1)[1]
        self.port = free_port()
        self.bridge_log = open(os.path.join(self.dir, "bridge.log"), "w+")
        if bridge is None:
            bridge = lambda api, port: [
                "gst-launch-1.0", "-m", "twiliosrc", "address=127.0.0.1", f"port={port}", "!",
                "openairealtime", f"uri={api}/v1/realtime", "api-key=test-key", *element_props, "!",
                "queue", "!", "twiliosink"]
        argv = bridge(api, self.port)
        argv, env = argv if isinstance(argv, tuple) else (argv, {})
        self.bridge = subprocess.Popen(argv, stdout=self.bridge_log, stderr=subprocess.STDOUT,
                                       env={**os.environ, **env})
        test.addCleanup(self.bridge.kill)
        wait_listening(self.port, self.bridge)
        sim = subprocess.run([SIM, "--url", f"ws://127.0.0.1:{self.port}/media",
                              "--record", self.heard, *sim_args],
                             capture_output=True, text=True, timeout=120)
        self.sim_rc = sim.returncode
        self.sim_err = sim.stderr
        self.summary = json.loads(sim.stdout.strip().splitlines()[-1])
        try:
            self.bridge_rc = self.bridge.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.bridge_rc = None
        self.mock.terminate()
        self.mock.wait(timeout=10)
        self.mock.stdout.close()
        self.mock_err.close()
        self.bridge_log.seek(0)
        # gst-launch -m prints GstStructures, which escape spaces and commas.
        self.bridge_out = self.bridge_log.read().replace("\\", "")
        self.bridge_log.close()
        with open(self.log) as f:
            self.events = [json.loads(l) for l in f if l.strip()]

    def api_events(self, direction, type_name):
        return [e["event"] for e in self.events
                if e.get("dir") == direction and e.get("event", {}).get("type") == type_name]

    def describe(self):
        return (f"files in {self.dir}\nsim rc={self.sim_rc} summary={self.summary}\nsim stderr:\n{self.sim_err[-2000:]}\n"
                f"bridge rc={self.bridge_rc}, log:\n{self.bridge_out[-4000:]}")


class TestCall(unittest.TestCase):

    def assert_clean_call(self, call):
        self.assertEqual(call.sim_rc, 0, call.describe())
        self.assertEqual(call.summary["violations"], 0, call.describe())
        self.assertEqual(call.bridge_rc, 0, call.describe())
        self.assertEqual(call.api_events("out", "error"), [], call.describe())

    def test_echo_two_turns(self):
        """The caller hears its own words back after each turn, byte for byte, and nothing else."""
        caller = os.path.join(tempfile.mkdtemp(), "caller.wav")
        make_mulaw_wav(caller, [("silence", 600), ("tone", 500, 1200), ("silence", 2500),
                                ("tone", 700, 800), ("silence", 2500)])
        call = Call(self, mock_args=["--mode", "echo"], sim_args=["--wav", caller, "--linger", "1500"])
        self.assert_clean_call(call)
        _, sent = wav_data(caller)
        fmt, heard = wav_data(call.heard)
        self.assertEqual(fmt[0], 7, "the record is μ-law")           # WAVE_FORMAT_MULAW
        turns = speech_runs(sent)
        self.assertEqual(len(turns), 2, turns)
        answers = speech_runs(heard)
        self.assertEqual(len(answers), 2, f"heard {answers}, expected one answer per turn\n" + call.describe())
        for (ts, te), (hs, he) in zip(turns, answers):
            self.assertGreater(hs, te, "an answer comes after its turn")
            words = sent[ts:te]
            self.assertEqual(heard[hs:hs + len(words)], words,
                             "the caller hears its own words back, byte for byte")
            self.assertLessEqual(he - hs, len(words) + 8, "and nothing more")
        # The API was configured from the caps: μ-law both ways, confirmed.
        updates = call.api_events("in", "session.update")
        self.assertTrue(updates)
        audio = updates[0]["session"]["audio"]
        self.assertEqual(audio["input"]["format"], {"type": "audio/pcmu"})
        self.assertEqual(audio["output"]["format"], {"type": "audio/pcmu"})

    def test_barge_in(self):
        """Speaking over the agent: Twilio gets `clear`; the API gets a truncate within 100 ms of what was heard."""
        caller = os.path.join(tempfile.mkdtemp(), "caller.wav")
        # Turn 1: 3 s; the echo answer lasts 3 s; the caller cuts in ~1.2 s into it.
        make_mulaw_wav(caller, [("silence", 500), ("tone", 500, 3000), ("silence", 1900),
                                ("tone", 900, 600), ("silence", 3000)])
        call = Call(self, mock_args=["--mode", "echo"], sim_args=["--wav", caller, "--linger", "1000"])
        self.assert_clean_call(call)
        self.assertGreaterEqual(call.summary["clears_received"], 1, call.describe())
        heard_ms = call.summary["clears"][0]["heard_ms"]
        self.assertGreater(heard_ms, 200, call.describe())
        truncates = call.api_events("in", "conversation.item.truncate")
        self.assertEqual(len(truncates), 1, call.describe())
        self.assertLessEqual(abs(truncates[0]["audio_end_ms"] - heard_ms), 100,
                             f"truncate at {truncates[0]['audio_end_ms']} ms, the caller heard {heard_ms} ms")
        self.assertTrue(call.api_events("out", "conversation.item.truncated"), "the API accepted it")

    def test_greeting_and_transcripts(self):
        """The agent speaks first; transcripts of both sides reach the bus."""
        call = Call(self, mock_args=["--mode", "echo", "--transcript", "where is my order"],
                    element_props=['greeting="Hello, how can I help?"', "transcription-model=gpt-4o-transcribe"],
                    sim_args=["--play", "silence:1500", "--play", "tone:500:1000", "--play", "silence:2500"])
        self.assert_clean_call(call)
        creates = call.api_events("in", "response.create")
        self.assertTrue(creates and "Hello, how can I help?" in json.dumps(creates[0]), call.describe())
        fmt, heard = wav_data(call.heard)
        first = speech_runs(heard)
        self.assertTrue(first and first[0][0] < 1500 * 8, "the greeting plays before the caller speaks")
        transcripts = [l for l in call.bridge_out.splitlines()
                       if "openai-realtime/transcript" in l and "final=(boolean)true" in l]
        self.assertTrue(any("role=(string)user" in l and "where is my order" in l for l in transcripts),
                        "\n".join(transcripts))
        self.assertTrue(any("role=(string)assistant" in l and "Hello, how can I help?" in l for l in transcripts),
                        "\n".join(transcripts))

    def test_twilio_loopback(self):
        """twiliosrc ! queue ! twiliosink alone: the caller hears its own audio, byte for byte."""
        caller = os.path.join(tempfile.mkdtemp(), "caller.wav")
        make_mulaw_wav(caller, [("silence", 300), ("tone", 600, 1000), ("silence", 300)])
        call = Call(self, sim_args=["--wav", caller, "--linger", "3000"],
                    bridge=lambda api, port: ["gst-launch-1.0", "twiliosrc", "address=127.0.0.1",
                                              f"port={port}", "!", "queue", "!", "twiliosink"])
        self.assertEqual((call.sim_rc, call.summary["violations"], call.bridge_rc), (0, 0, 0), call.describe())
        _, sent = wav_data(caller)
        _, heard = wav_data(call.heard)
        (ts, te), = speech_runs(sent)
        self.assertIn(sent[ts:te], without_underruns(heard), "the caller's audio comes back, byte for byte")

    def test_dtmf_to_text(self):
        """A key press reaches the agent as a user text item (dtmf-to-text=true)."""
        call = Call(self, mock_args=["--mode", "echo"], element_props=["dtmf-to-text=true"],
                    sim_args=["--play", "silence:1500", "--dtmf", "5@500", "--linger", "1000"])
        self.assert_clean_call(call)
        items = [json.dumps(e) for e in call.api_events("in", "conversation.item.create")]
        self.assertTrue(any("pressed 5" in i for i in items), items)
        self.assertIn("twilio/dtmf", call.bridge_out)

    def assert_ended_after_last_words(self, call, caller_ms):
        """The agent's last words were heard in full, then the stream closed."""
        self.assert_clean_call(call)
        sent = sum(len(base64.b64decode(e["delta"])) for e in call.api_events("out", "response.output_audio.delta"))
        self.assertGreater(sent, 4000, call.describe())
        self.assertEqual(call.summary["bytes_received"], sent, "all the agent's audio reached the caller")
        self.assertEqual(call.summary["played_ms"] * 8, sent, "and all of it was played\n" + call.describe())
        _, heard = wav_data(call.heard)
        runs = speech_runs(heard)
        self.assertEqual(len(runs), 1, runs)
        (start, end), = runs
        self.assertGreaterEqual(end - start, sent - 160, "the goodbye is heard in full")
        # Then the stream closed: the call ended there, long before the
        # caller's audio (the server closed first), and soon after the goodbye.
        self.assertLess(len(heard), caller_ms * 8 - 2000 * 8, call.describe())
        self.assertLess(len(heard) - end, 1500 * 8, f"the stream closed {(len(heard) - end) / 8} ms after the goodbye")
        print(f"goodbye {(end - start) / 8:.0f} ms heard in full; the stream closed "
              f"{(len(heard) - end) / 8:.0f} ms after it", file=sys.stderr)

    def test_hang_up_tool(self):
        """The agent calls end_call after its goodbye: the caller hears all of it, then the line closes."""
        call = Call(self, mock_args=["--mode", "tone", "--end-call-turn", "1"],
                    sim_args=["--play", "silence:1000", "--play", "tone:500:1500", "--play", "silence:10000"])
        self.assert_ended_after_last_words(call, 12500)
        self.assertIn("openai-realtime/hang-up", call.bridge_out, call.describe())
        self.assertIn("the caller said goodbye", call.bridge_out)

    def test_transfer_tool(self):
        """The agent calls transfer_call: the target is posted, the last words play out, then the line closes."""
        call = Call(self, mock_args=["--mode", "tone", "--transfer-call-turn", "1"],
                    element_props=["transfer-to=+15551234567"],
                    sim_args=["--play", "silence:1000", "--play", "tone:500:1500", "--play", "silence:10000"])
        self.assert_ended_after_last_words(call, 12500)
        line = next((l for l in call.bridge_out.splitlines() if "openai-realtime/transfer" in l), "")
        self.assertIn("target=(string)+15551234567", line, call.describe())

    def test_pipelines_bridge_sh(self):
        """pipelines/bridge.sh, as written, bridges a call (the API pointed at realtime-mock)."""
        def bridge(api, port):
            return (["sh", os.path.join(ROOT, "pipelines", "bridge.sh")],
                    {"PORT": str(port), "URI": f"{api}/v1/realtime", "OPENAI_API_KEY": "test-key",
                     # the plugins under test, not whatever ./build holds
                     "GST_PLUGIN_PATH": os.environ["GST_PLUGIN_PATH_1_0"]})
        call = Call(self, mock_args=["--mode", "echo"], bridge=bridge,
                    sim_args=["--play", "silence:1000", "--play", "tone:500:1000", "--play", "silence:2500"])
        self.assert_clean_call(call)
        self.assertGreater(call.summary["played_ms"], 1000, call.describe())


    def test_pipelines_local_mic_sh(self):
        """pipelines/local-mic.sh, as written, negotiates the PCM path and hears the agent
        (a live test tone for the microphone, a fakesink for the speakers, realtime-mock for the API)."""
        log = os.path.join(tempfile.mkdtemp(), "api.jsonl")
        mock = subprocess.Popen([MOCK, "--port", "0", "--log", log, "--mode", "echo"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(mock.kill)
        api = mock.stdout.readline().strip().rsplit(" ", 1)[1]
        run = subprocess.run(["sh", os.path.join(ROOT, "pipelines", "local-mic.sh")],
                             env={**os.environ, "URI": f"{api}/v1/realtime", "OPENAI_API_KEY": "test-key",
                                  "GST_PLUGIN_PATH": os.environ["GST_PLUGIN_PATH_1_0"],
                                  "MIC": "audiotestsrc is-live=true wave=sine freq=500 num-buffers=130",
                                  "SPEAKER": "fakesink"},
                             capture_output=True, text=True, timeout=60)
        mock.terminate()
        mock.wait(timeout=10)
        mock.stdout.close()
        self.assertEqual(run.returncode, 0, run.stdout[-3000:] + run.stderr[-3000:])
        events = [json.loads(l) for l in open(log) if l.strip()]
        update = next(e["event"] for e in events if e["dir"] == "in" and e["event"]["type"] == "session.update")
        pcm = {"type": "audio/pcm", "rate": 24000}
        self.assertEqual(update["session"]["audio"]["input"]["format"], pcm)
        self.assertEqual(update["session"]["audio"]["output"]["format"], pcm)
        self.assertTrue(any(e["dir"] == "out" and e["event"]["type"] == "response.output_audio.delta"
                            for e in events), "the agent spoke (the greeting)")

    # ---- keeping the session: the call survives a lost API session ----

    def keeping_call(self, mock_args, element_props, turns, gap_ms=2500):
        """A call of `turns` echo turns (tone, then `gap_ms` of silence) on a
        bridge that transcribes the caller, so both sides carry over."""
        caller = os.path.join(tempfile.mkdtemp(), "caller.wav")
        segments = [("silence", 600)]
        for i in range(turns):
            segments += [("tone", 500 + 100 * i, 800), ("silence", gap_ms)]
        make_mulaw_wav(caller, segments)
        call = Call(self, mock_args=["--mode", "echo", "--transcript", "hello there", *mock_args],
                    element_props=["transcription-model=whisper-1", *element_props],
                    sim_args=["--wav", caller, "--linger", "1500"])
        self.assertEqual((call.sim_rc, call.summary["violations"], call.bridge_rc), (0, 0, 0),
                         call.describe())
        _, sent = wav_data(caller)
        _, heard = wav_data(call.heard)
        return call, speech_runs(sent), speech_runs(heard), sent, heard

    def reconnected(self, call, reason):
        """The bridge's openai-realtime/reconnected messages with `reason`: their gap-ms."""
        gaps = [int(m.group(1)) for l in call.bridge_out.splitlines()
                if "openai-realtime/reconnected" in l and f"reason=(string){reason}" in l
                for m in [re.search(r"gap-ms=\(gint64\)(-?\d+)", l)] if m]
        self.assertTrue(gaps, f"no reconnected ({reason})\n" + call.describe())
        return gaps

    def assert_carried_over(self, call):
        """Every session after the first got the conversation as items, valid
        under the strict schema (tests/data/validate-event)."""
        sessions = []
        for e in call.events:
            if e.get("dir") == "in" and e.get("event", {}).get("type") == "session.update" \
                    and e["session"] not in sessions:
                sessions.append(e["session"])
        self.assertGreaterEqual(len(sessions), 2, call.describe())
        for sid in sessions[1:]:
            items = [e["event"]["item"] for e in call.events
                     if e.get("session") == sid and e.get("dir") == "in"
                     and e["event"].get("type") == "conversation.item.create"]
            roles = {i["role"] for i in items}
            self.assertEqual(roles, {"user", "assistant"}, f"session {sid}: {items}")
            self.assertTrue(all(i["content"][0]["text"] == "hello there" for i in items), items)
        client = os.path.join(call.dir, "client.jsonl")
        with open(client, "w") as f:
            for e in call.events:
                if e.get("dir") == "in" and "event" in e:
                    f.write(json.dumps(e["event"]) + "\n")
        check = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "data", "validate-event"), client],
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout[-3000:] + check.stderr[-3000:])

    def assert_answered(self, turns, answers, sent, heard, call, exact=()):
        """One answer after each turn; those in `exact` the turn's words, byte for byte."""
        self.assertEqual(len(answers), len(turns), f"heard {answers}\n" + call.describe())
        for i, ((ts, te), (hs, he)) in enumerate(zip(turns, answers)):
            self.assertGreater(hs, te, "an answer comes after its turn")
            print(f"  turn {i + 1}: answered {(hs - te) // 8} ms after it ended")
            if i in exact:
                self.assertEqual(heard[hs:hs + te - ts], sent[ts:te], f"turn {i + 1} echoed byte for byte")

    def test_dropped_connection_reconnects(self):
        """The API's socket dies mid-answer (no close frame): a new session with the
        conversation, and the caller's next turn is answered."""
        call, turns, answers, sent, heard = self.keeping_call(["--drop-mid-response", "2"], [], 3)
        gap, = self.reconnected(call, "dropped")
        print(f"  dropped mid-response: {gap} ms without a session")
        self.assertLess(gap, 2000)
        self.assertEqual(call.api_events("out", "error"), [], call.describe())
        # turn 2's answer was cut after its first 100 ms delta: a short run, or none
        full = [a for a in answers if a[1] - a[0] > 400 * 8]
        self.assertEqual(len(full), 2, f"answers {answers}\n" + call.describe())
        self.assertGreater(full[1][0], turns[2][1], "the third turn is answered")
        self.assertEqual(heard[full[1][0]:full[1][0] + turns[2][1] - turns[2][0]], sent[turns[2][0]:turns[2][1]])
        self.assert_carried_over(call)

    def test_expired_session_reconnects(self):
        """session_expired (the 60-minute limit, shortened): the call goes on in a new session."""
        call, turns, answers, sent, heard = self.keeping_call(["--session-max", "3500"], [], 2)
        gaps = self.reconnected(call, "session_expired")   # each session expires
        print(f"  session_expired {len(gaps)} times: {gaps} ms without a session")
        self.assertLess(max(gaps), 2000)
        self.assert_answered(turns, answers, sent, heard, call, exact=(0, 1))
        self.assert_carried_over(call)

    def test_stall_reconnects(self):
        """The API stops answering without closing (the mock freezes for 3 s):
        noticed within liveness-timeout-ms, a new session once it answers again."""
        call, turns, answers, sent, heard = self.keeping_call(
            ["--stall-after", "4000", "--stall-for", "3000"], ["liveness-timeout-ms=2000"], 2, gap_ms=6000)
        self.assertIn("openai-realtime/reconnecting", call.bridge_out)
        gap, = self.reconnected(call, "stalled")
        print(f"  stalled: {gap} ms without a session (the mock froze for 3000 ms)")
        self.assertLess(gap, 3000 + 2000 + 1000)
        self.assert_answered(turns, answers, sent, heard, call, exact=(0, 1))
        self.assert_carried_over(call)

    def test_long_call_hands_over_without_gap(self):
        """A long call in short (session-max-age-ms=2500): the next session is opened in
        advance and switched to between turns; every turn is answered, byte for byte,
        and no session is ever lost."""
        call, turns, answers, sent, heard = self.keeping_call([], ["session-max-age-ms=2500"], 5, gap_ms=1800)
        gaps = self.reconnected(call, "handover")
        print(f"  {len(gaps)} handovers, gaps {gaps} ms")
        self.assertGreaterEqual(len(gaps), 2)
        self.assertEqual(set(gaps), {0})
        self.assertNotIn("openai-realtime/reconnecting", call.bridge_out)
        self.assert_answered(turns, answers, sent, heard, call, exact=range(5))
        self.assert_carried_over(call)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + [f"TestCall.{n}" for n in sys.argv[1:]] if len(sys.argv) > 1 else None,
                  verbosity=2)
