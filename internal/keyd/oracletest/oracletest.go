// Package oracletest is the conformance suite for keys.Oracle
// implementations holding a node's keys under keyd's policy. It runs against
// the in-process key store (internal/keyd/keystore) and against keyd served
// over its socket (ipc/keyproto.Client, in internal/keyd and cmd/keyd), so
// both sides of the socket are held to the same behaviour.
package oracletest

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/curve25519"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/pki"
)

// Harness describes the Oracle under test and the node it belongs to.
type Harness struct {
	Oracle     keys.Oracle
	Identifier string
	Provider   bool
	// Clock must have the Oracle's epoch period. Use a period long enough
	// (minutes) that the suite does not straddle an epoch boundary.
	Clock epochtime.Clock
}

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, h Harness) {
	t.Run("PublicKeys", h.testPublicKeys)
	t.Run("SphinxKeys", h.testSphinxKeys)
	t.Run("SignDescriptor", h.testSignDescriptor)
	t.Run("SignDescriptorRefused", h.testSignDescriptorRefused)
	t.Run("LinkECDH", h.testLinkECDH)
	t.Run("LinkDecapsulate", h.testLinkDecapsulate)
	t.Run("OracleLinkKey", h.testOracleLinkKey)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func (h Harness) current() uint64 {
	e, _, _ := h.Clock.Current()
	return e
}

func (h Harness) publicKeys(t *testing.T) *keys.PublicKeys {
	t.Helper()
	pk, err := h.Oracle.PublicKeys(ctx(t))
	if err != nil {
		t.Fatalf("PublicKeys: %v", err)
	}
	return pk
}

func (h Harness) testPublicKeys(t *testing.T) {
	pk := h.publicKeys(t)
	if pk.Identifier != h.Identifier {
		t.Errorf("identifier %q, want %q", pk.Identifier, h.Identifier)
	}
	if _, err := keys.ParseLinkPublicKey(pk.Link.Bytes()); err != nil {
		t.Errorf("link public key invalid: %v", err)
	}
	again := h.publicKeys(t)
	if !again.Identity.Equal(pk.Identity) || !again.Link.Equal(&pk.Link) {
		t.Error("public keys changed between calls")
	}
}

func wantErr(t *testing.T, what string, err, kind error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want %v", what, kind)
	} else if !errors.Is(err, kind) {
		t.Errorf("%s: error %q does not wrap %q", what, err, kind)
	}
}

func (h Harness) testSphinxKeys(t *testing.T) {
	cur := h.current()
	epochs := []uint64{cur, cur + 1, cur + 2, cur + 3}
	if cur > 0 {
		epochs = append(epochs, cur-1)
	}
	first, err := h.Oracle.SphinxKeys(ctx(t), epochs)
	if err != nil {
		t.Fatalf("SphinxKeys(%v): %v", epochs, err)
	}
	if len(first) != len(epochs) {
		t.Fatalf("%d keys for %d epochs", len(first), len(epochs))
	}
	seen := map[[32]byte]bool{}
	for i, k := range first {
		if k.Epoch != epochs[i] {
			t.Errorf("key %d for epoch %d, want %d (request order)", i, k.Epoch, epochs[i])
		}
		pub, err := curve25519.X25519(k.Private[:], curve25519.Basepoint)
		if err != nil || !bytes.Equal(pub, k.Public[:]) {
			t.Errorf("epoch %d: public key does not match private key", k.Epoch)
		}
		if seen[k.Public] {
			t.Errorf("epoch %d: key reused from another epoch", k.Epoch)
		}
		seen[k.Public] = true
	}
	// Asked again, in another order: the same keys.
	again, err := h.Oracle.SphinxKeys(ctx(t), []uint64{cur + 1, cur})
	if err != nil {
		t.Fatal(err)
	}
	if again[0] != first[1] || again[1] != first[0] {
		t.Error("SphinxKeys returned different keys for the same epochs")
	}
	wantErr(t, "epoch current+4", errOnly(h.Oracle.SphinxKeys(ctx(t), []uint64{cur + 4})), keys.ErrRefused)
	if cur >= 2 {
		wantErr(t, "epoch current-2", errOnly(h.Oracle.SphinxKeys(ctx(t), []uint64{cur - 2})), keys.ErrRefused)
	}
	wantErr(t, "in range plus out of range", errOnly(h.Oracle.SphinxKeys(ctx(t), []uint64{cur, cur + 100})), keys.ErrRefused)
	wantErr(t, "no epochs", errOnly(h.Oracle.SphinxKeys(ctx(t), nil)), keys.ErrMalformed)
	wantErr(t, "duplicate epoch", errOnly(h.Oracle.SphinxKeys(ctx(t), []uint64{cur, cur})), keys.ErrMalformed)
	wantErr(t, "too many epochs", errOnly(h.Oracle.SphinxKeys(ctx(t), []uint64{cur, cur + 1, cur + 2, cur + 3, cur + 4, cur + 5})), keys.ErrMalformed)
}

func errOnly[T any](_ T, err error) error { return err }

// descriptor builds a descriptor h's Oracle must sign: its own keys and
// Sphinx keys it generated, for the given epoch.
func (h Harness) descriptor(t *testing.T, epoch uint64) *pki.Descriptor {
	t.Helper()
	pk := h.publicKeys(t)
	cur := h.current()
	var epochs []uint64
	for e := epoch; e < epoch+pki.NumMixKeys && e <= cur+3; e++ {
		epochs = append(epochs, e)
	}
	sk, err := h.Oracle.SphinxKeys(ctx(t), epochs)
	if err != nil {
		t.Fatalf("SphinxKeys: %v", err)
	}
	d := &pki.Descriptor{
		Version:     pki.DescriptorVersion,
		Name:        h.Identifier,
		Epoch:       epoch,
		IdentityKey: pk.Identity,
		LinkKey:     &pk.Link,
		MixKeys:     map[uint64][32]byte{},
		Addresses:   map[string][]string{pki.TransportTCP4: {"192.0.2.1:29483"}},
		Provider:    h.Provider,
	}
	for _, k := range sk {
		d.MixKeys[k.Epoch] = k.Public
	}
	if h.Provider {
		d.Kaetzchen = map[string]map[string]string{"echo": {pki.KaetzchenEndpoint: "+echo"}}
	}
	return d
}

func (h Harness) testSignDescriptor(t *testing.T) {
	cur := h.current()
	for _, epoch := range []uint64{cur, cur + 1, cur + 2} {
		d := h.descriptor(t, epoch)
		s, err := pki.Sign(ctx(t), h.Oracle, d)
		if err != nil {
			t.Fatalf("epoch %d: %v", epoch, err)
		}
		got, err := s.Verify(h.publicKeys(t).Identity)
		if err != nil {
			t.Fatalf("epoch %d: signature does not verify: %v", epoch, err)
		}
		if got.Epoch != epoch {
			t.Errorf("signed epoch %d, want %d", got.Epoch, epoch)
		}
	}
}

func (h Harness) testSignDescriptorRefused(t *testing.T) {
	cur := h.current()
	other, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(d *pki.Descriptor){
		"wrong identity key": func(d *pki.Descriptor) { d.IdentityKey[0] ^= 1 },
		"wrong link key":     func(d *pki.Descriptor) { d.LinkKey = other.Public() },
		"wrong name":         func(d *pki.Descriptor) { d.Name = "impostor.example" },
		"wrong provider flag": func(d *pki.Descriptor) {
			d.Provider = !d.Provider
			if !d.Provider {
				d.Kaetzchen = nil
			}
		},
		"foreign sphinx key": func(d *pki.Descriptor) {
			var k [32]byte
			_, _ = rand.Read(k[:])
			d.MixKeys[d.Epoch+1] = k
		},
	}
	for name, mutate := range cases {
		d := h.descriptor(t, cur+1)
		mutate(d)
		b, err := d.Marshal()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantErr(t, name, errOnly(h.Oracle.SignDescriptor(ctx(t), b)), keys.ErrRefused)
	}
	// An epoch too far ahead: its keys exist (current+3) but the epoch is
	// beyond what keyd signs.
	far := h.descriptor(t, cur+3)
	b, err := far.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "epoch current+3", errOnly(h.Oracle.SignDescriptor(ctx(t), b)), keys.ErrRefused)
	if cur > 0 {
		past := h.descriptor(t, cur-1)
		b, err := past.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "epoch current-1", errOnly(h.Oracle.SignDescriptor(ctx(t), b)), keys.ErrRefused)
	}
	good, err := h.descriptor(t, cur).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"garbage":       []byte("sign this for me, please"),
		"empty":         nil,
		"trailing byte": append(bytes.Clone(good), 0),
		"truncated":     good[:len(good)-1],
	} {
		wantErr(t, name, errOnly(h.Oracle.SignDescriptor(ctx(t), b)), keys.ErrMalformed)
	}
}

func (h Harness) testLinkECDH(t *testing.T) {
	pk := h.publicKeys(t)
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Oracle.LinkECDH(ctx(t), peer.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want, err := curve25519.X25519(peer.Bytes(), pk.Link.X25519[:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("LinkECDH differs from X25519(peer private, link public)")
	}
	var one [32]byte
	one[0] = 1
	// 0 and 1 are low-order points (RFC 7748 §6.1): all-zero output.
	for name, p := range map[string][]byte{"zero point": make([]byte, 32), "point 1": one[:]} {
		wantErr(t, name, errOnly(h.Oracle.LinkECDH(ctx(t), p)), keys.ErrMalformed)
	}
	wantErr(t, "short point", errOnly(h.Oracle.LinkECDH(ctx(t), make([]byte, 31))), keys.ErrMalformed)
}

func (h Harness) testLinkDecapsulate(t *testing.T) {
	pk := h.publicKeys(t)
	ek, err := pk.Link.EncapsulationKey()
	if err != nil {
		t.Fatal(err)
	}
	want, ct := ek.Encapsulate()
	got, err := h.Oracle.LinkDecapsulate(ctx(t), ct)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("LinkDecapsulate differs from the encapsulated key")
	}
	ct[0] ^= 1
	if got, err := h.Oracle.LinkDecapsulate(ctx(t), ct); err != nil || bytes.Equal(got, want) {
		t.Errorf("corrupted ciphertext: err %v, same key %v; want implicit rejection", err, bytes.Equal(got, want))
	}
	wantErr(t, "short ciphertext", errOnly(h.Oracle.LinkDecapsulate(ctx(t), ct[:mlkem.CiphertextSize768-1])), keys.ErrMalformed)
}

func (h Harness) testOracleLinkKey(t *testing.T) {
	lk, err := keys.NewOracleLinkKey(ctx(t), h.Oracle, 0)
	if err != nil {
		t.Fatal(err)
	}
	var _ keys.LinkPrivateKey = lk
	pk := h.publicKeys(t)
	if !lk.Public().Equal(&pk.Link) {
		t.Fatal("OracleLinkKey.Public differs from PublicKeys")
	}
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lk.X25519().ECDH(peer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	want, err := peer.ECDH(lk.X25519().PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("OracleLinkKey ECDH differs from the peer's")
	}
	shared, ct := lk.MLKEM().Encapsulator().Encapsulate()
	dec, err := lk.MLKEM().Decapsulate(ct)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec, shared) {
		t.Fatal("OracleLinkKey decapsulation differs from encapsulation")
	}
	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "P-256 peer", errOnly(lk.X25519().ECDH(p256.PublicKey())), keys.ErrMalformed)
}
