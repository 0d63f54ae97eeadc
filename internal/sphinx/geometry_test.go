package sphinx

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func TestDefaultGeometry(t *testing.T) {
	g := DefaultGeometry()
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Geometry{Version: 1, NrHops: 5, UserForwardPayloadLength: 2000, PerHopRoutingInfoLength: 70,
		HeaderLength: 416, SURBLength: 480, ForwardPayloadLength: 2482, PayloadLength: 2514, PacketLength: 2930}
	if g != want {
		t.Fatalf("default geometry %+v, want %+v (docs/spec/sphinx.md §3)", g, want)
	}
}

func TestGeometryValidate(t *testing.T) {
	for _, c := range []struct{ hops, user int }{{0, 10}, {6, 10}, {3, 0}, {3, MaxUserForwardPayloadLength + 1}} {
		if _, err := NewGeometry(c.hops, c.user); err == nil {
			t.Errorf("NewGeometry(%d, %d) accepted", c.hops, c.user)
		}
	}
	g := DefaultGeometry()
	g.PacketLength++
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "PacketLength") {
		t.Errorf("inconsistent PacketLength: %v", err)
	}
	g = DefaultGeometry()
	g.Version = 2
	if err := g.Validate(); err == nil {
		t.Error("version 2 accepted")
	}
	if _, err := New(g); err == nil {
		t.Error("New accepted an invalid geometry")
	}
}

// TestGeometryHash: the hash is over the canonical CBOR encoding, stable
// across encode/decode, and changes with any field.
func TestGeometryHash(t *testing.T) {
	g := DefaultGeometry()
	b, err := g.MarshalCanonical()
	if err != nil {
		t.Fatal(err)
	}
	var back Geometry
	if err := cbor.Unmarshal(b, &back); err != nil || back != g {
		t.Fatalf("CBOR round trip: %+v, %v", back, err)
	}
	if back.Hash() != g.Hash() {
		t.Fatal("hash changed across a round trip")
	}
	// Pinned so that an accidental change of the encoding is noticed: every
	// node and client must agree on this value.
	h := g.Hash()
	if got := hex.EncodeToString(h[:]); got != "77044f6cb44a8404d12cabfebf63c88af7a3f84558036ba9b6576a8cc929b099" {
		t.Fatalf("default geometry hash %s changed", got)
	}
	g2, _ := NewGeometry(5, 2001)
	if g2.Hash() == g.Hash() {
		t.Fatal("different geometries share a hash")
	}
}
