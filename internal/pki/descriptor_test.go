package pki

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// testNode returns a valid Provider descriptor and the identity key that
// owns it.
func testNode(t testing.TB) (*Descriptor, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	link, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	d := &Descriptor{
		Version:   DescriptorVersion,
		Name:      "example.com",
		Epoch:     1000,
		LinkKey:   link.Public(),
		MixKeys:   map[uint64][32]byte{1000: {1}, 1001: {2}, 1002: {3}},
		Addresses: map[string][]string{"tcp4": {"192.0.2.1:29483"}, "tcp6": {"[2001:db8::1]:29483"}, "quic": {"mix.example.com:443"}},
		Provider:  true,
		Kaetzchen: map[string]map[string]string{"echo": {"endpoint": "+echo"}},
	}
	copy(d.IdentityKey[:], pub)
	return d, priv
}

func TestRoundTrip(t *testing.T) {
	d, _ := testNode(t)
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatal("re-encoding differs")
	}
	if got.Name != d.Name || got.Epoch != d.Epoch || !got.IdentityKey.Equal(d.IdentityKey) ||
		!got.LinkKey.Equal(d.LinkKey) || got.MixKeys[1001] != d.MixKeys[1001] || !got.Provider ||
		got.Addresses["tcp6"][0] != "[2001:db8::1]:29483" || got.Kaetzchen["echo"]["endpoint"] != "+echo" {
		t.Fatalf("decoded %+v differs from %+v", got, d)
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string]func(d *Descriptor){
		"version":               func(d *Descriptor) { d.Version = 2 },
		"empty name":            func(d *Descriptor) { d.Name = "" },
		"control char in name":  func(d *Descriptor) { d.Name = "a\nb" },
		"long name":             func(d *Descriptor) { d.Name = strings.Repeat("a", MaxNameLen+1) },
		"no link key":           func(d *Descriptor) { d.LinkKey = nil },
		"no mix keys":           func(d *Descriptor) { d.MixKeys = nil },
		"no key for epoch":      func(d *Descriptor) { delete(d.MixKeys, 1000) },
		"mix key too late":      func(d *Descriptor) { d.MixKeys[1003] = [32]byte{4}; delete(d.MixKeys, 1001) },
		"mix key too early":     func(d *Descriptor) { d.MixKeys[999] = [32]byte{4}; delete(d.MixKeys, 1001) },
		"four mix keys":         func(d *Descriptor) { d.MixKeys[1003] = [32]byte{4} },
		"zero mix key":          func(d *Descriptor) { d.MixKeys[1001] = [32]byte{} },
		"no addresses":          func(d *Descriptor) { d.Addresses = nil },
		"unknown transport":     func(d *Descriptor) { d.Addresses["udp"] = []string{"192.0.2.1:1"} },
		"empty transport":       func(d *Descriptor) { d.Addresses["tcp"] = nil },
		"too many addresses":    func(d *Descriptor) { d.Addresses["tcp"] = slicesRepeat("h.example:1", MaxAddresses+1) },
		"tcp4 with v6":          func(d *Descriptor) { d.Addresses["tcp4"] = []string{"[2001:db8::1]:1"} },
		"tcp4 with name":        func(d *Descriptor) { d.Addresses["tcp4"] = []string{"example.com:1"} },
		"tcp6 with v4":          func(d *Descriptor) { d.Addresses["tcp6"] = []string{"192.0.2.1:1"} },
		"no port":               func(d *Descriptor) { d.Addresses["tcp"] = []string{"example.com"} },
		"port zero":             func(d *Descriptor) { d.Addresses["tcp"] = []string{"example.com:0"} },
		"port too big":          func(d *Descriptor) { d.Addresses["tcp"] = []string{"example.com:65536"} },
		"port leading zero":     func(d *Descriptor) { d.Addresses["tcp"] = []string{"example.com:080"} },
		"bad host":              func(d *Descriptor) { d.Addresses["quic"] = []string{"exa_mple.com:1"} },
		"mix with Kaetzchen":    func(d *Descriptor) { d.Provider = false },
		"Kaetzchen no endpoint": func(d *Descriptor) { d.Kaetzchen["echo"] = map[string]string{"x": "y"} },
		"Kaetzchen bad name":    func(d *Descriptor) { d.Kaetzchen["a b"] = map[string]string{"endpoint": "y"} },
		"Kaetzchen bad value":   func(d *Descriptor) { d.Kaetzchen["echo"]["note"] = "\x00" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			d, _ := testNode(t)
			if err := d.Validate(); err != nil {
				t.Fatalf("valid descriptor rejected: %v", err)
			}
			mutate(d)
			if err := d.Validate(); err == nil {
				t.Fatal("invalid descriptor accepted")
			}
			if _, err := d.Marshal(); err == nil {
				t.Fatal("Marshal accepted an invalid descriptor")
			}
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestParseRejectsNonCanonical re-encodes a valid descriptor in ways a
// lenient decoder would accept; Parse must refuse each.
func TestParseRejectsNonCanonical(t *testing.T) {
	d, _ := testNode(t)
	good, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := cbor.Unmarshal(good, &generic); err != nil {
		t.Fatal(err)
	}
	unsorted, err := cbor.EncOptions{Sort: cbor.SortNone}.EncMode()
	if err != nil {
		t.Fatal(err)
	}
	indef, err := cbor.EncOptions{Sort: cbor.SortCoreDeterministic, IndefLength: cbor.IndefLengthAllowed}.EncMode()
	if err != nil {
		t.Fatal(err)
	}
	withExtra := func() []byte {
		m := map[string]any{}
		for k, v := range generic {
			m[k] = v
		}
		m["Extra"] = 1
		b, _ := encMode.Marshal(m)
		return b
	}()
	emptyKaetzchen := func() []byte {
		m := map[string]any{}
		for k, v := range generic {
			m[k] = v
		}
		m["Kaetzchen"] = map[string]any{}
		m["Provider"] = false
		b, _ := encMode.Marshal(m)
		return b
	}()
	// A map with "Name" twice: hand-patch "Epoch" (5 letters) into "Name"
	// would change lengths, so build it from raw items instead.
	dup := []byte{0xa2, 0x64, 'N', 'a', 'm', 'e', 0x61, 'a', 0x64, 'N', 'a', 'm', 'e', 0x61, 'b'}
	cases := map[string][]byte{
		"empty":           nil,
		"garbage":         []byte("not cbor at all"),
		"trailing byte":   append(append([]byte{}, good...), 0),
		"truncated":       good[:len(good)-1],
		"unknown field":   withExtra,
		"empty Kaetzchen": emptyKaetzchen,
		"duplicate key":   dup,
		"array":           {0x80},
		"oversize":        bytes.Repeat([]byte{0}, MaxDescriptorSize+1),
	}
	if b, err := unsorted.Marshal(generic); err == nil && !bytes.Equal(b, good) {
		cases["unsorted"] = b
	}
	if b, err := indef.Marshal(generic); err == nil && !bytes.Equal(b, good) {
		cases["indefinite"] = b
	}
	for name, b := range cases {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		}
	}
}

func TestParseRejectsBadKeySizes(t *testing.T) {
	d, _ := testNode(t)
	good, _ := d.Marshal()
	var w wireDescriptor
	if err := decMode.Unmarshal(good, &w); err != nil {
		t.Fatal(err)
	}
	mutations := map[string]func(w *wireDescriptor){
		"short identity": func(w *wireDescriptor) { w.IdentityKey = w.IdentityKey[:31] },
		"short link":     func(w *wireDescriptor) { w.LinkKey = w.LinkKey[:100] },
		"long mix key":   func(w *wireDescriptor) { w.MixKeys[1000] = make([]byte, 33) },
		"bad ML-KEM":     func(w *wireDescriptor) { w.LinkKey = bytes.Repeat([]byte{0xff}, keys.LinkPublicKeySize) },
	}
	for name, m := range mutations {
		var c wireDescriptor
		_ = decMode.Unmarshal(good, &c)
		m(&c)
		b, err := encMode.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSignedDescriptor(t *testing.T) {
	d, priv := testNode(t)
	s, err := SignWithKey(priv, d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseSignedDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Verify(d.IdentityKey)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != d.Name {
		t.Fatalf("name %q", got.Name)
	}
	// The signature is over the context-prefixed message, not the bare
	// encoding.
	if ed25519.Verify(priv.Public().(ed25519.PublicKey), s.Descriptor, s.Signature) {
		t.Fatal("signature verifies without the domain-separation context")
	}
	var other keys.IdentityPublicKey
	other[0] = 1
	if _, err := s2.Verify(other); err == nil {
		t.Fatal("Verify with another identity key succeeded")
	}
	// Every single-bit flip of the signature and of the descriptor fails.
	for i := range len(s.Signature) * 8 {
		c := SignedDescriptor{Descriptor: s.Descriptor, Signature: bytes.Clone(s.Signature)}
		c.Signature[i/8] ^= 1 << (i % 8)
		if _, err := c.Open(); err == nil {
			t.Fatalf("signature bit %d flipped: accepted", i)
		}
	}
	for i := 0; i < len(s.Descriptor)*8; i += 7 {
		c := SignedDescriptor{Descriptor: bytes.Clone(s.Descriptor), Signature: s.Signature}
		c.Descriptor[i/8] ^= 1 << (i % 8)
		if _, err := c.Open(); err == nil {
			t.Fatalf("descriptor bit %d flipped: accepted", i)
		}
	}
	for _, bad := range [][]byte{nil, {0xa0}, b[:len(b)-1], append(bytes.Clone(b), 0)} {
		if _, err := ParseSignedDescriptor(bad); err == nil {
			t.Errorf("ParseSignedDescriptor(%x) accepted", bad)
		}
	}
}

type fakeSigner struct {
	priv ed25519.PrivateKey
	err  error
}

func (f fakeSigner) SignDescriptor(_ context.Context, b []byte) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	return ed25519.Sign(f.priv, SigningMessage(b)), nil
}

func TestSign(t *testing.T) {
	d, priv := testNode(t)
	s, err := Sign(context.Background(), fakeSigner{priv: priv}, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(d.IdentityKey); err != nil {
		t.Fatal(err)
	}
	_, wrong, _ := ed25519.GenerateKey(nil)
	if _, err := Sign(context.Background(), fakeSigner{priv: wrong}, d); err == nil {
		t.Fatal("Sign accepted a signature by another key")
	}
	refused := errors.New("refused")
	if _, err := Sign(context.Background(), fakeSigner{err: refused}, d); !errors.Is(err, refused) {
		t.Fatalf("Sign error %v does not wrap the signer's", err)
	}
}
