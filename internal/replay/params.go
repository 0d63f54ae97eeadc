package replay

import (
	"fmt"
	"math"
	"time"
)

// Params size a filter (docs/spec/replay.md §2) and name the key it guards.
type Params struct {
	// Capacity is n, the most tags the filter accepts before refusing.
	Capacity uint64
	// FPRate is p, the false-positive rate at Capacity tags.
	FPRate float64
	// Bits is m, the filter size, a multiple of 512 (one 64-byte cache
	// line) at least -n ln p / (ln 2)^2.
	Bits uint64
	// Hashes is k, the bit positions per tag.
	Hashes uint32
	// Epoch and Key name the Sphinx key whose packets the filter holds
	// (its epoch and public key), so that a filter cannot be opened for
	// the wrong key.
	Epoch uint64
	Key   [32]byte
}

// Bounds of Params.
const (
	MaxBits   = 1 << 40 // 128 GiB: far beyond any real node, but finite
	MaxHashes = 64
	blockBits = 512
)

// ParamsFor sizes a filter for a node that accepts at most rate packets per
// second for lifetime (the time its Sphinx key is in use, e.g. three
// epochs) at false-positive rate fp. The caller sets Epoch and Key.
// Example: 2000 packets/s over one hour at 1e-6 is n = 7.2e6 tags, m = 207
// Mbit (24.7 MiB), k = 20.
func ParamsFor(rate float64, lifetime time.Duration, fp float64) Params {
	n := uint64(math.Ceil(rate * lifetime.Seconds()))
	if n < 1 {
		n = 1
	}
	return paramsForCapacity(n, fp)
}

func paramsForCapacity(n uint64, fp float64) Params {
	ln2 := math.Ln2
	m := uint64(math.Ceil(-float64(n) * math.Log(fp) / (ln2 * ln2)))
	p := Params{Capacity: n, FPRate: fp}
	// k must be an integer, so the optimum m may miss fp by a hair: grow m
	// (by about 0.1% a step) until the rounded k meets it.
	for {
		p.Bits = min(max((m+blockBits-1)/blockBits*blockBits, blockBits), MaxBits)
		p.Hashes = bestHashes(p.Capacity, p.Bits)
		if p.ExpectedFPRate() <= fp || p.Bits == MaxBits {
			return p
		}
		m = p.Bits + max(p.Bits/1024, blockBits)
	}
}

// bestHashes picks whichever integer k next to (m/n) ln 2 gives the lower
// false-positive rate.
func bestHashes(n, m uint64) uint32 {
	opt := float64(m) / float64(n) * math.Ln2
	best, bestFP := uint32(1), math.Inf(1)
	for _, k := range []float64{math.Floor(opt), math.Ceil(opt)} {
		k = min(max(k, 1), MaxHashes)
		q := Params{Capacity: n, Bits: m, Hashes: uint32(k)}
		if fp := q.ExpectedFPRate(); fp < bestFP {
			best, bestFP = uint32(k), fp
		}
	}
	return best
}

// Validate checks the ranges and that m and k achieve FPRate at Capacity.
func (p *Params) Validate() error {
	switch {
	case p.Capacity < 1:
		return fmt.Errorf("replay params: capacity 0")
	case !(p.FPRate > 0 && p.FPRate < 1):
		return fmt.Errorf("replay params: false-positive rate %v, want in (0, 1)", p.FPRate)
	case p.Bits < blockBits || p.Bits%blockBits != 0 || p.Bits > MaxBits:
		return fmt.Errorf("replay params: %d bits, want a multiple of %d in [%d, %d]", p.Bits, blockBits, blockBits, uint64(MaxBits))
	case p.Hashes < 1 || p.Hashes > MaxHashes:
		return fmt.Errorf("replay params: %d hashes, want 1..%d", p.Hashes, MaxHashes)
	}
	if fp := p.ExpectedFPRate(); fp > p.FPRate {
		return fmt.Errorf("replay params: %d bits and %d hashes give a false-positive rate of %.3g at %d tags, above %.3g",
			p.Bits, p.Hashes, fp, p.Capacity, p.FPRate)
	}
	return nil
}

// ExpectedFPRate is (1 - e^(-kn/m))^k, the false-positive rate once the
// filter holds Capacity tags.
func (p *Params) ExpectedFPRate() float64 {
	k := float64(p.Hashes)
	return math.Pow(1-math.Exp(-k*float64(p.Capacity)/float64(p.Bits)), k)
}

// FileSize is the size of the filter's file: one header page and the bits.
func (p *Params) FileSize() int64 { return headerSize + int64(p.Bits/8) }
