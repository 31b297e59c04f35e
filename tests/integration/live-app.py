#!/usr/bin/python3
"""live-app.py: a small PyGObject application around openailive, for
test-live.py: it answers the model's hand-offs the way an application must
(GPT-Live has no tools in the session).

    live-app.py --port P --uri WS --delegation responses|client --answer TEXT

- delegation=responses: the backend's function calls arrive as the
  "function-call" signal; the app answers with the "function-result" action
  ({"answer": TEXT}).
- delegation=client: "delegation" (an id, no task text); the app answers with
  "delegation-result" (TEXT, which the agent says).
Prints one JSON object per line (what it received and answered) and exits 0
on EOS, 1 on an error.
"""
import argparse
import json
import sys
import threading

import gi
gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

lock = threading.Lock()


def emit(obj):
    with lock:
        print(json.dumps(obj), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--uri", required=True)
    ap.add_argument("--delegation", choices=["responses", "client"], required=True)
    ap.add_argument("--answer", required=True)
    args = ap.parse_args()
    Gst.init(None)
    pipeline = Gst.Pipeline.new("call")
    src = Gst.ElementFactory.make("twiliosrc")
    live = Gst.ElementFactory.make("openailive")
    sink = Gst.ElementFactory.make("twiliosink")
    src.set_property("address", "127.0.0.1")
    src.set_property("port", args.port)
    live.set_property("uri", args.uri)
    live.set_property("api-key", "test-key")
    live.set_property("delegation", args.delegation)
    if args.delegation == "responses":
        live.set_property("responses-model", "gpt-5.1")
        live.set_property("tools", json.dumps([{"type": "function", "name": "lookup_order",
                                                "description": "An order's status.",
                                                "parameters": {"type": "object", "properties": {}}}]))
    for e in (src, live, sink):
        pipeline.add(e)
    src.link(live)
    live.link(sink)

    def on_function_call(element, name, call_id, arguments):
        emit({"function-call": name, "call-id": call_id, "arguments": json.loads(arguments)})
        element.emit("function-result", call_id, json.dumps({"answer": args.answer}))

    def on_delegation(element, delegation_id):
        emit({"delegation": delegation_id})
        element.emit("delegation-result", delegation_id, args.answer)

    live.connect("function-call", on_function_call)
    live.connect("delegation", on_delegation)
    loop = GLib.MainLoop()
    rc = [0]

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.EOS:
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, _ = msg.parse_error()
            emit({"error": err.message})
            rc[0] = 1
            loop.quit()
        elif msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name().startswith("openai"):
            # names only: the harness reads this output with backslashes removed
            emit({"message": msg.get_structure().get_name()})
        return True

    bus = pipeline.get_bus()
    bus.add_watch(GLib.PRIORITY_DEFAULT, on_message)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    return rc[0]


if __name__ == "__main__":
    sys.exit(main())
