package keyproto

// SignDescriptorRequest asks keyd to sign a descriptor.
// See PROTOCOL.md §3.2.
type SignDescriptorRequest struct {
	// Descriptor is the canonical encoding (docs/spec/pki.md §1.2).
	Descriptor []byte `cbor:"D"`
}

// SignDescriptorReply carries the identity key's signature over
// pki.SigningMessage(Descriptor). See PROTOCOL.md §3.2.
type SignDescriptorReply struct {
	Signature []byte `cbor:"S"` // 64 bytes
}
