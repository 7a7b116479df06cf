#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/wrk_parse.py FWD REP TX_DROPPED_BEFORE TX_DROPPED_AFTER < wrk output

Turns `wrk --latency` output into bench/run.sh's raw rows (forwarder,
metric, repetition, value): requests/s, latency median/p90/p99 in ms,
requests over wrk's timeout, and the app device's transmit drops.
"""
import re
import sys

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def main():
    fwd, rep, d0, d1 = sys.argv[1:5]
    text = sys.stdin.read()
    rows = []
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        print("%s\twrk_rps\t%s\tfail\t%s" % (fwd, rep, text.strip()[-80:].replace("\t", " ")))
        return
    rows.append(("wrk_rps", m.group(1)))
    for pct, name in (("50", "wrk_p50_ms"), ("90", "wrk_p90_ms"), ("99", "wrk_p99_ms")):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, text, re.M)
        if m:
            rows.append((name, "%.1f" % (float(m.group(1)) * UNIT_MS[m.group(2)])))
    m = re.search(r"timeout (\d+)", text)
    rows.append(("wrk_timeouts", m.group(1) if m else "0"))
    if d0 and d1:
        rows.append(("wrk_app_tx_dropped", str(int(d1) - int(d0))))
    for name, value in rows:
        print("%s\t%s\t%s\t%s\t" % (fwd, name, rep, value))


if __name__ == "__main__":
    main()
