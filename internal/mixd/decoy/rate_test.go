package decoy

import (
	"crypto/rand"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/pki"
)

// meanOf draws n intervals and returns their mean, min and max.
func meanOf(t *testing.T, doc *pki.Document, n int) (mean, lo, hi time.Duration) {
	t.Helper()
	var sum float64
	lo = time.Duration(math.MaxInt64)
	for range n {
		d, err := sampleInterval(rand.Reader, doc)
		if err != nil {
			t.Fatal(err)
		}
		sum += float64(d)
		lo, hi = min(lo, d), max(hi, d)
	}
	return time.Duration(sum / float64(n)), lo, hi
}

// TestSampleInterval: exponential with the document's LambdaM, the default
// without one, capped by LambdaMMaxDelay, never below MinInterval (§2).
func TestSampleInterval(t *testing.T) {
	const n = 20000 // the mean's standard error is 0.7%
	near := func(got, want time.Duration) bool {
		return math.Abs(float64(got-want)) < 0.04*float64(want)
	}
	if m, _, _ := meanOf(t, nil, n); !near(m, DefaultInterval) {
		t.Errorf("no document: mean %v, want %v", m, DefaultInterval)
	}
	zero := &pki.Document{}
	if m, _, _ := meanOf(t, zero, n); !near(m, DefaultInterval) {
		t.Errorf("LambdaM 0: mean %v, want %v", m, DefaultInterval)
	}
	doc := &pki.Document{Parameters: pki.Parameters{LambdaM: 0.002}} // mean 500 ms
	if m, _, _ := meanOf(t, doc, n); !near(m, 500*time.Millisecond) {
		t.Errorf("LambdaM 0.002: mean %v, want 500ms", m)
	}
	doc.Parameters.LambdaMMaxDelay = 100
	if _, lo, hi := meanOf(t, doc, 2000); hi != 100*time.Millisecond || lo < MinInterval {
		t.Errorf("capped at 100 ms: range %v..%v", lo, hi)
	}
	fast := &pki.Document{Parameters: pki.Parameters{LambdaM: 1000}}
	if _, lo, _ := meanOf(t, fast, 2000); lo != MinInterval {
		t.Errorf("huge rate: shortest %v, want %v", lo, MinInterval)
	}
	slow := &pki.Document{Parameters: pki.Parameters{LambdaM: math.SmallestNonzeroFloat64}}
	if _, lo, _ := meanOf(t, slow, 100); lo <= 0 {
		t.Errorf("tiny rate overflowed: %v", lo)
	}
	if meanInterval(doc) != 500*time.Millisecond {
		t.Errorf("meanInterval %v", meanInterval(doc))
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestSampleIntervalRandomFailure(t *testing.T) {
	if _, err := sampleInterval(failingReader{}, nil); err == nil {
		t.Fatal("no error from a failing random source")
	}
}
