#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks for test_flows.sh.

  flows_check.py flow JSON_FILE DPORT NAME SOURCE   -> prints bytes_to_app
      the flow list (tunproxy flows --json) has an open TCP flow to DPORT
      named NAME (learned from SOURCE) in state ESTABLISHED with TCP
      figures from both halves; prints its bytes_to_app.
  flows_check.py logline LOG DPORT NAME SOURCE FROM_APP TO_APP
      the JSON connection log has one flow_end line for a TCP flow to DPORT
      named NAME, ended by FIN, with exactly these byte counts.
  flows_check.py prom FILE
      FILE is valid Prometheus text exposition (format 0.0.4), strictly:
      HELP/TYPE before samples, one TYPE per family, names and labels
      well formed, values numeric, counters end in _total, no duplicate
      series; prints the number of samples.
"""
import json
import re
import sys


def die(msg):
    print("flows_check: " + msg, file=sys.stderr)
    sys.exit(1)


def check_flow(path, dport, name, source):
    with open(path) as f:
        doc = json.load(f)
    flows = doc["flows"]
    hits = [x for x in flows if x["proto"] == "tcp" and
            x["dst"].endswith(":%s" % dport) and x["name"] == name]
    if not hits:
        die("no TCP flow to port %s named %s in %s" %
            (dport, name, json.dumps(flows)))
    x = hits[0]
    if x["name_source"] != source:
        die("name source %s, want %s: %s" % (x["name_source"], source, x))
    if x["state"] != "ESTABLISHED":
        die("state %s, want ESTABLISHED" % x["state"])
    app = x["app_side"]
    if not app or app["mss"] <= 0 or app["cwnd"] <= 0:
        die("no app-side TCP figures: %s" % x)
    host = x["host_side"]
    if not host or host["mss"] <= 0:
        die("no host-side TCP_INFO: %s" % x)
    for k in ("age_ms", "idle_ms", "bytes_from_app", "bytes_to_app",
              "packets_from_app", "packets_to_app"):
        if not isinstance(x[k], int) or x[k] < 0:
            die("bad %s in %s" % (k, x))
    print(x["bytes_to_app"])


def check_log(path, dport, name, source, from_app, to_app):
    lines = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            obj = json.loads(line)  # every JSON line must parse
            if obj.get("event") == "flow_end":
                lines.append(obj)
    hits = [x for x in lines if x["proto"] == "tcp" and
            x["dst"].endswith(":%s" % dport) and x["name"] == name and
            x["name_source"] == source]
    if len(hits) != 1:
        die("want one flow_end for port %s %s, got %d: %s" %
            (dport, name, len(hits), lines))
    x = hits[0]
    want = {"name_source": source, "end": "fin",
            "bytes_from_app": int(from_app), "bytes_to_app": int(to_app)}
    for k, v in want.items():
        if x[k] != v:
            die("flow_end %s is %r, want %r: %s" % (k, x[k], v, x))


NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)(?: (-?\d+))?$" %
                    (NAME, LABEL, LABEL))


def check_prom(path):
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")  # must be UTF-8
    if not text.endswith("\n"):
        die("does not end with a newline")
    types, helps, seen, n = {}, set(), set(), 0
    family_done = set()
    current = None
    for i, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % NAME, line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    die("line %d: bad %s" % (i, line))
                continue
            kind, fam, rest = m.groups()
            if kind == "TYPE":
                if fam in types:
                    die("line %d: second TYPE for %s" % (i, fam))
                if rest not in ("counter", "gauge", "histogram", "summary",
                                "untyped"):
                    die("line %d: bad type %s" % (i, rest))
                if fam in family_done:
                    die("line %d: TYPE after samples of %s" % (i, fam))
                types[fam] = rest
            else:
                if fam in helps:
                    die("line %d: second HELP for %s" % (i, fam))
                helps.add(fam)
            continue
        if not line.strip():
            die("line %d: empty line" % i)
        m = SAMPLE.match(line)
        if not m:
            die("line %d: not a sample: %r" % (i, line))
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        try:
            float(value)
        except ValueError:
            if value not in ("NaN", "+Inf", "-Inf"):
                die("line %d: bad value %r" % (i, value))
        fam = name
        if fam not in types:
            die("line %d: sample of %s before its TYPE" % (i, name))
        if current != fam and fam in family_done:
            die("line %d: %s's samples are not together" % (i, fam))
        if current and current != fam:
            family_done.add(current)
        current = fam
        if types[fam] == "counter" and not fam.endswith("_total"):
            die("line %d: counter %s does not end in _total" % (i, fam))
        if not fam.startswith("tunproxy_"):
            die("line %d: %s lacks the tunproxy_ prefix" % (i, fam))
        key = name + labels
        if key in seen:
            die("line %d: duplicate series %s" % (i, key))
        seen.add(key)
        n += 1
    if n == 0:
        die("no samples")
    print(n)


def main():
    what = sys.argv[1]
    if what == "flow":
        check_flow(*sys.argv[2:6])
    elif what == "logline":
        check_log(*sys.argv[2:8])
    elif what == "prom":
        check_prom(sys.argv[2])
    else:
        die("unknown check " + what)


if __name__ == "__main__":
    main()
