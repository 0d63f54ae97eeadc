package link

import (
	"crypto/mlkem"
	"sync"

	"github.com/splitmix/splitmix/internal/keys"
)

// peerKeyCacheSize bounds peerKeys. A node dials the handful of nodes of
// the next layer and the authority; a client its Provider.
const peerKeyCacheSize = 64

// peerKeys keeps the parsed ML-KEM halves of the responder keys this
// process has dialled, because parsing an ML-KEM-768 encapsulation key
// costs most of an X25519 operation (docs/bench/link.md). Only the initiator uses it: its
// entries are keys the caller chose from its PKI document, so their
// presence reveals nothing to a peer. The responder parses the initiator's
// key afresh every time, so that no stranger can learn from its timing
// which keys connected recently.
var peerKeys = &peerKeyCache{entries: make(map[[keys.LinkPublicKeySize]byte]*mlkem.EncapsulationKey768)}

type peerKeyCache struct {
	mu      sync.Mutex
	entries map[[keys.LinkPublicKeySize]byte]*mlkem.EncapsulationKey768
}

// get returns the parsed ML-KEM half of k, parsing and remembering it if
// need be. The parsed key is immutable and safe for concurrent use.
func (c *peerKeyCache) get(k *keys.LinkPublicKey) (*mlkem.EncapsulationKey768, error) {
	var id [keys.LinkPublicKeySize]byte
	copy(id[:], k.X25519[:])
	copy(id[keys.LinkX25519Size:], k.MLKEM[:])
	c.mu.Lock()
	kem, ok := c.entries[id]
	c.mu.Unlock()
	if ok {
		return kem, nil
	}
	_, kem, err := parseLinkPublicKey(id[:])
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= peerKeyCacheSize {
		for k := range c.entries { // evict an arbitrary entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = kem
	return kem, nil
}
