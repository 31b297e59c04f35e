#!/usr/bin/python3
"""Validate every client event our Realtime builders produce against the
official strict schema.

Usage: /usr/bin/python3 check-schema.py DUMP_EXE VALIDATE_EVENT

1. Runs DUMP_EXE (realtime-dump-events), which prints one client event per
   line over a matrix of configurations, and fails if it fails or prints
   fewer lines than the matrix holds (an empty dump must not pass).
2. Runs `/usr/bin/python3 VALIDATE_EVENT FILE` on the dump (strict schema;
   it exits 1 on any invalid event and prints which).
3. Proves the check can fail: deliberately wrong events (noise_reduction as
   a string, a temperature field, the beta flat format) must each be
   rejected by the same validator.
4. Validates the server-event samples of the fuzz seed corpus
   (tests/fuzz/corpus/realtime, written from test-realtime's samples) with
   --server, so the parser's tests use events shaped as the schema says.

Exit status: the validator's status on the dump, or 1 if any other step fails.
"""
import os
import subprocess
import sys
import tempfile

# realtime-dump-events.c: 3 x 3 formats x 7 VAD cases x 3 transcription x
# 4 noise reductions, 5 tool_choice forms, 4 other sessions, 13 other events.
EXPECTED_LINES = 3 * 3 * 7 * 3 * 4 + 5 + 4 + 13

WRONG_EVENTS = [
    # The classic noise bug: a string where the API wants an object.
    '{"type":"session.update","event_id":"evt_neg1","session":{"type":"realtime",'
    '"audio":{"input":{"format":{"type":"audio/pcmu"},"noise_reduction":"near_field"}}}}',
    # temperature does not exist in GA.
    '{"type":"session.update","event_id":"evt_neg2","session":{"type":"realtime",'
    '"temperature":0.8}}',
    # The beta shape.
    '{"type":"session.update","event_id":"evt_neg3","session":{"type":"realtime",'
    '"input_audio_format":"g711_ulaw"}}',
]

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def fail(message):
    print("check-schema: " + message)
    return 1


def validate(validate_event, lines, *flags):
    """Runs the validator on `lines`; returns (status, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        proc = subprocess.run([PYTHON, validate_event, *flags, path],
                              capture_output=True, text=True)
    finally:
        os.unlink(path)
    return proc.returncode, proc.stdout + proc.stderr


def check_dump(dump_exe, validate_event):
    proc = subprocess.run([dump_exe], capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        return fail(f"{dump_exe} exited with {proc.returncode}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if len(lines) < EXPECTED_LINES:
        return fail(f"the dump has {len(lines)} events, expected at least {EXPECTED_LINES}")
    status, output = validate(validate_event, lines)
    sys.stdout.write(output)
    print(f"check-schema: {len(lines)} client events, validator status {status}")
    return status


def check_negatives(validate_event):
    bad = 0
    for event in WRONG_EVENTS:
        status, output = validate(validate_event, [event])
        if status != 1:
            bad += fail(f"the validator accepted a wrong event (status {status}): {event}")
        else:
            print("check-schema: rejected as it should be: " + output.strip())
    return 1 if bad else 0


def check_server_samples(validate_event):
    corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "fuzz", "corpus", "realtime")
    names = sorted(os.listdir(corpus)) if os.path.isdir(corpus) else []
    if not names:
        return fail(f"no server-event samples in {corpus}")
    lines = []
    for name in names:
        with open(os.path.join(corpus, name)) as f:
            lines.append(f.read().strip())
    status, output = validate(validate_event, lines, "--server")
    sys.stdout.write(output)
    print(f"check-schema: {len(lines)} server-event samples, validator status {status}")
    return 0 if status == 0 else 1


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    dump_exe, validate_event = argv
    status = check_dump(dump_exe, validate_event)
    others = check_negatives(validate_event) | check_server_samples(validate_event)
    return status if status != 0 else others


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
