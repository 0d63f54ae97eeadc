// Package memkey holds private keys in process memory: the client's and the
// directory authority's keys, tests, and the store inside keyd. mixd must
// never import it (cmd/mixd/deps_test.go).
package memkey

import (
	"crypto"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
)

// LinkSeedSize is the size of a link private key's serialised form: the
// X25519 scalar followed by the ML-KEM-768 seed (docs/spec/keys.md §1.2).
const LinkSeedSize = 32 + mlkem.SeedSize

// LinkKey is an in-memory hybrid link key. It implements keys.LinkPrivateKey.
type LinkKey struct {
	x   *ecdh.PrivateKey
	kem *mlkem.DecapsulationKey768
	pub keys.LinkPublicKey
}

// GenerateLinkKey makes a fresh link key from crypto/rand.
func GenerateLinkKey() (*LinkKey, error) {
	seed := make([]byte, LinkSeedSize)
	defer clear(seed)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	return NewLinkKey(seed)
}

// NewLinkKey rebuilds a link key from its LinkSeedSize-byte seed.
func NewLinkKey(seed []byte) (*LinkKey, error) {
	if len(seed) != LinkSeedSize {
		return nil, fmt.Errorf("link key seed: %d bytes, want %d", len(seed), LinkSeedSize)
	}
	x, err := ecdh.X25519().NewPrivateKey(seed[:32])
	if err != nil {
		return nil, fmt.Errorf("link key: X25519: %w", err)
	}
	kem, err := mlkem.NewDecapsulationKey768(seed[32:])
	if err != nil {
		return nil, fmt.Errorf("link key: ML-KEM-768: %w", err)
	}
	k := &LinkKey{x: x, kem: kem}
	copy(k.pub.X25519[:], x.PublicKey().Bytes())
	copy(k.pub.MLKEM[:], kem.EncapsulationKey().Bytes())
	return k, nil
}

// Seed returns the serialised private key. The caller must wipe it.
func (k *LinkKey) Seed() []byte {
	out := make([]byte, 0, LinkSeedSize)
	out = append(out, k.x.Bytes()...)
	return append(out, k.kem.Bytes()...)
}

// Public returns the public half.
func (k *LinkKey) Public() *keys.LinkPublicKey { p := k.pub; return &p }

// X25519 returns the static X25519 half.
func (k *LinkKey) X25519() ecdh.KeyExchanger { return k.x }

// MLKEM returns the static ML-KEM-768 half.
func (k *LinkKey) MLKEM() crypto.Decapsulator { return k.kem }

var _ keys.LinkPrivateKey = (*LinkKey)(nil)
