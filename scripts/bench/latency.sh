#!/bin/sh
# Latency and throughput of a local network, measured with cmd/mixload
# against a network started by cmd/testnet (3 layers x 2 mixes, 2 Providers).
# docs/bench/latency.md and docs/bench/load.md hold the results.
#
#   scripts/bench/latency.sh [CASE ...]      (default: zero testnet default)
#
# Cases:
#   zero        Mu = 0: every sampled delay is exactly 0 ms; 20 msg/s, 60 s.
#               The suite's own overhead per hop.
#   testnet     the testnet's delays (Mu 0.01/ms: mean 100 ms a hop, cap 1 s); 20 msg/s, 60 s.
#   default     the document defaults of docs/spec/dirauth.md (Mu 0.00025/ms:
#               mean 4 s a hop, cap 46052 ms); 4 msg/s, 120 s, up to 240 s drain;
#               with 5-minute epochs: a mix keeps the previous epoch's key
#               for a quarter of an epoch only, which the testnet's 2-minute
#               epoch (30 s) makes shorter than these delays. The network
#               waits for the next epoch to start, up to 5 minutes.
#   throughput  zero delays, 16 clients as fast as ACKs allow, windows of 1, 2,
#               8 and 32 unacknowledged messages per client, then window 8
#               with a 50 ms poll; 30 s each, one network.
#
# Each case starts a fresh network in $WORK/<case> (default WORK=/tmp/smx-bench),
# runs mixload, stops the network with SIGINT, and leaves the text report in
# $WORK/<case>.txt and the JSON report in $WORK/<case>.json (throughput:
# $WORK/throughput-<run>.txt and .json).
# Environment: WORK, BASE_PORT (default 30500; the case's network uses 14
# ports from there), POLL (receivers' poll interval, default 10ms).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/smx-bench}
BASE_PORT=${BASE_PORT:-30500}
POLL=${POLL:-10ms}
mkdir -p "$WORK"
bin="$WORK/bin"

echo "latency.sh: building into $bin" >&2
(cd "$root" && go build -o "$bin/" ./cmd/dirauth ./cmd/keyd ./cmd/spoold ./cmd/mixd ./cmd/mixctl ./cmd/mixclient ./cmd/testnet ./cmd/mixload)

testnet_pid=
cleanup() {
	if [ -n "$testnet_pid" ] && kill -0 "$testnet_pid" 2>/dev/null; then
		kill -INT "$testnet_pid" 2>/dev/null || true
		wait "$testnet_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_case NAME "TESTNET FLAGS" "SUFFIX:MIXLOAD FLAGS" ...
# starts one network and runs mixload once per "SUFFIX:FLAGS", writing
# $WORK/NAME-SUFFIX.txt and .json (NAME.txt and .json for an empty SUFFIX).
run_case() {
	name=$1 tflags=$2
	shift 2
	dir="$WORK/$name"
	rm -rf "$dir"
	echo "latency.sh: $name: starting the network in $dir" >&2
	# shellcheck disable=SC2086 # the flags are words on purpose
	"$bin/testnet" -bin "$bin" -dir "$dir" -base-port "$BASE_PORT" -rate 0 -ping 0 -quiet $tflags \
		>"$WORK/$name.testnet.log" 2>&1 &
	testnet_pid=$!
	tries=0
	until [ -f "$dir/network.json" ]; do
		if ! kill -0 "$testnet_pid" 2>/dev/null; then
			echo "latency.sh: $name: the network did not start; see $WORK/$name.testnet.log" >&2
			tail -20 "$WORK/$name.testnet.log" >&2
			exit 1
		fi
		tries=$((tries + 1))
		# The testnet waits for the next epoch before it is up: allow a
		# 5-minute epoch and the start itself.
		if [ "$tries" -gt 9000 ]; then
			echo "latency.sh: $name: no manifest after 15 minutes" >&2
			exit 1
		fi
		sleep 0.1
	done
	for run in "$@"; do
		suffix=${run%%:*} lflags=${run#*:}
		out="$WORK/$name${suffix:+-$suffix}"
		echo "latency.sh: $name: mixload -poll $POLL $lflags" >&2
		{
			echo "# testnet -rate 0 -ping 0 $tflags"
			echo "# mixload -poll $POLL $lflags"
			# shellcheck disable=SC2086
			"$bin/mixload" -net "$dir" -poll "$POLL" -q -json-file "$out.json" $lflags
		} >"$out.txt"
		cat "$out.txt"
	done
	kill -INT "$testnet_pid"
	wait "$testnet_pid" || true
	testnet_pid=
}

[ $# -gt 0 ] || set -- zero testnet default
for c in "$@"; do
	case $c in
	zero) run_case zero "-zero-delays" ":-clients 4 -rate 20 -duration 60s -warmup 5s -drain 30s" ;;
	testnet) run_case testnet "-mu 0.01 -max-delay 1s" ":-clients 4 -rate 20 -duration 60s -warmup 5s -drain 60s" ;;
	default) run_case default "-epoch 5m -mu 0.00025 -max-delay 46052ms" ":-clients 4 -rate 4 -duration 120s -warmup 0s -drain 240s" ;;
	throughput)
		run_case throughput "-zero-delays" \
			"w1:-clients 16 -window 1 -duration 30s -warmup 5s -drain 30s" \
			"w2:-clients 16 -window 2 -duration 30s -warmup 5s -drain 30s" \
			"w8:-clients 16 -window 8 -duration 30s -warmup 5s -drain 30s" \
			"w32:-clients 16 -window 32 -duration 30s -warmup 5s -drain 30s" \
			"poll50:-clients 16 -window 8 -duration 30s -warmup 5s -drain 30s -poll 50ms"
		;;
	*)
		echo "latency.sh: unknown case $c (zero, testnet, default, throughput)" >&2
		exit 2
		;;
	esac
done
echo "latency.sh: reports in $WORK/<case>.txt and .json" >&2
