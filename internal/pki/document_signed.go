package pki

import (
	"crypto/ed25519"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
)

// DocumentSignatureContext prefixes the canonical document encoding in the
// message the authority's identity key signs (docs/spec/dirauth.md §5.3).
// It differs from DescriptorSignatureContext, so a node's signature over a
// descriptor can never pass as a document and the other way round.
const DocumentSignatureContext = "splitmix-document-v1\x00"

// DocumentSigningMessage returns DocumentSignatureContext ‖ encoded.
func DocumentSigningMessage(encoded []byte) []byte {
	m := make([]byte, 0, len(DocumentSignatureContext)+len(encoded))
	m = append(m, DocumentSignatureContext...)
	return append(m, encoded...)
}

// SignedDocument is what the authority serves in Consensus: the canonical
// encoding of a Document and its identity key's signature over
// DocumentSigningMessage(Document). See docs/spec/dirauth.md §5.3.
type SignedDocument struct {
	Document  []byte `cbor:"Document"`
	Signature []byte `cbor:"Signature"`
}

// SignDocument encodes d and signs it with the authority's identity key.
func SignDocument(priv ed25519.PrivateKey, d *Document) (*SignedDocument, error) {
	b, err := d.Marshal()
	if err != nil {
		return nil, err
	}
	return &SignedDocument{Document: b, Signature: ed25519.Sign(priv, DocumentSigningMessage(b))}, nil
}

// Marshal returns the canonical CBOR encoding of s.
func (s *SignedDocument) Marshal() ([]byte, error) {
	if len(s.Document) == 0 || len(s.Document) > MaxDocumentSize || len(s.Signature) != keys.IdentitySignatureSize {
		return nil, fmt.Errorf("signed document: %d-byte document, %d-byte signature", len(s.Document), len(s.Signature))
	}
	return encMode.Marshal(s)
}

// ParseSignedDocument decodes an encoded SignedDocument strictly and in
// canonical form. It checks sizes only; call Verify for the signature and
// the contents.
func ParseSignedDocument(b []byte) (*SignedDocument, error) {
	if len(b) > MaxSignedDocumentSize {
		return nil, fmt.Errorf("signed document: %d bytes, at most %d", len(b), MaxSignedDocumentSize)
	}
	var s SignedDocument
	if err := docDecMode.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("signed document: decode: %w", err)
	}
	again, err := s.Marshal()
	if err != nil {
		return nil, err
	}
	if string(again) != string(b) {
		return nil, fmt.Errorf("signed document: not in canonical encoding")
	}
	return &s, nil
}

// Verify checks the authority's signature first, and only then decodes the
// document (checking every node's signature) and validates it.
func (s *SignedDocument) Verify(authority keys.IdentityPublicKey) (*Document, error) {
	if len(s.Document) > MaxDocumentSize {
		return nil, fmt.Errorf("signed document: %d-byte document, at most %d", len(s.Document), MaxDocumentSize)
	}
	if !authority.Verify(DocumentSigningMessage(s.Document), s.Signature) {
		return nil, fmt.Errorf("signed document: bad signature by authority %s", authority)
	}
	return ParseDocument(s.Document)
}

// VerifyDocument parses an encoded SignedDocument, as received in a
// Consensus command, and verifies it with the authority's identity key.
func VerifyDocument(b []byte, authority keys.IdentityPublicKey) (*Document, error) {
	s, err := ParseSignedDocument(b)
	if err != nil {
		return nil, err
	}
	return s.Verify(authority)
}
