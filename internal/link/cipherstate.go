package link

import (
	"crypto/cipher"
	"encoding/binary"
	"math"

	"golang.org/x/crypto/chacha20poly1305"
)

// rekeyInterval is the number of records between rekeys (docs/spec/link.md
// §5.3).
const rekeyInterval = 256

// cipherState seals or opens the records of one transport direction (§5.1).
// It is not safe for concurrent use; Session serialises each direction.
type cipherState struct {
	key   [keyLen]byte
	aead  cipher.AEAD
	n     uint64
	nonce [chacha20poly1305.NonceSize]byte // a field, so Seal and Open do not make it escape
}

func newCipherState(key [keyLen]byte) *cipherState {
	c := &cipherState{key: key}
	c.setKey()
	return c
}

func (c *cipherState) setKey() {
	a, err := chacha20poly1305.New(c.key[:])
	if err != nil { // only for a key of the wrong length
		panic("link: chacha20poly1305: " + err.Error())
	}
	c.aead = a
}

// next returns the nonce for the next record, rekeying first when the
// schedule says so (§5.3).
func (c *cipherState) next() ([]byte, error) {
	if c.n == math.MaxUint64 {
		return nil, ErrNonceExhausted
	}
	if c.n != 0 && c.n%rekeyInterval == 0 {
		c.rekey()
	}
	binary.LittleEndian.PutUint64(c.nonce[4:], c.n)
	c.n++
	return c.nonce[:], nil
}

// rekey is REKEY of §5.3 (Noise §11.3).
func (c *cipherState) rekey() {
	var zeros [keyLen]byte
	var nonce [chacha20poly1305.NonceSize]byte
	binary.LittleEndian.PutUint64(nonce[4:], math.MaxUint64)
	out := c.aead.Seal(nil, nonce[:], zeros[:], nil)
	copy(c.key[:], out[:keyLen])
	clear(out)
	c.setKey()
}

// seal appends the sealed record of plaintext to dst; plaintext[:0] may be
// dst for sealing in place.
func (c *cipherState) seal(dst, plaintext []byte) ([]byte, error) {
	nonce, err := c.next()
	if err != nil {
		return nil, err
	}
	return c.aead.Seal(dst, nonce, plaintext, nil), nil
}

// open appends the plaintext of record to dst; record[:0] may be dst.
func (c *cipherState) open(dst, record []byte) ([]byte, error) {
	nonce, err := c.next()
	if err != nil {
		return nil, err
	}
	out, err := c.aead.Open(dst, nonce, record, nil)
	if err != nil {
		return nil, ErrBadFrame
	}
	return out, nil
}

// wipe erases the key.
func (c *cipherState) wipe() {
	clear(c.key[:])
	c.aead = nil
}
