package keystore

import (
	"context"
	"crypto/mlkem"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/x25519"
)

// LinkECDH returns X25519(link scalar, peer). A peer point of the wrong
// size or of low order (all-zero result, RFC 7748 §6.1) is refused.
func (s *Store) LinkECDH(ctx context.Context, peer []byte) ([]byte, error) {
	if len(peer) != x25519.Size {
		return nil, fmt.Errorf("link ECDH: %w: peer point of %d bytes, want %d", keys.ErrMalformed, len(peer), x25519.Size)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	shared := new([x25519.Size]byte)
	if err := x25519.Exchange(shared, (*[x25519.Size]byte)(s.link.Bytes()[:x25519.Size]), (*[x25519.Size]byte)(peer)); err != nil {
		return nil, fmt.Errorf("link ECDH: %w: %v", keys.ErrMalformed, err)
	}
	return shared[:], nil
}

// LinkDecapsulate decapsulates an ML-KEM-768 ciphertext with the link key.
// A ciphertext of the wrong size is refused; a corrupted one of the right
// size yields a pseudorandom key (implicit rejection, FIPS 203 §6.3).
func (s *Store) LinkDecapsulate(ctx context.Context, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) != mlkem.CiphertextSize768 {
		return nil, fmt.Errorf("link decapsulate: %w: ciphertext of %d bytes, want %d", keys.ErrMalformed, len(ciphertext), mlkem.CiphertextSize768)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	k, err := s.kem.Decapsulate(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("link decapsulate: %w: %v", keys.ErrMalformed, err)
	}
	return k, nil
}
