#!/usr/bin/python3
"""embed-own-server.py: the application runs its own HTTP server (libsoup 3)
and accepts Twilio's Media Stream WebSocket itself; each accepted connection
gets a pipeline of its own,

    twiliosrc connection=… ! openairealtime ! queue ! twiliosink

built in code.  twiliosrc does not listen: the application hands it the
Soup.WebsocketConnection in its "connection" property (embedded mode).
Debian: python3-gi gir1.2-gstreamer-1.0 gir1.2-soup-3.0.

The Soup.Server runs on the main thread's GMainContext (the default one,
which the GLib.MainLoop below iterates).  twiliosrc takes the connection's
context to be the thread-default context of the thread that sets
"connection" -- here the WebSocket callback, on that same main thread -- and
reads, writes and closes the WebSocket there for the whole call.  So that
loop must keep running until the connection is closed, and nothing on it may
block: a blocked main loop is a stalled call.

As embed-call.py does, it prints what it receives (transcripts, function
calls answered with "function-result", the hang-up, each call's "stats") as
JSON lines on stdout, each with the call's number; it ends a call with the
"hang-up" action signal after the agent's Nth final transcript.

    OPENAI_API_KEY=sk-… GST_PLUGIN_PATH=build/plugins docs/examples/embed-own-server.py --port 8080
    twilio-call-sim --url ws://127.0.0.1:8080/media --calls 2 …

Exit code 0 when every call ended cleanly (EOS), 1 when one ended with an
error (message on stderr and an "error" line), 2 on a usage error.
The same as embed-own-server.c; docs/embedding.md explains it,
tests/embedding runs it.
"""
import argparse
import json
import signal
import sys
import threading

import gi
gi.require_version("Gst", "1.0")
gi.require_version("Soup", "3.0")
from gi.repository import Gio, GLib, Gst, Soup  # noqa: E402

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


class Call:
    """One call: one connection, one pipeline."""

    def __init__(self, app, number, connection):
        self.app = app
        self.number = number
        self.connection = connection      # kept to know when it is closed
        self.agent_finals = 0
        self.hung_up = False
        self.ended = False

        self.pipeline = Gst.Pipeline.new(f"call-{number}")
        self.src = Gst.ElementFactory.make("twiliosrc", None)
        self.agent = Gst.ElementFactory.make("openairealtime", None)
        queue = Gst.ElementFactory.make("queue", None)
        self.sink = Gst.ElementFactory.make("twiliosink", None)
        if None in (self.src, self.agent, queue, self.sink):
            raise RuntimeError("the elements are missing: is GST_PLUGIN_PATH set to the "
                               "plugins (build/plugins)?")
        args = app.args
        self.agent.set_property("tools", json.dumps(TOOLS))
        self.agent.set_property("transcription-model", args.transcription_model)
        if args.uri:
            self.agent.set_property("uri", args.uri)
        if args.instructions:
            self.agent.set_property("instructions", args.instructions)
        for e in (self.src, self.agent, queue, self.sink):
            self.pipeline.add(e)
        if not (self.src.link(self.agent) and self.agent.link(queue) and queue.link(self.sink)):
            raise RuntimeError("could not link the elements")
        self.agent.connect("function-call", self.on_function_call)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_bus)
        self.closed_handler = connection.connect("closed", self.on_connection_closed)

    def line(self, type_, **fields):
        print_line({"type": type_, "call": self.number, **fields})

    def start(self):
        # Here, on the thread running the server's context: twiliosrc reads
        # the connection there.  The element refs it; frames that arrive
        # before PLAYING are queued.
        self.src.set_property("connection", self.connection)
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            print(f"embed-own-server.py: call {self.number}: the pipeline did not start",
                  file=sys.stderr)
            # its ERROR message is on the bus: on_bus ends the call

    # ---- The function call: on the network thread ----

    def on_function_call(self, agent, name, call_id, arguments):
        if name == "get_weather":
            output = get_weather(arguments)
        else:
            output = json.dumps({"error": f"no function named {name}"})
        # Any thread may emit it; the agent speaks with the result.
        agent.emit("function-result", call_id, output)
        self.line("function-call", name=name, **{"call-id": call_id},
                  arguments=arguments, output=output)

    # ---- The rest: on the main thread ----

    def hang_up(self, reason):
        if self.hung_up or self.ended:
            return
        self.hung_up = True
        # The agent finishes what it is saying, then EOS; twiliosink posts
        # EOS once Twilio has played it all.
        self.agent.emit("hang-up", reason)
        self.line("hang-up-requested", reason=reason)

    def on_element_message(self, s):
        name = s.get_name()
        if name == "openai-realtime/transcript":
            if not s.get_value("final"):
                return          # the agent's deltas: only the whole text
            self.line("transcript", **structure_to_dict(s))
            if s.get_value("role") == "assistant":
                self.agent_finals += 1
                if self.agent_finals == self.app.args.hang_up_after:
                    self.hang_up("the application is done")
        elif name == "openai-realtime/session":
            self.line("session", **{"input-format": s.get_value("input-format"),
                                    "output-format": s.get_value("output-format")})
        elif name == "twilio/start":
            self.line("call", **structure_to_dict(s))
        elif name == "openai-realtime/hang-up":
            self.line("hang-up", **structure_to_dict(s))
        elif name == "twilio/stop":
            self.line("stop", **structure_to_dict(s))
        elif name == "openai-realtime/error":
            self.line("api-error", **structure_to_dict(s))

    def on_bus(self, bus, msg):
        if self.ended:
            return
        if msg.type == Gst.MessageType.ELEMENT:
            self.on_element_message(msg.get_structure())
        elif msg.type == Gst.MessageType.EOS:
            self.end("eos", 0)
        elif msg.type == Gst.MessageType.ERROR:
            error, debug = msg.parse_error()
            source = msg.src.get_name()
            self.line("error", source=source, message=error.message)
            print(f"embed-own-server.py: call {self.number}: error from {source}: "
                  f"{error.message}", file=sys.stderr)
            if debug:
                print(f"embed-own-server.py: {debug}", file=sys.stderr)
            self.end("error", 1)
        elif msg.type == Gst.MessageType.WARNING:
            error, _ = msg.parse_warning()
            print(f"embed-own-server.py: call {self.number}: warning from "
                  f"{msg.src.get_name()}: {error.message}", file=sys.stderr)

    def end(self, reason, exit_code):
        """EOS or error: stats, then NULL, which closes the WebSocket (1000)."""
        if self.ended:
            return
        self.ended = True
        if exit_code:
            self.app.exit_code = exit_code
        stats = {e.get_factory().get_name(): structure_to_dict(e.get_property("stats"))
                 for e in (self.src, self.agent, self.sink)}   # before NULL resets them
        self.line("stats", **stats)
        self.line("end", reason=reason, **{"hung-up": self.hung_up})
        self.pipeline.set_state(Gst.State.NULL)
        self.pipeline.get_bus().remove_signal_watch()
        self.pipeline = self.src = self.agent = self.sink = None
        if self.connection.get_state() == Soup.WebsocketState.CLOSED:
            self.free()
        # else on_connection_closed, when the close handshake is done
        # (libsoup bounds it)

    def on_connection_closed(self, connection):
        if self.ended:
            self.free()

    def free(self):
        """The call is over once its WebSocket is closed: the close handshake
        runs on this thread's context, after the pipeline is gone."""
        if self.connection is None:
            return
        self.connection.disconnect(self.closed_handler)
        self.connection = None
        self.app.call_over(self)


class App:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.calls = []
        self.next_number = 0
        self.calls_over = 0
        self.stopping = False
        self.exit_code = 0
        # On the default context, which the main loop runs: the callbacks (and
        # so every call's WebSocket) are on this thread.
        self.server = Soup.Server(server_header="embed-own-server.py ")
        # A real server checks X-Twilio-Signature here, in an early handler
        # for /media, before the upgrade (docs/twilio-elements.md).
        self.server.add_websocket_handler("/media", None, None, self.on_media_stream)

    def listen(self):
        address = Gio.InetSocketAddress.new_from_string("127.0.0.1", self.args.port)
        try:
            self.server.listen(address, 0)
        except GLib.Error as e:
            print(f"embed-own-server.py: cannot listen on 127.0.0.1:{self.args.port}: "
                  f"{e.message}", file=sys.stderr)
            return False
        port = self.server.get_uris()[0].get_port()
        print_line({"type": "listening", "url": f"ws://127.0.0.1:{port}/media"})
        return True

    def on_media_stream(self, server, msg, path, connection):
        if self.stopping:
            connection.close(Soup.WebsocketCloseCode.GOING_AWAY, "shutting down")
            return
        self.next_number += 1
        remote = msg.get_remote_address()
        print_line({"type": "accepted", "call": self.next_number,
                    "remote": remote.to_string() if remote else ""})
        try:
            call = Call(self, self.next_number, connection)
        except RuntimeError as e:
            print(f"embed-own-server.py: {e}", file=sys.stderr)
            self.exit_code = 1
            connection.close(Soup.WebsocketCloseCode.SERVER_ERROR, None)
            return
        self.calls.append(call)
        call.start()

    def call_over(self, call):
        self.calls.remove(call)
        self.calls_over += 1
        self.maybe_quit()

    def maybe_quit(self):
        if self.args.calls and self.calls_over >= self.args.calls:
            self.stopping = True
        if self.stopping and not self.calls:
            self.loop.quit()

    def on_signal(self):
        """SIGINT/SIGTERM: hang up every call as the agent would; no new ones;
        a second signal quits."""
        if self.stopping:
            print("embed-own-server.py: interrupted", file=sys.stderr)
            self.exit_code = 1
            self.loop.quit()
            return GLib.SOURCE_CONTINUE
        self.stopping = True
        for call in list(self.calls):
            call.hang_up("the application was stopped")
        self.maybe_quit()
        return GLib.SOURCE_CONTINUE

    def run(self):
        if not self.listen():
            return 1
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, self.on_signal)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, self.on_signal)
        self.loop.run()
        # a second signal: calls still running are torn down
        for call in list(self.calls):
            if not call.ended:
                call.end("interrupted", 1)
            call.free()
        self.server.disconnect()
        return self.exit_code


def main():
    parser = argparse.ArgumentParser(description="A Media Stream server, one pipeline per call.")
    parser.add_argument("--port", type=int, default=8080,
                        help="port of the HTTP server on 127.0.0.1 (0: any free one; the "
                             "\"listening\" line says which)")
    parser.add_argument("--uri", help="Realtime API URI (default: OpenAI's)")
    parser.add_argument("--hang-up-after", type=int, default=1, metavar="N",
                        help="hang up after the agent's Nth final transcript of a call "
                             "(default 1; 0: never, a call ends when the caller hangs up)")
    parser.add_argument("--calls", type=int, default=0, metavar="N",
                        help="exit once this many calls are over (default 0: run until "
                             "SIGINT or SIGTERM)")
    parser.add_argument("--transcription-model", default="gpt-4o-transcribe",
                        help="caller transcription model")
    parser.add_argument("--instructions", help="the agent's instructions")
    args = parser.parse_args()          # a usage error exits 2
    if not 0 <= args.port <= 65535 or args.hang_up_after < 0 or args.calls < 0:
        parser.error("--port is 0-65535, --hang-up-after and --calls 0 or more")
    Gst.init(None)
    return App(args).run()


if __name__ == "__main__":
    sys.exit(main())
