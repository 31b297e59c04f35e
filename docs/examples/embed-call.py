#!/usr/bin/python3
"""embed-call.py: one phone call, the elements embedded in a Python
application (PyGObject; Debian: python3-gi gir1.2-gstreamer-1.0).

    twiliosrc ! openairealtime ! queue ! twiliosink

built in code, not with Gst.parse_launch.  The application
  - takes transcripts from the bus (openai-realtime/transcript messages, on
    the main loop's thread),
  - answers function calls from the "function-call" signal with the
    "function-result" action signal (the signal comes on the network thread:
    answer at once, never block there),
  - ends the call with the "hang-up" action signal after the agent's Nth
    final transcript (--hang-up-after),
  - reads the elements' "stats" when the call is over.
Everything it receives is printed as one JSON object per line on stdout.

    OPENAI_API_KEY=sk-… GST_PLUGIN_PATH=build/plugins docs/examples/embed-call.py --port 8080
    twilio-call-sim --url ws://127.0.0.1:8080/media …      # or Twilio itself

Exit code 0 when the call ended cleanly (EOS), 1 on a pipeline error
(message on stderr and an "error" line), 2 on a usage error.
The same as embed-call.c; docs/embedding.md explains it, tests/embedding
runs it.
"""
import argparse
import json
import signal
import sys
import threading

import gi
gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

# The one function the agent is offered.
TOOLS = [{"type": "function", "name": "get_weather",
          "description": "The current weather in a city.",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                         "required": ["city"]}}]

_print_lock = threading.Lock()   # lines come from two threads


def print_line(obj):
    with _print_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def structure_to_dict(s):
    """A Gst.Structure as a dict of its fields (nested structures too)."""
    out = {}
    if s is None:
        return out
    for i in range(s.n_fields()):
        name = s.nth_field_name(i)
        value = s.get_value(name)
        if isinstance(value, Gst.Structure):
            value = structure_to_dict(value)
        elif not isinstance(value, (str, int, float, bool)) and value is not None:
            value = str(value)
        out[name] = value
    return out


def get_weather(arguments):
    """Whatever the application's function does; here, a fixed answer."""
    try:
        city = json.loads(arguments).get("city", "unknown")
    except (ValueError, AttributeError):
        city = "unknown"
    return json.dumps({"city": city, "temperature_c": 21, "conditions": "sunny"})


class App:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.agent_finals = 0
        self.hung_up = False
        self.exit_code = 0

        self.pipeline = Gst.Pipeline.new("call")
        self.src = self.make("twiliosrc", "src")
        self.agent = self.make("openairealtime", "agent")
        queue = self.make("queue", None)
        self.sink = self.make("twiliosink", "sink")
        self.src.set_property("address", "127.0.0.1")
        self.src.set_property("port", args.port)
        self.agent.set_property("tools", json.dumps(TOOLS))
        self.agent.set_property("transcription-model", args.transcription_model)
        if args.uri:
            self.agent.set_property("uri", args.uri)
        if args.instructions:
            self.agent.set_property("instructions", args.instructions)
        # The key: OPENAI_API_KEY, read by the element (or the "api-key" property).
        for e in (self.src, self.agent, queue, self.sink):
            self.pipeline.add(e)
        if not (self.src.link(self.agent) and self.agent.link(queue) and queue.link(self.sink)):
            sys.exit("embed-call.py: could not link the elements")
        self.agent.connect("function-call", self.on_function_call)

        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_bus)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, self.on_signal)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, self.on_signal)

    @staticmethod
    def make(factory, name):
        e = Gst.ElementFactory.make(factory, name)
        if e is None:
            sys.exit(f"embed-call.py: no element {factory}: is GST_PLUGIN_PATH set "
                     "to the plugins (build/plugins)?")
        return e

    # ---- The function call: on the network thread ----

    def on_function_call(self, agent, name, call_id, arguments):
        if name == "get_weather":
            output = get_weather(arguments)
        else:
            output = json.dumps({"error": f"no function named {name}"})
        # Any thread may emit it; the agent speaks with the result.
        agent.emit("function-result", call_id, output)
        print_line({"type": "function-call", "name": name, "call-id": call_id,
                    "arguments": arguments, "output": output})

    # ---- The bus: on the main loop's thread ----

    def hang_up(self, reason):
        if self.hung_up:
            return
        self.hung_up = True
        # The agent finishes what it is saying, then EOS; twiliosink posts
        # EOS once Twilio has played it all.
        self.agent.emit("hang-up", reason)
        print_line({"type": "hang-up-requested", "reason": reason})

    def print_stats(self):
        line = {"type": "stats"}
        for e in (self.src, self.agent, self.sink):
            line[e.get_factory().get_name()] = structure_to_dict(e.get_property("stats"))
        print_line(line)

    def on_element_message(self, s):
        name = s.get_name()
        if name == "openai-realtime/transcript":
            if not s.get_value("final"):
                return          # the agent's deltas: only the whole text
            print_line({"type": "transcript", **structure_to_dict(s)})
            if s.get_value("role") == "assistant":
                self.agent_finals += 1
                if self.agent_finals == self.args.hang_up_after:
                    self.hang_up("the application is done")
        elif name == "openai-realtime/session":
            print_line({"type": "session", "input-format": s.get_value("input-format"),
                        "output-format": s.get_value("output-format")})
        elif name == "twilio/start":
            print_line({"type": "call", **structure_to_dict(s)})
        elif name == "openai-realtime/hang-up":
            print_line({"type": "hang-up", **structure_to_dict(s)})
        elif name == "twilio/stop":
            print_line({"type": "stop", **structure_to_dict(s)})
        elif name == "openai-realtime/error":
            print_line({"type": "api-error", **structure_to_dict(s)})

    def finish(self, exit_code):
        self.exit_code = exit_code
        self.loop.quit()

    def on_bus(self, bus, msg):
        if msg.type == Gst.MessageType.ELEMENT:
            self.on_element_message(msg.get_structure())
        elif msg.type == Gst.MessageType.EOS:
            self.print_stats()          # read before NULL, which resets them
            print_line({"type": "end", "reason": "eos", "hung-up": self.hung_up})
            self.finish(0)
        elif msg.type == Gst.MessageType.ERROR:
            error, debug = msg.parse_error()
            source = msg.src.get_name()
            print_line({"type": "error", "source": source, "message": error.message})
            print(f"embed-call.py: error from {source}: {error.message}", file=sys.stderr)
            if debug:
                print(f"embed-call.py: {debug}", file=sys.stderr)
            self.finish(1)
        elif msg.type == Gst.MessageType.WARNING:
            error, _ = msg.parse_warning()
            print(f"embed-call.py: warning from {msg.src.get_name()}: {error.message}",
                  file=sys.stderr)

    def on_signal(self):
        """SIGINT/SIGTERM: end the call as the agent would; a second one quits."""
        if self.hung_up:
            print("embed-call.py: interrupted", file=sys.stderr)
            self.finish(1)
        else:
            self.hang_up("the application was stopped")
        return GLib.SOURCE_CONTINUE

    def run(self):
        # twiliosrc listens from READY on: the bound port can be read then.
        if self.pipeline.set_state(Gst.State.READY) == Gst.StateChangeReturn.FAILURE:
            self.drain_errors()
        else:
            port = self.src.get_property("port")
            print_line({"type": "listening", "url": f"ws://127.0.0.1:{port}/media"})
            if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
                self.drain_errors()
            else:
                self.loop.run()
        # NULL closes the API session and the WebSocket (1000).  twiliosrc
        # writes the close frame on its network thread after this returns:
        # a program that exits at once may drop the connection before it
        # (docs/embedding.md).
        self.pipeline.set_state(Gst.State.NULL)
        self.pipeline.get_bus().remove_signal_watch()
        return self.exit_code

    def drain_errors(self):
        """A failed state change posted its error: say it."""
        self.exit_code = 1
        bus = self.pipeline.get_bus()
        while True:
            msg = bus.pop_filtered(Gst.MessageType.ERROR)
            if msg is None:
                break
            self.on_bus(bus, msg)


def main():
    parser = argparse.ArgumentParser(description="One phone call through openairealtime.")
    parser.add_argument("--port", type=int, default=8080,
                        help="port of the Media Stream WebSocket on 127.0.0.1 (0: any free "
                             "one; the \"listening\" line says which)")
    parser.add_argument("--uri", help="Realtime API URI (default: OpenAI's)")
    parser.add_argument("--hang-up-after", type=int, default=1, metavar="N",
                        help="hang up after the agent's Nth final transcript (default 1; "
                             "0: never, the call ends when the caller hangs up)")
    parser.add_argument("--transcription-model", default="gpt-4o-transcribe",
                        help="caller transcription model")
    parser.add_argument("--instructions", help="the agent's instructions")
    args = parser.parse_args()          # a usage error exits 2
    if not 0 <= args.port <= 65535 or args.hang_up_after < 0:
        parser.error("--port is 0-65535, --hang-up-after 0 or more")
    Gst.init(None)
    return App(args).run()


if __name__ == "__main__":
    sys.exit(main())
