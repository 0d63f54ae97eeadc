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

// TestX25519RFC7748 checks the ladder against RFC 7748 §5.2 (single and
// iterated) and §6.1 (Diffie-Hellman).
func TestX25519RFC7748(t *testing.T) {
	for _, v := range []struct{ k, u, out string }{
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
	} {
		var out [32]byte
		x25519(&out, unhex32(t, v.k), unhex32(t, v.u))
		if got := hex.EncodeToString(out[:]); got != v.out {
			t.Errorf("X25519(%s, %s) = %s, want %s", v.k, v.u, got, v.out)
		}
		// The same vector through crypto/ecdh, so a typo in it cannot hide.
		priv, _ := ecdh.X25519().NewPrivateKey(unhex32(t, v.k)[:])
		pub, _ := ecdh.X25519().NewPublicKey(unhex32(t, v.u)[:])
		if want, err := priv.ECDH(pub); err != nil || hex.EncodeToString(want) != v.out {
			t.Errorf("crypto/ecdh disagrees with the vector: %x, %v", want, err)
		}
	}

	// §5.2 iterated: k = u = 9; repeatedly (k, u) = (X25519(k, u), k).
	k, u := basePoint, basePoint
	iterations := 1000
	if testing.Short() {
		iterations = 1
	}
	for i := 1; i <= iterations; i++ {
		var out [32]byte
		x25519(&out, &k, &u)
		u, k = k, out
		switch i {
		case 1:
			if got := hex.EncodeToString(k[:]); got != "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079" {
				t.Fatalf("1 iteration: %s", got)
			}
		case 1000:
			if got := hex.EncodeToString(k[:]); got != "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51" {
				t.Fatalf("1000 iterations: %s", got)
			}
		}
	}

	// §6.1.
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

// TestX25519MatchesECDH compares the ladder with crypto/ecdh on random
// scalars and points, including points with the top bit set (which must be
// ignored).
func TestX25519MatchesECDH(t *testing.T) {
	rng := newTestRand("x25519-vs-ecdh")
	for i := range 200 {
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
		var got [32]byte
		x25519(&got, &k, &u)
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
