package decoy

import (
	"errors"
	"testing"
	"time"
)

// eventually waits for cond, failing after a deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling, not synchronisation
	}
}

// TestStartSendsAtTheDocumentRate: Start sends loops at the document's
// LambdaM (here as fast as MinInterval allows); Close stops it and wipes
// the table.
func TestStartSendsAtTheDocumentRate(t *testing.T) {
	params := testParams
	params.LambdaM = 1 // one per ms: every MinInterval
	h := newHarness(t, params, 0)
	h.loops.Start()
	h.loops.Start() // idempotent
	eventually(t, "three loops", func() bool { return h.loops.Stats().Sent >= 3 })
	if mi := h.loops.Stats().MeanInterval; mi != time.Millisecond {
		t.Fatalf("mean interval %v, want 1ms", mi)
	}
	h.loops.Close()
	h.loops.Close()
	st := h.loops.Stats()
	if st.Outstanding != 0 {
		t.Fatalf("%d loops left after Close", st.Outstanding)
	}
	if err := h.loops.SendOne(); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendOne after Close: %v", err)
	}
	n := len(h.sent())
	if uint64(n) != st.Sent {
		t.Fatalf("%d packets for %d loops", n, st.Sent)
	}
	// every packet is a loop through layer 0
	for _, s := range h.sent() {
		if h.layerOf(s.firstHop) != 0 {
			t.Fatal("a loop's first hop is not in layer 0")
		}
	}
}

// TestCloseWithoutStart: Close of a Loops never started returns.
func TestCloseWithoutStart(t *testing.T) {
	h := newHarness(t, testParams, 0)
	h.sendOne(t)
	h.loops.Close()
	h.loops.Start() // no effect after Close
	if st := h.loops.Stats(); st.Outstanding != 0 {
		t.Fatalf("outstanding %d after Close", st.Outstanding)
	}
}
