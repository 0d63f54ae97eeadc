package spoolproto

// SetIdentityRequest sets a user's identity key. See PROTOCOL.md §3.4.
type SetIdentityRequest struct {
	User     []byte `cbor:"U"`
	Identity []byte `cbor:"K"` // IdentityKeySize opaque bytes
}

// GetIdentityReply answers GetIdentity (whose request is a UserRequest,
// as is RemoveIdentity's). See PROTOCOL.md §3.4.
type GetIdentityReply struct {
	Identity []byte `cbor:"K"`
}
