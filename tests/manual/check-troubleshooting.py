#!/usr/bin/python3
"""docs/troubleshooting.md against the tree, so that every "Reproduce:" runs.

Every entry of the page that names a cause (a "**Cause" paragraph) must have
a "**Reproduce:**" paragraph.  The commands of a Reproduce part are the
inline code spans that start like a command (meson, gst-launch-1.0, a program
under build/, env, timeout, VAR=value ...) and every line of the ```sh blocks,
from the "**Reproduce:**" line to the next heading.  Each command is split at
the shell's | ; & && and checked:

- `meson test -C build NAME ...`: each NAME is a test that
  `meson test -C BUILD --list` prints; `--suite S` names a suite it prints;
- `GST_CHECKS=CASE[,CASE] meson test -C build NAME`: each CASE is a
  GST_START_TEST in the C sources of NAME's executable
  (`meson introspect --tests --targets`);
- `--test-args '-p /PATH'`: /PATH is a GLib test path that those sources
  register (g_test_add_func ("/PATH", ...), g_test_add, or a wrapper ADD);
- build/src/tools/realtime-mock/realtime-mock, .../twilio-call-sim and
  build/src/server/twilio-realtime-server: the program exists under BUILD
  and each --option given to it is in its `--help-all` (the programs are the
  ones GTR_REALTIME_MOCK, GTR_TWILIO_CALL_SIM and GTR_SERVER name when set);
- gst-launch-1.0: every element exists (gst-inspect-1.0), and every
  prop=value given to twiliosrc, twiliosink or openairealtime is one of its
  properties.

Also: every link to #anchor on the page is a heading of the page.  Prints
each problem and exits 1; exits 0 when there is none.
Usage: check-troubleshooting.py [--meson CMD] DOCS/troubleshooting.md BUILD_DIR
       check-troubleshooting.py --self-test [--meson CMD] DOCS/troubleshooting.md BUILD_DIR
--self-test checks the checker: the page with one name made wrong at a time
(a test, a gst-check case, a GLib test path, a stand-in's option, an element
property, a program path, a link, a missing Reproduce) must fail each time.
"""
import functools
import json
import os
import re
import shlex
import subprocess
import sys

OUR_ELEMENTS = {"twiliosrc", "twiliosink", "openairealtime"}
TOOLS = {  # basename -> (path under the build dir, environment variable)
    "realtime-mock": ("src/tools/realtime-mock/realtime-mock", "GTR_REALTIME_MOCK"),
    "twilio-call-sim": ("src/tools/twilio-call-sim/twilio-call-sim", "GTR_TWILIO_CALL_SIM"),
    "twilio-realtime-server": ("src/server/twilio-realtime-server", "GTR_SERVER"),
}
COMMAND_START = re.compile(
    r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:meson|gst-launch-1\.0|build/|env\s|timeout\s)")
SHELL_OPS = {"|", "||", "&", "&&", ";", ";;", "(", ")"}


class Tree:
    """What the build directory knows: tests, their sources, programs."""

    def __init__(self, build, meson):
        self.build = os.path.abspath(build)
        self.meson = meson

    def run(self, args, **kw):
        return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)

    @functools.cached_property
    def listing(self):
        proc = self.run(self.meson + ["test", "-C", self.build, "--list", "--no-rebuild"])
        if proc.returncode != 0:
            raise SystemExit(f"meson test --list failed: {proc.stdout}{proc.stderr}")
        tests, suites = set(), set()
        for line in proc.stdout.splitlines():
            # "project:suite+suite / name"
            if " / " not in line:
                continue
            left, name = line.split(" / ", 1)
            tests.add(name.strip())
            for s in left.split(":", 1)[-1].split("+"):
                suites.add(s.strip())
        if not tests:
            raise SystemExit(f"meson test --list printed no tests: {proc.stdout}")
        return tests, suites

    @functools.cached_property
    def sources(self):
        """test name -> the C files of the executable it runs."""
        proc = self.run(self.meson + ["introspect", self.build, "--tests", "--targets"])
        if proc.returncode != 0:
            raise SystemExit(f"meson introspect failed: {proc.stderr}")
        info = json.loads(proc.stdout)
        by_file = {}
        for target in info["targets"]:
            files = [s for ts in target.get("target_sources", [])
                     for s in ts.get("sources", []) if s.endswith(".c")]
            for f in target.get("filename", []):
                by_file[f] = files
        out = {}
        for test in info["tests"]:
            out.setdefault(test["name"], [])
            for arg in test["cmd"]:
                out[test["name"]] += by_file.get(arg, [])
        return out

    @functools.lru_cache(maxsize=None)
    def source_text(self, name):
        text = ""
        for path in self.sources.get(name, []):
            with open(path, encoding="utf-8") as f:
                text += f.read()
        return text

    @functools.lru_cache(maxsize=None)
    def tool_options(self, base):
        rel, var = TOOLS[base]
        path = os.environ.get(var) or os.path.join(self.build, rel)
        # an ASan build: GOption's exit after the help is no leak to report
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        proc = self.run([path, "--help-all"], env=env)
        if proc.returncode != 0:
            raise SystemExit(f"{path} --help-all failed ({proc.returncode}): {proc.stderr}")
        return set(re.findall(r"^\s+(--[a-z][a-z0-9-]*)", proc.stdout, re.M))

    @functools.lru_cache(maxsize=None)
    def element_properties(self, element):
        """None when gst-inspect-1.0 does not know the element."""
        env = dict(os.environ, GST_INSPECT_NO_COLORS="1")
        proc = self.run(["gst-inspect-1.0", "--no-colors", element], env=env)
        if proc.returncode != 0:
            return None
        props, inside = set(), False
        for line in proc.stdout.splitlines():
            if line.startswith("Element Properties:"):
                inside = True
            elif line and not line.startswith(" "):
                inside = False
            elif inside:
                m = re.match(r"^  ([a-z][a-z0-9-]*)\s*:", line)
                if m:
                    props.add(m.group(1))
        return props


def reproduce_parts(md):
    """[(heading, line number, text)] of each Reproduce part; and the
    headings of entries with a Cause but no Reproduce."""
    parts, missing = [], []
    heading, has_cause, part, start = None, False, None, 0

    def close():
        if part is not None:
            parts.append((heading, start, "\n".join(part)))
        elif has_cause:
            missing.append(heading)

    for no, line in enumerate(md.splitlines(), 1):
        if line.startswith("#"):
            close()
            heading, has_cause, part = line.lstrip("# ").strip(), False, None
            continue
        if line.startswith("**Cause"):
            has_cause = True
        if line.startswith("**Reproduce:**") and part is None:
            part, start = [], no
        if part is not None:
            part.append(line)
    close()
    return parts, missing


def commands(text):
    """The commands of one Reproduce part (strings)."""
    out, in_block = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = line.strip() == "```sh" if not in_block else False
            continue
        if in_block:
            if line.strip() and not line.lstrip().startswith("#"):
                out.append(line.strip())
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose.replace("\n", " ")):
        if COMMAND_START.match(span):
            out.append(span)
    return out


def segments(command):
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    seg = []
    for tok in lexer:
        if tok in SHELL_OPS:
            if seg:
                yield seg
            seg = []
        else:
            seg.append(tok)
    if seg:
        yield seg


def check_meson(tree, env, args, where):
    problems = []
    tests, suites = tree.listing
    names, test_args, i = [], [], 0
    while i < len(args):
        a = args[i]
        if a in ("-C", "--test-args", "--suite", "--setup", "--repeat",
                 "--num-processes", "-t", "--timeout-multiplier", "--wrapper"):
            value = args[i + 1] if i + 1 < len(args) else ""
            if a == "--test-args":
                test_args += shlex.split(value)
            if a == "--suite" and value not in suites:
                problems.append(f"{where}: meson test --suite {value}: no such suite")
            i += 2
            continue
        if a.startswith("--test-args="):
            test_args += shlex.split(a.split("=", 1)[1])
        elif a.startswith("--suite="):
            if a.split("=", 1)[1] not in suites:
                problems.append(f"{where}: meson test {a}: no such suite")
        elif not a.startswith("-"):
            names.append(a.split(":")[-1] if ":" in a else a)
        i += 1
    for name in names:
        if name not in tests:
            problems.append(f"{where}: meson test {name}: no such test in meson test --list")
    cases = [c for c in env.get("GST_CHECKS", "").split(",") if c]
    paths = [test_args[j + 1] for j, a in enumerate(test_args[:-1]) if a == "-p"]
    for name in names:
        if name not in tests:
            continue
        src = tree.source_text(name)
        for case in cases:
            if not re.search(r"GST_START_TEST\s*\(\s*" + re.escape(case) + r"\s*\)", src):
                problems.append(f"{where}: GST_CHECKS={case}: no GST_START_TEST ({case}) "
                                f"in the sources of test {name}")
        for path in paths:
            # g_test_add_func ("/path", ...), g_test_add ("/path", ...), or a
            # file's own wrapper macro around them (call-sim's ADD)
            if not re.search(r"\b(?:g_test_add\w*|ADD)\s*\(\s*" + re.escape(f'"{path}"'), src):
                problems.append(f"{where}: -p {path}: no GLib test path \"{path}\" "
                                f"in the sources of test {name}")
    if (cases or paths) and not names:
        problems.append(f"{where}: GST_CHECKS or -p without a test name")
    return problems


def check_tool(tree, prog, args, where):
    base = os.path.basename(prog)
    rel, _ = TOOLS[base]
    problems = []
    if prog.startswith("build/") and prog != "build/" + rel:
        problems.append(f"{where}: {prog}: {base} is build/{rel}")
    elif prog.startswith("build/") and not os.path.exists(os.path.join(tree.build, rel)):
        problems.append(f"{where}: {prog}: not in the build directory")
    known = tree.tool_options(base)
    for a in args:
        if a.startswith("--"):
            opt = a.split("=", 1)[0]
            if opt not in known:
                problems.append(f"{where}: {base} {opt}: not an option in its --help-all")
    return problems


def check_launch(tree, args, where):
    problems = []
    words = [a for a in args if not (a.startswith("-") and a not in ("!",))]
    element = None
    for w in words:
        if w == "!":
            element = None
            continue
        if element is None:
            if "/" in w or "," in w:       # caps
                element = ""
                continue
            element = w
            if tree.element_properties(w) is None:
                problems.append(f"{where}: gst-launch-1.0: no element {w}")
            continue
        if "=" in w and element in OUR_ELEMENTS:
            prop = w.split("=", 1)[0]
            if prop not in tree.element_properties(element):
                problems.append(f"{where}: {element} has no property {prop}")
    return problems


def check_command(tree, command, where):
    problems = []
    for seg in segments(command):
        env = {}
        while seg:
            head = seg[0]
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", head):
                k, v = head.split("=", 1)
                env[k] = v
                seg = seg[1:]
            elif head == "env":
                seg = seg[1:]
                while seg and (seg[0].startswith("-") or "=" in seg[0]):
                    seg = seg[2:] if seg[0] == "-u" else seg[1:]
            elif head == "timeout":
                seg = seg[2:]
            else:
                break
        if not seg:
            continue
        prog, args = seg[0], seg[1:]
        if prog == "meson" and args[:1] == ["test"]:
            problems += check_meson(tree, env, args[1:], where)
        elif os.path.basename(prog) in TOOLS:
            problems += check_tool(tree, prog, args, where)
        elif prog == "gst-launch-1.0":
            problems += check_launch(tree, args, where)
        elif prog.startswith("build/"):
            problems.append(f"{where}: {prog}: a program this check does not know")
    return problems


def slug(heading):
    """The anchor GitHub gives a heading."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def check(md, tree):
    problems, count = [], 0
    anchors = {slug(m) for m in re.findall(r"^#+\s+(.*)$", md, re.M)}
    for target in re.findall(r"\]\(#([^)]+)\)", md):
        if target not in anchors:
            problems.append(f"link to #{target}: no such heading on the page")
    parts, missing = reproduce_parts(md)
    for heading in missing:
        problems.append(f"'{heading}': a Cause without a **Reproduce:**")
    for heading, line, text in parts:
        cmds = commands(text)
        if not cmds:
            problems.append(f"'{heading}' (line {line}): a Reproduce with no command")
        for c in cmds:
            count += 1
            problems += check_command(tree, c, f"'{heading}' (line {line})")
    return problems, len(parts), count


MUTATIONS = [  # (what, old, new): each must make the check fail
    ("a meson test name", "meson test -C build call-barge-in", "meson test -C build call-barge-inn"),
    ("a gst-check case", "GST_CHECKS=test_wrong_key_is_not_authorized",
     "GST_CHECKS=test_wrong_key_is_not_authorised"),
    ("a GLib test path", "-p /realtime-mock/truncate", "-p /realtime-mock/truncated"),
    ("a realtime-mock option", "--reject-sessions &", "--reject-session &"),
    ("a twilio-call-sim option", "--linger 2500", "--lingers 2500"),
    ("a twilio-realtime-server option", "--max-calls 1", "--max-call 1"),
    ("an openairealtime property", "silence-duration-ms=300", "silence-duration=300"),
    ("a program path", "build/src/tools/realtime-mock/realtime-mock --port 8765 --session-max",
     "build/src/realtime-mock/realtime-mock --port 8765 --session-max"),
    ("a link inside the page", "(#noise-on-the-line)", "(#noise-on-a-line)"),
    ("a missing Reproduce", "**Reproduce:** `GST_CHECKS=test_stall_flag_is_detected",
     "**Repro:** `GST_CHECKS=test_stall_flag_is_detected"),
]


def main(argv):
    meson = ["meson"]
    self_test = False
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--meson":
            meson = shlex.split(argv[i + 1])
            i += 2
            continue
        if argv[i] == "--self-test":
            self_test = True
        else:
            args.append(argv[i])
        i += 1
    if len(args) != 2:
        raise SystemExit(__doc__)
    with open(args[0], encoding="utf-8") as f:
        md = f.read()
    tree = Tree(args[1], meson)

    if not self_test:
        problems, parts, count = check(md, tree)
        for p in problems:
            print(p)
        print(f"{args[0]}: {parts} Reproduce parts, {count} commands, "
              f"{len(problems)} problem(s)")
        return 1 if problems else 0

    failed = 0
    base, _, _ = check(md, tree)
    if base:
        print("the page itself has problems:\n  " + "\n  ".join(base))
        return 1
    for what, old, new in MUTATIONS:
        if md.count(old) != 1:
            print(f"self-test: '{old}' is not on the page exactly once: update MUTATIONS")
            failed += 1
            continue
        problems, _, _ = check(md.replace(old, new, 1), tree)
        if problems:
            print(f"ok: {what} made wrong is caught: {problems[0]}")
        else:
            print(f"NOT CAUGHT: {what} ({old!r} -> {new!r})")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
