package keystore

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/pki"
)

// Epochs, relative to the current one, for which SignDescriptor signs
// (docs/spec/pki.md §1.5).
const (
	SignFuture = 2 // current .. current+2
)

// SignDescriptor parses an encoded descriptor, checks it against the
// policy in the package documentation (docs/spec/pki.md §1.5) and returns
// the identity key's signature over pki.SigningMessage(encoded).
func (s *Store) SignDescriptor(ctx context.Context, encoded []byte) ([]byte, error) {
	d, err := pki.Parse(encoded)
	if err != nil {
		return nil, fmt.Errorf("sign descriptor: %w: %v", keys.ErrMalformed, err)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	if err := s.mayBeSigned(d); err != nil {
		return nil, fmt.Errorf("sign descriptor: %w: %v", keys.ErrRefused, err)
	}
	return s.sign(pki.SigningMessage(encoded)), nil
}

// sign signs msg with the identity key. crypto/ed25519 caches the expanded
// key in a table keyed by a weak pointer to the key slice, and weak pointers
// cannot point outside the Go heap, so the key is copied to the heap for the
// call and the copy wiped afterwards. The cache entry (the expanded scalar
// and prefix) lives until the collector reclaims the copy; see the package
// documentation.
func (s *Store) sign(msg []byte) []byte {
	priv := make(ed25519.PrivateKey, ed25519.PrivateKeySize)
	defer clear(priv)
	copy(priv, s.identity.Bytes())
	return ed25519.Sign(priv, msg)
}

// mayBeSigned is the signing policy. Called with s.mu held for reading.
func (s *Store) mayBeSigned(d *pki.Descriptor) error {
	if d.Name != s.opts.Identifier {
		return fmt.Errorf("descriptor names %q, this node is %q", d.Name, s.opts.Identifier)
	}
	if !d.IdentityKey.Equal(s.pub.Identity) {
		return errors.New("descriptor carries another identity key")
	}
	if !d.LinkKey.Equal(&s.pub.Link) {
		return errors.New("descriptor carries another link key")
	}
	if d.Provider != s.opts.IsProvider {
		return fmt.Errorf("descriptor says Provider=%v, this node has IsProvider=%v", d.Provider, s.opts.IsProvider)
	}
	cur, _, _ := s.opts.Clock.Current()
	if d.Epoch < cur || d.Epoch > cur+SignFuture {
		return fmt.Errorf("descriptor for epoch %d, signing only [%d, %d]", d.Epoch, cur, cur+SignFuture)
	}
	s.sphinxMu.Lock()
	defer s.sphinxMu.Unlock()
	lo, hi := s.window()
	for e, pub := range d.MixKeys {
		if e < lo || e > hi {
			return fmt.Errorf("mix key for epoch %d: outside the Sphinx key window [%d, %d]", e, lo, hi)
		}
		k, err := s.sphinxKey(e, false, lo, hi)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("mix key for epoch %d: keyd has not generated one", e)
		}
		if err != nil {
			return fmt.Errorf("mix key for epoch %d: %v", e, err)
		}
		if subtle.ConstantTimeCompare(k.pub[:], pub[:]) != 1 {
			return fmt.Errorf("mix key for epoch %d is not keyd's", e)
		}
	}
	return nil
}
