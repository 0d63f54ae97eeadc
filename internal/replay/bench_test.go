package replay

import (
	"crypto/ecdh"
	"encoding/binary"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkTestAndSet: a production-sized filter (2000 pkt/s for an hour
// at 1e-6, 26.6 MiB), fresh random tags, one and many goroutines.
func BenchmarkTestAndSet(b *testing.B) {
	p := ParamsFor(2000, time.Hour, 1e-6)
	f, err := Open(filepath.Join(b.TempDir(), "f"), p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	warm(f)
	var ctr atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var tag [32]byte
		for pb.Next() {
			i := ctr.Add(1)
			fillTag(&tag, i)
			f.TestAndSet(&tag)
		}
	})
}

// fillTag makes a cheap pseudo-random tag from i: all 32 bytes vary, as in
// a Sphinx replay tag (the blocked layout reads all of them).
func fillTag(tag *[32]byte, i uint64) {
	binary.LittleEndian.PutUint64(tag[0:], i*0x9e3779b97f4a7c15)
	binary.LittleEndian.PutUint64(tag[8:], i*0xc2b2ae3d27d4eb4f)
	binary.LittleEndian.PutUint64(tag[16:], i*0x165667b19e3779f9)
	binary.LittleEndian.PutUint64(tag[24:], i*0xd6e8feb86659fd93)
}

// warm records tags until every page of the filter has been written once,
// so that benchmarks measure the steady state, not first-touch page faults.
func warm(f *Filter) {
	var tag [32]byte
	for i := uint64(1); i <= 2*f.Params().Bits/4096; i++ {
		fillTag(&tag, ^i)
		f.TestAndSet(&tag)
	}
}

// BenchmarkTestAndSetCost reports TestAndSet's cost in X25519
// multiplications (crypto/ecdh, which costs the same as the Sphinx
// ladder: see BenchmarkCost/StdlibECDH there), timed in the same loop;
// the median of per-iteration ratios, as in internal/sphinx.
func BenchmarkTestAndSetCost(b *testing.B) {
	p := ParamsFor(2000, time.Hour, 1e-6)
	f, err := Open(filepath.Join(b.TempDir(), "f"), p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	warm(f)
	priv, err := ecdh.X25519().GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	pub := priv.PublicKey()
	var tag [32]byte
	ratios := make([]float64, 4096)
	n := 0
	i := uint64(0)
	for b.Loop() {
		i++
		fillTag(&tag, i)
		t0 := time.Now()
		if _, err := priv.ECDH(pub); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		f.TestAndSet(&tag)
		t2 := time.Now()
		ratios[n%len(ratios)] = float64(t2.Sub(t1)) / float64(t1.Sub(t0))
		n++
	}
	v := ratios[:min(n, len(ratios))]
	slices.Sort(v)
	b.ReportMetric(v[len(v)/2], "X25519/op")
}
