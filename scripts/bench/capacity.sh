#!/bin/sh
# Capacity figures of issue 6, in one command; see docs/bench/capacity.md.
#
#   scripts/bench/capacity.sh            # everything, about 10-15 minutes
#   CLIENTS=1000 scripts/bench/capacity.sh
#
# 1. handshakes through keyd (docs/bench/link.md, "Through keyd")
# 2. spool retrievals (docs/bench/spoold.md)
# 3. one real Provider with CLIENTS idle clients and PACKETS held packets
#    (docs/bench/capacity.md)
set -eu
cd "$(dirname "$0")/../.."
CLIENTS=${CLIENTS:-10000}
PACKETS=${PACKETS:-10000}
COUNT=${COUNT:-5}

echo "== uname, load"; uname -srm; cat /proc/loadavg; nproc; go version

echo "== 1. link handshakes through keyd"
go test -run '^$' -bench 'BenchmarkLinkHandshake|BenchmarkLinkKeyOpsPerHandshake' \
    -benchtime 2s -count "$COUNT" ./internal/keyd/

echo "== 2. spool retrievals"
go test -run '^$' -bench BenchmarkRetrieveMessage -benchtime 4000x -count 2 ./internal/spoold/

echo "== 3. Provider capacity: $CLIENTS idle clients, $PACKETS held packets"
go test -run '^$' -bench BenchmarkProviderCapacity -benchtime 1x -timeout 60m \
    ./internal/mixd/capacitybench/ -capacity.clients "$CLIENTS" -capacity.packets "$PACKETS"
