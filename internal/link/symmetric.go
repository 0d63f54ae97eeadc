package link

import (
	"crypto/cipher"
	"encoding/binary"
	"hash"

	"github.com/splitmix/splitmix/internal/keys"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
)

// protocolName initialises the handshake hash (docs/spec/link.md §4.1). It
// names every primitive, so any change of primitive changes every key.
const protocolName = "SplitmixLink1_hybridIK_25519+MLKEM768_ChaChaPoly_BLAKE2b"

// Sizes of §2.
const (
	hashLen   = blake2b.Size      // HASHLEN: BLAKE2b-512
	blockLen  = blake2b.BlockSize // BLOCKLEN, for HMAC
	keyLen    = chacha20poly1305.KeySize
	tagLen    = chacha20poly1305.Overhead
	nonceSize = chacha20poly1305.NonceSize
)

// symmetricState is the Noise symmetric state of §4.1: chaining key,
// handshake hash and the optional cipher key with its nonce. It reuses one
// hash instance for every MixHash and HMAC of a handshake.
type symmetricState struct {
	ck     [hashLen]byte
	h      [hashLen]byte
	k      [keyLen]byte
	hasKey bool
	n      uint64
	aead   cipher.AEAD
	nonce  [nonceSize]byte
	digest hash.Hash
	pad    [blockLen]byte               // HMAC key block, scratch
	inner  [hashLen]byte                // inner HMAC hash, scratch
	temp   [hashLen]byte                // HKDF's temp_key, scratch
	next   [hashLen]byte                // DecryptAndHash's next h and MixKey's output, scratch
	plain  [keys.LinkPublicKeySize]byte // what open returns
	dh     [x25519Length]byte           // an X25519 shared secret, scratch
}

// initialize is Initialize of §4.1 followed by the prologue (the preamble)
// and the pre-message (the responder's static key, whole).
func (s *symmetricState) initialize(preamble []byte, responderStatic *keys.LinkPublicKey) {
	if s.digest == nil {
		d, err := blake2b.New512(nil)
		if err != nil { // only for an oversized key
			panic("link: blake2b: " + err.Error())
		}
		s.digest = d
	}
	d := s.digest
	d.Reset()
	d.Write([]byte(protocolName))
	d.Sum(s.h[:0])
	s.ck = s.h
	s.mixHash(preamble)
	s.hashInto(&s.h, s.h[:], responderStatic.X25519[:], responderStatic.MLKEM[:])
}

// hashInto sets out to HASH(a ‖ b ‖ c).
func (s *symmetricState) hashInto(out *[hashLen]byte, a, b []byte, c ...[]byte) {
	s.digest.Reset()
	s.digest.Write(a)
	s.digest.Write(b)
	for _, x := range c {
		s.digest.Write(x)
	}
	s.digest.Sum(out[:0])
}

// mixHash is MixHash of §4.1.
func (s *symmetricState) mixHash(data []byte) { s.hashInto(&s.h, s.h[:], data) }

// mixKey is MixKey of §4.1; the cipher key is the first keyLen bytes of
// the second output (Noise §5.2). The caller wipes ikm.
func (s *symmetricState) mixKey(ikm []byte) {
	s.hkdf(&s.ck, &s.next, ikm)
	copy(s.k[:], s.next[:keyLen])
	clear(s.next[:])
	a, err := chacha20poly1305.New(s.k[:])
	if err != nil { // only for a key of the wrong length
		panic("link: chacha20poly1305: " + err.Error())
	}
	s.aead = a
	s.hasKey = true
	s.n = 0
}

// nonceBytes sets the nonce buffer to 0x00000000 ‖ LE64(n) (§2).
func (s *symmetricState) nonceBytes() []byte {
	binary.LittleEndian.PutUint64(s.nonce[4:], s.n)
	return s.nonce[:]
}

// encryptAndHash is EncryptAndHash of §4.1; it appends the ciphertext to dst.
func (s *symmetricState) encryptAndHash(dst, plaintext []byte) []byte {
	start := len(dst)
	if s.hasKey {
		dst = s.aead.Seal(dst, s.nonceBytes(), plaintext, s.h[:])
		s.n++
	} else {
		dst = append(dst, plaintext...)
	}
	s.mixHash(dst[start:])
	return dst
}

// decryptAndHash is DecryptAndHash of §4.1; it appends the plaintext to dst.
// The new hash is computed before opening, so dst may overlap ciphertext.
func (s *symmetricState) decryptAndHash(dst, ciphertext []byte) ([]byte, error) {
	s.hashInto(&s.next, s.h[:], ciphertext)
	if !s.hasKey {
		dst = append(dst, ciphertext...)
		s.h = s.next
		return dst, nil
	}
	out, err := s.aead.Open(dst, s.nonceBytes(), ciphertext, s.h[:])
	if err != nil {
		return nil, ErrHandshakeAuth
	}
	s.n++
	s.h = s.next
	return out, nil
}

// open is decryptAndHash into a buffer of the state's own, to save an
// allocation per token. The result is valid until the next call.
func (s *symmetricState) open(ciphertext []byte) ([]byte, error) {
	return s.decryptAndHash(s.plain[:0], ciphertext)
}

// split is Split of §4.1: the initiator-to-responder and the
// responder-to-initiator transport keys.
func (s *symmetricState) split() (initiatorKey, responderKey [keyLen]byte) {
	s.hkdf(&s.ck, &s.next, nil) // ck now holds the first output
	copy(initiatorKey[:], s.ck[:keyLen])
	copy(responderKey[:], s.next[:keyLen])
	clear(s.next[:])
	return initiatorKey, responderKey
}

// wipe erases the state's secrets.
func (s *symmetricState) wipe() {
	clear(s.ck[:])
	clear(s.k[:])
	clear(s.h[:])
	clear(s.pad[:])
	clear(s.plain[:])
	clear(s.temp[:])
	clear(s.next[:])
	clear(s.inner[:])
	clear(s.dh[:])
	s.aead = nil
	s.hasKey = false
	s.n = 0
	if s.digest != nil {
		// Reset does not erase the hash's block buffer, which holds the
		// last bytes hashed (an HMAC key block): overwrite it. The digest
		// stays for reuse by the next handshake.
		s.digest.Reset()
		s.digest.Write(s.pad[:]) // all zero; one block is buffered, not hashed
	}
}

// hkdf is HKDF of §2 with two outputs (Noise §4.3): it replaces *ck with
// the first output and sets *out2 to the second.
func (s *symmetricState) hkdf(ck, out2 *[hashLen]byte, ikm []byte) {
	s.hmac(&s.temp, ck[:], ikm, nil)
	s.hmac(ck, s.temp[:], one, nil)
	s.hmac(out2, s.temp[:], ck[:], two)
	clear(s.temp[:])
}

// The counter bytes of hkdf, as package variables so that passing them to
// the hash does not allocate.
var one, two = []byte{0x01}, []byte{0x02}

// hmac sets out to HMAC-HASH(key, m1 ‖ m2) (RFC 2104). key is at most
// hashLen bytes, so it never needs hashing first.
func (s *symmetricState) hmac(out *[hashLen]byte, key, m1, m2 []byte) {
	clear(s.pad[:])
	copy(s.pad[:], key)
	for i := range s.pad {
		s.pad[i] ^= 0x36
	}
	s.digest.Reset()
	s.digest.Write(s.pad[:])
	s.digest.Write(m1)
	s.digest.Write(m2)
	s.digest.Sum(s.inner[:0])
	for i := range s.pad {
		s.pad[i] ^= 0x36 ^ 0x5c
	}
	s.hashInto(out, s.pad[:], s.inner[:])
	clear(s.inner[:])
	clear(s.pad[:])
}
