package decoy

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/splitmix/splitmix/internal/pki"
)

// The sending rate (docs/spec/decoy.md §2.2).
const (
	// DefaultInterval is the mean time between loops when the document
	// gives no loop rate (LambdaM = 0) or there is no document.
	DefaultInterval = 10 * time.Second
	// MinInterval is the shortest time between two loops, whatever the
	// document says, so that a huge rate cannot make the Provider spin.
	MinInterval = 10 * time.Millisecond
	// maxIntervalMS clamps intervals (ms) before they become a Duration,
	// so that a tiny rate cannot overflow one: about 31 years.
	maxIntervalMS = 1e12
)

// meanInterval is the mean time between loops that doc asks for (nil:
// no document).
func meanInterval(doc *pki.Document) time.Duration {
	if doc == nil || doc.Parameters.LambdaM <= 0 {
		return DefaultInterval
	}
	ms := min(1/doc.Parameters.LambdaM, maxIntervalMS)
	return time.Duration(ms * float64(time.Millisecond))
}

// sampleInterval draws the time to the next loop (docs/spec/decoy.md
// §2.1, §2.2): exponential with the document's LambdaM (events per ms) or
// the default rate, capped by LambdaMMaxDelay when that is set, never
// below MinInterval.
func sampleInterval(rng io.Reader, doc *pki.Document) (time.Duration, error) {
	var b [8]byte
	if _, err := io.ReadFull(rng, b[:]); err != nil {
		return 0, fmt.Errorf("decoy: random source: %w", err)
	}
	u := float64(binary.LittleEndian.Uint64(b[:])>>11+1) / (1 << 53) // (0, 1]
	meanMS := float64(meanInterval(doc)) / float64(time.Millisecond)
	x := -math.Log(u) * meanMS // ms
	if doc != nil && doc.Parameters.LambdaM > 0 && doc.Parameters.LambdaMMaxDelay > 0 {
		x = min(x, float64(doc.Parameters.LambdaMMaxDelay))
	}
	x = min(x, maxIntervalMS)
	return max(time.Duration(x*float64(time.Millisecond)), MinInterval), nil
}
