package link

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"sync"

	"github.com/splitmix/splitmix/internal/keys"
)

// peerKeyCacheSize bounds peerKeys. A node dials the handful of nodes of
// the next layer and the authority; a client its Provider.
const peerKeyCacheSize = 64

// peerKeys keeps the parsed form of the responder keys this process has
// dialled, because parsing an ML-KEM-768 encapsulation key costs about half
// an X25519 operation (docs/bench/link.md). Only the initiator uses it: its
// entries are keys the caller chose from its PKI document, so their
// presence reveals nothing to a peer. The responder parses the initiator's
// key afresh every time, so that no stranger can learn from its timing
// which keys connected recently.
var peerKeys = &peerKeyCache{entries: make(map[[keys.LinkPublicKeySize]byte]parsedPeerKey)}

type parsedPeerKey struct {
	x   *ecdh.PublicKey
	kem *mlkem.EncapsulationKey768
}

type peerKeyCache struct {
	mu      sync.Mutex
	entries map[[keys.LinkPublicKeySize]byte]parsedPeerKey
}

// get returns the parsed halves of k, parsing and remembering them if need
// be. Both parsed values are immutable and safe for concurrent use.
func (c *peerKeyCache) get(k *keys.LinkPublicKey) (*ecdh.PublicKey, *mlkem.EncapsulationKey768, error) {
	var id [keys.LinkPublicKeySize]byte
	copy(id[:], k.X25519[:])
	copy(id[keys.LinkX25519Size:], k.MLKEM[:])
	c.mu.Lock()
	p, ok := c.entries[id]
	c.mu.Unlock()
	if ok {
		return p.x, p.kem, nil
	}
	_, x, kem, err := parseLinkPublicKey(id[:])
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= peerKeyCacheSize {
		for k := range c.entries { // evict an arbitrary entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = parsedPeerKey{x: x, kem: kem}
	return x, kem, nil
}
