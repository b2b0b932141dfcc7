#!/usr/bin/env python3
"""placement.py RESULTS

Reads the output of `run.sh ROUNDS placement` (a "== p IMPL PLACE round N:
RATE" line, then classify.py's lines, per run; PLACE is free or pinned) and
prints Markdown tables: the medians per implementation and placement, in CPU
µs per request; for the pinned runs, the server's buckets and what the ratio
would be without ringnet's own code and io_uring's (pinned_breakdown); and,
with free runs, what ringnet's server would have to cost, free, for 1.30x the
stdlib's throughput.

Free, server and load generator share both CPUs, and what is left idle counts
too: throughput is 2 CPUs over (server + load generator + idle) per request.
So 1.30x needs ringnet's total at or under the stdlib's total / 1.3; with
ringnet's measured load generator and idle time, that leaves the server a
budget, printed beside its measured cost free and pinned and beside the floor
(u:app + u:gc + k:net: net/http, GC and the kernel's TCP work, which no
transport removes)."""
import statistics
import sys

from results import read_runs

runs = read_runs(  # (impl, place) -> [run, ...]
    sys.argv[1], r"== p (\w+) (\w+) round (\d+): (?P<rate>[\d.]+)", lambda m: (m.group(1), m.group(2)))


def med(xs):
    return statistics.median(xs) if xs else 0.0


def get(im, pl, proc, b="total"):
    return med([r.get(proc, {}).get(b, 0.0) for r in runs[(im, pl)]])


def floor(im, pl):
    return sum(get(im, pl, "bsrv", b) for b in ("u:app", "u:gc", "k:net"))


BUCKETS = ("u:app", "u:gc", "k:net", "u:gosched", "k:spin", "k:sysc", "k:other", "u:gosys", "k:io_uring",
           "u:ringnet")


def pinned_breakdown():
    """Pinned, the server alone on CPU 0 sets the throughput (CPU 0 is busy
    throughout), so its CPU per request is the measure. Prints the server's
    buckets for both implementations, then, per round, the ratio of the two
    servers' costs and what it would be if ringnet's own code (u:ringnet),
    and then also io_uring's kernel code (k:io_uring), cost nothing."""
    a, b = runs[("stdlib", "pinned")], runs[("ringnet", "pinned")]
    if not a or not b:
        return
    print("| pinned server, µs per request | " + " | ".join(BUCKETS) + " | total |")
    print("|---" * (len(BUCKETS) + 2) + "|")
    for im in ("stdlib", "ringnet"):
        print(f"| {im} | " + " | ".join(f"{get(im, 'pinned', 'bsrv', k):.2f}" for k in BUCKETS)
              + f" | {get(im, 'pinned', 'bsrv'):.2f} |")
    print()
    print("| round | req/s ratio | server cost ratio | without u:ringnet | without u:ringnet and k:io_uring |")
    print("|---|---|---|---|---|")
    cols = [[], [], [], []]
    for i, (s, r) in enumerate(zip(a, b), 1):
        ss, rs = s["bsrv"]["total"], r["bsrv"]["total"]
        own, ring = r["bsrv"].get("u:ringnet", 0.0), r["bsrv"].get("k:io_uring", 0.0)
        row = [r["rate"] / s["rate"], ss / rs, ss / (rs - own), ss / (rs - own - ring)]
        for c, v in zip(cols, row):
            c.append(v)
        print(f"| {i} | " + " | ".join(f"{v:.2f}×" for v in row) + " |")
    print("| median | " + " | ".join(f"{med(c):.2f}×" for c in cols) + " |")
    print()


print("| impl | placement | runs | req/s | server | floor (app+gc+net) | server − floor | load gen | idle and other |")
print("|---|---|---|---|---|---|---|---|---|")
for im in ("stdlib", "ringnet"):
    for pl in ("free", "pinned"):
        rs = runs[(im, pl)]
        if not rs:
            continue
        s, f = get(im, pl, "bsrv"), floor(im, pl)
        print(f"| {im} | {pl} | {len(rs)} | {med([r['rate'] for r in rs]):,.0f} | {s:.2f} | {f:.2f} | {s - f:.2f} "
              f"| {get(im, pl, 'loadgen'):.2f} | {get(im, pl, 'other'):.2f} |")

print()
for pl in ("free", "pinned"):
    pairs = [b["rate"] / a["rate"] for a, b in zip(runs[("stdlib", pl)], runs[("ringnet", pl)])]
    if pairs:
        print(f"ringnet ÷ stdlib, {pl}: {med(pairs):.2f}× ({', '.join(f'{p:.2f}' for p in pairs)})")
print()
pinned_breakdown()
if not runs[("stdlib", "free")] or not runs[("ringnet", "free")]:
    sys.exit()
total = get("stdlib", "free", "bsrv") + get("stdlib", "free", "loadgen") + get("stdlib", "free", "other")
load, idle = get("ringnet", "free", "loadgen"), get("ringnet", "free", "other")
budget = total / 1.3 - load - idle
print("| free, for 1.30× | µs per request |")
print("|---|---|")
print(f"| stdlib total (server + load gen + idle) | {total:.2f} |")
print(f"| ringnet's total may be at most | {total / 1.3:.2f} |")
print(f"| ringnet's server budget, with its load gen ({load:.2f}) and idle ({idle:.2f}) as measured | {budget:.2f} |")
print(f"| the same with no idle time at all | {budget + idle:.2f} |")
print(f"| ringnet's server measured, free | {get('ringnet', 'free', 'bsrv'):.2f} |")
print(f"| ringnet's server measured, pinned (alone on a CPU) | {get('ringnet', 'pinned', 'bsrv'):.2f} |")
print(f"| floor (app + gc + net), ringnet free / pinned | {floor('ringnet', 'free'):.2f} / {floor('ringnet', 'pinned'):.2f} |")
