package sphinx

import (
	"crypto/sha256"
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
	"golang.org/x/crypto/chacha20"
)

// testRand is a deterministic random source: the ChaCha20 keystream under
// SHA-256(label). Tests and the known-answer vectors use it so that every
// run builds the same packets.
type testRand struct{ c *chacha20.Cipher }

func newTestRand(label string) *testRand {
	k := sha256.Sum256([]byte(label))
	c, err := chacha20.NewUnauthenticatedCipher(k[:], make([]byte, chacha20.NonceSize))
	if err != nil {
		panic(err)
	}
	return &testRand{c}
}

func (r *testRand) Read(p []byte) (int, error) {
	clear(p)
	r.c.XORKeyStream(p, p)
	return len(p), nil
}

// testNode is a node of a test network: a Sphinx key and an id.
type testNode struct {
	priv [32]byte
	pub  [32]byte
	id   keys.NodeID
}

func testNodes(rng *testRand, n int) []testNode {
	nodes := make([]testNode, n)
	for i := range nodes {
		rng.Read(nodes[i].priv[:])
		nodes[i].pub = PublicKey(&nodes[i].priv)
		rng.Read(nodes[i].id[:])
	}
	return nodes
}

func testPath(nodes []testNode) []PathHop {
	path := make([]PathHop, len(nodes))
	for i, nd := range nodes {
		path[i] = PathHop{ID: nd.id, PublicKey: nd.pub, Delay: uint32(1000*(i+1) + i)}
	}
	return path
}

func mustSphinx(t testing.TB, hops, user int) *Sphinx {
	t.Helper()
	g, err := NewGeometry(hops, user)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
