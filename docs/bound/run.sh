#!/bin/bash
# run.sh [ROUNDS] [placement|echo16k] — profile the stdlib and ringnet servers
# under the harness's loads and print, per run, the CPU per request of the
# server and of the load generator split into buckets (classify.py); then the
# ceiling table (ceiling.py). With "placement": only net/http at c=$CONNS
# (default 50), each server both free and pinned (server on CPU 0, wrk on
# CPU 1; PLACES="pinned" for the pinned runs alone), then the placement
# tables (placement.py). With "echo16k": only the echo of 16 KiB
# messages at c=1000, the per-run buckets alone. Needs wrk, perf and
# python3; sends traffic to 127.0.0.1 only; every load is bounded (9 s) and
# every process it starts is stopped by pid.
# See docs/bound.md.
set -euo pipefail
ROUNDS=${1:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
(cd "$ROOT" && go build -o "$W/bsrv" ./bench/server && go build -o "$W/bcli" ./bench)

# profile MODE IMPL CONNS OUT [pinned]: 9 s of load, perf record -a for 5 s
# of it. Prints the load's rate (requests or messages per second).
profile() {
	local mode=$1 impl=$2 conns=$3 out=$4 port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
	local onsrv=() onload=()
	if [ "${5:-}" = pinned ]; then
		onsrv=(taskset -c 0) onload=(taskset -c 1)
	fi
	RINGNET_BACKEND=io_uring "${onsrv[@]}" "$W/bsrv" -impl "$impl" -mode "$mode" -addr 127.0.0.1:$port >/dev/null &
	local srv=$!
	sleep 0.5
	if [ "$mode" = http ]; then
		"${onload[@]}" wrk -t1 -c"$conns" -d9s http://127.0.0.1:$port/hello >"$out.load" &
	else
		(sleep 1; echo go) | "$W/bcli" client -addr 127.0.0.1:$port -conns "$conns" -size "${SIZE:-128}" -d 9s >"$out.load" 2>&1 &
	fi
	local load=$!
	sleep 3.5
	perf record -a -e cpu-clock -F 1000 -g -o "$out.data" -- sleep 5 >/dev/null 2>&1
	wait $load
	kill $srv
	wait $srv 2>/dev/null || true
	if [ "$mode" = http ]; then
		awk '/^Requests\/sec/ {print $2}' "$out.load"
	else
		python3 -c "import json,sys; [print(json.loads(l)['msgs'] / json.loads(l)['seconds']) for l in open(sys.argv[1]) if l.startswith('{')]" "$out.load"
	fi
}

if [ "${2:-}" = placement ]; then
	for round in $(seq "$ROUNDS"); do
		for place in ${PLACES:-free pinned}; do
			for impl in stdlib ringnet; do
				rate=$(profile http $impl "${CONNS:-50}" "$W/run" $place)
				echo "== p $impl $place round $round: $rate"
				"$HERE/classify.py" "$W/run.data" "$rate" 5 1000 wrk
			done
		done
	done | tee "$W/results.txt"
	echo
	"$HERE/placement.py" "$W/results.txt"
	exit
fi
if [ "${2:-}" = echo16k ]; then
	for round in $(seq "$ROUNDS"); do
		for impl in stdlib ringnet; do
			rate=$(SIZE=16384 profile echo $impl 1000 "$W/run")
			echo "== e16k $impl 1000 round $round: $rate"
			"$HERE/classify.py" "$W/run.data" "$rate" 5 1000 bcli
		done
	done
	exit
fi

for round in $(seq "$ROUNDS"); do
	for c in 50 256 1000; do
		for impl in stdlib ringnet; do
			rate=$(profile http $impl $c "$W/run")
			echo "== h $impl $c round $round: $rate"
			"$HERE/classify.py" "$W/run.data" "$rate" 5 1000 wrk
		done
	done
	for impl in stdlib ringnet; do
		rate=$(profile echo $impl 1000 "$W/run")
		echo "== e $impl 1000 round $round: $rate"
		"$HERE/classify.py" "$W/run.data" "$rate" 5 1000 bcli
	done
done | tee "$W/results.txt"
echo
"$HERE/ceiling.py" "$W/results.txt"
