#!/usr/bin/python3
"""The embedding examples (docs/examples/embed-*.{c,py}, docs/embedding.md)
run as a user runs them: realtime-mock on an ephemeral port, the example
pointed at it, a call (two for the own-server examples) placed by
twilio-call-sim on the WebSocket the example prints.  What is asserted is
what the application printed (its JSON lines), checked against what the sim
and the mock saw: transcripts of both sides, a function call answered (the
mock got the function_call_output and the agent spoke after it), stats that
match the sim's counts, the hang-up closing the stream, exit code 0.

`test-embedding.py NAME` runs one test (tests/embedding/meson.build).  A
Python example's test exits 77 (skipped) only when python3-gi with the
GIR it imports (GStreamer; libsoup 3 for the server) does not import in
GTR_PYTHON3.
"""
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "docs", "examples")
SIM = os.environ["GTR_TWILIO_CALL_SIM"]
MOCK = os.environ["GTR_REALTIME_MOCK"]
PYTHON3 = os.environ.get("GTR_PYTHON3", "/usr/bin/python3")

CALLER_SAYS = "what is the weather in Paris"
FUNCTION_ARGS = {"city": "Paris"}
# The caller: 1 s of silence, a 1.5 s turn, then silence far longer than the
# call lasts, so the stream can only end by the application's hang-up.
CALLER_AUDIO = ["--play", "silence:1000", "--play", "tone:500:1500", "--play", "silence:15000"]
CALLER_AUDIO_MS = 17500
BOUND_S = 60            # every wait on a process


def example(name):
    """argv of an example: the meson-built C program or the Python script."""
    if name.endswith(".py"):
        return [PYTHON3, os.path.join(EXAMPLES, name)]
    return [os.environ["GTR_EXAMPLE_" + name.upper().replace("-", "_")]]


def python_gi_missing(soup):
    """Why a Python example cannot run here, or None: embed-call.py imports
    Gst, embed-own-server.py Gst and Soup 3.0."""
    probe = "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst, GLib"
    packages = "python3-gi gir1.2-gstreamer-1.0"
    if soup:
        probe += "; gi.require_version('Soup', '3.0'); from gi.repository import Soup, Gio"
        packages += " gir1.2-soup-3.0"
    run = subprocess.run([PYTHON3, "-c", probe], capture_output=True, text=True, timeout=BOUND_S)
    if run.returncode == 0:
        return None
    err = run.stderr.strip()
    return (f"{PYTHON3} cannot import PyGObject with Gst 1.0{' and Soup 3.0' if soup else ''} "
            f"(Debian: {packages}): {err.splitlines()[-1] if err else run.returncode}")


def own_stderr(text):
    """The example's stderr, less LeakSanitizer's report of the
    suppressions it used (under -Db_sanitize the runtime is preloaded into
    python3, whose allocations tests/lsan.supp suppresses)."""
    return re.sub(r"-{20,}\nSuppressions used:\n.*?-{20,}\n+", "", text, flags=re.S)


class Lines:
    """A process's stdout, read line by line on a thread, so that every wait
    on it has a bound."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.all = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            self.all.append(line)
            self.queue.put(line)
        self.queue.put(None)

    def first(self, timeout=BOUND_S):
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def rest(self, timeout=BOUND_S):
        self.thread.join(timeout)
        return "".join(self.all)


class Run:
    """realtime-mock, the example, twilio-call-sim; files in a temp dir."""

    def __init__(self, test, argv, calls=1, app_args=()):
        self.dir = tempfile.mkdtemp(prefix="gtr-embed-")
        self.log = os.path.join(self.dir, "api.jsonl")
        self.mock_err = open(os.path.join(self.dir, "mock.err"), "w")
        self.mock = subprocess.Popen(
            [MOCK, "--port", "0", "--log", self.log, "--mode", "echo", "--transcript", CALLER_SAYS,
             "--function-call-turn", "1", "--function-name", "get_weather",
             "--function-args", json.dumps(FUNCTION_ARGS)],
            stdout=subprocess.PIPE, stderr=self.mock_err, text=True)
        test.addCleanup(self.mock.kill)
        line = (Lines(self.mock.stdout).first() or "").strip()
        test.assertTrue(line.startswith("realtime-mock listening on "), line)
        api = line.rsplit(" ", 1)[1]

        self.app_err = open(os.path.join(self.dir, "app.err"), "w+")
        self.app = subprocess.Popen(
            argv + ["--port", "0", "--uri", f"{api}/v1/realtime", *app_args],
            stdout=subprocess.PIPE, stderr=self.app_err, text=True,
            env={**os.environ, "OPENAI_API_KEY": "test-key",
                 "GST_PLUGIN_PATH": os.environ["GST_PLUGIN_PATH_1_0"]})
        test.addCleanup(self.app.kill)
        out = Lines(self.app.stdout)
        first = out.first()
        if first is None:
            self.app.kill()
            self.app_err.seek(0)
            test.fail(f"no first line from the example: {self.app_err.read()[-3000:]}")
        first = json.loads(first)
        self.lines = [first]
        test.assertEqual(first.get("type"), "listening", first)
        url = first["url"]
        test.assertTrue(url.startswith("ws://127.0.0.1:") and url.endswith("/media"), url)

        sim = subprocess.run([SIM, "--url", url, "--calls", str(calls), *CALLER_AUDIO],
                             capture_output=True, text=True, timeout=BOUND_S)
        self.sim_rc, self.sim_err = sim.returncode, sim.stderr
        self.summaries = [json.loads(l) for l in sim.stdout.splitlines() if l.strip()]
        self.summaries = [s for s in self.summaries if s.get("type") == "call"]
        try:
            self.app_rc = self.app.wait(timeout=BOUND_S)
        except subprocess.TimeoutExpired:
            self.app.kill()
            self.app.wait(timeout=10)
            self.app_rc = None
        self.raw_out = out.rest()
        self.lines = [json.loads(l) for l in self.raw_out.splitlines() if l.strip()]
        self.mock.terminate()
        self.mock.wait(timeout=10)
        self.mock.stdout.close()
        self.mock_err.close()
        self.app_err.seek(0)
        self.stderr = self.app_err.read()
        self.app_err.close()
        self.events = [json.loads(l) for l in open(self.log) if l.strip()]

    def of_type(self, type_, call=None):
        return [l for l in self.lines if l.get("type") == type_
                and (call is None or l.get("call") == call)]

    def describe(self):
        return (f"files in {self.dir}\napp rc={self.app_rc}\napp stdout:\n{self.raw_out[-4000:]}\n"
                f"app stderr:\n{self.stderr[-3000:]}\nsim rc={self.sim_rc} summaries={self.summaries}\n"
                f"sim stderr:\n{self.sim_err[-2000:]}")


class TestEmbedding(unittest.TestCase):

    def assert_call(self, run, summary, call=None):
        """One call as the application printed it, against the sim's summary
        and the mock's log.  `call`: the own-server examples' call number.

        The close code is 1000 for all: the own-server examples run until the
        connection's close handshake is done; a standalone twiliosrc
        (embed-call) waits at READY->NULL (bounded) until its close frame is
        handed to libsoup, so a program that exits right after still says
        goodbye."""
        d = run.describe()
        lines = [l for l in run.lines if call is None or l.get("call") == call]
        types = [l["type"] for l in lines]
        # the sim: a clean stream that the application closed
        self.assertEqual(summary["exit_code"], 0, d)
        self.assertEqual(summary["violations"], 0, d)
        self.assertEqual(summary["end"], "server-closed",
                         "the hang-up ended the call, not the caller\n" + d)
        self.assertEqual(summary["close_code"], 1000, d)
        self.assertLess(summary["media_sent"], CALLER_AUDIO_MS // 20,
                        "the stream closed before the caller's audio was over\n" + d)

        # the call and the session, from the bus
        started, = [l for l in lines if l["type"] == "call"]
        self.assertEqual(summary["stream_sids"], [started["stream-sid"]], d)
        self.assertEqual(started["call-sid"], summary["call_sid"], d)
        session, = [l for l in lines if l["type"] == "session"]
        self.assertEqual(session["input-format"], "audio/x-mulaw 8000 Hz", d)
        self.assertEqual(session["output-format"], "audio/x-mulaw 8000 Hz", d)

        # transcripts of both sides
        transcripts = [l for l in lines if l["type"] == "transcript"]
        self.assertTrue(all(t["final"] is True for t in transcripts), d)
        user = [t for t in transcripts if t["role"] == "user"]
        agent = [t for t in transcripts if t["role"] == "assistant"]
        self.assertEqual([t["text"] for t in user], [CALLER_SAYS], d)
        self.assertTrue(agent and all(t["text"] for t in agent), d)

        # the function call, answered: the mock got exactly that output for
        # that call_id, then the response.create, and the agent spoke after it
        fcall, = [l for l in lines if l["type"] == "function-call"]
        self.assertEqual(fcall["name"], "get_weather", d)
        self.assertEqual(json.loads(fcall["arguments"]), FUNCTION_ARGS, d)
        self.assertEqual(json.loads(fcall["output"]),
                         {"city": "Paris", "temperature_c": 21, "conditions": "sunny"}, d)
        sent = [e for e in run.events if e.get("dir") == "in"]
        outputs = [(i, e) for i, e in enumerate(sent)
                   if e["event"].get("type") == "conversation.item.create"
                   and e["event"]["item"].get("type") == "function_call_output"
                   and e["event"]["item"].get("call_id") == fcall["call-id"]]
        self.assertEqual(len(outputs), 1, "the mock got the function_call_output\n" + d)
        at, output = outputs[0]
        self.assertEqual(output["event"]["item"]["output"], fcall["output"], d)
        sess = output["session"]
        self.assertTrue(any(e["event"]["type"] == "response.create" and e["session"] == sess
                            for e in sent[at + 1:]), "a response.create after the output\n" + d)
        answered = [e for e in run.events if e.get("dir") == "out" and e["session"] == sess
                    and e["event"].get("type") == "response.output_audio_transcript.done"
                    and e["t_ms"] >= output["t_ms"]]
        self.assertEqual([e["event"]["transcript"] for e in answered], [agent[0]["text"]],
                         "the agent's transcript is the answer after the function result\n" + d)
        self.assertLess(types.index("function-call"), lines.index(agent[0]), d)

        # the hang-up: asked after the agent's first final transcript, posted,
        # then EOS
        self.assertEqual(types.count("hang-up-requested"), 1, d)
        self.assertLess(lines.index(agent[0]), types.index("hang-up-requested"), d)
        hang_up, = [l for l in lines if l["type"] == "hang-up"]
        self.assertEqual(hang_up["reason"], "the application is done", d)
        end, = [l for l in lines if l["type"] == "end"]
        self.assertEqual((end["reason"], end["hung-up"]), ("eos", True), d)
        self.assertLess(types.index("hang-up"), types.index("stats"), d)
        self.assertLess(types.index("stats"), types.index("end"), d)
        self.assertNotIn("error", types, d)

        # stats, read at EOS, against what the sim counted
        stats, = [l for l in lines if l["type"] == "stats"]
        src, agent_stats, sink = stats["twiliosrc"], stats["openairealtime"], stats["twiliosink"]
        self.assertGreater(src["media"], 0, d)
        self.assertLessEqual(src["media"], summary["media_sent"], d)      # the sim sends until the close
        self.assertLessEqual(src["frames"], summary["frames_sent"], d)
        self.assertEqual(src["bytes"], src["media"] * 160, d)
        self.assertGreater(sink["bytes"], 0, d)
        self.assertEqual(sink["bytes"], summary["bytes_received"], "what the caller got\n" + d)
        self.assertEqual(sink["media"], summary["media_received"], d)
        self.assertEqual(sink["drains"], 1, "EOS after Twilio played it all\n" + d)
        self.assertEqual(agent_stats["audio-out-bytes"], sink["bytes"], d)
        self.assertGreater(agent_stats["audio-in-bytes"], 0, d)
        self.assertLessEqual(agent_stats["audio-in-bytes"], src["bytes"], d)
        self.assertEqual(agent_stats["function-calls"], 1, d)
        self.assertGreaterEqual(agent_stats["responses"], 2, "the call, then the answer\n" + d)
        self.assertEqual(agent_stats["errors"], 0, d)

    def run_call(self, name):
        run = Run(self, example(name))
        d = run.describe()
        self.assertEqual(run.sim_rc, 0, d)
        self.assertEqual(run.app_rc, 0, d)
        self.assertEqual(len(run.summaries), 1, d)
        self.assertTrue(all("call" not in l for l in run.lines), d)
        self.assert_call(run, run.summaries[0])
        self.assertEqual(own_stderr(run.stderr), "", "no warning or critical on stderr\n" + d)
        shutil.rmtree(run.dir)

    def run_own_server(self, name):
        """Two calls at once: two connections, two pipelines, two sessions."""
        run = Run(self, example(name), calls=2, app_args=["--calls", "2"])
        d = run.describe()
        self.assertEqual(run.sim_rc, 0, d)
        self.assertEqual(run.app_rc, 0, d)
        accepted = run.of_type("accepted")
        self.assertEqual(sorted(l["call"] for l in accepted), [1, 2], d)
        self.assertTrue(all(l["remote"].startswith("127.0.0.1:") for l in accepted), d)
        by_sid = {s["stream_sids"][0]: s for s in run.summaries if s["stream_sids"]}
        self.assertEqual(len(by_sid), 2, d)
        sessions = set()
        for number in (1, 2):
            started, = run.of_type("call", number)
            self.assertIn(started["stream-sid"], by_sid, d)
            self.assert_call(run, by_sid.pop(started["stream-sid"]), call=number)
            fcall, = run.of_type("function-call", number)
            sessions.add(next(e["session"] for e in run.events
                              if e["event"].get("call_id") == fcall["call-id"]))
        self.assertEqual(len(sessions), 2, "one API session per call\n" + d)
        self.assertEqual(own_stderr(run.stderr), "", "no warning or critical on stderr\n" + d)
        shutil.rmtree(run.dir)

    def require_python_gi(self, soup=False):
        why = python_gi_missing(soup)
        if why:
            self.skipTest(why)

    def test_embed_call_c(self):
        self.run_call("embed-call")

    def test_embed_call_py(self):
        self.require_python_gi()
        self.run_call("embed-call.py")

    def test_embed_own_server_c(self):
        self.run_own_server("embed-own-server")

    def test_embed_own_server_py(self):
        self.require_python_gi(soup=True)
        self.run_own_server("embed-own-server.py")

    def assert_api_unreachable(self, name):
        """An API that cannot be reached: exit 1, an error line, a clear message."""
        import socket
        with socket.socket() as s:          # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        app = subprocess.run(example(name) + ["--port", "0", "--uri", f"ws://127.0.0.1:{port}/v1/realtime"],
                             capture_output=True, text=True, timeout=BOUND_S,
                             env={**os.environ, "OPENAI_API_KEY": "test-key",
                                  "GST_PLUGIN_PATH": os.environ["GST_PLUGIN_PATH_1_0"]})
        d = f"rc={app.returncode}\nstdout:\n{app.stdout}\nstderr:\n{app.stderr}"
        self.assertEqual(app.returncode, 1, d)
        lines = [json.loads(l) for l in app.stdout.splitlines() if l.strip()]
        errors = [l for l in lines if l["type"] == "error"]
        self.assertEqual(len(errors), 1, d)
        self.assertIn(f"could not connect to 127.0.0.1:{port}", errors[0]["message"], d)
        self.assertIn(f"error from agent: could not connect to 127.0.0.1:{port}", app.stderr, d)

    def test_embed_call_c_api_unreachable(self):
        self.assert_api_unreachable("embed-call")

    def test_embed_call_py_api_unreachable(self):
        self.require_python_gi()
        self.assert_api_unreachable("embed-call.py")


if __name__ == "__main__":
    names = sys.argv[1:]
    suite = unittest.TestSuite(TestEmbedding(n) for n in names) if names else \
        unittest.defaultTestLoader.loadTestsFromTestCase(TestEmbedding)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        sys.exit(1)
    # meson: 77 is "skipped" (a Python example without python3-gi), never a pass
    sys.exit(77 if result.skipped and len(result.skipped) == result.testsRun else 0)
