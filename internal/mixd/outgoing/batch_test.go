package outgoing_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/mixd/route"
)

// TestBurstArrivesInOrder sends a burst far larger than one write batch:
// every packet arrives, in order, and is counted forwarded once.
func TestBurstArrivesInOrder(t *testing.T) {
	s := newSender(t, 10*time.Second)
	r := newReceiver(t, s.id, s.key.Public())
	var rid keys.NodeID
	rid[0] = 0xBC
	s.links.Reconcile(map[keys.NodeID]route.Peer{rid: r.peer(rid, r.key.Public())})
	waitFor(t, "the link", func() bool { return s.links.Up(rid) })
	const n = 300
	go func() {
		for i := range n {
			s.send(rid, byte(i))
		}
	}()
	for i := range n {
		select {
		case got := <-r.got:
			if !bytes.Equal(got, bytes.Repeat([]byte{byte(i)}, pktLen)) {
				t.Fatalf("packet %d arrived as packet %d", i, got[0])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("packet %d never arrived", i)
		}
	}
	waitFor(t, "the forwarded count", func() bool { return s.drops.Snapshot().Forwarded == n })
	if d := s.drops.Snapshot().TotalDropped(); d != 0 {
		t.Fatalf("%d packets dropped", d)
	}
}
