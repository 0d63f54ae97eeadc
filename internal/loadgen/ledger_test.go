package loadgen

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// sent records a message and requires the ledger to take it.
func sent(t *testing.T, l *Ledger, sender int, at time.Duration, warmup bool, delay, ackDelay time.Duration) uint64 {
	t.Helper()
	seq, ok := l.Sent(sender, at, warmup, delay, ackDelay)
	if !ok {
		t.Fatal("the ledger refused a message")
	}
	return seq
}

func TestLedgerLimit(t *testing.T) {
	l := NewLedger(1)
	l.limit = 3
	for range 3 {
		sent(t, l, 0, 0, false, 0, 0)
	}
	if _, ok := l.Sent(0, 0, false, 0, 0); ok {
		t.Fatal("the ledger took a message beyond its limit")
	}
	l.Unsend(0, 2)
	if seq, ok := l.Sent(0, 0, false, 0, 0); !ok || seq != 2 {
		t.Fatalf("after Unsend: %d, %v; want room for sequence 2", seq, ok)
	}
	if tl := l.Tally(); !tl.Truncated || tl.Sent != 3 || tl.Unacked != 3 || tl.Missing != 3 {
		t.Fatalf("tally %+v", tl)
	}
}

func TestLedgerAccounting(t *testing.T) {
	l := NewLedger(2)
	ms := time.Millisecond
	// Sender 0: a warmup message, then three measured ones.
	w := sent(t, l, 0, 0, true, 0, 0)
	a := sent(t, l, 0, 10*ms, false, 5*ms, 9*ms)
	b := sent(t, l, 0, 20*ms, false, 6*ms, 10*ms)
	c := sent(t, l, 0, 30*ms, false, 7*ms, 11*ms)
	// Sender 1: one measured message whose send failed, then one sent.
	f := sent(t, l, 1, 12*ms, false, 0, 0)
	l.Unsend(1, f)
	d := sent(t, l, 1, 15*ms, false, 1*ms, 2*ms)
	if w != 0 || a != 1 || b != 2 || c != 3 || d != 0 {
		t.Fatalf("sequences %d %d %d %d %d", w, a, b, c, d)
	}

	l.Received(Body{Sender: 0, Sequence: w, Sent: 0}, 40*ms)
	if !l.Received(Body{Sender: 0, Sequence: a, Sent: 10 * ms}, 60*ms) {
		t.Fatal("a first arrival was not reported as such")
	}
	if l.Received(Body{Sender: 0, Sequence: a, Sent: 10 * ms}, 70*ms) {
		t.Fatal("a duplicate was reported as a first arrival")
	}
	l.Received(Body{Sender: 1, Sequence: d, Sent: 15 * ms}, 25*ms)
	// Unknown: a sequence never sent, a sender out of range, and a body
	// whose send time is not the recorded one.
	l.Received(Body{Sender: 0, Sequence: 99, Sent: 0}, 80*ms)
	l.Received(Body{Sender: 5, Sequence: 0, Sent: 0}, 80*ms)
	l.Received(Body{Sender: 0, Sequence: b, Sent: 21 * ms}, 80*ms)

	l.Acked(0, a, 100*ms)
	l.Acked(0, a, 500*ms) // a second ACK changes nothing
	l.AckExpired(0, b)
	l.Acked(0, b, 600*ms) // too late: already expired
	l.Acked(1, d, 45*ms)
	if l.Settled() {
		t.Fatal("settled with b and c undelivered and c's ACK pending")
	}

	tl := l.Tally()
	if tl.Sent != 4 || tl.Warmup != 1 || tl.Acked != 2 || tl.AckExpired != 1 || tl.Unacked != 1 || tl.Delivered != 2 ||
		tl.Duplicates != 1 || tl.Missing != 2 || tl.Unknown != 3 {
		t.Fatalf("tally %+v", tl)
	}
	lat := slices.Sorted(slices.Values(tl.Latency))
	if !slices.Equal(lat, []time.Duration{10 * ms, 50 * ms}) {
		t.Fatalf("latencies %v", lat)
	}
	rtt := slices.Sorted(slices.Values(tl.AckRTT))
	if !slices.Equal(rtt, []time.Duration{30 * ms, 90 * ms}) {
		t.Fatalf("ACK round trips %v", rtt)
	}
	if len(tl.Delay) != 4 || slices.Max(tl.Delay) != 7*ms || len(tl.AckDelay) != 4 {
		t.Fatalf("delays %v %v", tl.Delay, tl.AckDelay)
	}

	// Settle the rest.
	l.Received(Body{Sender: 0, Sequence: b, Sent: 20 * ms}, 90*ms)
	l.Received(Body{Sender: 0, Sequence: c, Sent: 30 * ms}, 90*ms)
	l.AckExpired(0, c)
	l.Acked(0, w, 90*ms)
	if !l.Settled() {
		t.Fatal("not settled after every message arrived and every ACK is known")
	}
}

func TestLedgerConcurrent(t *testing.T) {
	const senders, each = 4, 200
	l := NewLedger(senders)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				at := time.Duration(i) * time.Millisecond
				seq := sent(t, l, s, at, false, 0, 0)
				l.Received(Body{Sender: uint32(s), Sequence: seq, Sent: at}, at+time.Millisecond)
				l.Acked(s, seq, at+2*time.Millisecond)
			}
		}()
	}
	wg.Wait()
	tl := l.Tally()
	if tl.Sent != senders*each || tl.Delivered != tl.Sent || tl.Acked != tl.Sent || tl.Missing != 0 || !l.Settled() {
		t.Fatalf("tally %+v", tl)
	}
	if d := Summarize(tl.Latency); d.Min != time.Millisecond || d.Max != time.Millisecond {
		t.Fatalf("latency %+v", d)
	}
}
