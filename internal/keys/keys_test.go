package keys_test

import (
	"bytes"
	"crypto/mlkem"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
)

func TestDecodeKeyTextForms(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, 32)
	for name, text := range map[string]string{
		"hex lower":     hex.EncodeToString(raw),
		"hex upper":     strings.ToUpper(hex.EncodeToString(raw)),
		"base64":        base64.StdEncoding.EncodeToString(raw),
		"base64 raw":    base64.RawStdEncoding.EncodeToString(raw),
		"base64 url":    base64.URLEncoding.EncodeToString(raw),
		"base64 rawurl": base64.RawURLEncoding.EncodeToString(raw),
		"spaces":        "  " + hex.EncodeToString(raw) + "\n",
	} {
		got, err := keys.DecodeKeyText(text, 32)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s: %x, %v", name, got, err)
		}
	}
}

func TestDecodeKeyTextRejects(t *testing.T) {
	for name, text := range map[string]string{
		"empty":        "",
		"short hex":    strings.Repeat("ab", 31),
		"long base64":  base64.StdEncoding.EncodeToString(make([]byte, 33)),
		"short base64": base64.StdEncoding.EncodeToString(make([]byte, 31)),
		"garbage":      "not a key at all!",
	} {
		if _, err := keys.DecodeKeyText(text, 32); !errors.Is(err, keys.ErrKeyText) {
			t.Errorf("%s: err = %v, want ErrKeyText", name, err)
		}
	}
}

// The spec's own PKI.Nonvoting.PublicKey example must parse.
func TestParseIdentityPublicKeySpecExample(t *testing.T) {
	k, err := keys.ParseIdentityPublicKey("kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg=")
	if err != nil {
		t.Fatal(err)
	}
	if k2, err := keys.ParseIdentityPublicKey(k.String()); err != nil || !k2.Equal(k) {
		t.Fatalf("hex round trip: %v, %v", k2, err)
	}
	if k.NodeID() == (keys.NodeID{}) || k.NodeID().String() == k.String() {
		t.Fatal("NodeID is not a hash of the key")
	}
}

func TestLinkPublicKeyRoundTrip(t *testing.T) {
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	b := pub.Bytes()
	if len(b) != keys.LinkPublicKeySize {
		t.Fatalf("encoding is %d bytes", len(b))
	}
	got, err := keys.ParseLinkPublicKey(b)
	if err != nil || !got.Equal(pub) {
		t.Fatalf("parse: %v", err)
	}
	for _, text := range []string{pub.String(), base64.StdEncoding.EncodeToString(b)} {
		got, err := keys.ParseLinkPublicKeyText(text)
		if err != nil || !got.Equal(pub) {
			t.Fatalf("text %.16s...: %v", text, err)
		}
	}
	if _, err := keys.ParseLinkPublicKey(b[:len(b)-1]); err == nil {
		t.Fatal("short key accepted")
	}
	// An ML-KEM half with an out-of-range coefficient fails FIPS 203's modulus check.
	bad := bytes.Clone(b)
	for i := keys.LinkX25519Size; i < keys.LinkX25519Size+12; i++ {
		bad[i] = 0xff
	}
	if _, err := keys.ParseLinkPublicKey(bad); err == nil {
		t.Fatal("invalid ML-KEM encapsulation key accepted")
	}
	other, _ := memkey.GenerateLinkKey()
	if pub.Equal(other.Public()) || pub.Fingerprint() == other.Public().Fingerprint() {
		t.Fatal("distinct keys compare equal")
	}
}

func TestMemLinkKeyOperations(t *testing.T) {
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	// Seed round trip rebuilds the same key.
	seed := k.Seed()
	k2, err := memkey.NewLinkKey(seed)
	if err != nil || !k2.Public().Equal(k.Public()) {
		t.Fatalf("seed round trip: %v", err)
	}
	// ECDH agrees with the peer's view.
	peer, _ := memkey.GenerateLinkKey()
	peerPub, _ := peer.Public().ECDHPublicKey()
	ourPub, _ := k.Public().ECDHPublicKey()
	a, err := k.X25519().ECDH(peerPub)
	if err != nil {
		t.Fatal(err)
	}
	b, err := peer.X25519().ECDH(ourPub)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("ECDH disagrees: %v", err)
	}
	// Decapsulation recovers what was encapsulated to the public half.
	ek, err := k.Public().EncapsulationKey()
	if err != nil {
		t.Fatal(err)
	}
	shared, ct := ek.Encapsulate()
	got, err := k.MLKEM().Decapsulate(ct)
	if err != nil || !bytes.Equal(got, shared) {
		t.Fatalf("decapsulate: %v", err)
	}
	if _, err := memkey.NewLinkKey(seed[:len(seed)-1]); err == nil {
		t.Fatal("short seed accepted")
	}
	if len(ct) != mlkem.CiphertextSize768 {
		t.Fatalf("ciphertext %d bytes", len(ct))
	}
}
