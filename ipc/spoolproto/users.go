package spoolproto

// UserRequest names a user: IsValid's sibling queries Exists and GetLink,
// and RemoveUser and PurgeUser. See PROTOCOL.md §3.1 and §3.3.
type UserRequest struct {
	User []byte `cbor:"U"` // 1 to 32 bytes, see NormalizeUser
}

// UserKeyRequest is a user and a link key: IsValid, AddUser,
// AddUserIfAbsent, UpdateUser and AddEphemeralIfAbsent. See PROTOCOL.md
// §3.1, §3.2 and §3.8.
type UserKeyRequest struct {
	User []byte `cbor:"U"`
	Link []byte `cbor:"L"` // 1216 bytes, keys.LinkPublicKey
}

// IsValidReply answers IsValid. See PROTOCOL.md §3.1.
type IsValidReply struct {
	Valid bool `cbor:"V"`
}

// ExistsReply answers Exists. See PROTOCOL.md §3.1.
type ExistsReply struct {
	Exists bool `cbor:"E"`
}

// GetLinkReply answers GetLink. See PROTOCOL.md §3.1.
type GetLinkReply struct {
	Link []byte `cbor:"L"` // 1216 bytes
}

// AddUserIfAbsentReply answers AddUserIfAbsent and AddEphemeralIfAbsent.
// See PROTOCOL.md §3.2 and §3.8.
type AddUserIfAbsentReply struct {
	Added bool `cbor:"A"`
	Valid bool `cbor:"V"`
}

// EmptyReply answers the messages that only succeed or fail: AddUser,
// UpdateUser, RemoveUser, PurgeUser, SetIdentity, RemoveIdentity,
// StoreMessage, RemoveMessage.
type EmptyReply struct{}
