package replay

import (
	"math/big"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// specLayout computes docs/spec/replay.md §2's layout
// independently of layout.go: the tag as one 256-bit little-endian integer.
func specLayout(tag *[32]byte, blocks uint64, k uint32) (a, b uint64, pos []uint64) {
	be := make([]byte, 32)
	for i := range tag {
		be[31-i] = tag[i]
	}
	x := new(big.Int).SetBytes(be)
	field := func(off, width uint) uint64 {
		v := new(big.Int).Rsh(x, off)
		return v.And(v, big.NewInt(1<<width-1)).Uint64()
	}
	pick := func(f uint64) uint64 {
		v := new(big.Int).Mul(new(big.Int).SetUint64(f), new(big.Int).SetUint64(blocks))
		return v.Rsh(v, 40).Uint64()
	}
	a, b = pick(field(0, 40)), pick(field(40, 40))
	for j := range uint(k) {
		pos = append(pos, field(80+9*j, 9))
	}
	return a, b, pos
}

// TestBlockedLayout: one tag in an empty filter sets exactly the bits the
// spec names: positions j < k/2 in block a, the others in block b, and
// nothing else.
func TestBlockedLayout(t *testing.T) {
	p := small(t, 5000)
	f := open(t, filepath.Join(t.TempDir(), "f.replay"), p)
	for i := range 200 {
		tag := tagN("layout", i)
		a, b, pos := specLayout(tag, f.blocks, p.Hashes)
		want := make(map[uint64]bool) // bit index in the array
		for j, q := range pos {
			blk := a
			if uint32(j) >= p.Hashes/2 {
				blk = b
			}
			want[blk*blockBits+q] = true
		}
		before := snapshot(f)
		if r := f.TestAndSet(tag); r != Fresh {
			// A false positive on an almost empty filter is possible only
			// if the bits happen to be set already; they must all be.
			for bit := range want {
				if before[bit/64]&(1<<(bit%64)) == 0 {
					t.Fatalf("tag %d: %v with bit %d clear", i, r, bit)
				}
			}
			continue
		}
		after := snapshot(f)
		for w := range after {
			for diff := after[w] ^ before[w]; diff != 0; diff &= diff - 1 {
				bit := uint64(w)*64 + uint64(bits.TrailingZeros64(diff))
				if !want[bit] {
					t.Fatalf("tag %d set bit %d outside its positions", i, bit)
				}
			}
		}
		for bit := range want {
			if after[bit/64]&(1<<(bit%64)) == 0 {
				t.Fatalf("tag %d left its bit %d clear", i, bit)
			}
		}
	}
}

func snapshot(f *Filter) []uint64 {
	s := make([]uint64, len(f.words))
	for i := range s {
		s[i] = atomic.LoadUint64(&f.words[i])
	}
	return s
}

// TestBlockOfUniform: the 40-bit field's extremes map to the first and the
// last block, and never beyond.
func TestBlockOfUniform(t *testing.T) {
	for _, blocks := range []uint64{1, 7, 435_610, MaxBits / blockBits} {
		if got := blockOf(0, blocks); got != 0 {
			t.Fatalf("blocks %d: field 0 -> %d", blocks, got)
		}
		if got := blockOf(fieldMask40, blocks); got != blocks-1 {
			t.Fatalf("blocks %d: top field -> %d, want %d", blocks, got, blocks-1)
		}
	}
}

// TestEmpiricalFPRate: a filter filled to capacity answers Replay to fresh
// tags at about the rate the formula of §2 predicts (deterministic tags).
func TestEmpiricalFPRate(t *testing.T) {
	// Small enough to stay quick under -race: about 800 false positives
	// expected, a standard deviation of 3.5 %.
	const n, probes = 4_000, 40_000
	p := paramsForCapacity(n, 0.02)
	p.Epoch = 1
	f := open(t, filepath.Join(t.TempDir(), "fp.replay"), p)
	for i := range n {
		if r := f.TestAndSet(tagN("fill", i)); r == Full {
			t.Fatalf("full at %d", i)
		}
	}
	// The filter is full, so a probe whose bits are not all set is
	// refused (Full) and records nothing; one whose bits are all set is a
	// false positive (Replay).
	fps := 0
	for i := range probes {
		if f.TestAndSet(tagN("probe", i)) == Replay {
			fps++
		}
	}
	rate, want := float64(fps)/probes, p.ExpectedFPRate()
	t.Logf("k=%d m=%d: measured %.4f, formula %.4f (bound %.2f)", p.Hashes, p.Bits, rate, want, p.FPRate)
	if rate > 1.2*want || rate < 0.8*want {
		t.Fatalf("false-positive rate %.4f, formula says %.4f", rate, want)
	}
}

// TestOpenRefusesVersion1: a file of the classic layout is refused with an
// error that says so, and left untouched.
func TestOpenRefusesVersion1(t *testing.T) {
	p := small(t, 100)
	path := filepath.Join(t.TempDir(), "old.replay")
	f := open(t, path, p)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	hdr := encodeHeader(&p)
	copy(hdr, magicV1)
	writeAt(t, path, hdr, 0)
	_, err := Open(path, p)
	if err == nil || !strings.Contains(err.Error(), "format version 1") {
		t.Fatalf("version-1 file: %v", err)
	}
	if got := readAt(t, path, len(magicV1)); string(got) != magicV1 {
		t.Fatalf("file changed: magic %q", got)
	}
}

func writeAt(t *testing.T, path string, b []byte, off int64) {
	t.Helper()
	fl, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	if _, err := fl.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func readAt(t *testing.T, path string, n int) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}
