package decoy

import (
	"errors"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// TestLoopReturns: a loop goes to p1's echo and back, is consumed and
// counted returned with its round-trip time.
func TestLoopReturns(t *testing.T) {
	h := newHarness(t, testParams, 0)
	start := h.clock()
	s := h.sendOne(t)
	if h.layerOf(s.firstHop) != 0 {
		t.Fatalf("first hop in layer %d, want 0", h.layerOf(s.firstHop))
	}
	// §3.2: held for hop 0's sampled delay.
	if hold := s.dispatchAt.Sub(start); hold < 0 || hold > time.Duration(testParams.MuMaxDelay)*time.Millisecond {
		t.Fatalf("dispatch %v after building", hold)
	}
	if st := h.loops.Stats(); st.Sent != 1 || st.Outstanding != 1 {
		t.Fatalf("after sending: %+v", st)
	}
	res := h.roundTrip(t, s, nil)
	if !res.Commands.HasSURBReply || string(res.Commands.Recipient[:len(RecipientName)]) != RecipientName {
		t.Fatalf("reply commands %+v", res.Commands)
	}
	received := h.advance(1500 * time.Millisecond)
	if !h.loops.Consume(res, received) {
		t.Fatal("the loop's reply was not consumed")
	}
	st := h.loops.Stats()
	if st.Returned != 1 || st.Outstanding != 0 || st.Lost != 0 || st.BadReply != 0 {
		t.Fatalf("after the reply: %+v", st)
	}
	if st.RTTLast != 1500*time.Millisecond || st.RTTMean != st.RTTLast || st.RTTMax != st.RTTLast {
		t.Fatalf("round trip %v / %v / %v, want 1.5s", st.RTTLast, st.RTTMean, st.RTTMax)
	}
	// The same reply again (a replay the filter missed) is not a loop any
	// more.
	if h.loops.Consume(res, received) {
		t.Fatal("a reply was consumed twice")
	}
	if st := h.loops.Stats(); st.Unmatched != 1 || st.Returned != 1 {
		t.Fatalf("after the second copy: %+v", st)
	}
}

// TestLoopDeadline: a loop's deadline is its path delays plus the slack;
// the sweep counts it lost then, not before, and its late reply is not
// consumed.
func TestLoopDeadline(t *testing.T) {
	h := newHarness(t, testParams, 0)
	s := h.sendOne(t)
	res := h.roundTrip(t, s, nil)

	h.advance(15*time.Second - time.Millisecond) // below the slack alone
	if n := h.loops.Sweep(); n != 0 {
		t.Fatalf("swept %d loops before the slack ran out", n)
	}
	h.advance(maxRoundTrip(h.testNet))
	if n := h.loops.Sweep(); n != 1 {
		t.Fatalf("swept %d loops after the deadline, want 1", n)
	}
	if st := h.loops.Stats(); st.Lost != 1 || st.Outstanding != 0 || st.Returned != 0 {
		t.Fatalf("after the sweep: %+v", st)
	}
	if h.loops.Consume(res, h.clock()) {
		t.Fatal("the reply of a swept loop was consumed")
	}
	if st := h.loops.Stats(); st.Unmatched != 1 || st.Returned != 0 {
		t.Fatalf("after the late reply: %+v", st)
	}
}

// TestLateReplyBeforeSweep: a reply that arrives after its deadline but
// before the sweep is consumed and counted lost (§5.2 step 1).
func TestLateReplyBeforeSweep(t *testing.T) {
	h := newHarness(t, testParams, 0)
	res := h.roundTrip(t, h.sendOne(t), nil)
	if !h.loops.Consume(res, h.advance(maxRoundTrip(h.testNet)+time.Millisecond)) {
		t.Fatal("late reply not consumed")
	}
	if st := h.loops.Stats(); st.Lost != 1 || st.Returned != 0 || st.Outstanding != 0 {
		t.Fatalf("after a late reply: %+v", st)
	}
}

// TestBadReplies: a reply with another payload, or altered on the way, is
// consumed and counted bad_reply, not returned.
func TestBadReplies(t *testing.T) {
	h := newHarness(t, testParams, 0)
	for name, tc := range map[string]struct {
		change  func([]byte)
		corrupt bool
	}{
		"wrong token":          {change: func(b []byte) { b[0] ^= 1 }},
		"non-zero padding":     {change: func(b []byte) { b[len(b)-1] = 1 }},
		"altered on the way":   {corrupt: true},
		"echo of a short body": {change: func(b []byte) { clear(b[8:]) }},
	} {
		before := h.loops.Stats()
		res := h.roundTrip(t, h.sendOne(t), tc.change)
		if tc.corrupt {
			res.Payload[100] ^= 0x80
		}
		if !h.loops.Consume(res, h.clock()) {
			t.Fatalf("%s: not consumed", name)
		}
		st := h.loops.Stats()
		if st.BadReply != before.BadReply+1 || st.Returned != 0 || st.Outstanding != 0 {
			t.Fatalf("%s: %+v", name, st)
		}
	}
}

// TestNotConsumed: packets that are not a loop's reply go on to the
// Provider untouched.
func TestNotConsumed(t *testing.T) {
	h := newHarness(t, testParams, 0)
	res := h.roundTrip(t, h.sendOne(t), nil)
	orig := append([]byte(nil), res.Payload...)

	unknown := *res
	unknown.Commands.SURBID[0] ^= 1
	if h.loops.Consume(&unknown, h.clock()) {
		t.Fatal("unknown SURB id consumed")
	}
	user := *res
	user.Commands.Recipient, _ = sphinx.NewRecipientID("alice")
	if h.loops.Consume(&user, h.clock()) {
		t.Fatal("a user's reply with a loop's SURB id consumed")
	}
	forward := *res
	forward.Commands.HasSURBReply = false
	if h.loops.Consume(&forward, h.clock()) {
		t.Fatal("a forward packet consumed")
	}
	if string(res.Payload) != string(orig) {
		t.Fatal("a packet not consumed was changed")
	}
	if st := h.loops.Stats(); st.Unmatched != 1 || st.Outstanding != 1 || st.Returned != 0 || st.BadReply != 0 {
		t.Fatalf("after packets not consumed: %+v", st)
	}
	if !h.loops.Consume(res, h.clock()) {
		t.Fatal("the real reply was not consumed afterwards")
	}
	if st := h.loops.Stats(); st.Returned != 1 {
		t.Fatalf("real reply: %+v", st)
	}
}

// TestTableBound: no more than MaxOutstanding loops are in flight; a
// returned one frees its place.
func TestTableBound(t *testing.T) {
	h := newHarness(t, testParams, 2)
	a := h.sendOne(t)
	h.sendOne(t)
	if err := h.loops.SendOne(); !errors.Is(err, ErrTableFull) {
		t.Fatalf("third loop: %v, want ErrTableFull", err)
	}
	if st := h.loops.Stats(); st.TableFull != 1 || st.Sent != 2 || st.Outstanding != 2 || len(h.sent()) != 2 {
		t.Fatalf("full table: %+v, %d packets", st, len(h.sent()))
	}
	if !h.loops.Consume(h.roundTrip(t, a, nil), h.clock()) {
		t.Fatal("reply not consumed")
	}
	if err := h.loops.SendOne(); err != nil {
		t.Fatalf("after a return: %v", err)
	}
}

// TestSkips: each reason not to send a loop is counted, and nothing is
// left in the table.
func TestSkips(t *testing.T) {
	h := newHarness(t, testParams, 0)

	h.noDoc = true
	if err := h.loops.SendOne(); !errors.Is(err, ErrNoDocument) {
		t.Fatalf("no document: %v", err)
	}
	h.noDoc = false

	h.refuse = true
	if err := h.loops.SendOne(); !errors.Is(err, ErrSendRefused) {
		t.Fatalf("refused: %v", err)
	}
	h.refuse = false

	echo := h.doc.Providers[1].Descriptor.Kaetzchen
	h.doc.Providers[1].Descriptor.Kaetzchen = map[string]map[string]string{"echo": {pki.KaetzchenEndpoint: "echo"}} // not an endpoint
	if err := h.loops.SendOne(); !errors.Is(err, ErrNoEcho) {
		t.Fatalf("no echo: %v", err)
	}
	h.doc.Providers[1].Descriptor.Kaetzchen = echo

	self := h.doc.Providers[0]
	h.doc.Providers = h.doc.Providers[1:]
	if err := h.loops.SendOne(); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("not in the document: %v", err)
	}
	h.doc.Providers = append([]pki.NodeEntry{self}, h.doc.Providers...)

	layer := h.doc.Layers[1]
	h.doc.Layers[1] = nil
	if err := h.loops.SendOne(); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("empty layer: %v", err)
	}
	h.doc.Layers[1] = layer

	st := h.loops.Stats()
	want := Stats{NoDocument: 1, SendRefused: 1, NoEcho: 1, NoRoute: 2, MeanInterval: DefaultInterval}
	if st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
	if len(h.sent()) != 0 {
		t.Fatal("a packet was sent")
	}
	h.sendOne(t) // and all is well again
}

// TestEchoChoice: the loop goes to a Provider that advertises echo,
// including the sender itself (client.md §4.1: S and D may be the same).
func TestEchoChoice(t *testing.T) {
	h := newHarness(t, testParams, 0)
	h.doc.Providers[0].Descriptor.Kaetzchen = map[string]map[string]string{"echo": {pki.KaetzchenEndpoint: "+ping"}}
	h.doc.Providers[1].Descriptor.Kaetzchen = nil
	dst, res := h.walk(t, h.sendOne(t).packet, h.sent()[0].firstHop)
	if dst != h.p0 {
		t.Fatalf("loop to %s, want p0", dst.Name)
	}
	if got := string(res.Commands.Recipient[:5]); got != "+ping" {
		t.Fatalf("recipient %q", got)
	}
}

// TestNewChecksConfig: a Config without its callbacks is refused.
func TestNewChecksConfig(t *testing.T) {
	h := newTestNet(t, testParams)
	if _, err := New(Config{Sphinx: h.sph}); err == nil {
		t.Fatal("Config without Document and Send accepted")
	}
	ok := Config{Sphinx: h.sph, Document: func() (*pki.Document, bool) { return nil, false },
		Send: func([]byte, keys.NodeID, time.Time) bool { return true }}
	bad := ok
	bad.Slack = -1
	if _, err := New(bad); err == nil {
		t.Fatal("negative slack accepted")
	}
	if _, err := New(ok); err != nil {
		t.Fatal(err)
	}
}

// TestStatsInvariant: while loops are sent, returned and swept on other
// goroutines, every snapshot has sent >= returned + lost + bad_reply +
// outstanding (what the soak test checks).
func TestStatsInvariant(t *testing.T) {
	h := newHarness(t, testParams, 0)
	// Round trips need the Sphinx keys only: build the replies first.
	var replies []*sphinx.UnwrapResult
	for range 10 {
		replies = append(replies, h.roundTrip(t, h.sendOne(t), nil))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, r := range replies {
			if i%3 == 2 {
				h.advance(maxRoundTrip(h.testNet))
				h.loops.Sweep()
				continue
			}
			h.loops.Consume(r, h.clock())
			_ = h.loops.SendOne()
		}
	}()
	check := func() Stats {
		s := h.loops.Stats()
		if s.Sent < s.Returned+s.Lost+s.BadReply+uint64(s.Outstanding) {
			t.Fatalf("inconsistent snapshot %+v", s)
		}
		return s
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			check()
		}
	}
	if s := check(); s.Returned == 0 || s.Lost == 0 {
		t.Fatalf("final %+v: want some returned and some lost", s)
	}
}
