#!/usr/bin/env python3
"""ceiling.py RESULTS

Reads run.sh's output (a "== MODE IMPL CONNS round N: RATE" line, then
classify.py's lines, per run) and prints two Markdown tables: the median of
every bucket per workload and implementation, in CPU µs per request; and the
throughput ceiling of a transport that costs nothing at all.

The ceiling: with the 2 CPUs saturated by server and load generator,
throughput is inversely proportional to their CPU per request. What no
transport under unchanged net/http removes is the server's u:app, u:gc and
k:net, and the load generator's whole cost; each is taken at the lower of the
two implementations' medians (ringnet's batching lowers k:net and the load
generator's cost). Ceiling = (stdlib server + stdlib load gen) / that floor."""
import statistics
import sys

from results import read_runs

runs = read_runs(  # (workload, impl) -> [run, ...]
    sys.argv[1], r"== (\w) (\w+) (\d+) round (\d+): (?P<rate>[\d.]+)",
    lambda m: (("http" if m.group(1) == "h" else "echo128") + " c=" + m.group(3), m.group(2)))
med = lambda xs: statistics.median(xs) if xs else 0.0
def bucket(wl, im, proc, b):
    return med([r[proc].get(b, 0.0) for r in runs[(wl, im)]])
KEEP = ["u:app", "u:gc", "k:net"]          # work every transport leaves in the server
ALL = ["u:app", "u:gc", "k:net", "k:spin", "k:sysc", "k:other", "u:gosched", "u:gosys", "k:io_uring", "u:ringnet"]
print("| workload | impl | runs | req/s | server µs/req | " + " | ".join(ALL) + " | load gen µs/req |")
print("|---|---|---|---|---|" + "---|" * len(ALL) + "---|")
wls = sorted({w for w, _ in runs}, key=lambda w: (w.startswith("echo"), int(w.split("=")[1])))
for wl in wls:
    for im in ("stdlib", "ringnet"):
        rs = runs[(wl, im)]
        print(f"| {wl} | {im} | {len(rs)} | {med([r['rate'] for r in rs]):,.0f} | {bucket(wl, im, 'bsrv', 'total'):.2f} | "
              + " | ".join(f"{bucket(wl, im, 'bsrv', b):.2f}" for b in ALL)
              + f" | {bucket(wl, im, 'loadgen', 'total'):.2f} |")
print()
print("| workload | stdlib server + load gen µs/req | floor: app + gc + net (lower impl) + load gen (lower impl) | ceiling | ringnet measured (median of same-pair ratios) |")
print("|---|---|---|---|---|")
for wl in wls:
    s = bucket(wl, "stdlib", "bsrv", "total") + bucket(wl, "stdlib", "loadgen", "total")
    floor = sum(min(bucket(wl, im, "bsrv", b) for im in ("stdlib", "ringnet")) for b in KEEP)
    floor += min(bucket(wl, im, "loadgen", "total") for im in ("stdlib", "ringnet"))
    pairs = [b["rate"] / a["rate"] for a, b in zip(runs[(wl, "stdlib")], runs[(wl, "ringnet")])]
    print(f"| {wl} | {s:.2f} | {floor:.2f} | {s/floor:.2f}× | {med(pairs):.2f}× ({', '.join(f'{p:.2f}' for p in pairs)}) |")
