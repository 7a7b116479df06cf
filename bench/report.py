#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/report.py RAW.tsv META.tsv OUT.md: the table of bench/run.sh.

RAW.tsv has one line per measurement: forwarder, metric, repetition, value
(a number or "fail"), note. The table shows the median of the repetitions of
each metric for each forwarder and, for rates, the ratio to the kernel path
measured in the same run. Printed to stdout and written to OUT.md with the
machine description from META.tsv and every raw figure.
"""
import statistics
import sys

# (metric, label, ratio to kernel?, decimals); counters of trouble (names in
# WORST) show the largest value of the repetitions instead of the median.
METRICS = [
    ("up_gbps", "TCP upload, Gbit/s (iperf3, 1 stream)", True, 2),
    ("down_gbps", "TCP download, Gbit/s (iperf3 -R)", True, 2),
    ("rr", "1-byte TCP RR, round trips/s", True, 0),
    ("crr", "TCP connections/s (connect, 1 B each way, close)", True, 0),
    ("crr_slowest", "  slowest one-second interval of the above, conn/s", True, 0),
    ("urr", "1-byte UDP RR, round trips/s", True, 0),
    ("wrk_rps", "wrk, 32 connections fetching 1 MiB: requests/s", True, 0),
    ("wrk_p50_ms", "  the same: latency median, ms", False, 1),
    ("wrk_p90_ms", "  the same: latency p90, ms", False, 1),
    ("wrk_p99_ms", "  the same: latency p99, ms", False, 1),
    ("wrk_timeouts", "  the same: requests over 2 s (max)", False, 0),
    ("wrk_app_tx_dropped", "  the same: app device transmit drops (max)", False, 0),
    ("idle_wakeups", "wake-ups in 20 s, no flows", False, 0),
    ("idle_wakeups_1000", "wake-ups in 20 s, 1,000 idle TCP connections", False, 0),
    ("dl64_gbps", "64 concurrent 10 MiB downloads, aggregate Gbit/s", True, 2),
    ("dl64_s", "  the same: seconds for all 64", False, 2),
    ("dl64_rss_peak_kb", "  the same: forwarder RSS peak, KB", False, 0),
    ("dl64_mem_peak", "  the same: tunproxy mem_peak, bytes", False, 0),
    ("dl64_tcp_rx_ringless", "  the same: tunproxy tcp_rx_ringless", False, 0),
    ("unf", "UDP new flow per query (DNS-like), queries/s", True, 0),
    ("udp_up_max_gbps", "UDP upload: highest received rate with < 1 % loss, Gbit/s (4 MB buffers)", True, 2),
    ("udp_down_max_gbps", "UDP download: highest received rate with < 1 % loss, Gbit/s (4 MB buffers)", True, 2),
    ("up_retr", "upload: sender retransmits", False, 0),
    ("down_retr", "download: sender retransmits", False, 0),
    ("up_cpu_per_gb", "forwarder CPU s per GB, upload", False, 2),
    ("down_cpu_per_gb", "forwarder CPU s per GB, download", False, 2),
    ("base_rss_kb", "forwarder RSS at start, KB", False, 0),
    ("base_anon_kb", "  of which its own (anonymous) memory, KB", False, 0),
    ("rss_after_1000", "RSS with 1,000 idle TCP connections, KB", False, 0),
    ("rss_per_conn_1000", "RSS per idle connection (1,000), bytes", False, 0),
    ("rss_after_10000", "RSS with 10,000 idle TCP connections, KB", False, 0),
    ("rss_per_conn_10000", "RSS per idle connection (10,000), bytes", False, 0),
    ("rss_released_10000", "RSS 2 s after the 10,000 closed, KB", False, 0),
    ("base_mem_used", "tunproxy mem_used at start, bytes", False, 0),
    ("mem_used_per_conn_1000", "tunproxy mem_used per idle connection (1,000), bytes", False, 0),
    ("mem_used_per_conn_10000", "tunproxy mem_used per idle connection (10,000), bytes", False, 0),
    ("mem_used_released_10000", "tunproxy mem_used 2 s after the 10,000 closed, bytes", False, 0),
    ("tcp_conns_open_released_10000", "tunproxy tcp_conns_open 2-12 s after the 10,000 closed", False, 0),
    ("up_tp_retransmits", "tunproxy tcp_retransmits during upload (max)", False, 0),
    ("down_tp_retransmits", "tunproxy tcp_retransmits during download (max)", False, 0),
    ("rr_tp_retransmits", "tunproxy tcp_retransmits during rr (max)", False, 0),
    ("crr_tp_retransmits", "tunproxy tcp_retransmits during crr (max)", False, 0),
    ("mem_tp_retransmits", "tunproxy tcp_retransmits during mem (max)", False, 0),
    ("end_tcp_retransmits", "tunproxy at the end: tcp_retransmits to the app (max)", False, 0),
    ("end_tcp_rto_expired", "tunproxy at the end: tcp_rto_expired (max)", False, 0),
    ("end_tx_dropped", "tunproxy at the end: tx_dropped, TUN writes failed (max)", False, 0),
    ("end_mem_peak", "tunproxy at the end: mem_peak, bytes", False, 0),
    ("end_mem_refused", "tunproxy at the end: mem_refused (max)", False, 0),
    ("end_udp_send_errors", "tunproxy at the end: udp_send_errors (max)", False, 0),
    ("end_udp_batch_send_errors", "tunproxy at the end: udp_batch_send_errors (max)", False, 0),
    ("end_udp_gso_sends", "tunproxy at the end: udp_gso_sends", False, 0),
    ("end_udp_gso_segments", "tunproxy at the end: udp_gso_segments", False, 0),
    ("end_udp_rx_batched", "tunproxy at the end: udp_rx_batched", False, 0),
    ("end_udp_rx_truncated", "tunproxy at the end: udp_rx_truncated (max)", False, 0),
    ("held_1000", "idle connections established (of 1,000)", False, 0),
    ("held_10000", "idle connections established (of 10,000)", False, 0),
]


WORST = ("wrk_timeouts", "wrk_app_tx_dropped", "_tp_retransmits", "end_tcp_retransmits", "end_tcp_rto_expired",
         "end_tx_dropped", "end_mem_refused", "end_udp_send_errors",
         "end_udp_batch_send_errors", "end_udp_rx_truncated")


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4:
                continue
            fwd, metric, rep, value = parts[:4]
            note = parts[4] if len(parts) > 4 else ""
            rows.append((fwd, metric, rep, value, note))
    return rows


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def main():
    raw, meta, out = sys.argv[1:4]
    rows = load(raw)
    fwds = []
    for r in rows:
        if r[0] not in fwds:
            fwds.append(r[0])
    vals = {}  # (fwd, metric) -> [numbers], fails
    for fwd, metric, _, value, _ in rows:
        good, bad = vals.setdefault((fwd, metric), ([], [0]))
        n = num(value)
        if n is None:
            bad[0] += 1
        else:
            good.append(n)

    def median(fwd, metric):
        good, bad = vals.get((fwd, metric), ([], [0]))
        if not good:
            return None, 0, bad[0]
        if metric.endswith(WORST):
            return max(good), len(good), bad[0]
        return statistics.median(good), len(good), bad[0]

    def cell(fwd, metric, ratio, dec):
        m, n, bad = median(fwd, metric)
        if m is None:
            return "failed" if bad else "—"
        s = f"{m:,.{dec}f}"
        if ratio and fwd != "kernel":
            k, _, _ = median("kernel", metric)
            if k:
                s += f" ({m / k:.2f}×)"
        if bad:
            s += f" [{bad} failed]"
        return s

    # iperf3 -u at the rates of UDP_RATES (run.sh udp): names like
    # udp_up_1G_4M_loss, rows made from the names.
    known = {m[0] for m in METRICS}
    metrics = list(METRICS)
    for fwd, metric, _, _, _ in rows:
        if metric in known or not metric.startswith("udp_"):
            continue
        known.add(metric)
        parts = metric.split("_")
        if len(parts) != 5:
            continue
        _, d, rate, buf, what = parts
        bufs = "4 MB buffers" if buf == "4M" else "default buffers"
        if buf not in ("4M", "def"):
            bufs = buf + " buffers"
        if what == "loss":
            metrics.append((metric, f"UDP {'upload' if d == 'up' else 'download'} {rate}bit/s offered, "
                            f"{bufs}: loss %", False, 2))
        else:
            metrics.append((metric, f"UDP {'upload' if d == 'up' else 'download'} {rate}bit/s offered, "
                            f"{bufs}: received Gbit/s", True, 2))
    end = [m for m in metrics if m[0].startswith(("udp_up_", "udp_down_")) and m[0] not in
           ("udp_up_max_gbps", "udp_down_max_gbps")]
    metrics = [m for m in metrics if m not in end]
    at = next(i for i, m in enumerate(metrics) if m[0] == "udp_down_max_gbps") + 1
    metrics[at:at] = sorted(end, key=lambda m: m[0])

    table = []
    header = ["metric (median)"] + fwds
    for metric, label, ratio, dec in metrics:
        if not any((f, metric) in vals for f in fwds):
            continue
        table.append([label] + [cell(f, metric, ratio, dec) for f in fwds])
    failures = [r for r in rows if r[3] == "fail" or r[1] in ("died", "setup")]

    # stdout: aligned text
    widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print("\n(ratio) = median / kernel veth median of this run; higher is better for rates;"
          " (max) rows show the worst repetition")
    for r in failures:
        print(f"FAILED: {r[0]} {r[1]} rep {r[2]}: {r[4]}")

    # markdown
    md = ["# tunproxy benchmark results", ""]
    with open(meta) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            md.append(f"- **{k}**: {v}")
    md += ["", "Command: `bench/run.sh` (see docs/performance.md). Medians of the repetitions;",
           "(ratio) = the forwarder's median / the kernel veth path's median in this same run;",
           "rows marked (max) show the worst repetition instead of the median.", ""]
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + " --- |" * len(header))
    for r in table:
        md.append("| " + " | ".join(r) + " |")
    if failures:
        md += ["", "## Failures", ""]
        for r in failures:
            md.append(f"- {r[0]} {r[1]} repetition {r[2]}: {r[4] or r[3]}")
    md += ["", "## Raw figures (every repetition)", "", "| forwarder | metric | rep | value | note |",
           "| --- | --- | --- | --- | --- |"]
    for fwd, metric, rep, value, note in rows:
        md.append(f"| {fwd} | {metric} | {rep} | {value} | {note.replace('|', '/')} |")
    with open(out, "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
