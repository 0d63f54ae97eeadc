// Package mixtest holds test doubles for mixd's packages and the
// multi-process test network: nodes with in-memory keys (identity, link and
// per-epoch Sphinx keys) that make signed descriptors and documents.
//
// It imports memkey, so only tests may import it: cmd/mixd must never link
// it (internal/boundary).
package mixtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// Node is a node whose keys are all in memory.
type Node struct {
	Name     string
	Provider bool
	Identity ed25519.PrivateKey
	Public   keys.IdentityPublicKey
	ID       keys.NodeID
	Link     *memkey.LinkKey

	mu     sync.Mutex
	sphinx map[uint64]keys.SphinxKey
}

// NewNode makes a node with fresh keys.
func NewNode(name string, provider bool) (*Node, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	link, err := memkey.GenerateLinkKey()
	if err != nil {
		return nil, err
	}
	n := &Node{Name: name, Provider: provider, Identity: priv, Link: link, sphinx: map[uint64]keys.SphinxKey{}}
	copy(n.Public[:], pub)
	n.ID = n.Public.NodeID()
	return n, nil
}

// SphinxKeys implements the Sphinx part of keys.Oracle: one stable key per
// epoch, made on first request.
func (n *Node) SphinxKeys(_ context.Context, epochs []uint64) ([]keys.SphinxKey, error) {
	out := make([]keys.SphinxKey, len(epochs))
	for i, e := range epochs {
		k, err := n.SphinxKey(e)
		if err != nil {
			return nil, err
		}
		out[i] = k
	}
	return out, nil
}

// SphinxKey returns the node's key pair for epoch e.
func (n *Node) SphinxKey(e uint64) (keys.SphinxKey, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k, ok := n.sphinx[e]
	if !ok {
		k.Epoch = e
		if _, err := rand.Read(k.Private[:]); err != nil {
			return k, err
		}
		k.Public = sphinx.PublicKey(&k.Private)
		n.sphinx[e] = k
	}
	return k, nil
}

// Descriptor returns the node's signed descriptor for epoch, advertising
// addrs (transport -> host:port), encoded as posted to the authority.
func (n *Node) Descriptor(epoch uint64, addrs map[string][]string) ([]byte, error) {
	d := &pki.Descriptor{
		Version:     pki.DescriptorVersion,
		Name:        n.Name,
		Epoch:       epoch,
		IdentityKey: n.Public,
		LinkKey:     n.Link.Public(),
		MixKeys:     map[uint64][keys.SphinxKeySize]byte{},
		Addresses:   addrs,
		Provider:    n.Provider,
	}
	for e := epoch; e < epoch+pki.NumMixKeys; e++ {
		k, err := n.SphinxKey(e)
		if err != nil {
			return nil, err
		}
		d.MixKeys[e] = k.Public
	}
	signed, err := pki.SignWithKey(n.Identity, d)
	if err != nil {
		return nil, err
	}
	return signed.Marshal()
}

// Document builds (unsigned) the document of epoch with the given mix layers
// and Providers, each node advertising a placeholder address.
func Document(epoch uint64, period time.Duration, g sphinx.Geometry, params pki.Parameters, layers [][]*Node, providers []*Node) (*pki.Document, error) {
	addr := map[string][]string{pki.TransportTCP: {"127.0.0.1:1"}}
	entry := func(n *Node) (pki.NodeEntry, error) {
		b, err := n.Descriptor(epoch, addr)
		if err != nil {
			return pki.NodeEntry{}, err
		}
		return pki.NewNodeEntry(b)
	}
	doc := &pki.Document{Version: pki.DocumentVersion, Epoch: epoch, EpochPeriod: period, Geometry: g, Parameters: params}
	for _, layer := range layers {
		var l []pki.NodeEntry
		for _, n := range layer {
			e, err := entry(n)
			if err != nil {
				return nil, err
			}
			l = append(l, e)
		}
		doc.Layers = append(doc.Layers, l)
	}
	for _, n := range providers {
		e, err := entry(n)
		if err != nil {
			return nil, err
		}
		doc.Providers = append(doc.Providers, e)
	}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("mixtest: %w", err)
	}
	return doc, nil
}
