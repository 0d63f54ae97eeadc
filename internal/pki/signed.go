package pki

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
)

// DescriptorSignatureContext prefixes the canonical descriptor encoding in
// the message the identity key signs (docs/spec/pki.md §1.4). The NUL ends
// the context so no other context string can be a prefix of this one.
const DescriptorSignatureContext = "splitmix-descriptor-v1\x00"

// MaxSignedDescriptorSize bounds the encoded SignedDescriptor.
const MaxSignedDescriptorSize = MaxDescriptorSize + 128

// SigningMessage returns the message an identity key signs for an encoded
// descriptor: DescriptorSignatureContext ‖ encoded.
func SigningMessage(encoded []byte) []byte {
	m := make([]byte, 0, len(DescriptorSignatureContext)+len(encoded))
	m = append(m, DescriptorSignatureContext...)
	return append(m, encoded...)
}

// SignedDescriptor is what a node posts to the authority: the canonical
// encoding of its descriptor and the identity key's signature over
// SigningMessage(Descriptor). See docs/spec/pki.md §1.4.
type SignedDescriptor struct {
	Descriptor []byte `cbor:"Descriptor"`
	Signature  []byte `cbor:"Signature"`
}

// Open parses the descriptor and checks the signature against the identity
// key the descriptor itself names. The authority then looks that key up in
// its allow-list; use Verify when the expected key is already known.
func (s *SignedDescriptor) Open() (*Descriptor, error) {
	d, err := Parse(s.Descriptor)
	if err != nil {
		return nil, err
	}
	if !d.IdentityKey.Verify(SigningMessage(s.Descriptor), s.Signature) {
		return nil, fmt.Errorf("descriptor: bad signature by identity key %s", d.IdentityKey)
	}
	return d, nil
}

// Verify is Open plus a check that the descriptor carries identityKey.
func (s *SignedDescriptor) Verify(identityKey keys.IdentityPublicKey) (*Descriptor, error) {
	d, err := s.Open()
	if err != nil {
		return nil, err
	}
	if !d.IdentityKey.Equal(identityKey) {
		return nil, fmt.Errorf("descriptor: signed by %s, want %s", d.IdentityKey, identityKey)
	}
	return d, nil
}

// Marshal returns the canonical CBOR encoding of s.
func (s *SignedDescriptor) Marshal() ([]byte, error) {
	if len(s.Descriptor) > MaxDescriptorSize || len(s.Signature) != keys.IdentitySignatureSize {
		return nil, fmt.Errorf("signed descriptor: %d-byte descriptor, %d-byte signature", len(s.Descriptor), len(s.Signature))
	}
	return encMode.Marshal(s)
}

// ParseSignedDescriptor decodes an encoded SignedDescriptor strictly. It
// checks sizes only; call Open or Verify for the contents and signature.
func ParseSignedDescriptor(b []byte) (*SignedDescriptor, error) {
	if len(b) > MaxSignedDescriptorSize {
		return nil, fmt.Errorf("signed descriptor: %d bytes, at most %d", len(b), MaxSignedDescriptorSize)
	}
	var s SignedDescriptor
	if err := decMode.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("signed descriptor: decode: %w", err)
	}
	if len(s.Signature) != keys.IdentitySignatureSize {
		return nil, fmt.Errorf("signed descriptor: signature of %d bytes, want %d", len(s.Signature), keys.IdentitySignatureSize)
	}
	if len(s.Descriptor) == 0 || len(s.Descriptor) > MaxDescriptorSize {
		return nil, fmt.Errorf("signed descriptor: descriptor of %d bytes, want 1 to %d", len(s.Descriptor), MaxDescriptorSize)
	}
	return &s, nil
}

// DescriptorSigner signs descriptors without handing out the identity key:
// keys.Oracle (keyd, or its in-process key store) is one.
type DescriptorSigner interface {
	SignDescriptor(ctx context.Context, encoded []byte) (signature []byte, err error)
}

// Sign encodes d, has signer sign it and checks the signature against
// d.IdentityKey before returning the signed form, so a signer holding a
// different key is caught here and not at the authority.
func Sign(ctx context.Context, signer DescriptorSigner, d *Descriptor) (*SignedDescriptor, error) {
	b, err := d.Marshal()
	if err != nil {
		return nil, err
	}
	sig, err := signer.SignDescriptor(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("sign descriptor: %w", err)
	}
	s := &SignedDescriptor{Descriptor: b, Signature: sig}
	if _, err := s.Verify(d.IdentityKey); err != nil {
		return nil, fmt.Errorf("sign descriptor: signer returned a bad signature: %w", err)
	}
	return s, nil
}

// SignWithKey signs d with an in-memory identity key: for the tools and
// tests that hold one (a node's key lives in keyd and is used through Sign).
func SignWithKey(priv ed25519.PrivateKey, d *Descriptor) (*SignedDescriptor, error) {
	b, err := d.Marshal()
	if err != nil {
		return nil, err
	}
	return &SignedDescriptor{Descriptor: b, Signature: ed25519.Sign(priv, SigningMessage(b))}, nil
}
