package decoy

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/provider"
	"github.com/splitmix/splitmix/internal/spoold/boltstore"
)

// newEchoProvider runs the Provider library with the echo service at
// "+echo"; what it sends comes out of the returned channel.
func newEchoProvider(t *testing.T, h *harness) (*provider.Provider, <-chan provider.Outgoing) {
	t.Helper()
	dir := t.TempDir()
	st, err := boltstore.Open(boltstore.Options{UserDB: filepath.Join(dir, "users.db"), SpoolDB: filepath.Join(dir, "spool.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	out := make(chan provider.Outgoing, 4)
	p, err := provider.New(provider.Config{
		Sphinx:    h.sph,
		Store:     st,
		Send:      func(o provider.Outgoing) bool { out <- o; return true },
		Kaetzchen: []config.Kaetzchen{{Capability: provider.CapabilityEcho, Endpoint: "+echo"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p, out
}

// TestLoopThroughTheEchoService: a loop, unwrapped hop by hop with the
// nodes' Sphinx keys, reaches p1's real echo service (internal/provider);
// the echo's reply through the SURB comes back through the layers to p0
// and is recognised and counted returned. A second copy, which the table
// no longer knows, goes on to p0's delivery, which drops it as a reply to
// an endpoint instead of spooling it.
func TestLoopThroughTheEchoService(t *testing.T) {
	h := newHarness(t, testParams, 0)
	echo, replies := newEchoProvider(t, h)
	s := h.sendOne(t)

	dst, req := h.walk(t, s.packet, s.firstHop)
	if dst != h.p1 {
		t.Fatalf("loop ended at %s, want p1", dst.Name)
	}
	if got := string(req.Commands.Recipient[:5]); got != "+echo" {
		t.Fatalf("recipient %q, want +echo", got)
	}
	received := h.clock().Add(400 * time.Millisecond)
	if !echo.Deliver(req, received) {
		t.Fatalf("the echo service refused the request: %+v", echo.Stats())
	}
	var o provider.Outgoing
	select {
	case o = <-replies:
	case <-time.After(10 * time.Second):
		t.Fatalf("no echo reply: %+v", echo.Stats())
	}
	// client.md §4.5: the echo holds the reply for its hop's delay.
	if hold := o.DispatchAt.Sub(received); hold != time.Duration(req.Commands.Delay)*time.Millisecond {
		t.Fatalf("echo reply due after %v, want the terminal delay %d ms", hold, req.Commands.Delay)
	}
	back, res := h.walk(t, o.Packet, o.NextHop)
	if back != h.p0 {
		t.Fatalf("reply ended at %s, want p0", back.Name)
	}
	copyOf := *res
	copyOf.Payload = append([]byte(nil), res.Payload...)

	if !h.loops.Consume(res, h.advance(2*time.Second)) {
		t.Fatal("the echo's reply was not consumed")
	}
	if st := h.loops.Stats(); st.Returned != 1 || st.Outstanding != 0 || st.RTTLast != 2*time.Second {
		t.Fatalf("after the reply: %+v", st)
	}

	home, _ := newEchoProvider(t, h)
	if h.loops.Consume(&copyOf, h.clock()) {
		t.Fatal("a second copy was consumed")
	}
	home.Deliver(&copyOf, h.clock())
	ps := home.Stats()
	if ps.Drop(provider.DropReplyToEndpoint) != 1 || ps.RepliesStored != 0 {
		t.Fatalf("an unmatched loop reply at the Provider: %+v", ps)
	}
}
