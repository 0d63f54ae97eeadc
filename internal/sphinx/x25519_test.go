package sphinx

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"testing"
)

func unhex32(t testing.TB, s string) *[32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex %q", s)
	}
	return (*[32]byte)(b)
}

// TestX25519RFC7748 checks that Sphinx's X25519 and PublicKey are wired to
// the right operations, with RFC 7748 §6.1's Diffie-Hellman vector.
// internal/x25519 has the full set of vectors and cross-checks.
func TestX25519RFC7748(t *testing.T) {
	alice := unhex32(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	bob := unhex32(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
	alicePub, bobPub := PublicKey(alice), PublicKey(bob)
	if got := hex.EncodeToString(alicePub[:]); got != "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a" {
		t.Errorf("Alice's public key %s", got)
	}
	if got := hex.EncodeToString(bobPub[:]); got != "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f" {
		t.Errorf("Bob's public key %s", got)
	}
	var k1, k2 [32]byte
	x25519(&k1, alice, &bobPub)
	x25519(&k2, bob, &alicePub)
	const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
	if hex.EncodeToString(k1[:]) != shared || hex.EncodeToString(k2[:]) != shared {
		t.Errorf("shared secrets %x, %x, want %s", k1, k2, shared)
	}
}

// TestX25519MatchesECDH compares x25519, in place as the blinding step
// uses it, and PublicKey with crypto/ecdh on random scalars and points.
func TestX25519MatchesECDH(t *testing.T) {
	rng := newTestRand("x25519-vs-ecdh")
	for i := range 100 {
		var k, u [32]byte
		rng.Read(k[:])
		rng.Read(u[:])
		priv, err := ecdh.X25519().NewPrivateKey(k[:])
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ecdh.X25519().NewPublicKey(u[:])
		if err != nil {
			t.Fatal(err)
		}
		want, err := priv.ECDH(pub)
		got := u
		x25519(&got, &k, &got)
		if err != nil {
			// crypto/ecdh refuses an all-zero result; the ladder returns it.
			if !isZero(got[:]) {
				t.Fatalf("case %d: ecdh failed (%v) but ladder gave %x", i, err, got)
			}
			continue
		}
		if !bytes.Equal(got[:], want) {
			t.Fatalf("case %d: ladder %x, ecdh %x", i, got, want)
		}
		if pk := PublicKey(&k); !bytes.Equal(pk[:], priv.PublicKey().Bytes()) {
			t.Fatalf("case %d: public key %x, ecdh %x", i, pk, priv.PublicKey().Bytes())
		}
	}
}

// TestX25519LowOrder: the low-order points of RFC 7748 §6.1's warning give
// an all-zero output, which Unwrap rejects.
func TestX25519LowOrder(t *testing.T) {
	var k [32]byte
	newTestRand("low-order").Read(k[:])
	for _, u := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		var out [32]byte
		x25519(&out, &k, unhex32(t, u))
		if !isZero(out[:]) {
			t.Errorf("X25519(k, %s) = %x, want zero", u, out)
		}
	}
}
