package link

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
)

func hex32(t *testing.T, s string) *[32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad test vector %q", s)
	}
	return (*[32]byte)(b)
}

// TestX25519RFC7748Vectors checks the ladder and the fixed-base path
// against the test vectors of RFC 7748 §5.2 and §6.1.
func TestX25519RFC7748Vectors(t *testing.T) {
	for _, v := range []struct{ scalar, u, out string }{
		{ // §5.2, first vector
			"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
		},
		{ // §5.2, second vector: u has its top bit set, which must be ignored
			"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
		},
	} {
		var out [32]byte
		x25519(&out, hex32(t, v.scalar), hex32(t, v.u))
		if want := hex32(t, v.out); out != *want {
			t.Errorf("X25519(%s, %s) = %x, want %x", v.scalar[:8], v.u[:8], out, *want)
		}
	}

	// §5.2, iterated: k, u = X25519(k, u), k, starting from k = u = 9.
	var k, u [32]byte
	k[0], u[0] = 9, 9
	for i := 1; i <= 1000; i++ {
		var r [32]byte
		x25519(&r, &k, &u)
		u, k = k, r
		switch i {
		case 1:
			if want := hex32(t, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"); k != *want {
				t.Fatalf("after 1 iteration: %x, want %x", k, *want)
			}
		case 1000:
			if want := hex32(t, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"); k != *want {
				t.Fatalf("after 1000 iterations: %x, want %x", k, *want)
			}
		}
	}

	// §6.1: Diffie-Hellman, with the public keys from the fixed-base path.
	alice := &ephemeralKey{scalar: *hex32(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")}
	bob := &ephemeralKey{scalar: *hex32(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")}
	x25519Base(&alice.public, &alice.scalar)
	x25519Base(&bob.public, &bob.scalar)
	if want := hex32(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"); alice.public != *want {
		t.Errorf("Alice's public key %x, want %x", alice.public, *want)
	}
	if want := hex32(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"); bob.public != *want {
		t.Errorf("Bob's public key %x, want %x", bob.public, *want)
	}
	var s1, s2 [32]byte
	if err := alice.exchange(&s1, &bob.public); err != nil {
		t.Fatal(err)
	}
	if err := bob.exchange(&s2, &alice.public); err != nil {
		t.Fatal(err)
	}
	want := hex32(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
	if s1 != *want || s2 != *want {
		t.Errorf("shared secrets %x and %x, want %x", s1, s2, *want)
	}
}

// TestX25519BaseAgainstECDH checks, on many random scalars, that the
// fixed-base path (Edwards table, scalar reduced mod l) gives the public key
// crypto/ecdh computes with the ladder on the clamped 255-bit scalar, and
// that our ladder agrees with crypto/ecdh on random points, including
// non-canonical ones and ones with the top bit set.
func TestX25519BaseAgainstECDH(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	for i := range n {
		var scalar [32]byte
		rand.Read(scalar[:])
		switch i {
		case 0: // extremes of the clamped range
			clear(scalar[:])
		case 1:
			for j := range scalar {
				scalar[j] = 0xff
			}
		}
		priv, err := ecdh.X25519().NewPrivateKey(scalar[:])
		if err != nil {
			t.Fatal(err)
		}
		var pub [32]byte
		x25519Base(&pub, &scalar)
		if !bytes.Equal(pub[:], priv.PublicKey().Bytes()) {
			t.Fatalf("scalar %x: public key %x, crypto/ecdh %x", scalar, pub, priv.PublicKey().Bytes())
		}

		var u [32]byte
		rand.Read(u[:])
		if i%4 == 0 { // non-canonical: p..2^255-1, possibly with the top bit
			u = [32]byte{0xed + byte(i%19)}
			for j := 1; j < 31; j++ {
				u[j] = 0xff
			}
			u[31] = 0x7f | byte(i&8)<<4
		}
		peer, err := ecdh.X25519().NewPublicKey(u[:])
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := priv.ECDH(peer)
		var got [32]byte
		k := ephemeralKey{scalar: scalar}
		gotErr := k.exchange(&got, &u)
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("scalar %x, u %x: error %v, crypto/ecdh %v", scalar, u, gotErr, wantErr)
		}
		if wantErr == nil && !bytes.Equal(got[:], want) {
			t.Fatalf("scalar %x, u %x: %x, crypto/ecdh %x", scalar, u, got, want)
		}
	}
}

// TestX25519LowOrderRejected checks that every point of small order (and
// the equivalent non-canonical encodings) yields errLowOrderPoint, as
// crypto/ecdh rejects them.
func TestX25519LowOrderRejected(t *testing.T) {
	points := []string{
		"0000000000000000000000000000000000000000000000000000000000000000", // 0
		"0100000000000000000000000000000000000000000000000000000000000000", // 1
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1 (= 1)
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // p, top bit set
	}
	k, err := newEphemeralKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range points {
		var out [32]byte
		if err := k.exchange(&out, hex32(t, p)); !errors.Is(err, errLowOrderPoint) {
			t.Errorf("u = %s: error %v, want errLowOrderPoint", p, err)
		}
		peer, _ := ecdh.X25519().NewPublicKey(hex32(t, p)[:])
		priv, _ := ecdh.X25519().NewPrivateKey(k.scalar[:])
		if _, err := priv.ECDH(peer); err == nil {
			t.Errorf("u = %s: crypto/ecdh accepts it; the list is wrong", p)
		}
	}
}

// TestEphemeralKeyFreshAndWiped checks that each key is new and that wipe
// erases the scalar.
func TestEphemeralKeyFreshAndWiped(t *testing.T) {
	a, err := newEphemeralKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := newEphemeralKey()
	if err != nil {
		t.Fatal(err)
	}
	if a.scalar == b.scalar || a.public == b.public {
		t.Fatal("two ephemeral keys are equal")
	}
	a.wipe()
	if !allZero(a.scalar[:]) {
		t.Fatal("wipe left the scalar")
	}
}

// TestEphemeralKeyEarlyExchanges checks the batched path (one inversion for
// the public key and the exchanges) against crypto/ecdh, including a
// low-order peer value, which must fail its own exchange only.
func TestEphemeralKeyEarlyExchanges(t *testing.T) {
	lowOrder := hex32(t, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
	n := 300
	if testing.Short() {
		n = 50
	}
	for i := range n {
		var p1, p2 [32]byte
		rand.Read(p1[:])
		rand.Read(p2[:])
		peers := []*[32]byte{&p1, &p2}
		switch i % 4 {
		case 1:
			peers[0] = lowOrder
		case 2:
			peers[1] = lowOrder
		case 3:
			peers = peers[:1]
		}
		k, err := newEphemeralKey(peers...)
		if err != nil {
			t.Fatal(err)
		}
		priv, err := ecdh.X25519().NewPrivateKey(k.scalar[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.public[:], priv.PublicKey().Bytes()) {
			t.Fatalf("case %d: public key %x, crypto/ecdh %x", i, k.public, priv.PublicKey().Bytes())
		}
		for j, p := range peers {
			peer, err := ecdh.X25519().NewPublicKey(p[:])
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := priv.ECDH(peer)
			if wantErr != nil {
				if !errors.Is(k.earlyErr[j], errLowOrderPoint) || !allZero(k.early[j][:]) {
					t.Fatalf("case %d, peer %d: %x, %v for a low-order point", i, j, k.early[j], k.earlyErr[j])
				}
				continue
			}
			if k.earlyErr[j] != nil || !bytes.Equal(k.early[j][:], want) {
				t.Fatalf("case %d, peer %d: %x, %v; crypto/ecdh %x", i, j, k.early[j], k.earlyErr[j], want)
			}
		}
		for j := len(peers); j < maxEarlyExchanges; j++ {
			if k.earlyErr[j] != nil || !allZero(k.early[j][:]) {
				t.Fatalf("case %d: unused slot %d set", i, j)
			}
		}
		k.wipe()
		if !allZero(k.scalar[:]) || !allZero(k.early[0][:]) || !allZero(k.early[1][:]) {
			t.Fatal("wipe left secrets")
		}
	}
}

// FuzzX25519 compares the ladder and the fixed-base path with crypto/ecdh
// on arbitrary scalars and peer values (the peer value is untrusted input).
func FuzzX25519(f *testing.F) {
	f.Add(make([]byte, 32), make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0xff}, 32))
	f.Add([]byte("a scalar of thirty-two bytes ..."), []byte{9})
	f.Fuzz(func(t *testing.T, scalar, u []byte) {
		var s, p [32]byte
		copy(s[:], scalar)
		copy(p[:], u)
		priv, err := ecdh.X25519().NewPrivateKey(s[:])
		if err != nil {
			t.Fatal(err)
		}
		peer, err := ecdh.X25519().NewPublicKey(p[:])
		if err != nil {
			t.Fatal(err)
		}
		k, want := ephemeralKey{scalar: s}, priv.PublicKey().Bytes()
		x25519Base(&k.public, &k.scalar)
		if !bytes.Equal(k.public[:], want) {
			t.Fatalf("public key %x, crypto/ecdh %x", k.public, want)
		}
		shared, wantErr := priv.ECDH(peer)
		var got [32]byte
		err = k.exchange(&got, &p)
		if (err != nil) != (wantErr != nil) || (err == nil && !bytes.Equal(got[:], shared)) {
			t.Fatalf("X25519: %x, %v; crypto/ecdh %x, %v", got, err, shared, wantErr)
		}
	})
}
