#!/usr/bin/env bash
# The test command README.md gives. Runs every test with the race detector, including the
# ones that start real daemons as processes over real UNIX and TCP sockets.
#
#   scripts/test.sh              all tests
#   scripts/test.sh ./ipc/...    a subset (any `go test` arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
if [ $# -eq 0 ]; then set -- ./...; fi
go test -race -timeout 30m -count=1 "$@"
