"""Prints bench/run.sh's table from the JSON reports of `ferry bench --json`."""
import json
import os
import sys

# ROUNDS > 1: each server ran each scenario that many times, alternating; the table gives the
# median of the rounds, and the ferryd/C ratio of each round in brackets.
out, servers = sys.argv[1], sys.argv[2:]
rounds = int(os.environ.get("ROUNDS", "1"))
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
    """Every round's report for SERVER in SCENARIO, in round order (None for a missing one)."""
    reports = []
    for round_number in range(1, rounds + 1):
        suffix = "" if round_number == 1 else f".r{round_number}"
        try:
            with open(os.path.join(out, f"{server}.{scenario}{suffix}.json")) as f:
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


header = ["scenario"] + servers + ["ferryd/C"]
table = []
for scenario, label, pick, higher_is_better in rows:
    reports = {s: load(s, scenario) for s in servers}
    if not any(r for rs in reports.values() for r in rs):
        continue
    picked = {}
    for s, rs in reports.items():
        errors = sum(r["errors"] for r in rs if r is not None)
        if errors:
            label += f" ({s}: {errors} errors)"
        # A round with errors measured nothing worth comparing.
        picked[s] = [None if r is None or r["errors"] else pick(r) for r in rs]
    values = {s: median(v) for s, v in picked.items()}
    f, c = values.get("ferryd"), values.get("c")
    ratio = f"{f / c:.2f}x" if f is not None and c else "-"
    if rounds > 1 and "ferryd" in picked and "c" in picked:
        per_round = [a / b for a, b in zip(picked["ferryd"], picked["c"]) if a is not None and b]
        if len(per_round) > 1:
            ratio += f" [{min(per_round):.2f}–{max(per_round):.2f}]"
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
        shares = []
        for round_number in range(1, rounds + 1):
            suffix = "" if round_number == 1 else f".r{round_number}"
            try:
                with open(os.path.join(out, f"{s}.{scenario}{suffix}.cpu")) as f:
                    server_cpu, client_cpu = f.read().split()
                shares.append(f"{server_cpu}% / {client_cpu}%")
            except (OSError, ValueError):
                pass
        cells.append(", ".join(shares) if shares else "-")
    if any(c != "-" for c in cells):
        cpu_rows.append([scenario] + cells)
if cpu_rows:
    print()
    print("CPU while measuring (server / ferry bench, % of one core):")
    for row in cpu_rows:
        print("  " + "  ".join(f"{s}: {c}" for s, c in zip(servers, row[1:])) + f"   ({row[0]})")
