package keys

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/mlkem"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/blake2b"
)

// Sizes of the encoded public keys (docs/spec/keys.md §1).
const (
	IdentityPublicKeySize = ed25519.PublicKeySize // 32
	IdentitySignatureSize = ed25519.SignatureSize // 64
	NodeIDSize            = 32
	LinkX25519Size        = 32
	LinkMLKEMSize         = mlkem.EncapsulationKeySize768 // 1184
	LinkPublicKeySize     = LinkX25519Size + LinkMLKEMSize
	SphinxKeySize         = 32
)

// NodeID names a node in Sphinx routing commands and on links: the
// BLAKE2b-256 hash of its identity public key (docs/spec/keys.md §2).
type NodeID [NodeIDSize]byte

// String renders the id in upper-case hex, the form operators see.
func (id NodeID) String() string { return strings.ToUpper(hex.EncodeToString(id[:])) }

// IdentityPublicKey is an Ed25519 public key (docs/spec/keys.md §1.1).
type IdentityPublicKey [IdentityPublicKeySize]byte

// NodeID returns the hash that names the node owning this identity key.
func (k IdentityPublicKey) NodeID() NodeID { return NodeID(blake2b.Sum256(k[:])) }

// String renders the key in upper-case hex, as `-g` prints it.
func (k IdentityPublicKey) String() string { return strings.ToUpper(hex.EncodeToString(k[:])) }

// Verify checks an Ed25519 signature by this key.
func (k IdentityPublicKey) Verify(msg, sig []byte) bool {
	if len(sig) != IdentitySignatureSize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(k[:]), msg, sig)
}

// Equal compares two identity keys in constant time.
func (k IdentityPublicKey) Equal(o IdentityPublicKey) bool {
	return subtle.ConstantTimeCompare(k[:], o[:]) == 1
}

// ParseIdentityPublicKey decodes a 32-byte key given raw, in hex (either
// case) or in standard or URL-safe base64, with or without padding.
func ParseIdentityPublicKey(s string) (IdentityPublicKey, error) {
	var k IdentityPublicKey
	b, err := DecodeKeyText(s, IdentityPublicKeySize)
	if err != nil {
		return k, err
	}
	copy(k[:], b)
	return k, nil
}

// LinkPublicKey is the public half of a hybrid link key: an X25519 point
// followed by an ML-KEM-768 encapsulation key (docs/spec/keys.md §1.2).
type LinkPublicKey struct {
	X25519 [LinkX25519Size]byte
	MLKEM  [LinkMLKEMSize]byte
}

// Bytes returns the 1216-byte encoding: X25519 ‖ ML-KEM-768.
func (k *LinkPublicKey) Bytes() []byte {
	b := make([]byte, 0, LinkPublicKeySize)
	b = append(b, k.X25519[:]...)
	return append(b, k.MLKEM[:]...)
}

// String renders the whole key in upper-case hex.
func (k *LinkPublicKey) String() string { return strings.ToUpper(hex.EncodeToString(k.Bytes())) }

// Fingerprint is the BLAKE2b-256 hash of Bytes(), used in logs and short
// displays where the 2432-character hex form is unwieldy.
func (k *LinkPublicKey) Fingerprint() [32]byte { return blake2b.Sum256(k.Bytes()) }

// Equal compares two link keys in constant time.
func (k *LinkPublicKey) Equal(o *LinkPublicKey) bool {
	if k == nil || o == nil {
		return k == o
	}
	return subtle.ConstantTimeCompare(k.Bytes(), o.Bytes()) == 1
}

// ECDHPublicKey returns the X25519 half as a crypto/ecdh key.
func (k *LinkPublicKey) ECDHPublicKey() (*ecdh.PublicKey, error) {
	return ecdh.X25519().NewPublicKey(k.X25519[:])
}

// EncapsulationKey returns the ML-KEM-768 half.
func (k *LinkPublicKey) EncapsulationKey() (*mlkem.EncapsulationKey768, error) {
	return mlkem.NewEncapsulationKey768(k.MLKEM[:])
}

// ParseLinkPublicKey decodes the 1216-byte encoding and checks that both
// halves are valid keys.
func ParseLinkPublicKey(b []byte) (*LinkPublicKey, error) {
	if len(b) != LinkPublicKeySize {
		return nil, fmt.Errorf("link public key: %d bytes, want %d", len(b), LinkPublicKeySize)
	}
	var k LinkPublicKey
	copy(k.X25519[:], b[:LinkX25519Size])
	copy(k.MLKEM[:], b[LinkX25519Size:])
	if _, err := k.ECDHPublicKey(); err != nil {
		return nil, fmt.Errorf("link public key: X25519 half: %w", err)
	}
	if _, err := k.EncapsulationKey(); err != nil {
		return nil, fmt.Errorf("link public key: ML-KEM-768 half: %w", err)
	}
	return &k, nil
}

// ParseLinkPublicKeyText decodes a link key written in hex or base64, the
// forms the management socket accepts.
func ParseLinkPublicKeyText(s string) (*LinkPublicKey, error) {
	b, err := DecodeKeyText(s, LinkPublicKeySize)
	if err != nil {
		return nil, err
	}
	return ParseLinkPublicKey(b)
}

// LinkPrivateKey is an opaque static link key. The in-memory implementation
// is memkey.LinkKey; mixd holds one backed by keyd, so the private halves
// never enter its memory. Both methods of the halves may block on IPC.
type LinkPrivateKey interface {
	Public() *LinkPublicKey
	// X25519 performs Diffie-Hellman with the static X25519 half.
	X25519() ecdh.KeyExchanger
	// MLKEM decapsulates with the static ML-KEM-768 half.
	MLKEM() crypto.Decapsulator
}

// SphinxKey is one epoch's Sphinx key pair (docs/spec/sphinx.md). keyd
// generates and stores these and hands them to mixd, which keeps them in
// locked memory only.
type SphinxKey struct {
	Epoch   uint64
	Private [SphinxKeySize]byte
	Public  [SphinxKeySize]byte
}

// Wipe zeroes the private half.
func (k *SphinxKey) Wipe() { clear(k.Private[:]) }

// ErrKeyText is returned (wrapped) for key text that is neither hex nor
// base64 of the expected length.
var ErrKeyText = errors.New("key is neither hex nor base64 of the right length")

// DecodeKeyText decodes s as hex (either case) or base64 (standard or
// URL-safe, padded or not) and requires exactly size bytes. The length of
// the text decides the encoding, so a string valid as both is never
// ambiguous: hex is 2*size characters.
func DecodeKeyText(s string, size int) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*size {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) == size {
				return b, nil
			}
			return nil, fmt.Errorf("%w: base64 of %d bytes, want %d", ErrKeyText, len(b), size)
		}
	}
	return nil, fmt.Errorf("%w: want %d bytes as %d hex digits or base64", ErrKeyText, size, 2*size)
}
