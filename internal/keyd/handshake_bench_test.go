package keyd

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keyd/keystore"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
)

// Handshake capacity through keyd (issue 6; figures and command in
// docs/bench/link.md, "Through keyd"). BenchmarkLinkHandshake (bench_test.go)
// is the serial rate; the benchmarks here add the rate with GOMAXPROCS
// handshakes at once, as mixd runs them when many clients connect, and the
// IPC cost of one handshake's private-key operations taken alone.

// BenchmarkLinkHandshakeParallel runs full link handshakes (both ends,
// net.Pipe) from GOMAXPROCS goroutines at once, with the responder's static
// key in memory and then in keyd over its socket (one keyproto.Client
// shared by every goroutine, as mixd shares one). It reports handshakes per
// second; since both ends run in this process, a responder alone (mixd,
// whose peers compute their half elsewhere) manages roughly twice as many.
func BenchmarkLinkHandshakeParallel(b *testing.B) {
	kd := keydLinkKeyB(b)
	memResp, err := memkey.GenerateLinkKey()
	if err != nil {
		b.Fatal(err)
	}
	ini, err := memkey.GenerateLinkKey()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		resp keys.LinkPrivateKey
	}{{"in-memory", memResp}, {"keyd", kd}} {
		b.Run(bc.name, func(b *testing.B) {
			rc := &link.Config{Static: bc.resp, Limits: testLimits, Authorize: func(context.Context, *keys.LinkPublicKey, []byte) error { return nil }}
			ic := &link.Config{Static: ini, AuthBlob: []byte("bench"), PeerStatic: bc.resp.Public(), Limits: testLimits}
			cpu := startCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := pipeHandshake(rc, ic); err != nil {
						b.Error(err)
						return
					}
				}
			})
			cpu.report(b)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// pipeHandshake runs one handshake over net.Pipe and closes both sessions.
func pipeHandshake(rc, ic *link.Config) error {
	ctx := context.Background()
	a, c := net.Pipe()
	done := make(chan handshakeResult, 1)
	go func() {
		s, err := link.Accept(ctx, c, rc)
		done <- handshakeResult{s, err}
	}()
	s, err := link.Initiate(ctx, a, ic)
	r := <-done
	if err != nil || r.err != nil {
		if s != nil {
			s.Close()
		}
		if r.s != nil {
			r.s.Close()
		}
		a.Close()
		c.Close()
		return &handshakeError{err, r.err}
	}
	// Close only once both ends are done: a net.Pipe end fails deadline
	// changes once the other end is closed.
	s.Close()
	r.s.Close()
	return nil
}

type handshakeError struct{ initiator, responder error }

func (e *handshakeError) Error() string {
	msg := "handshake failed:"
	if e.initiator != nil {
		msg += " initiator: " + e.initiator.Error()
	}
	if e.responder != nil {
		msg += " responder: " + e.responder.Error()
	}
	return msg
}

// BenchmarkLinkKeyOpsPerHandshake is the responder's private-key work of
// one handshake and nothing else: one X25519 with the static key and one
// ML-KEM-768 decapsulation (docs/spec/link.md §4.8), done by the key store
// in process and by keyd over its socket. socket minus in-process is the
// IPC cost per handshake (two round trips, CBOR, framing); "parallel" runs
// GOMAXPROCS callers on one client, as mixd does under load.
func BenchmarkLinkKeyOpsPerHandshake(b *testing.B) {
	cfg := testConfig(b)
	client, _ := startKeyd(b, cfg)
	opts, err := storeOptions(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	store, err := keystore.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	pub, err := store.PublicKeys(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	point := peer.PublicKey().Bytes()
	ek, err := pub.Link.EncapsulationKey()
	if err != nil {
		b.Fatal(err)
	}
	_, ct := ek.Encapsulate()
	ops := func(o keys.Oracle) error {
		ctx := context.Background()
		if _, err := o.LinkECDH(ctx, point); err != nil {
			return err
		}
		_, err := o.LinkDecapsulate(ctx, ct)
		return err
	}
	for _, bc := range []struct {
		name string
		o    keys.Oracle
	}{{"in-process", store}, {"socket", client}} {
		b.Run(bc.name+"/serial", func(b *testing.B) {
			cpu := startCPU(b)
			for b.Loop() {
				if err := ops(bc.o); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			cpu := startCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := ops(bc.o); err != nil {
						b.Error(err)
						return
					}
				}
			})
			cpu.report(b)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// cpuMeter measures the CPU time of this whole process (every thread:
// both ends of the handshake, and keyd's server, which these benchmarks
// run in process) over a benchmark. Unlike ns/op it does not count time
// the machine spent on other jobs, so it is the figure to compare on a
// busy machine.
type cpuMeter struct{ start time.Duration }

func startCPU(b *testing.B) cpuMeter {
	b.Helper()
	return cpuMeter{processCPU(b)}
}

// report adds cpu-µs/op: process CPU time per iteration.
func (m cpuMeter) report(b *testing.B) {
	b.Helper()
	used := processCPU(b) - m.start
	b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/op")
}

func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
