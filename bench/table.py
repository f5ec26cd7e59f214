"""Prints bench/run.sh's table from the JSON reports of `ferry bench --json`."""
import json
import os
import sys

out, servers = sys.argv[1], sys.argv[2:]
rows = [
    ("pingpong", "ping-pong 100 conns, msg/s", lambda r: r["messagesPerSecond"], True),
    ("pingpong", "ping-pong p99 latency, us", lambda r: (r["latencyMicroseconds"] or {}).get("p99"), False),
    ("bulk", "bulk 1 conn 64 KiB, MB/s", lambda r: r["megabytesPerSecond"], True),
    ("connect", "connect+echo+close, conn/s", lambda r: r["messagesPerSecond"], True),
    ("idle", "idle: server KiB per conn", lambda r: None if r["serverBytesPerConnection"] is None
        else r["serverBytesPerConnection"] / 1024, False),
    ("chat", "chat room deliveries/s", lambda r: r["messagesPerSecond"], True),
    ("chat", "chat delivery p99, us", lambda r: (r["latencyMicroseconds"] or {}).get("p99"), False),
]


def load(server, scenario):
    path = os.path.join(out, f"{server}.{scenario}.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(value):
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


header = ["scenario"] + servers + ["ferryd/C"]
table = []
for scenario, label, pick, higher_is_better in rows:
    reports = {s: load(s, scenario) for s in servers}
    if not any(reports.values()):
        continue
    values = {}
    for s, r in reports.items():
        if r is None:
            values[s] = None
        elif r["errors"]:
            values[s] = None
            label_note = f" ({s}: {r['errors']} errors)"
            label += label_note
        else:
            values[s] = pick(r)
    f, c = values.get("ferryd"), values.get("c")
    ratio = f"{f / c:.2f}x" if f is not None and c else "-"
    table.append([label] + [fmt(values[s]) for s in servers] + [ratio])

widths = [max(len(str(row[i])) for row in [header] + table) for i in range(len(header))]
print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
print("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|")
for row in table:
    print("| " + " | ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths))) + " |")


# Who was the bottleneck: each process's share of one core while measuring.
cpu_rows = []
for scenario in ("pingpong", "bulk", "connect", "chat"):
    cells = []
    for s in servers:
        try:
            with open(os.path.join(out, f"{s}.{scenario}.cpu")) as f:
                server_cpu, client_cpu = f.read().split()
            cells.append(f"{server_cpu}% / {client_cpu}%")
        except (OSError, ValueError):
            cells.append("-")
    if any(c != "-" for c in cells):
        cpu_rows.append([scenario] + cells)
if cpu_rows:
    print()
    print("CPU while measuring (server / ferry bench, % of one core):")
    for row in cpu_rows:
        print("  " + "  ".join(f"{s}: {c}" for s, c in zip(servers, row[1:])) + f"   ({row[0]})")
