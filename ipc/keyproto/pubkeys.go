package keyproto

// GetPublicKeysRequest asks for the node's identifier and public keys.
// See PROTOCOL.md §3.1.
type GetPublicKeysRequest struct{}

// GetPublicKeysReply carries them. See PROTOCOL.md §3.1.
type GetPublicKeysReply struct {
	Identifier string `cbor:"N"`
	Identity   []byte `cbor:"I"` // 32 bytes, Ed25519
	Link       []byte `cbor:"L"` // 1216 bytes, X25519 ‖ ML-KEM-768
}
