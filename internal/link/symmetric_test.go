package link

import (
	"bytes"
	"crypto/hmac"
	"hash"
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
	"golang.org/x/crypto/blake2b"
)

func newBLAKE2b() hash.Hash {
	h, _ := blake2b.New512(nil)
	return h
}

// TestHMACMatchesStdlib checks the allocation-free HMAC against crypto/hmac.
func TestHMACMatchesStdlib(t *testing.T) {
	var s symmetricState
	s.initialize(preamble[:], new(keys.LinkPublicKey))
	for _, keyLength := range []int{0, 1, 32, hashLen} {
		key := bytes.Repeat([]byte{0xAB}, keyLength)
		for _, msg := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte{7}, 300)} {
			var got [hashLen]byte
			s.hmac(&got, key, msg[:len(msg)/2], msg[len(msg)/2:])
			m := hmac.New(newBLAKE2b, key)
			m.Write(msg)
			if want := m.Sum(nil); !bytes.Equal(got[:], want) {
				t.Fatalf("key %d bytes, message %d bytes: HMAC differs from crypto/hmac", keyLength, len(msg))
			}
		}
	}
}

// TestHKDFMatchesNoise checks hkdf against Noise §4.3 written with
// crypto/hmac: temp = HMAC(ck, ikm), o1 = HMAC(temp, 0x01),
// o2 = HMAC(temp, o1 ‖ 0x02).
func TestHKDFMatchesNoise(t *testing.T) {
	var s symmetricState
	s.initialize(preamble[:], new(keys.LinkPublicKey))
	ck := s.ck
	ikm := []byte("input key material")
	mac := func(k, m []byte) []byte { h := hmac.New(newBLAKE2b, k); h.Write(m); return h.Sum(nil) }
	temp := mac(ck[:], ikm)
	o1 := mac(temp, []byte{1})
	o2 := mac(temp, append(append([]byte(nil), o1...), 2))

	got1 := ck
	var got2 [hashLen]byte
	s.hkdf(&got1, &got2, ikm)
	if !bytes.Equal(got1[:], o1) || !bytes.Equal(got2[:], o2) {
		t.Fatal("hkdf differs from Noise §4.3")
	}
}

// TestHandshakeTranscriptBinding: both sides derive the same transport
// keys, and any difference in the prologue or the pre-message changes them.
func TestSymmetricStateDivergesOnPrologue(t *testing.T) {
	var a, b symmetricState
	a.initialize(preamble[:], new(keys.LinkPublicKey))
	b.initialize([]byte("SPLXLIN\x02"), new(keys.LinkPublicKey))
	a.mixKey([]byte("k"))
	b.mixKey([]byte("k"))
	ct := a.encryptAndHash(nil, []byte("hello"))
	if _, err := b.decryptAndHash(nil, ct); err == nil {
		t.Fatal("states with different prologues agree")
	}
}
