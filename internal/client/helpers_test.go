package client

import (
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// testPeriod is long, so that a test never straddles an epoch boundary in
// practice.
const testPeriod = 7 * 24 * time.Hour

// testNode is a node of the test network with its Sphinx private key.
type testNode struct {
	entry   pki.NodeEntry
	sphinx  [32]byte
	idPriv  ed25519.PrivateKey
	linkKey *memkey.LinkKey
}

// testNet is an in-memory network: mixes in layers, Providers, the
// authority's key and a signed document.
type testNet struct {
	doc      *pki.Document
	signed   []byte
	authPub  keys.IdentityPublicKey
	nodes    map[keys.NodeID]*testNode
	sph      *sphinx.Sphinx
	provider []*testNode
	layers   [][]*testNode
}

// seeded returns a deterministic random source.
func seeded(n uint64) *rand.ChaCha8 {
	var seed [32]byte
	seed[0] = byte(n)
	seed[1] = byte(n >> 8)
	return rand.NewChaCha8(seed)
}

// newTestNet builds a network of layers×perLayer mixes and the named
// Providers (each with echo and keyserver services); addrs gives Provider
// addresses (may be nil).
func newTestNet(t testing.TB, layers, perLayer int, providers []string, addrs map[string]string, params pki.Parameters) *testNet {
	t.Helper()
	epoch, _, _ := epochtime.Clock{Period: testPeriod}.Current()
	rng := seeded(99)
	n := &testNet{nodes: map[keys.NodeID]*testNode{}}
	mk := func(name string, provider bool) *testNode {
		pub, priv, err := ed25519.GenerateKey(rng)
		if err != nil {
			t.Fatal(err)
		}
		lk, err := memkey.GenerateLinkKey()
		if err != nil {
			t.Fatal(err)
		}
		var sk [32]byte
		_, _ = rng.Read(sk[:])
		addr := "127.0.0.1:1"
		if a, ok := addrs[name]; ok {
			addr = a
		}
		d := &pki.Descriptor{
			Version:     pki.DescriptorVersion,
			Name:        name,
			Epoch:       epoch,
			IdentityKey: keys.IdentityPublicKey(pub),
			LinkKey:     lk.Public(),
			MixKeys:     map[uint64][32]byte{epoch: sphinx.PublicKey(&sk)},
			Addresses:   map[string][]string{"tcp4": {addr}},
			Provider:    provider,
		}
		if provider {
			d.Kaetzchen = map[string]map[string]string{
				"echo":      {pki.KaetzchenEndpoint: "+echo"},
				"keyserver": {pki.KaetzchenEndpoint: "+keyserver"},
			}
		}
		sd, err := pki.SignWithKey(priv, d)
		if err != nil {
			t.Fatal(err)
		}
		b, err := sd.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		e, err := pki.NewNodeEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		tn := &testNode{entry: e, sphinx: sk, idPriv: priv, linkKey: lk}
		n.nodes[e.NodeID()] = tn
		return tn
	}
	doc := &pki.Document{
		Version:     pki.DocumentVersion,
		Epoch:       epoch,
		EpochPeriod: testPeriod,
		Geometry:    sphinx.DefaultGeometry(),
		Parameters:  params,
	}
	for l := range layers {
		var layer []pki.NodeEntry
		var tl []*testNode
		for i := range perLayer {
			tn := mk(fmt.Sprintf("mix-%d-%d", l, i), false)
			layer = append(layer, tn.entry)
			tl = append(tl, tn)
		}
		doc.Layers = append(doc.Layers, layer)
		n.layers = append(n.layers, tl)
	}
	for _, name := range providers {
		tn := mk(name, true)
		doc.Providers = append(doc.Providers, tn.entry)
		n.provider = append(n.provider, tn)
	}
	apub, apriv, err := ed25519.GenerateKey(rng)
	if err != nil {
		t.Fatal(err)
	}
	n.authPub = keys.IdentityPublicKey(apub)
	sd, err := pki.SignDocument(apriv, doc)
	if err != nil {
		t.Fatal(err)
	}
	if n.signed, err = sd.Marshal(); err != nil {
		t.Fatal(err)
	}
	if n.doc, err = pki.VerifyDocument(n.signed, n.authPub); err != nil {
		t.Fatal(err)
	}
	if n.sph, err = sphinx.New(n.doc.Geometry); err != nil {
		t.Fatal(err)
	}
	return n
}

// route carries pkt, which is for node first, through the network until a
// terminal hop, checking that hops follow the expected kinds; it returns
// the terminal node, the result and the visited node ids.
func (n *testNet) route(t testing.TB, first keys.NodeID, pkt []byte) (*testNode, *sphinx.UnwrapResult, []keys.NodeID) {
	t.Helper()
	at := first
	var visited []keys.NodeID
	for range sphinx.MaxHops {
		node, ok := n.nodes[at]
		if !ok {
			t.Fatalf("packet routed to an unknown node %v", at)
		}
		visited = append(visited, at)
		res := &sphinx.UnwrapResult{}
		if err := n.sph.Unwrap(&node.sphinx, pkt, res); err != nil {
			t.Fatalf("unwrap at hop %d: %v", len(visited), err)
		}
		if !res.Commands.HasDelay {
			t.Fatalf("hop %d has no delay command", len(visited))
		}
		if res.Commands.IsTerminal() {
			return node, res, visited
		}
		at = res.Commands.NextHop
	}
	t.Fatal("packet never reached a terminal hop")
	return nil, nil, nil
}

func (n *testNet) provNamed(name string) *testNode {
	for _, p := range n.provider {
		if p.entry.Descriptor.Name == name {
			return p
		}
	}
	return nil
}
