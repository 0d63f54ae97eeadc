package sphinx

import (
	"bytes"
	"testing"
)

// TestLionessRoundTripAndDiffusion: decryption inverts encryption for
// several block sizes, and one flipped ciphertext bit changes about half of
// the decrypted block, including its first 32 bytes (which the payload
// authenticator relies on, §8.1).
func TestLionessRoundTripAndDiffusion(t *testing.T) {
	rng := newTestRand("lioness")
	var key [lionessKeySize]byte
	rng.Read(key[:])
	for _, size := range []int{lionessBlockMin, 64, 100, 2514} {
		plain := make([]byte, size)
		rng.Read(plain)
		ct := bytes.Clone(plain)
		lionessEncrypt(&key, ct)
		if bytes.Equal(ct, plain) {
			t.Fatalf("size %d: encryption is the identity", size)
		}
		pt := bytes.Clone(ct)
		lionessDecrypt(&key, pt)
		if !bytes.Equal(pt, plain) {
			t.Fatalf("size %d: round trip failed", size)
		}
		for _, pos := range []int{0, 31, 32, size - 1} {
			c := bytes.Clone(ct)
			c[pos] ^= 0x80
			lionessDecrypt(&key, c)
			diff := 0
			for i := range c {
				if c[i] != plain[i] {
					diff++
				}
			}
			if bytes.Equal(c[:32], plain[:32]) || diff < size/2 {
				t.Fatalf("size %d, flipped byte %d: only %d of %d bytes changed", size, pos, diff, size)
			}
		}
	}
}
