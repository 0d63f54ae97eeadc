// Package capacitybench measures what one Provider holds: memory and
// goroutines per idle client connection, memory per packet held by the
// scheduler, and the handshake rate reached while thousands of clients
// connect (issue 6). It has no code outside its benchmark: the benchmark
// starts a real network of processes (dirauth, a mix, and a Provider made
// of keyd, spoold and mixd), opens the client links from the benchmark
// process and reads the Provider's STATS over its management socket.
//
// Run it with one command (scripts/bench/capacity.sh does the same):
//
//	go test -run '^$' -bench BenchmarkProviderCapacity -benchtime 1x \
//	    ./internal/mixd/capacitybench/ -capacity.clients 10000 -capacity.packets 10000
//
// It is skipped under -short, and plain `go test` never runs it
// (benchmarks run only with -bench). Method and figures:
// docs/bench/capacity.md.
package capacitybench
