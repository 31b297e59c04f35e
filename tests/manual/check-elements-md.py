#!/usr/bin/python3
"""docs/elements.md against gst-inspect-1.0, so that the two never disagree.

For each element (twiliosrc, twiliosink, openairealtime, openailive) this runs
`gst-inspect-1.0 --no-colors ELEMENT` and reads its `## ELEMENT` section of
docs/elements.md, then checks, in both directions:

- properties: the same names (the own and the inherited tables together);
  for each own property its type, range (enum: the values), default and
  when it may change (write-only, read-only) as gst-inspect prints them;
- signals and action signals: the same names, and the factory's `signals`
  and `actions` metadata describe every argument gst-inspect lists
  (arg0 ... argN-1, no more);
- pad templates: the same names, directions and availability;
- element messages and events: the names the factory's `messages` and
  `events` metadata describe (gst-inspect prints them under Factory
  Details) are the names the page's tables list.

Also: every own string property whose default is null says in its blurb
what unset means.  Prints each disagreement and exits 1; exits 0 when there
is none.  Usage: check-elements-md.py DOCS/elements.md [ELEMENT ...]
"""
import os
import re
import subprocess
import sys

ELEMENTS = ["twiliosrc", "twiliosink", "openairealtime", "openailive"]
CONTENT_COL = 27          # gst-inspect: "  %-25s" before a metadata value


def run_inspect(element):
    env = dict(os.environ, GST_INSPECT_NO_COLORS="1")
    proc = subprocess.run(["gst-inspect-1.0", "--no-colors", element],
                          capture_output=True, text=True, env=env, timeout=60)
    if proc.returncode != 0:
        raise SystemExit(f"gst-inspect-1.0 {element} failed ({proc.returncode}):"
                         f" {proc.stdout}{proc.stderr}")
    return proc.stdout


def sections(text):
    """Top-level sections of gst-inspect's output: title -> lines."""
    out, title = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            title = line[:-1]
            out[title] = []
        elif title is not None:
            out[title].append(line)
    return out


def parse_metadata(lines):
    """Factory Details: key -> list of entries (continuations joined)."""
    meta, key = {}, None
    for line in lines:
        if not line.strip():
            continue
        if line[2] != " ":                      # "  Key      value"
            key = line[2:CONTENT_COL].strip().lower()
            meta[key] = [line[CONTENT_COL:].strip()]
        elif key and len(line) > CONTENT_COL and line[CONTENT_COL] != " " \
                and line[:CONTENT_COL].strip() == "":
            meta[key].append(line.strip())      # a new entry
        elif key:
            meta[key][-1] += " " + line.strip()  # a continuation
    return meta


def parse_properties(lines):
    props, cur = {}, None
    for line in lines:
        m = re.match(r"^  ([a-z][a-z0-9-]*)\s*: ?(.*)$", line)
        if m:
            cur = {"blurb": m.group(2), "flags": "", "spec": ""}
            props[m.group(1)] = cur
            continue
        if cur is None:
            continue
        s = line.strip()
        if s.startswith("flags:"):
            cur["flags"] = s[len("flags:"):].strip()
        elif not cur["spec"] and s:
            cur["spec"] = s
        m = re.match(r"^\((\d+)\): (\S+)\s+- ", s)
        if m:
            cur.setdefault("nicks", []).append(m.group(2))
    for p in props.values():
        spec = p["spec"]
        m = re.match(r'^(Enum|Boxed pointer|Object|[A-Za-z0-9 ]+?)(?:\.|\s+of type|\s+")', spec)
        p["type"] = m.group(1) if m else spec
        m = re.search(r"Range:\s*(\S+)\s*-\s*(\S+)", spec)
        p["range"] = f"{m.group(1)}–{m.group(2)}" if m else None
        m = re.search(r'Default:\s+(?:-?\d+, )?("(?:[^"]*)"|\S+)', spec)
        d = m.group(1) if m else None
        p["default"] = d.strip('"') if d else None
    return props


def parse_signals(lines):
    sigs, cur = {}, None
    for line in lines:
        m = re.match(r'^  "([a-z][a-z0-9-]*)" :', line)
        if m:
            cur = m.group(1)
            sigs[cur] = 0
        if cur:
            sigs[cur] += len(re.findall(r"\barg\d+\b", line))
    return sigs


def parse_pads(lines):
    pads, cur = {}, None
    for line in lines:
        m = re.match(r"^  (SRC|SINK) template: '([^']+)'", line)
        if m:
            cur = m.group(2)
            pads[cur] = {"direction": m.group(1).lower()}
        m = re.match(r"^\s+Availability: (.*)$", line)
        if m and cur:
            pads[cur]["availability"] = m.group(1).strip().lower()
    return pads


def inspect(element):
    text = run_inspect(element)
    sec = sections(text)
    meta = parse_metadata(sec.get("Factory Details", []))
    return {
        "meta": meta,
        "props": parse_properties(sec.get("Element Properties", [])),
        "signals": parse_signals(sec.get("Element Signals", [])),
        "actions": parse_signals(sec.get("Element Actions", [])),
        "pads": parse_pads(sec.get("Pad Templates", [])),
        "messages": entry_names(meta.get("messages", []), r"^([a-z0-9-]+/[a-z0-9-]+):"),
        "events": entry_names(meta.get("events", []), r"^((?:sink|src), \S+?)[ :(]"),
        "signal_docs": {n: e for n, e in entry_map(meta.get("signals", []))},
        "action_docs": {n: e for n, e in entry_map(meta.get("actions", []))},
    }


def entry_names(entries, pattern):
    names = set()
    for e in entries:
        m = re.match(pattern, e)
        if m:
            names.add(m.group(1))
    return names


def entry_map(entries):
    for e in entries:
        m = re.match(r"^([a-z][a-z0-9-]*): (.*)$", e)
        if m:
            yield m.group(1), m.group(2)


# ---------------------------------------------------------------- the page

def page_sections(md):
    """`## \\`element\\`` -> {`### Heading` (lower) -> list of table rows}."""
    out, elem, head = {}, None, None
    for line in md.splitlines():
        m = re.match(r"^## `([a-z]+)`", line)
        if m:
            elem, head = m.group(1), None
            out[elem] = {}
            continue
        if line.startswith("## "):
            elem = None
            continue
        m = re.match(r"^### (.*)$", line)
        if m and elem:
            head = m.group(1).strip().lower()
            out[elem].setdefault(head, [])
            continue
        if elem and head and line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue
            out[elem][head].append(cells)
    # drop each table's header row
    return {e: {h: rows[1:] for h, rows in hs.items()} for e, hs in out.items()}


def code_names(cell):
    return re.findall(r"`([^`]+)`", cell)


def first_names(rows):
    names = []
    for r in rows:
        names.extend(code_names(r[0])[:1])
    return names


# ---------------------------------------------------------------- checks

def same_number(a, b):
    try:
        return float(a) == float(b)
    except ValueError:
        return False


TYPE_WORDS = {
    "String": "string", "Integer": "int", "Unsigned Integer": "uint",
    "Integer64": "int64", "Unsigned Integer64": "uint64", "Boolean": "boolean",
    "Double": "double", "Enum": "enum", "Boxed pointer": "GstStructure",
    "Object": "object",
}


def check_element(name, gi, page, problems):
    def problem(text):
        problems.append(f"{name}: {text}")

    if name not in page:
        problem("no `## `" + name + "`` section in docs/elements.md")
        return
    sec = page[name]

    def both_ways(what, inspected, documented):
        inspected, documented = set(inspected), set(documented)
        for n in sorted(inspected - documented):
            problem(f"{what} {n!r}: in gst-inspect, not in docs/elements.md")
        for n in sorted(documented - inspected):
            problem(f"{what} {n!r}: in docs/elements.md, not in gst-inspect")

    own_rows = sec.get("properties", [])
    inherited_rows = sec.get("inherited properties", [])
    both_ways("property", gi["props"], first_names(own_rows) + first_names(inherited_rows))
    for row in own_rows:
        names = code_names(row[0])
        if not names or names[0] not in gi["props"]:
            continue
        if len(row) < 6:
            problem(f"property {names[0]}: the row needs 6 columns")
            continue
        p = gi["props"][names[0]]
        ptype, prange, pdefault, when = row[1], row[2], row[3], row[4]
        want = TYPE_WORDS.get(p["type"], p["type"])
        if not ptype.startswith(want):
            problem(f"property {names[0]}: type {ptype!r}, gst-inspect says {p['type']} ({want})")
        if p.get("nicks"):
            if code_names(prange) != p["nicks"]:
                problem(f"property {names[0]}: values {code_names(prange)}, gst-inspect {p['nicks']}")
        elif p["range"] and prange.replace(" ", "") != p["range"]:
            problem(f"property {names[0]}: range {prange!r}, gst-inspect {p['range']}")
        elif not p["range"] and prange not in ("", "—"):
            problem(f"property {names[0]}: range {prange!r}, gst-inspect shows none")
        if p["default"] is not None:
            documented = (code_names(pdefault) or [pdefault])[0]
            expected = "unset" if p["default"] == "null" else p["default"]
            if documented != expected and not same_number(documented, expected):
                problem(f"property {names[0]}: default {pdefault!r}, gst-inspect {p['default']}")
        flags = p["flags"]
        if "changeable only in NULL or READY" in flags:
            ok = when.startswith("NULL or READY") or when.startswith("NULL")
        elif "PLAYING" in flags:
            ok = when.startswith("any state")
        elif "writable" not in flags:
            ok = when.startswith("read-only")
        else:
            ok = when.startswith("any state")
        if not ok:
            problem(f"property {names[0]}: may change {when!r}, gst-inspect flags: {flags}")
        if "readable" not in flags and "writable" in flags and "write-only" not in when:
            problem(f"property {names[0]}: write-only in gst-inspect, not said so")
        if p["type"] == "String" and p["default"] == "null" \
                and "unset" not in p["blurb"].lower():
            problem(f"property {names[0]}: the blurb does not say what unset means")

    both_ways("signal", gi["signals"], first_names(sec.get("signals", [])))
    both_ways("action signal", gi["actions"], first_names(sec.get("action signals", [])))
    for kind, sigs, docs in (("signal", gi["signals"], gi["signal_docs"]),
                             ("action signal", gi["actions"], gi["action_docs"])):
        both_ways(f"{kind} described in gst-inspect's metadata", sigs, docs)
        for sig, nargs in sigs.items():
            text = docs.get(sig, "")
            found = sorted(set(int(a) for a in re.findall(r"\barg(\d+)\b", text)))
            if found != list(range(nargs)):
                problem(f"{kind} {sig}: gst-inspect lists {nargs} arguments, "
                        f"its metadata describes arg{found}")

    pad_rows = sec.get("pad templates", [])
    both_ways("pad template", gi["pads"], first_names(pad_rows))
    for row in pad_rows:
        names = code_names(row[0])
        if names and names[0] in gi["pads"] and len(row) >= 3:
            pad = gi["pads"][names[0]]
            if row[1].lower() != pad["direction"] or row[2].lower() != pad.get("availability"):
                problem(f"pad template {names[0]}: {row[1]}/{row[2]}, gst-inspect "
                        f"{pad['direction']}/{pad.get('availability')}")

    both_ways("element message", gi["messages"], first_names(sec.get("messages", [])))
    documented_events = set()
    for row in sec.get("events", []):
        names = code_names(row[1]) if len(row) > 1 else []
        if names:
            documented_events.add(f"{row[0].strip().lower()}, {names[0]}")
    both_ways("event", gi["events"], documented_events)
    if not gi["meta"].get("example", [""])[0].startswith("$ gst-launch-1.0"):
        problem("gst-inspect shows no example launch line")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        page = page_sections(f.read())
    problems = []
    for element in sys.argv[2:] or ELEMENTS:
        check_element(element, inspect(element), page, problems)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} disagreement(s) between gst-inspect-1.0 and {sys.argv[1]}")
        return 1
    print(f"docs/elements.md agrees with gst-inspect-1.0 for {', '.join(sys.argv[2:] or ELEMENTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
