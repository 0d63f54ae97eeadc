package pki

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/sphinx/geo"
)

// docNode makes a node entry for epoch: a fresh identity and link key and a
// self-signed descriptor.
func docNode(t testing.TB, epoch uint64, name string, provider bool) NodeEntry {
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
		Name:      name,
		Epoch:     epoch,
		LinkKey:   link.Public(),
		MixKeys:   map[uint64][32]byte{epoch: {1, byte(epoch)}, epoch + 1: {2}},
		Addresses: map[string][]string{"tcp4": {"127.0.0.1:1234"}},
		Provider:  provider,
	}
	copy(d.IdentityKey[:], pub)
	s, err := SignWithKey(priv, d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewNodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// testDocument builds a valid document with three layers (2, 1, 1 mixes)
// and two Providers.
func testDocument(t testing.TB, epoch uint64) *Document {
	t.Helper()
	d := &Document{
		Version:     DocumentVersion,
		Epoch:       epoch,
		EpochPeriod: 20 * time.Minute,
		Geometry:    geo.Default(),
		Parameters: Parameters{
			SendRatePerMinute: 100, Mu: 0.00025, MuMaxDelay: 46052,
			LambdaP: 0.00025, LambdaPMaxDelay: 46052, LambdaL: 0.0005, LambdaLMaxDelay: 1000,
			LambdaD: 0.125, LambdaDMaxDelay: 9, LambdaM: 0, LambdaMMaxDelay: 0,
		},
	}
	for l, n := range []int{2, 1, 1} {
		var layer []NodeEntry
		for i := range n {
			layer = append(layer, docNode(t, epoch, fmt.Sprintf("mix-%d-%d", l, i), false))
		}
		d.Layers = append(d.Layers, layer)
	}
	d.Providers = []NodeEntry{docNode(t, epoch, "provider-a", true), docNode(t, epoch, "provider-b", true)}
	return d
}

func authorityKey(t testing.TB) (keys.IdentityPublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return keys.IdentityPublicKey(pub), priv
}

func signedBytes(t testing.TB, priv ed25519.PrivateKey, d *Document) []byte {
	t.Helper()
	s, err := SignDocument(priv, d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDocumentRoundTrip(t *testing.T) {
	d := testDocument(t, 77)
	pub, priv := authorityKey(t)
	b := signedBytes(t, priv, d)
	got, err := VerifyDocument(b, pub)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 77 || got.EpochPeriod != 20*time.Minute || got.Geometry != d.Geometry || got.Parameters != d.Parameters {
		t.Fatalf("decoded header %+v differs", got)
	}
	if len(got.Layers) != 3 || len(got.Layers[0]) != 2 || len(got.Providers) != 2 {
		t.Fatalf("decoded shape %d layers, %d Providers", len(got.Layers), len(got.Providers))
	}
	for l := range d.Layers {
		for i := range d.Layers[l] {
			if !bytes.Equal(got.Layers[l][i].Signed, d.Layers[l][i].Signed) || got.Layers[l][i].Descriptor.Name != d.Layers[l][i].Descriptor.Name {
				t.Fatalf("layer %d entry %d differs", l, i)
			}
		}
	}
	again := signedBytes(t, priv, got)
	if !bytes.Equal(again, b) {
		t.Fatal("re-encoding the decoded document differs")
	}
	other, _ := authorityKey(t)
	if _, err := VerifyDocument(b, other); err == nil {
		t.Fatal("verified with another authority's key")
	}
	// The signature covers the context: a bare signature does not verify.
	s, _ := ParseSignedDocument(b)
	if ed25519.Verify(priv.Public().(ed25519.PublicKey), s.Document, s.Signature) {
		t.Fatal("signature verifies without the document context")
	}
}

// TestDocumentEveryFlipFails flips one bit in every byte of the signed
// encoding; each result must fail to verify.
func TestDocumentEveryFlipFails(t *testing.T) {
	d := testDocument(t, 5)
	// One node per role keeps the run short: each flip costs a signature
	// check.
	d.Layers = [][]NodeEntry{d.Layers[0][:1], d.Layers[1], d.Layers[2]}
	d.Providers = d.Providers[:1]
	pub, priv := authorityKey(t)
	b := signedBytes(t, priv, d)
	for i := range b {
		c := bytes.Clone(b)
		bit := byte(1) << (i % 8)
		c[i] ^= bit
		if _, err := VerifyDocument(c, pub); err == nil {
			t.Fatalf("byte %d bit %#x flipped: verified", i, bit)
		}
	}
}

func TestDocumentValidateRejects(t *testing.T) {
	cases := map[string]func(d *Document){
		"version":            func(d *Document) { d.Version = 2 },
		"zero period":        func(d *Document) { d.EpochPeriod = 0 },
		"sub-ms period":      func(d *Document) { d.EpochPeriod = time.Second + time.Microsecond },
		"bad geometry":       func(d *Document) { d.Geometry.PacketLength++ },
		"NaN rate":           func(d *Document) { d.Parameters.Mu = math.NaN() },
		"negative rate":      func(d *Document) { d.Parameters.LambdaP = -1 },
		"infinite rate":      func(d *Document) { d.Parameters.LambdaM = math.Inf(1) },
		"long delay":         func(d *Document) { d.Parameters.LambdaDMaxDelay = MaxParameterDelay + 1 },
		"no layers":          func(d *Document) { d.Layers = nil },
		"too many layers":    func(d *Document) { d.Layers = append(d.Layers, d.Layers[0][1:]) },
		"layers beyond hops": func(d *Document) { d.Geometry, _ = geo.New(4, 2000) },
		"empty layer":        func(d *Document) { d.Layers[1] = nil },
		"no Providers":       func(d *Document) { d.Providers = nil },
		"mix as Provider":    func(d *Document) { d.Providers[0] = d.Layers[0][1]; d.Layers[0] = d.Layers[0][:1] },
		"Provider in layer":  func(d *Document) { d.Layers[2] = append(d.Layers[2], d.Providers[1]); d.Providers = d.Providers[:1] },
		"duplicate node":     func(d *Document) { d.Layers[1] = append(d.Layers[1], d.Layers[0][0]) },
		"other epoch":        func(d *Document) { d.Epoch++ },
		"nil descriptor":     func(d *Document) { d.Providers[0].Descriptor = nil },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			d := testDocument(t, 9)
			if err := d.Validate(); err != nil {
				t.Fatalf("valid document rejected: %v", err)
			}
			mutate(d)
			if err := d.Validate(); err == nil {
				t.Fatal("invalid document accepted")
			}
			if _, err := d.Marshal(); err == nil {
				t.Fatal("Marshal accepted an invalid document")
			}
		})
	}
}

// TestParseDocumentLimits feeds encodings a lenient decoder would take.
func TestParseDocumentLimits(t *testing.T) {
	d := testDocument(t, 3)
	good, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseDocument(good); err != nil {
		t.Fatal(err)
	}
	var w wireDocument
	if err := docDecMode.Unmarshal(good, &w); err != nil {
		t.Fatal(err)
	}
	enc := func(mutate func(w *wireDocument)) []byte {
		var c wireDocument
		if err := docDecMode.Unmarshal(good, &c); err != nil {
			t.Fatal(err)
		}
		mutate(&c)
		b, err := encMode.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A node whose self-signature is broken, in a document that is
	// otherwise fine.
	badSig := enc(func(w *wireDocument) {
		s, _ := ParseSignedDescriptor(w.Providers[0])
		s.Signature[0] ^= 1
		w.Providers[0], _ = s.Marshal()
	})
	manyNodes := enc(func(w *wireDocument) {
		w.Providers = make([][]byte, MaxDocumentNodes+1)
	})
	cases := map[string][]byte{
		"empty":          nil,
		"garbage":        []byte("not a document"),
		"trailing byte":  append(bytes.Clone(good), 0),
		"truncated":      good[:len(good)-1],
		"oversize":       bytes.Repeat([]byte{0xa0}, MaxDocumentSize+1),
		"bad node sig":   badSig,
		"too many nodes": manyNodes,
		"zero period":    enc(func(w *wireDocument) { w.EpochPeriod = 0 }),
		"huge period":    enc(func(w *wireDocument) { w.EpochPeriod = math.MaxUint64 }),
		"four layers":    enc(func(w *wireDocument) { w.Layers = append(w.Layers, w.Layers[0]) }),
		"garbage entry":  enc(func(w *wireDocument) { w.Layers[1][0] = []byte{1, 2, 3} }),
		"unknown field": func() []byte {
			var m map[string]any
			if err := docDecMode.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			m["Extra"] = 1
			b, _ := encMode.Marshal(m)
			return b
		}(),
	}
	for name, b := range cases {
		if _, err := ParseDocument(b); err == nil {
			t.Errorf("%s: ParseDocument accepted it", name)
		}
	}
	for _, bad := range [][]byte{nil, {0xa0}, bytes.Repeat([]byte{0}, MaxSignedDocumentSize+1)} {
		if _, err := ParseSignedDocument(bad); err == nil {
			t.Errorf("ParseSignedDocument(%d bytes) accepted", len(bad))
		}
	}
	if !strings.Contains(DocumentSignatureContext, "document") || DocumentSignatureContext == DescriptorSignatureContext {
		t.Fatal("document and descriptor signatures share a context")
	}
}

func TestDocumentLookups(t *testing.T) {
	d := testDocument(t, 4)
	for l, layer := range d.Layers {
		for i := range layer {
			got, ok := d.LayerOf(layer[i].NodeID())
			if !ok || got != l {
				t.Fatalf("LayerOf layer %d entry %d = %d, %v", l, i, got, ok)
			}
		}
	}
	p := d.Providers[1].NodeID()
	if e, l, ok := d.Node(p); !ok || l != ProviderLayer || e.Descriptor.Name != "provider-b" {
		t.Fatalf("Node(Provider) = %v, %d, %v", e, l, ok)
	}
	if _, _, ok := d.Node(keys.NodeID{1}); ok {
		t.Fatal("unknown node found")
	}
	same := func(a, b []NodeEntry) bool {
		return len(a) == len(b) && len(a) > 0 && bytes.Equal(a[0].Signed, b[0].Signed)
	}
	if !same(d.NextLayer(ProviderLayer), d.Layers[0]) || !same(d.NextLayer(0), d.Layers[1]) ||
		!same(d.NextLayer(2), d.Providers) || d.NextLayer(3) != nil || d.NextLayer(-2) != nil {
		t.Fatal("NextLayer wrong")
	}
	if !same(d.PreviousLayer(ProviderLayer), d.Layers[2]) || !same(d.PreviousLayer(0), d.Providers) ||
		!same(d.PreviousLayer(2), d.Layers[1]) || d.PreviousLayer(3) != nil {
		t.Fatal("PreviousLayer wrong")
	}
}
