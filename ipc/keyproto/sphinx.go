package keyproto

// MaxSphinxEpochs bounds the epochs of one request: the whole window
// keyd serves, [current-1, current+3]. See PROTOCOL.md §3.5.
const MaxSphinxEpochs = 5

// SphinxKeysRequest asks for the Sphinx key pairs of some epochs.
// See PROTOCOL.md §3.5.
type SphinxKeysRequest struct {
	Epochs []uint64 `cbor:"E"`
}

// SphinxKeysReply carries them, in the order asked. See PROTOCOL.md §3.5.
type SphinxKeysReply struct {
	Keys []SphinxKeyPair `cbor:"K"`
}

// SphinxKeyPair is one epoch's X25519 key pair. See PROTOCOL.md §3.5.
type SphinxKeyPair struct {
	Epoch   uint64 `cbor:"E"`
	Private []byte `cbor:"S"` // 32 bytes
	Public  []byte `cbor:"P"` // 32 bytes
}
