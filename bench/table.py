"""Prints bench/run.sh's table from the JSON reports of `ferry-bench --json`.

Reports are SERVER.SCENARIO.STYLE[.rN].json (STYLE: the client style, ferry-bench's --engine).
Each row is one measure in one client style: the median over the rounds for each server, then
ferryd/C. With ROUNDS > 1 the ratio is the median of the rounds' ratios (each round ran the
servers back to back, so a round's ratio compares like with like) and [lowest–highest] follows.
Rows that measure traffic also give the server's CPU per operation (its CPU time in ferry-bench's
measured window over the operations counted in that window) and its ferryd/C ratio: unlike the
rate, it is not capped when the client is the bottleneck.
"""
import json
import os
import sys

out, servers = sys.argv[1], sys.argv[2:]
rounds = int(os.environ.get("ROUNDS", "1"))
traffic_styles = os.environ.get("CLIENT_STYLES", "epoll threads").split()
# (scenario, label, pick the measure, pick the server's CPU per operation or None)
rows = [
    ("pingpong", "ping-pong 100 conns: msg/s; server us/msg",
     lambda r: r["messagesPerSecond"], lambda r: r.get("serverCpuMicrosecondsPerMessage")),
    ("pingpong", "ping-pong p99 latency, us", lambda r: (r["latencyMicroseconds"] or {}).get("p99"), None),
    ("bulk", "bulk 1 conn 64 KiB: MB/s; server us/MB",
     lambda r: r["megabytesPerSecond"], lambda r: r.get("serverCpuMicrosecondsPerMegabyte")),
    ("connect", "connect+echo+close: conn/s; server us/conn",
     lambda r: r["messagesPerSecond"], lambda r: r.get("serverCpuMicrosecondsPerMessage")),
    ("idle", "idle: server KiB per conn", lambda r: None if r["serverBytesPerConnection"] is None
        else r["serverBytesPerConnection"] / 1024, None),
    ("chat", "chat room: deliveries/s; server us/delivery",
     lambda r: r["messagesPerSecond"], lambda r: r.get("serverCpuMicrosecondsPerMessage")),
    ("chat", "chat delivery p99, us", lambda r: (r["latencyMicroseconds"] or {}).get("p99"), None),
    ("udp", "udp echo 100 senders: datagrams/s; server us/datagram",
     lambda r: r["messagesPerSecond"], lambda r: r.get("serverCpuMicrosecondsPerMessage")),
    ("udp", "udp p99 latency, us", lambda r: (r["latencyMicroseconds"] or {}).get("p99"), None),
    ("udp", "udp lost, % of datagrams", lambda r: None if r.get("lossRate") is None else 100 * r["lossRate"], None),
]


def styles(scenario):
    """The client styles bench/run.sh ran SCENARIO with."""
    return traffic_styles if scenario in ("pingpong", "bulk", "connect", "udp") else ["async"]


def load(server, scenario, style):
    """Every round's report for SERVER in SCENARIO with STYLE, in round order (None for a missing one)."""
    reports = []
    for round_number in range(1, rounds + 1):
        suffix = "" if round_number == 1 else f".r{round_number}"
        try:
            with open(os.path.join(out, f"{server}.{scenario}.{style}{suffix}.json")) as f:
                reports.append(json.load(f))
        except (OSError, ValueError):
            reports.append(None)
    return reports


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def fmt(value):
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


# Every server but the reference is compared with it: ferryd/C, and ferryd-b/C in an A/B run.
# REFERENCE=haproxy (bench/run.sh MODE=forward) compares the proxies with HAProxy instead, and
# REFERENCE=ferryd (MODE=unix) the Unix-socket servers with ferryd over TCP.
reference = os.environ.get("REFERENCE", "c")
compared = [s for s in servers if s != reference] if reference in servers else []
ref_name = "C" if reference == "c" else reference


def ratio(picked, server="ferryd"):
    """SERVER/REFERENCE: the median of the rounds' ratios, and their range when there is more than one."""
    if server not in picked or reference not in picked:
        return "-"
    per_round = [a / b for a, b in zip(picked[server], picked[reference]) if a is not None and b]
    if not per_round:
        return "-"
    text = f"{median(per_round):.2f}x"
    if len(per_round) > 1:
        text += f" [{min(per_round):.2f}–{max(per_round):.2f}]"
    return text


def picks(reports, pick):
    """Each server's value per round; a round with errors measured nothing worth comparing."""
    return {s: [None if r is None or r["errors"] else pick(r) for r in rs] for s, rs in reports.items()}


header = (["scenario", "client"] + servers + [f"{s}/{ref_name}" for s in compared]
          + [f"{s} CPU/op" for s in servers] + [f"CPU/op {s}/{ref_name}" for s in compared])
table = []
for scenario, label, pick, cpu_pick in rows:
    for style in styles(scenario):
        reports = {s: load(s, scenario, style) for s in servers}
        if not any(r for rs in reports.values() for r in rs):
            continue
        row_label = label
        for s, rs in reports.items():
            errors = sum(r["errors"] for r in rs if r is not None)
            if errors:
                row_label += f" ({s}: {errors} errors)"
        measured = picks(reports, pick)
        cells = [fmt(median(measured[s])) for s in servers] + [ratio(measured, s) for s in compared]
        if cpu_pick is None:
            cells += ["-"] * (len(servers) + len(compared))
        else:
            cpu = picks(reports, cpu_pick)
            cells += [fmt(median(cpu[s])) for s in servers] + [ratio(cpu, s) for s in compared]
        table.append([row_label, style] + cells)

widths = [max(len(str(row[i])) for row in [header] + table) for i in range(len(header))]
print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
print("|" + "|".join("-" * (w + 2) if i < 2 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|")
for row in table:
    print("| " + " | ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths))) + " |")


# Who was the bottleneck: each process's CPU time over the measured window, as a share of one
# core (ferry-bench reads both; whoever is at ~100% limited that row).
def share(report, field):
    if report is None or report.get(field) is None or not report.get("measuredSeconds"):
        return "?"
    return f"{round(100 * report[field] / report['measuredSeconds'])}%"


cpu_rows = []
for scenario in ("pingpong", "bulk", "connect", "chat", "udp"):
    for style in styles(scenario):
        cells = []
        for s in servers:
            shares = [f"{share(r, 'serverCpuSeconds')} / {share(r, 'clientCpuSeconds')}"
                      for r in load(s, scenario, style) if r is not None]
            cells.append(", ".join(shares) if shares else "-")
        if any(c != "-" for c in cells):
            cpu_rows.append((scenario, style, cells))
if cpu_rows:
    print()
    print("CPU while measuring (server / ferry-bench, % of one core), each round:")
    for scenario, style, cells in cpu_rows:
        print("  " + "  ".join(f"{s}: {c}" for s, c in zip(servers, cells)) + f"   ({scenario}, {style})")
