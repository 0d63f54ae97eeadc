// Package forwardbench measures one mix's forwarding throughput against the
// unwrap ceiling of the machine it runs on (issue 6).
//
// BenchmarkMixForwarding runs ONE real mix: mixd in this process (mixd.New
// and Run, exactly as cmd/mixd drives them, so that -cpuprofile and
// -benchmem see mixd's pipeline) with a real keyd process holding its keys
// and a real dirauth process publishing the document. The network has one
// mix layer, holding that mix, and two in-test Providers: the sender, which
// is the mix's previous hop, and the sink, its next hop.
//
// The sender and the sink run in a helper process (the test binary started
// again, see rig_test.go), so that their link crypto is not in mixd's CPU
// profile and their CPU time can be measured apart (getrusage). Before the
// timer starts the helper builds b.N Sphinx packets (mix, delay 0 -> sink)
// under the mix's key of the current epoch. Timed: the sender pushes them
// over real TCP loopback link sessions, keeping at most -forward.window
// packets between sending and the sink's receipt (the mix never pushes back
// on a link, so a sender faster than the mix would only fill its queues
// and be dropped); the sink counts what the mix forwards. Outside the
// timer, before and after, the helper times single-goroutine Sphinx unwrap
// of a batch of the same packets under the same key: the ceiling is
// GOMAXPROCS / t_unwrap.
//
// Reported per run: pkts/s (packets the mix forwarded per second, from its
// counters, checked against the sink's count), ceiling-pkts/s, ratio
// (pkts/s over ceiling), the CPU cores used by mixd, by the sender+sink and
// by the rest of the machine, the ratio with the sender+sink's CPU taken
// out of the ceiling (ratio-excl-rig), the share of mixd's CPU the unwraps
// account for, mixd's system calls per packet and its crypto worker queue;
// -benchmem's allocs/op is mixd's allocations per forwarded packet.
//
// One command (scripts/bench/forwarding.sh does it and prints the profile):
//
//	go test -run '^$' -bench BenchmarkMixForwarding -benchmem -benchtime 40000x \
//	    -cpuprofile cpu.prof ./internal/mixd/forwardbench/
//
// Plain `go test` runs only quick tests of the parsers and the metrics
// (benchmarks run only with -bench; -short skips the benchmark). Method and figures:
// docs/bench/forwarding.md.
package forwardbench
