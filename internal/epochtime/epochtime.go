// Package epochtime maps wall-clock time to PKI epochs
// (docs/spec/pki.md, "Epochs"). Epoch 0 starts at Genesis; every epoch lasts
// Period. The directory authority publishes Period in its document; keyd and
// mixd take it from the configuration ([Privsep] EpochPeriod) so that keyd,
// which has no network, can tell the current epoch on its own.
package epochtime

import (
	"fmt"
	"math"
	"time"
)

// DefaultPeriod is the production epoch length.
const DefaultPeriod = 20 * time.Minute

// Genesis is the start of epoch 0: 2026-01-01 00:00:00 UTC.
var Genesis = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Clock computes epochs for one period.
type Clock struct {
	Period time.Duration
	// Now, if set, replaces time.Now (tests).
	Now func() time.Time
}

// New returns a clock with the given period, which must be positive.
func New(period time.Duration) (Clock, error) {
	if period <= 0 {
		return Clock{}, fmt.Errorf("epoch period %v: must be positive", period)
	}
	return Clock{Period: period}, nil
}

func (c Clock) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Current returns the current epoch, how far into it we are and how long
// until the next one starts.
func (c Clock) Current() (epoch uint64, elapsed, till time.Duration) {
	return c.At(c.now())
}

// At returns the epoch containing t. Times before Genesis are epoch 0.
func (c Clock) At(t time.Time) (epoch uint64, elapsed, till time.Duration) {
	d := t.Sub(Genesis)
	if d < 0 {
		return 0, 0, -d
	}
	epoch = uint64(d / c.Period)
	elapsed = d % c.Period
	return epoch, elapsed, c.Period - elapsed
}

// Start returns the time at which epoch e starts.
func (c Clock) Start(e uint64) time.Time {
	return Genesis.Add(time.Duration(e) * c.Period)
}

// MaxKeyGrace caps KeyGrace.
const MaxKeyGrace = 10 * time.Minute

// KeyGrace is how long into an epoch a node still tries the previous
// epoch's Sphinx key, and how long before an epoch's end it already tries
// the next one: a quarter of the period, at most MaxKeyGrace
// (docs/spec/keys.md §3.1). A packet whose delays, summed over the hops
// before its last, exceed KeyGrace can reach a node after that node erased
// the key the packet was made for; the directory authority warns about
// parameters that allow it.
func KeyGrace(period time.Duration) time.Duration {
	return min(period/4, MaxKeyGrace)
}

// FreshPeriod returns a period within a sixth of target, in whole seconds
// (as [Privsep] EpochPeriod must be), whose current epoch began as shortly
// before now as such periods allow. A benchmark that configures its network
// with it runs far from an epoch boundary (no key rotation, no new
// document, no new replay filter while it measures), whenever it starts.
func FreshPeriod(now time.Time, target time.Duration) time.Duration {
	since := int64(now.Sub(Genesis) / time.Second)
	lo, hi := int64(target/time.Second)*5/6, int64(target/time.Second)*7/6
	best, bestElapsed := int64(target/time.Second), int64(math.MaxInt64)
	for p := lo; p <= hi; p++ {
		if elapsed := since % p; elapsed < bestElapsed {
			best, bestElapsed = p, elapsed
		}
	}
	return time.Duration(best) * time.Second
}
