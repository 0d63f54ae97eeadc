package sphinx

import (
	"crypto/ecdh"
	"slices"
	"testing"
	"time"
)

// Benchmarks of docs/bench/sphinx.md. Every sub-benchmark of BenchmarkCost
// times its operation interleaved with one X25519 scalar multiplication and
// reports the ratio as "X25519/op": the machine's speed drifts, but the
// ratio of two measurements taken side by side does not.

type benchSetup struct {
	s       *Sphinx
	nodes   []testNode
	fwd     []byte // a 5-hop forward packet
	surb    []byte
	keys    SURBKeys
	reply   []byte // a reply packet through surb
	payload []byte // the reply as delivered at the terminal hop
	last    []byte // the forward packet as it arrives at its terminal hop
}

func setup(b *testing.B) *benchSetup {
	s := mustSphinx(b, DefaultNrHops, DefaultUserForwardPayloadLength)
	rng := newTestRand("bench")
	nodes := testNodes(rng, 5)
	rcpt, _ := NewRecipientID("bench")
	fwd, err := s.NewPacket(rng, testPath(nodes), rcpt, []byte("bench"))
	if err != nil {
		b.Fatal(err)
	}
	surb, keys, _, err := s.NewSURB(rng, testPath(nodes), rcpt)
	if err != nil {
		b.Fatal(err)
	}
	reply, _, err := s.NewPacketFromSURB(surb, []byte("reply"))
	if err != nil {
		b.Fatal(err)
	}
	var res UnwrapResult
	last := append([]byte(nil), fwd...)
	for i := range 4 {
		if err := s.Unwrap(&nodes[i].priv, last, &res); err != nil {
			b.Fatal(err)
		}
	}
	delivered := append([]byte(nil), reply...)
	for i := range 5 {
		if err := s.Unwrap(&nodes[i].priv, delivered, &res); err != nil {
			b.Fatal(err)
		}
	}
	return &benchSetup{s, nodes, fwd, surb, keys, reply, append([]byte(nil), res.Payload...), last}
}

// ops returns the measured operations; each gets a fresh buffer from prep
// (untimed in BenchmarkCost).
func (e *benchSetup) ops(b *testing.B) []struct {
	name string
	prep func()
	op   func()
} {
	rng := newTestRand("bench-ops")
	rcpt, _ := NewRecipientID("bench")
	path := testPath(e.nodes)
	buf := make([]byte, len(e.fwd))
	pbuf := make([]byte, len(e.payload))
	var res UnwrapResult
	var k, u, out [32]byte
	rng.Read(k[:])
	u = e.nodes[0].pub
	ek, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil {
		b.Fatal(err)
	}
	epub, err := ecdh.X25519().NewPublicKey(u[:])
	if err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	return []struct {
		name string
		prep func()
		op   func()
	}{
		{"X25519", func() {}, func() { x25519(&out, &k, &u) }},
		{"StdlibECDH", func() {}, func() { _, err := ek.ECDH(epub); must(err) }},
		{"UnwrapForwardHop", func() { copy(buf, e.fwd) }, func() { must(e.s.Unwrap(&e.nodes[0].priv, buf, &res)) }},
		{"UnwrapTerminalHop", func() { copy(buf, e.last) }, func() { must(e.s.Unwrap(&e.nodes[4].priv, buf, &res)) }},
		{"NewPacket5Hops", func() {}, func() { _, err := e.s.NewPacket(rng, path, rcpt, []byte("x")); must(err) }},
		{"NewSURB5Hops", func() {}, func() { _, _, _, err := e.s.NewSURB(rng, path, rcpt); must(err) }},
		{"NewPacketFromSURB", func() {}, func() { _, _, err := e.s.NewPacketFromSURB(e.surb, []byte("reply")); must(err) }},
		{"DecryptSURBPayload5Hops", func() { copy(pbuf, e.payload) }, func() { _, err := e.s.DecryptSURBPayload(e.keys, pbuf); must(err) }},
	}
}

// BenchmarkOps reports plain ns/op and allocations (run with -benchmem);
// the buffer copy before each Unwrap (2930 bytes) is included.
func BenchmarkOps(b *testing.B) {
	e := setup(b)
	for _, o := range e.ops(b) {
		b.Run(o.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				o.prep()
				o.op()
			}
		})
	}
}

// BenchmarkCost reports each operation's cost in X25519 multiplications:
// every iteration times one X25519, the operation, and another X25519, and
// takes the operation's time over the mean of the two; the reported
// "X25519/op" is the median of these per-iteration ratios (up to the last
// 4096), so that bursts of load from other processes, which inflate single
// iterations, do not move it.
func BenchmarkCost(b *testing.B) {
	e := setup(b)
	var k, u, out [32]byte
	newTestRand("bench-cost").Read(k[:])
	u = e.nodes[1].pub
	for _, o := range e.ops(b) {
		b.Run(o.name, func(b *testing.B) {
			r := newRatios()
			for b.Loop() {
				t0 := time.Now()
				x25519(&out, &k, &u)
				t1 := time.Now()
				o.prep()
				t2 := time.Now()
				o.op()
				t3 := time.Now()
				x25519(&out, &k, &u)
				t4 := time.Now()
				r.add(t3.Sub(t2), (t1.Sub(t0)+t4.Sub(t3))/2)
			}
			r.report(b)
		})
	}
}

// ratios keeps the last per-iteration cost ratios, preallocated so that
// the benchmark loop allocates nothing of its own.
type ratios struct {
	v    []float64
	n    int
	unit time.Duration
	its  int
}

func newRatios() *ratios { return &ratios{v: make([]float64, 4096)} }

func (r *ratios) add(op, unit time.Duration) {
	r.v[r.n%len(r.v)] = float64(op) / float64(unit)
	r.n++
	r.unit += unit
	r.its++
}

func (r *ratios) report(b *testing.B) {
	v := append([]float64(nil), r.v[:min(r.n, len(r.v))]...)
	slices.Sort(v)
	b.ReportMetric(v[len(v)/2], "X25519/op")
	b.ReportMetric(float64(r.unit.Nanoseconds())/float64(r.its), "ns/X25519")
}
