package route

import (
	"errors"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/mixtest"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

type net3 struct {
	layers    [][]*mixtest.Node
	providers []*mixtest.Node
}

func newNet(t *testing.T) *net3 {
	t.Helper()
	n := &net3{}
	mk := func(name string, prov bool) *mixtest.Node {
		node, err := mixtest.NewNode(name, prov)
		if err != nil {
			t.Fatal(err)
		}
		return node
	}
	n.layers = [][]*mixtest.Node{{mk("a0", false), mk("a1", false)}, {mk("b0", false)}, {mk("c0", false)}}
	n.providers = []*mixtest.Node{mk("p0", true), mk("p1", true)}
	return n
}

func (n *net3) doc(t *testing.T, epoch uint64, maxDelay uint64) *pki.Document {
	t.Helper()
	params := pki.Parameters{MuMaxDelay: maxDelay}
	d, err := mixtest.Document(epoch, time.Minute, sphinx.DefaultGeometry(), params, n.layers, n.providers)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestViewLayersAndAuthorization(t *testing.T) {
	n := newNet(t)
	doc := n.doc(t, 5, 0)
	mid := n.layers[1][0]
	tab := NewTable()
	if err := tab.Authorize(n.layers[0][0].Link.Public(), n.layers[0][0].ID[:]); !errors.Is(err, ErrNoDocument) {
		t.Fatalf("without a document: %v", err)
	}
	v, err := NewView(doc, mid.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Layer != 1 {
		t.Fatalf("layer %d", v.Layer)
	}
	tab.Set(v, 0)

	for _, prev := range n.layers[0] {
		if err := tab.Authorize(prev.Link.Public(), prev.ID[:]); err != nil {
			t.Fatalf("previous layer node %s refused: %v", prev.Name, err)
		}
	}
	// The next layer, a Provider, and a previous-layer id with another key are refused.
	if err := tab.Authorize(n.layers[2][0].Link.Public(), n.layers[2][0].ID[:]); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("next layer admitted: %v", err)
	}
	if err := tab.Authorize(n.providers[0].Link.Public(), n.providers[0].ID[:]); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("Provider admitted at layer 1: %v", err)
	}
	if err := tab.Authorize(n.providers[0].Link.Public(), n.layers[0][0].ID[:]); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("a previous-layer id with a foreign key admitted: %v", err)
	}
	if err := tab.Authorize(n.layers[0][0].Link.Public(), []byte("short")); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("a non-NodeID blob admitted: %v", err)
	}

	peers := tab.NextPeers()
	if len(peers) != 1 || peers[n.layers[2][0].ID].Name != "c0" {
		t.Fatalf("next peers %v", peers)
	}

	// Layer 0 accepts from Providers; the last layer sends to Providers.
	v0, _ := NewView(doc, n.layers[0][1].ID)
	if !v0.MayReceiveFrom(n.providers[1].ID, n.providers[1].Link.Public()) {
		t.Fatal("layer 0 refuses a Provider")
	}
	v2, _ := NewView(doc, n.layers[2][0].ID)
	if _, ok := v2.NextHop(n.providers[0].ID); !ok {
		t.Fatal("last layer cannot send to a Provider")
	}
	vp, _ := NewView(doc, n.providers[0].ID)
	if vp.Layer != pki.ProviderLayer || !vp.MayReceiveFrom(n.layers[2][0].ID, n.layers[2][0].Link.Public()) {
		t.Fatal("a Provider does not accept the last layer")
	}

	stranger, _ := mixtest.NewNode("x", false)
	if _, err := NewView(doc, stranger.ID); !errors.Is(err, ErrNotListed) {
		t.Fatalf("view for an unlisted node: %v", err)
	}
}

func TestDecide(t *testing.T) {
	n := newNet(t)
	tab := NewTable()
	cmds := &sphinx.Commands{HasNextHop: true, NextHop: n.layers[2][0].ID, HasDelay: true, Delay: 1500}
	if vd, _, _, reason := tab.Decide(cmds, FromNode); vd != Drop || reason != drops.NoDocument {
		t.Fatalf("no document: %v %v", reason, vd)
	}
	v, _ := NewView(n.doc(t, 9, 1000), n.layers[1][0].ID)
	tab.Set(v, 0)
	if vd, _, _, reason := tab.Decide(cmds, FromNode); vd != Drop || reason != drops.DelayTooLong {
		t.Fatalf("delay above MuMaxDelay: %v %v", reason, vd)
	}
	cmds.Delay = 700
	vd, next, delay, _ := tab.Decide(cmds, FromNode)
	if vd != Forward || next != n.layers[2][0].ID || delay != 700*time.Millisecond {
		t.Fatalf("Decide = %v %v %v", next, delay, vd)
	}
	if vd, _, _, _ := tab.Decide(cmds, FromClient); vd != Drop {
		t.Fatal("a mix forwarded a packet from a client")
	}
	cmds.NextHop = n.layers[0][0].ID // backwards
	if vd, _, _, reason := tab.Decide(cmds, FromNode); vd != Drop || reason != drops.UnknownNextHop {
		t.Fatalf("previous layer as next hop: %v %v", reason, vd)
	}
	term := &sphinx.Commands{HasRecipient: true}
	if vd, _, _, reason := tab.Decide(term, FromNode); vd != Drop || reason != drops.NotForMix {
		t.Fatalf("terminal packet at a mix: %v %v", reason, vd)
	}
	if n := testing.AllocsPerRun(50, func() { tab.Decide(cmds, FromNode) }); n != 0 {
		t.Fatalf("Decide allocates %v", n)
	}
}

func TestTableKeepsNeighbourEpochs(t *testing.T) {
	n := newNet(t)
	self := n.layers[1][0].ID
	tab := NewTable()
	for e := uint64(10); e < 14; e++ {
		v, err := NewView(n.doc(t, e, 0), self)
		if err != nil {
			t.Fatal(err)
		}
		tab.Set(v, e-1)
	}
	if got := tab.Epochs(); len(got) != 2 || got[0] != 12 || got[1] != 13 {
		t.Fatalf("epochs %v", got)
	}
	tab.Prune(13)
	if _, ok := tab.View(12); ok {
		t.Fatal("pruned view still there")
	}
	var p Peer = tab.NextPeers()[n.layers[2][0].ID]
	q := p
	if !p.Equal(&q) {
		t.Fatal("a peer differs from its copy")
	}
	q.LinkKey = n.layers[0][0].Link.Public()
	if p.Equal(&q) {
		t.Fatal("peers with different link keys are equal")
	}
}

// TestDecideAtProvider: a Provider forwards its clients' packets to layer 0
// only, delivers what the last layer sends it, and nothing else.
func TestDecideAtProvider(t *testing.T) {
	n := newNet(t)
	tab := NewTable()
	v, err := NewView(n.doc(t, 9, 1000), n.providers[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Layer != pki.ProviderLayer {
		t.Fatalf("Provider's layer %d", v.Layer)
	}
	tab.Set(v, 0)
	// Links: from the last layer in, to layer 0 out.
	last := n.layers[2][0]
	if err := tab.Authorize(last.Link.Public(), last.ID[:]); err != nil {
		t.Fatalf("last layer refused: %v", err)
	}
	if err := tab.Authorize(n.layers[0][0].Link.Public(), n.layers[0][0].ID[:]); err == nil {
		t.Fatal("layer 0 may send to a Provider")
	}
	peers := tab.NextPeers()
	if len(peers) != 2 || peers[n.layers[0][1].ID].Name != "a1" {
		t.Fatalf("a Provider's next peers: %v", peers)
	}

	toL0 := &sphinx.Commands{HasNextHop: true, NextHop: n.layers[0][1].ID, HasDelay: true, Delay: 20}
	vd, next, delay, _ := tab.Decide(toL0, FromClient)
	if vd != Forward || next != n.layers[0][1].ID || delay != 20*time.Millisecond {
		t.Fatalf("client packet to layer 0: %v %v %v", vd, next, delay)
	}
	if vd, _, _, reason := tab.Decide(toL0, FromNode); vd != Drop || reason != drops.ProviderNotTerminal {
		t.Fatalf("node packet relayed by a Provider: %v %v", vd, reason)
	}
	toL1 := &sphinx.Commands{HasNextHop: true, NextHop: n.layers[1][0].ID}
	if vd, _, _, reason := tab.Decide(toL1, FromClient); vd != Drop || reason != drops.UnknownNextHop {
		t.Fatalf("client packet skipping layer 0: %v %v", vd, reason)
	}
	toProvider := &sphinx.Commands{HasNextHop: true, NextHop: n.providers[1].ID}
	if vd, _, _, _ := tab.Decide(toProvider, FromClient); vd != Drop {
		t.Fatal("client packet sent straight to another Provider")
	}
	if !tab.MayForwardTo(n.layers[0][0].ID) || tab.MayForwardTo(n.layers[2][0].ID) {
		t.Fatal("MayForwardTo: a Provider forwards to layer 0 only")
	}

	term := &sphinx.Commands{HasRecipient: true, HasDelay: true, Delay: 30}
	vd, _, delay, _ = tab.Decide(term, FromNode)
	if vd != Deliver || delay != 30*time.Millisecond {
		t.Fatalf("terminal packet from the last layer: %v %v", vd, delay)
	}
	reply := &sphinx.Commands{HasRecipient: true, HasSURBReply: true}
	if vd, _, _, _ := tab.Decide(reply, FromNode); vd != Deliver {
		t.Fatalf("SURB reply from the last layer: %v", vd)
	}
	if vd, _, _, reason := tab.Decide(term, FromClient); vd != Drop || reason != drops.ClientTerminal {
		t.Fatalf("client packet ending at its own Provider: %v %v", vd, reason)
	}
}
