#!/bin/sh
# One mix's forwarding throughput against the unwrap ceiling (issue 6), in
# one command; see docs/bench/forwarding.md.
#
#   scripts/bench/forwarding.sh                 # 5 runs of 40 000 packets
#   PACKETS=100000 COUNT=3 scripts/bench/forwarding.sh
#
# Prints the benchmark lines (pkts/s, ceiling-pkts/s, ratio, ...), then the
# CPU profile of mixd (pprof -top) and of the sender+sink helper, both of
# the last run. Profiles and the test binary stay in $OUT.
set -eu
cd "$(dirname "$0")/../.."
PACKETS=${PACKETS:-40000}
COUNT=${COUNT:-5}
OUT=${OUT:-$(mktemp -d /tmp/forwarding.XXXXXX)}
mkdir -p "$OUT"

echo "== machine"; uname -srm; nproc; cat /proc/loadavg; go version
grep -m1 'model name' /proc/cpuinfo || true

echo "== BenchmarkMixForwarding: $COUNT runs of $PACKETS packets"
go test -run '^$' -bench BenchmarkMixForwarding -benchmem -benchtime "${PACKETS}x" -count "$COUNT" \
    -o "$OUT/forwardbench.test" -cpuprofile "$OUT/mixd.prof" \
    ./internal/mixd/forwardbench/ -forward.rigprofile "$OUT/rig.prof"
echo "== load after"; cat /proc/loadavg

echo "== mixd's CPU profile (every run, network start included)"
go tool pprof -top -nodecount 30 "$OUT/forwardbench.test" "$OUT/mixd.prof" 2>/dev/null
echo "== mixd's CPU profile without the unwrap: where the rest goes"
go tool pprof -top -nodecount 30 -ignore 'Sphinx..Unwrap|mixd.New|startNetwork' \
    "$OUT/forwardbench.test" "$OUT/mixd.prof" 2>/dev/null
echo "== the sender and sink's CPU profile (last run)"
go tool pprof -top -nodecount 15 "$OUT/forwardbench.test" "$OUT/rig.prof" 2>/dev/null
echo "== profiles in $OUT"
