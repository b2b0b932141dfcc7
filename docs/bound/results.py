"""results.py: reads run.sh's output for ceiling.py and placement.py.

Every run is a header line ("== ..." with the load's rate at its end), then
classify.py's lines: "PROC: TOTAL us/req  (BUCKET VALUE, ...)"."""
import collections
import re


def read_runs(path, header, key):
    """Returns {key(match): [run, ...]} for the runs whose header line matches
    the regular expression header (its named group "rate" is the rate); a run
    is {"rate": rate, PROC: {"total": us, BUCKET: us, ...}, ...}."""
    runs = collections.defaultdict(list)
    cur = None
    for line in open(path):
        m = re.match(header, line)
        if m:
            cur = {"rate": float(m.group("rate"))}
            runs[key(m)].append(cur)
            continue
        m = re.match(r"(\w+): ([\d.]+) us/req\s+\((.*)\)", line)
        if m and cur is not None:
            d = {"total": float(m.group(2))}
            for kv in m.group(3).split(", "):
                k, v = kv.rsplit(" ", 1)
                d[k] = float(v)
            cur[m.group(1)] = d
    return runs
