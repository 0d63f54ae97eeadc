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

// TestEphemeralKeyRFC7748 runs RFC 7748 §6.1's Diffie-Hellman through
// ephemeralKey.exchange. The curve arithmetic itself (vectors, crypto/ecdh
// cross-checks, fuzzing) is tested in internal/x25519.
func TestEphemeralKeyRFC7748(t *testing.T) {
	alice := &ephemeralKey{scalar: *hex32(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")}
	bobPublic := hex32(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
	var shared [32]byte
	if err := alice.exchange(&shared, bobPublic); err != nil {
		t.Fatal(err)
	}
	if want := hex32(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"); shared != *want {
		t.Errorf("shared secret %x, want %x", shared, *want)
	}
}

// TestX25519LowOrderRejected checks that points of small order yield
// errLowOrderPoint from exchange, as crypto/ecdh rejects them.
func TestX25519LowOrderRejected(t *testing.T) {
	points := []string{
		"0000000000000000000000000000000000000000000000000000000000000000", // 0
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
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
			var again [32]byte
			if err := k.exchange(&again, p); err != nil || !bytes.Equal(again[:], want) {
				t.Fatalf("case %d, peer %d: exchange %x, %v; crypto/ecdh %x", i, j, again, err, want)
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
