// Package route holds mixd's routing decisions, taken from the PKI documents:
// which peers may open a link to this node, which nodes it keeps links to, and
// where an unwrapped packet may go.
//
// The network is stratified (docs/spec/dirauth.md §5.5): a packet travels from
// its entry Provider through mix layers 0, 1, ... in order, then to a
// Provider. So a node of layer L accepts links only from the nodes of the
// previous layer (layer 0 from the Providers, the Providers from the last mix
// layer) and forwards only to the nodes of the next layer. A View is one
// document seen from one node; a Table holds the views of the epochs around
// now, because packets and links cross epoch boundaries: a peer or next hop
// is allowed if any held view allows it.
//
// SECURITY: a peer is admitted only if the NodeID it claims (its link
// authentication blob, docs/spec/link.md §7) is in the previous layer AND the
// link key it proved it holds is the one that node's signed descriptor
// carries, compared in constant time.
package route

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// Peer is a node this node may exchange packets with.
type Peer struct {
	ID        keys.NodeID
	Name      string
	LinkKey   *keys.LinkPublicKey
	Addresses map[string][]string // transport -> host:port, from its descriptor
}

// Equal reports whether two entries describe the same link endpoint.
func (p *Peer) Equal(o *Peer) bool {
	return p.ID == o.ID && p.LinkKey.Equal(o.LinkKey) &&
		maps.EqualFunc(p.Addresses, o.Addresses, slices.Equal)
}

// View is one epoch's document as seen by one node.
type View struct {
	Epoch uint64
	// Layer is this node's layer (pki.ProviderLayer for a Provider).
	Layer int
	// MaxDelay caps one hop's delay (the document's MuMaxDelay); zero
	// means no cap from the document.
	MaxDelay time.Duration
	// Geometry is the document's Sphinx geometry.
	Geometry sphinx.Geometry

	prev map[keys.NodeID]Peer
	next map[keys.NodeID]Peer
}

// ErrNotListed is returned by NewView for a document that does not list
// this node.
var ErrNotListed = errors.New("route: this node is not in the document")

// NewView builds self's view of doc.
func NewView(doc *pki.Document, self keys.NodeID) (*View, error) {
	_, layer, ok := doc.Node(self)
	if !ok {
		return nil, fmt.Errorf("%w for epoch %d", ErrNotListed, doc.Epoch)
	}
	v := &View{
		Epoch:    doc.Epoch,
		Layer:    layer,
		MaxDelay: time.Duration(doc.Parameters.MuMaxDelay) * time.Millisecond,
		Geometry: doc.Geometry,
		prev:     peers(doc.PreviousLayer(layer)),
		next:     peers(doc.NextLayer(layer)),
	}
	return v, nil
}

func peers(entries []pki.NodeEntry) map[keys.NodeID]Peer {
	m := make(map[keys.NodeID]Peer, len(entries))
	for i := range entries {
		d := entries[i].Descriptor
		id := entries[i].NodeID()
		m[id] = Peer{ID: id, Name: d.Name, LinkKey: d.LinkKey, Addresses: d.Addresses}
	}
	return m
}

// MayReceiveFrom reports whether the node id, holding link key, may send
// packets to this node.
func (v *View) MayReceiveFrom(id keys.NodeID, link *keys.LinkPublicKey) bool {
	p, ok := v.prev[id]
	return ok && link != nil && p.LinkKey.Equal(link)
}

// NextHop returns the next-layer node id, if it is one.
func (v *View) NextHop(id keys.NodeID) (Peer, bool) {
	p, ok := v.next[id]
	return p, ok
}

// Table holds the views of the epochs around now. It is safe for concurrent
// use; lookups take a read lock on a tiny map.
type Table struct {
	mu    sync.RWMutex
	views map[uint64]*View
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{views: map[uint64]*View{}} }

// Set adds (or replaces) the view of v.Epoch and forgets views older than
// keepFrom.
func (t *Table) Set(v *View, keepFrom uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.views[v.Epoch] = v
	for e := range t.views {
		if e < keepFrom {
			delete(t.views, e)
		}
	}
}

// Prune forgets views older than keepFrom.
func (t *Table) Prune(keepFrom uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for e := range t.views {
		if e < keepFrom {
			delete(t.views, e)
		}
	}
}

// Epochs returns the epochs of the held views, in order.
func (t *Table) Epochs() []uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Sorted(maps.Keys(t.views))
}

// View returns the view of epoch e.
func (t *Table) View(e uint64) (*View, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.views[e]
	return v, ok
}

// ErrNoDocument: the table holds no view, so nobody is admitted.
var ErrNoDocument = errors.New("route: no PKI document yet")

// ErrNotAllowed: the peer is not in the previous layer of any held
// document with that link key.
var ErrNotAllowed = errors.New("route: peer not allowed to send to this node")

// Authorize decides whether a link initiator that proved it holds link and
// names itself by authBlob (its NodeID, docs/spec/link.md §7) may send to
// this node.
func (t *Table) Authorize(link *keys.LinkPublicKey, authBlob []byte) error {
	if len(authBlob) != keys.NodeIDSize {
		return fmt.Errorf("%w: authentication blob is not a node id", ErrNotAllowed)
	}
	id := keys.NodeID(authBlob)
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.views) == 0 {
		return ErrNoDocument
	}
	for _, v := range t.views {
		if v.MayReceiveFrom(id, link) {
			return nil
		}
	}
	return ErrNotAllowed
}

// NextPeers returns every node this node should keep a link to: the union of
// the next layers of the held views. Where two views list one node with
// different keys or addresses, the newer view wins.
func (t *Table) NextPeers() map[keys.NodeID]Peer {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := map[keys.NodeID]Peer{}
	for _, e := range slices.Sorted(maps.Keys(t.views)) {
		maps.Copy(out, t.views[e].next)
	}
	return out
}

// Origin says where a packet came from: a node (over a peer link) or one of
// this Provider's clients (over a client link). The same commands mean
// different things at a Provider depending on it.
type Origin uint8

const (
	// FromNode: the packet came over a link from a node of the previous
	// layer.
	FromNode Origin = iota
	// FromClient: the packet came from a client of this Provider, which is
	// hop 0 of the client's path (docs/spec/client.md §4.1).
	FromClient
)

// Verdict is what Decide says to do with an unwrapped packet.
type Verdict uint8

const (
	// Drop the packet, counting Decide's reason.
	Drop Verdict = iota
	// Forward the packet to the next hop after the delay.
	Forward
	// Deliver the packet at this Provider: it ends here (a user, a SURB
	// reply or a Kaetzchen endpoint).
	Deliver
)

// Decide routes an unwrapped packet that arrived from origin: it returns
// the verdict and, for Forward, the next hop and how long to hold the
// packet, or for Drop the reason. It allocates nothing.
//
// The stratified topology (docs/spec/client.md §4) fixes what is allowed:
//
//   - at a mix, from a node: forward to the next layer; a packet that ends
//     here is dropped (NotForMix), as is anything from a client;
//   - at a Provider, from a client: the Provider is hop 0, so the packet
//     must go on to a node of Layers[0] (ClientTerminal if it ends here);
//   - at a Provider, from a node (the last layer): the packet must end here
//     and is delivered (ProviderNotTerminal otherwise).
func (t *Table) Decide(cmds *sphinx.Commands, from Origin) (verdict Verdict, next keys.NodeID, delay time.Duration, reason drops.Reason) {
	terminal := cmds.IsTerminal()
	if !terminal && !cmds.HasNextHop {
		return Drop, next, 0, drops.NotForMix // nowhere to go
	}
	if cmds.HasDelay {
		delay = time.Duration(cmds.Delay) * time.Millisecond
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.views) == 0 {
		return Drop, next, 0, drops.NoDocument
	}
	tooLong := false
	reason = drops.UnknownNextHop
	for _, v := range t.views {
		provider := v.Layer == pki.ProviderLayer
		switch {
		case terminal && provider && from == FromNode:
			return Deliver, next, delay, 0
		case terminal && provider:
			reason = drops.ClientTerminal
			continue
		case terminal:
			reason = drops.NotForMix
			continue
		case provider && from == FromNode:
			reason = drops.ProviderNotTerminal
			continue
		case !provider && from == FromClient:
			continue // a mix has no clients
		}
		if _, in := v.next[cmds.NextHop]; !in {
			continue
		}
		if v.MaxDelay > 0 && delay > v.MaxDelay {
			tooLong = true
			continue
		}
		return Forward, cmds.NextHop, delay, 0
	}
	if tooLong {
		return Drop, next, 0, drops.DelayTooLong
	}
	return Drop, next, 0, reason
}

// MayForwardTo reports whether id is in the next layer of a held view: a
// Provider checks the first hop of a SURB it replies through.
func (t *Table) MayForwardTo(id keys.NodeID) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, v := range t.views {
		if _, in := v.next[id]; in {
			return true
		}
	}
	return false
}

// PeerLimits are the link limits of a link between two nodes of a network
// with geometry g: nodes exchange only SendPacket (and NoOp, Disconnect), so
// every other size is zero. Both ends of a peer link use them.
func PeerLimits(g sphinx.Geometry) link.Limits {
	return link.Limits{PacketLength: g.PacketLength}
}
