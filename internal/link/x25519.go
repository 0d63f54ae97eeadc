package link

import (
	"crypto/rand"

	curve "github.com/splitmix/splitmix/internal/x25519"
)

// errLowOrderPoint is the result of an X25519 exchange with a peer value
// that yields the all-zero shared secret (RFC 7748 §6.1): a point of small
// order, which a peer must not be able to force on us (docs/spec/link.md §2).
var errLowOrderPoint = curve.ErrLowOrder

// maxEarlyExchanges is how many exchanges newEphemeralKey can compute
// together with the key: the responder's ee and se (§4.4).
const maxEarlyExchanges = 2

// ephemeralKey is one side's X25519 ephemeral key pair, used for one
// handshake only (docs/spec/link.md §4.3, §4.4).
//
// It exists for speed. crypto/ecdh computes an ephemeral public key with
// the general Montgomery ladder, and recomputes it (a second full scalar
// multiplication) whenever a private key is imported; x/crypto's
// curve25519.X25519 goes through that import too. Here, with
// internal/x25519, the public key is a fixed-base multiplication over
// precomputed tables, each exchange is one ladder and nothing else, and the
// exchanges whose peer value is known when the key is drawn share one field
// inversion with the public key (newEphemeralKey). All of it is
// constant-time. docs/bench/link.md has the figures.
type ephemeralKey struct {
	scalar [32]byte // the 32 random bytes of RFC 7748 §5, clamped at each use
	public [32]byte // X25519(scalar, 9)
	// early[i] is X25519(scalar, peers[i]) for the peers given to
	// newEphemeralKey; earlyErr[i] is errLowOrderPoint if it is all zero.
	early    [maxEarlyExchanges][32]byte
	earlyErr [maxEarlyExchanges]error
}

// newEphemeralKey draws a fresh ephemeral key pair and computes its
// exchanges with up to maxEarlyExchanges peer values, sharing one field
// inversion among the public key and all of them (Montgomery's trick: each
// inversion costs a tenth of an X25519 operation).
func newEphemeralKey(peers ...*[32]byte) (*ephemeralKey, error) {
	if len(peers) > maxEarlyExchanges {
		panic("link: too many early X25519 exchanges")
	}
	k := new(ephemeralKey)
	if _, err := rand.Read(k.scalar[:]); err != nil {
		return nil, err
	}
	var p [1 + maxEarlyExchanges]curve.Projective
	p[0].ScalarBaseMult(&k.scalar)
	for i, peer := range peers {
		p[1+i].ScalarMult(&k.scalar, peer)
	}
	var out [1 + maxEarlyExchanges][32]byte
	n := 1 + len(peers)
	curve.BatchBytes(out[:n], p[:n])
	k.public = out[0]
	for i := range peers {
		k.early[i] = out[1+i]
		if curve.IsZero(&k.early[i]) {
			k.earlyErr[i] = errLowOrderPoint
		}
	}
	clear(out[:])
	return k, nil
}

// exchange sets *shared to X25519(k, peer) and rejects the all-zero result,
// as crypto/ecdh does.
func (k *ephemeralKey) exchange(shared *[32]byte, peer *[32]byte) error {
	return curve.Exchange(shared, &k.scalar, peer)
}

// wipe erases the private scalar and the shared secrets.
func (k *ephemeralKey) wipe() {
	clear(k.scalar[:])
	for i := range k.early {
		clear(k.early[i][:])
	}
}
