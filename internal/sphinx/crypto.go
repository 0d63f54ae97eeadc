package sphinx

import (
	"crypto/subtle"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"
)

// Sizes of the symmetric keys (docs/spec/sphinx.md §2).
const (
	macSize        = 32
	streamKeySize  = chacha20.KeySize
	lionessKeySize = 4 * streamKeySize
	// lionessBlockMin is the smallest block LIONESS accepts: L plus one byte.
	lionessBlockMin = streamKeySize + 1
)

// kdfLabel domain-separates the key derivation (§2.5).
const kdfLabel = "splitmix-sphinx-v1-kdf"

// hopKeys are the keys derived from one shared secret (§2.5).
type hopKeys struct {
	mac       [macSize]byte
	routing   [streamKeySize]byte
	payload   [lionessKeySize]byte
	blinding  [32]byte
	replayTag [32]byte
}

func (k *hopKeys) wipe() { *k = hopKeys{} }

// deriveKeys is the KDF of §2.5.
func deriveKeys(k *hopKeys, secret *[32]byte) {
	var in [len(kdfLabel) + 1 + 32]byte
	copy(in[:], kdfLabel)
	copy(in[len(kdfLabel)+1:], secret[:])
	var out [4 * blake2b.Size]byte
	for i := range 4 {
		in[len(kdfLabel)] = byte(i)
		h := blake2b.Sum512(in[:])
		copy(out[i*blake2b.Size:], h[:])
		clear(h[:])
	}
	copy(k.mac[:], out[0:32])
	copy(k.routing[:], out[32:64])
	copy(k.payload[:], out[64:192])
	copy(k.blinding[:], out[192:224])
	copy(k.replayTag[:], out[224:256])
	clear(out[:])
	clear(in[:])
}

// maxMACInput bounds the MAC input of a header: version, reserved, group
// element and the routing information of MaxHops hops (§5).
const maxMACInput = 2 + 32 + MaxHops*PerHopRoutingInfoLength

// headerMAC computes MAC(key, msg) = BLAKE2b-256(key ‖ msg) (§2.3) for a
// header, copying into a stack buffer so that nothing is allocated.
func headerMAC(out *[macSize]byte, key *[macSize]byte, msg []byte) {
	var buf [macSize + maxMACInput]byte
	copy(buf[:], key[:])
	n := copy(buf[macSize:], msg)
	*out = blake2b.Sum256(buf[:macSize+n])
	clear(buf[:])
}

// macEqual compares two tags in constant time.
func macEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

var zeroNonce [chacha20.NonceSize]byte

// xorStream XORs S(key, len(buf)) into buf (§2.4).
func xorStream(buf []byte, key *[streamKeySize]byte) {
	c, err := chacha20.NewUnauthenticatedCipher(key[:], zeroNonce[:])
	if err != nil {
		// Unreachable: key and nonce sizes are constants.
		panic("sphinx: chacha20: " + err.Error())
	}
	c.XORKeyStream(buf, buf)
}

// lionessEncrypt encrypts block in place with LIONESS (§2.6).
func lionessEncrypt(key *[lionessKeySize]byte, block []byte) {
	lionessStream(block, key[0:32])
	lionessHash(block, key[32:64])
	lionessStream(block, key[64:96])
	lionessHash(block, key[96:128])
}

// lionessDecrypt decrypts block in place with LIONESS (§2.6).
func lionessDecrypt(key *[lionessKeySize]byte, block []byte) {
	lionessHash(block, key[96:128])
	lionessStream(block, key[64:96])
	lionessHash(block, key[32:64])
	lionessStream(block, key[0:32])
}

// lionessStream is the round Rt = Rt ⊕ S(L ⊕ k).
func lionessStream(block, k []byte) {
	var sk [streamKeySize]byte
	subtle.XORBytes(sk[:], block[:streamKeySize], k)
	xorStream(block[streamKeySize:], &sk)
	clear(sk[:])
}

// lionessHash is the round L = L ⊕ MAC(k, Rt). MAC(k, Rt) = BLAKE2b-256(k ‖
// Rt) needs k and Rt adjacent: rather than copy the long Rt, k takes L's
// place (which sits right before Rt) for the duration of the hash.
func lionessHash(block, k []byte) {
	var l [streamKeySize]byte
	copy(l[:], block[:streamKeySize])
	copy(block[:streamKeySize], k)
	h := blake2b.Sum256(block)
	subtle.XORBytes(block[:streamKeySize], l[:], h[:])
	clear(l[:])
	clear(h[:])
}
