package provider

import (
	"testing"
	"time"
)

// sendN sends n packets at now and returns how many were allowed.
func sendN(s *Session, now time.Time, n int) int {
	ok := 0
	for range n {
		if s.AllowSend(now) {
			ok++
		}
	}
	return ok
}

// The token bucket limits a client to its burst, then to the rate; the
// management commands change connected clients' buckets at once; sessions
// of one user share a bucket.
func TestRateLimit(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, func(c *Config) { c.SendRatePerMinute = 60; c.SendBurst = 3; c.Now = clock.Now })
	user := addUser(t, h.st)
	s, err := h.p.NewSession(user)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := clock.Now()
	if got := sendN(s, t0, 5); got != 3 {
		t.Fatalf("burst: %d allowed, want 3", got)
	}
	if got := h.p.Stats().Drop(DropRateLimited); got != 2 {
		t.Fatalf("rate_limited = %d, want 2", got)
	}
	// One per second at 60 per minute.
	if got := sendN(s, t0.Add(time.Second), 3); got != 1 {
		t.Fatalf("after 1s: %d allowed, want 1", got)
	}
	// A second session of the same user does not get a fresh bucket.
	s2, err := h.p.NewSession(user)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := sendN(s2, t0.Add(time.Second), 1); got != 0 {
		t.Fatalf("second session: %d allowed, want 0", got)
	}

	// SEND_RATE 600: ten per second from now on.
	clock.Advance(time.Second)
	if err := h.p.SetSendRate(ctxT(t), 600); err != nil {
		t.Fatal(err)
	}
	if got := sendN(s, t0.Add(1500*time.Millisecond), 10); got != 3 {
		t.Fatalf("after SEND_RATE 600, 0.5s: %d allowed, want 3 (the burst)", got)
	}
	// A new document's rate does not override the operator's.
	h.p.SetDocumentRate(6)
	if got := sendN(s, t0.Add(1800*time.Millisecond), 10); got != 3 {
		t.Fatalf("after a document rate: %d allowed, want 3", got)
	}

	// SEND_BURST 20: up to 20 back to back once the bucket has refilled.
	clock.Advance(time.Second)
	if err := h.p.SetSendBurst(ctxT(t), 20); err != nil {
		t.Fatal(err)
	}
	if got := sendN(s, t0.Add(10*time.Second), 30); got != 20 {
		t.Fatalf("after SEND_BURST 20: %d allowed, want 20", got)
	}

	// SEND_RATE 0 turns the limit off.
	if err := h.p.SetSendRate(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	if got := sendN(s, t0.Add(10*time.Second), 500); got != 500 {
		t.Fatalf("rate 0: %d of 500 allowed", got)
	}
	// And back on.
	if err := h.p.SetSendRate(ctxT(t), 60); err != nil {
		t.Fatal(err)
	}
	if got := sendN(s, t0.Add(100*time.Second), 50); got != 20 {
		t.Fatalf("rate back on: %d allowed, want 20", got)
	}
}

// The document's rate applies when the operator set none.
func TestRateLimitFollowsDocument(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, func(c *Config) { c.SendRatePerMinute = 60; c.SendBurst = 1; c.Now = clock.Now })
	s, err := h.p.NewSession(addUser(t, h.st))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := clock.Now()
	if got := sendN(s, t0, 2); got != 1 {
		t.Fatalf("%d allowed, want 1", got)
	}
	h.p.SetDocumentRate(6000) // 100 per second
	if got := sendN(s, t0.Add(10*time.Millisecond), 2); got != 1 {
		t.Fatalf("after the document's 6000/min, 10ms: %d allowed, want 1", got)
	}
}

// Debug.DisableRateLimit turns the limiter off.
func TestRateLimitDisabled(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SendRatePerMinute = 1; c.SendBurst = 1; c.DisableRateLimit = true })
	s, err := h.p.NewSession(addUser(t, h.st))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := sendN(s, time.Now(), 1000); got != 1000 {
		t.Fatalf("%d of 1000 allowed with the limit disabled", got)
	}
	if got := h.p.Stats().Drop(DropRateLimited); got != 0 {
		t.Fatalf("rate_limited = %d", got)
	}
}
