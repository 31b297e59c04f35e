#!/usr/bin/python3
"""Validate every client event our GPT-Live builders produce against the
strict schema (tests/data/openai-live/live.schema.json, a byte copy of
../shared/openai-live).

Usage: /usr/bin/python3 live-check-schema.py DUMP_EXE

1. Runs DUMP_EXE (live-dump-events), which prints one client event per line
   over a matrix of settings; fails if it fails or prints fewer lines than
   the matrix holds (an empty dump must not pass).
2. Validates each line against #/$defs/ClientEvent (the session object and
   every client event are closed: an unknown field is an error), and checks
   that the dump holds every client event type of the schema's union.
3. Proves the check can fail: deliberately wrong events (a Realtime-style
   field, pcmu without its rate, a nested Chat Completions tool, an append
   without delegation_id) must each be rejected.
4. Validates the shared examples (client and server) and the fuzz seed
   corpus (tests/fuzz/corpus/live) against ClientEvent / ServerEvent, so
   the parser's tests and seeds are shaped as the schema says.

Exit status 0 when all of that holds, 1 otherwise.  Needs python3-jsonschema.
"""
import json
import os
import subprocess
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "openai-live")
CORPUS = os.path.join(HERE, "..", "fuzz", "corpus", "live")

# live-dump-events.c: 5 formats x 3 voices x 4 delegations x 3 store x 4
# extras, 4 tool_choice forms, 5 updates, 14 other events.
EXPECTED_LINES = 5 * 3 * 4 * 3 * 4 + 4 + 5 + 14

WRONG_EVENTS = [
    '{"type":"session.start","session":{"model":"gpt-live-1","temperature":0.8}}',
    '{"type":"session.start","session":{"model":"gpt-live-1","type":"realtime"}}',
    '{"type":"session.start","session":{"model":"gpt-live-1","audio":{"format":{"type":"audio/pcmu"}}}}',
    '{"type":"session.start","session":{"model":"gpt-live-1","audio":{"format":{"type":"audio/pcm","rate":8000}}}}',
    '{"type":"session.start","session":{"model":"gpt-live-1","audio":{"input":{"format":{"type":"audio/pcmu","rate":8000}}}}}',
    '{"type":"session.start","session":{"model":"gpt-live-1","delegation":{"type":"responses","responses":'
    '{"model":"m","tools":[{"type":"function","function":{"name":"x"}}]}}}}',
    '{"type":"session.start","session":{"instructions":"no model"}}',
    '{"type":"session.update","session":{"delegation":{"type":"responses","responses":{"tools":[{"type":"file_search"}]}}}}',
    '{"type":"session.commentary.append","content":"x"}',
    '{"type":"input_audio_buffer.append","audio":"AAAA"}',
]


def validator(root):
    schema = json.load(open(os.path.join(DATA, "live.schema.json")))
    return jsonschema.Draft202012Validator({**schema, "$ref": "#/$defs/" + root})


def leaves(errors):
    for e in errors:
        if e.context:
            yield from leaves(e.context)
        else:
            yield e


def first_error(v, event):
    """The error deepest in the event (under a oneOf, in the branch whose
    "type" matched), or None when the event is valid."""
    errors = list(v.iter_errors(event))
    if not errors:
        return None

    def rank(e):
        path = list(e.absolute_path)
        wrong_branch = bool(path) and path[-1] == "type" and e.validator in ("enum", "const")
        return (not wrong_branch, len(path))
    return max(leaves(errors), key=rank)


def check_lines(v, lines, label):
    bad = 0
    for n, line in enumerate(lines, 1):
        err = first_error(v, json.loads(line))
        if err is not None:
            bad += 1
            if bad <= 10:
                path = "/".join(str(p) for p in err.absolute_path)
                print(f"{label}:{n}: INVALID at {path or '(root)'}: {err.message}\n  {line[:300]}")
    print(f"live-check-schema: {label}: {len(lines)} events, {bad} invalid")
    return bad


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    client, server = validator("ClientEvent"), validator("ServerEvent")
    proc = subprocess.run([argv[0]], capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        print(f"live-check-schema: {argv[0]} exited with {proc.returncode}")
        return 1
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if len(lines) < EXPECTED_LINES:
        print(f"live-check-schema: the dump has {len(lines)} events, expected {EXPECTED_LINES}")
        return 1
    bad = check_lines(client, lines, "dump")

    schema = json.load(open(os.path.join(DATA, "live.schema.json")))
    wanted = {ref["$ref"].split("client:")[1] for ref in schema["$defs"]["ClientEvent"]["oneOf"]}
    dumped = {json.loads(line)["type"] for line in lines}
    if wanted - dumped:
        print(f"live-check-schema: no builder output for {sorted(wanted - dumped)}")
        bad += 1

    for event in WRONG_EVENTS:
        if first_error(client, json.loads(event)) is None:
            print(f"live-check-schema: the validator accepted a wrong event: {event}")
            bad += 1
    print(f"live-check-schema: {len(WRONG_EVENTS)} wrong events checked for rejection")

    for name, v in (("client-examples.jsonl", client), ("server-examples.jsonl", server)):
        with open(os.path.join(DATA, name)) as f:
            bad += check_lines(v, [l for l in f.read().splitlines() if l.strip()], name)
    seeds = sorted(os.listdir(CORPUS)) if os.path.isdir(CORPUS) else []
    if not seeds:
        print(f"live-check-schema: no seeds in {CORPUS}")
        bad += 1
    known = [open(os.path.join(CORPUS, s)).read().strip() for s in seeds if not s.startswith("unknown-")]
    bad += check_lines(server, known, "fuzz corpus (known types)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
