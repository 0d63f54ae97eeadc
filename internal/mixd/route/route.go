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

// Decide routes an unwrapped packet: it returns the next hop and how long to
// hold the packet, or the reason to drop it. It allocates nothing.
//
// A packet whose commands end at this node (a recipient, with or without a
// SURB reply) is dropped as NotForMix: a mix delivers nothing, and Provider
// delivery is not part of mixd yet.
func (t *Table) Decide(cmds *sphinx.Commands) (next keys.NodeID, delay time.Duration, reason drops.Reason, ok bool) {
	if cmds.IsTerminal() || !cmds.HasNextHop {
		return next, 0, drops.NotForMix, false
	}
	if cmds.HasDelay {
		delay = time.Duration(cmds.Delay) * time.Millisecond
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.views) == 0 {
		return next, 0, drops.NoDocument, false
	}
	known, tooLong := false, false
	for _, v := range t.views {
		if _, in := v.next[cmds.NextHop]; !in {
			continue
		}
		known = true
		if v.MaxDelay > 0 && delay > v.MaxDelay {
			tooLong = true
			continue
		}
		return cmds.NextHop, delay, 0, true
	}
	if known && tooLong {
		return next, 0, drops.DelayTooLong, false
	}
	return next, 0, drops.UnknownNextHop, false
}

// PeerLimits are the link limits of a link between two nodes of a network
// with geometry g: nodes exchange only SendPacket (and NoOp, Disconnect), so
// every other size is zero. Both ends of a peer link use them.
func PeerLimits(g sphinx.Geometry) link.Limits {
	return link.Limits{PacketLength: g.PacketLength}
}
