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
	// Bits is m, the filter size: a whole number of 512-bit blocks (one
	// 64-byte cache line each).
	Bits uint64
	// Hashes is k, the bits set per tag: k/2 in each of the tag's two
	// blocks, so k is even and at most MaxHashes.
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
	MaxHashes = 18      // the tag has room for 19 9-bit positions (§2)
	blockBits = 512
	// blocksPerTag is the number of blocks (cache lines) a tag's bits
	// fall into.
	blocksPerTag = 2
)

// ParamsFor sizes a filter for a node that accepts at most rate packets per
// second for lifetime (the time its Sphinx key is in use, e.g. three
// epochs) at false-positive rate fp. The caller sets Epoch and Key.
// Example: 2000 packets/s over one hour at 1e-6 is n = 7.2e6 tags, m = 223
// Mbit (26.6 MiB), k = 18.
func ParamsFor(rate float64, lifetime time.Duration, fp float64) Params {
	n := uint64(math.Ceil(rate * lifetime.Seconds()))
	if n < 1 {
		n = 1
	}
	return paramsForCapacity(n, fp)
}

// paramsForCapacity finds, for each even k, the fewest blocks that meet fp
// at n tags, and keeps the smallest filter (the smaller k on a tie).
func paramsForCapacity(n uint64, fp float64) Params {
	best := Params{Capacity: n, FPRate: fp, Bits: MaxBits, Hashes: MaxHashes}
	for k := uint32(2); k <= MaxHashes; k += 2 {
		b := minBlocks(n, k, fp)
		if b*blockBits < best.Bits {
			best.Bits, best.Hashes = b*blockBits, k
		}
	}
	return best
}

// minBlocks is the smallest number of blocks (at most MaxBits/blockBits)
// at which n tags of k bits stay at or below rate fp. The rate falls as
// blocks are added, so a binary search finds it.
func minBlocks(n uint64, k uint32, fp float64) uint64 {
	lo, hi := uint64(1), uint64(MaxBits/blockBits)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if blockedFPRate(n, mid, k) <= fp {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
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
	case p.Hashes < 2 || p.Hashes > MaxHashes || p.Hashes%2 != 0:
		return fmt.Errorf("replay params: %d hashes, want an even number in 2..%d", p.Hashes, MaxHashes)
	}
	if fp := p.ExpectedFPRate(); fp > p.FPRate {
		return fmt.Errorf("replay params: %d bits and %d hashes give a false-positive rate of %.3g at %d tags, above %.3g",
			p.Bits, p.Hashes, fp, p.Capacity, p.FPRate)
	}
	return nil
}

// ExpectedFPRate is the false-positive rate of the blocked filter once it
// holds Capacity tags (docs/spec/replay.md §2).
func (p *Params) ExpectedFPRate() float64 {
	return blockedFPRate(p.Capacity, p.Bits/blockBits, p.Hashes)
}

// maxLoad is the mean number of tags per block above which the rate is
// taken to be 1: with at least k/2 = 1 bit per tag, a block holding 2048
// tags or more has a bit clear with probability below e^-4, and a block
// holds fewer than half the mean with negligible probability. It also
// bounds the work of blockedFPRate on hostile headers.
const maxLoad = 4096

// blockedFPRate is docs/spec/replay.md §2's formula: a tag's two blocks
// are chosen independently and uniformly among B; each tag sets h = k/2
// uniformly chosen bits in each (repeats allowed), so the number of tags
// touching one block is Poisson with mean λ = 2n/B, and a query's bits in
// one block are all set with probability
//
//	f = Σ_i P(i; λ) · (1 - (1 - 1/512)^(i·h))^h
//
// and the rate is f² (both blocks must answer "set").
func blockedFPRate(n, blocks uint64, k uint32) float64 {
	lambda := blocksPerTag * float64(n) / float64(blocks)
	if lambda > maxLoad || k < 2 {
		return 1
	}
	h := float64(k / blocksPerTag)
	logKeep := math.Log1p(-1.0 / blockBits) // ln(1 - 1/512)
	// Sum the Poisson terms from 0 up to far past the mean, in log space
	// (e^-λ alone would underflow for large λ); the terms beyond are below
	// 1e-40 of the total.
	last := int(lambda + 40*math.Sqrt(lambda) + 40)
	logLambda := math.Log(lambda)
	f := 0.0
	for i := 0; i <= last; i++ {
		lg, _ := math.Lgamma(float64(i) + 1)
		pmf := math.Exp(-lambda + float64(i)*logLambda - lg)
		inner := math.Pow(-math.Expm1(float64(i)*h*logKeep), h)
		f += pmf * inner
	}
	return min(f*f, 1)
}

// FileSize is the size of the filter's file: one header page and the bits.
func (p *Params) FileSize() int64 { return headerSize + int64(p.Bits/8) }
