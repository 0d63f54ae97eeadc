package keyproto

// LinkECDHRequest asks for X25519 with the link key's static scalar.
// See PROTOCOL.md §3.3.
type LinkECDHRequest struct {
	Peer []byte `cbor:"P"` // the peer's 32-byte X25519 public key
}

// LinkECDHReply carries the shared secret. See PROTOCOL.md §3.3.
type LinkECDHReply struct {
	Shared []byte `cbor:"S"` // 32 bytes, never all zero
}

// LinkDecapsulateRequest asks for ML-KEM-768 decapsulation with the link
// key. See PROTOCOL.md §3.4.
type LinkDecapsulateRequest struct {
	Ciphertext []byte `cbor:"C"` // 1088 bytes
}

// LinkDecapsulateReply carries the shared key. See PROTOCOL.md §3.4.
type LinkDecapsulateReply struct {
	SharedKey []byte `cbor:"K"` // 32 bytes
}
