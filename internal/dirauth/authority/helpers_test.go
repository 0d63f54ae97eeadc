package authority

import (
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// testNode is a node with in-memory keys that can sign its descriptors.
type testNode struct {
	name     string
	provider bool
	priv     ed25519.PrivateKey
	pub      keys.IdentityPublicKey
	link     *memkey.LinkKey
}

func newTestNode(t testing.TB, name string, provider bool) *testNode {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	link, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	return &testNode{name: name, provider: provider, priv: priv, pub: keys.IdentityPublicKey(pub), link: link}
}

func (n *testNode) id() keys.NodeID { return n.pub.NodeID() }

func (n *testNode) blob() []byte { id := n.id(); return id[:] }

func (n *testNode) allowed() AllowedNode { return AllowedNode{Identifier: n.name, IdentityKey: n.pub} }

// descriptor is a valid descriptor for epoch; port varies it.
func (n *testNode) descriptor(epoch uint64, port int) *pki.Descriptor {
	d := &pki.Descriptor{
		Version:     pki.DescriptorVersion,
		Name:        n.name,
		Epoch:       epoch,
		IdentityKey: n.pub,
		LinkKey:     n.link.Public(),
		MixKeys:     map[uint64][32]byte{epoch: {1, byte(epoch)}, epoch + 1: {2, byte(epoch)}},
		Addresses:   map[string][]string{"tcp4": {fmt.Sprintf("127.0.0.1:%d", port)}},
		Provider:    n.provider,
	}
	return d
}

func (n *testNode) signedDescriptor(t testing.TB, d *pki.Descriptor) []byte {
	t.Helper()
	s, err := pki.SignWithKey(n.priv, d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (n *testNode) signed(t testing.TB, epoch uint64) []byte {
	return n.signedDescriptor(t, n.descriptor(epoch, 1000))
}

// testNet is a set of allowed nodes: mixes then Providers.
type testNet struct {
	mixes, providers []*testNode
}

func newTestNet(t testing.TB, mixes, providers int) *testNet {
	n := &testNet{}
	for i := range mixes {
		n.mixes = append(n.mixes, newTestNode(t, fmt.Sprintf("mix%d", i), false))
	}
	for i := range providers {
		n.providers = append(n.providers, newTestNode(t, fmt.Sprintf("provider%d", i), true))
	}
	return n
}

func (n *testNet) all() []*testNode { return append(append([]*testNode{}, n.mixes...), n.providers...) }

func (n *testNet) policy(period time.Duration) Policy {
	p := Policy{
		Layers:           3,
		MinNodesPerLayer: 1,
		MinProviders:     1,
		EpochPeriod:      period,
		BootstrapGrace:   10 * time.Second,
		Geometry:         sphinx.DefaultGeometry(),
		Parameters:       pki.Parameters{SendRatePerMinute: 100, Mu: 0.001, MuMaxDelay: 11513},
	}
	for _, m := range n.mixes {
		p.Mixes = append(p.Mixes, m.allowed())
	}
	for _, m := range n.providers {
		p.Providers = append(p.Providers, m.allowed())
	}
	return p
}

// authorityKeys returns a fresh authority identity.
func authorityKeys(t testing.TB) (ed25519.PrivateKey, keys.IdentityPublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return priv, keys.IdentityPublicKey(pub)
}

// openState opens (or reopens) a state over the database in dir.
func openState(t testing.TB, dir string, p Policy, signer ed25519.PrivateKey) (*State, *Store) {
	t.Helper()
	store, err := OpenStore(filepath.Join(dir, "dirauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewState(p, signer, store, logging.Discard())
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	return s, store
}

// at is the time offset into epoch e under s's clock.
func at(s *State, e uint64, offset time.Duration) time.Time { return s.Clock().Start(e).Add(offset) }

const testEpoch = 5000
