// Package geo is the Sphinx geometry: the packet sizes a PKI document
// publishes (docs/spec/sphinx.md §3). It is separate from package sphinx so
// that code which only carries or checks a geometry -- the PKI document,
// and through it keyd -- does not link the packet code.
package geo

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"golang.org/x/crypto/blake2b"
)

// Limits and defaults of the geometry (docs/spec/sphinx.md §3).
const (
	// Version is the packet format version this package implements.
	Version = 1
	// MaxHops is the largest NrHops: entry Provider, three mix layers,
	// destination Provider.
	MaxHops = 5
	// MaxUserForwardPayloadLength bounds the user payload (1 MiB).
	MaxUserForwardPayloadLength = 1 << 20

	DefaultNrHops                   = 5
	DefaultUserForwardPayloadLength = 2000

	// PerHopRoutingInfoLength is r of §4: the largest valid command set,
	// next hop (1 + 32 + 32) and delay (1 + 4). Package sphinx checks at
	// compile time that its command encoding agrees.
	PerHopRoutingInfoLength = 70

	// Fixed field sizes of §3 that the derived lengths are built from.
	VersionLength      = 2 // version ‖ reserved
	GroupElementLength = 32
	MACSize            = 32
	AuthenticatorSize  = 32 // §8.1
	SURBSeedSize       = 32 // §9.1
	FlagsLength        = 2  // §8.2: flags ‖ reserved
)

// Geometry is the set of packet sizes the PKI document publishes (§3). The
// derived fields are carried so that any software can size its buffers;
// Validate checks them against the formulas. Build one with New.
type Geometry struct {
	Version                  int `cbor:"Version"`
	NrHops                   int `cbor:"NrHops"`
	UserForwardPayloadLength int `cbor:"UserForwardPayloadLength"`

	PerHopRoutingInfoLength int `cbor:"PerHopRoutingInfoLength"`
	HeaderLength            int `cbor:"HeaderLength"`
	SURBLength              int `cbor:"SURBLength"`
	ForwardPayloadLength    int `cbor:"ForwardPayloadLength"`
	PayloadLength           int `cbor:"PayloadLength"`
	PacketLength            int `cbor:"PacketLength"`
}

// New computes the derived sizes for nrHops and a user payload of
// userForwardPayload bytes, and validates the result.
func New(nrHops, userForwardPayload int) (Geometry, error) {
	g := Derive(nrHops, userForwardPayload)
	return g, g.Validate()
}

// Default is 5 hops with a 2000-byte user payload (a 2930-byte
// packet).
func Default() Geometry {
	return Derive(DefaultNrHops, DefaultUserForwardPayloadLength)
}

// Derive computes the geometry for nrHops and a user payload of user bytes
// without validating it.
func Derive(nrHops, user int) Geometry {
	g := Geometry{Version: Version, NrHops: nrHops, UserForwardPayloadLength: user}
	g.PerHopRoutingInfoLength = PerHopRoutingInfoLength
	g.HeaderLength = VersionLength + GroupElementLength + nrHops*PerHopRoutingInfoLength + MACSize
	g.SURBLength = g.HeaderLength + 32 + SURBSeedSize
	g.ForwardPayloadLength = FlagsLength + g.SURBLength + user
	g.PayloadLength = AuthenticatorSize + g.ForwardPayloadLength
	g.PacketLength = g.HeaderLength + g.PayloadLength
	return g
}

// Validate checks the independent fields' ranges and that every derived
// field matches its formula (§3).
func (g *Geometry) Validate() error {
	if g.Version != Version {
		return fmt.Errorf("sphinx geometry: Version %d, want %d", g.Version, Version)
	}
	if g.NrHops < 1 || g.NrHops > MaxHops {
		return fmt.Errorf("sphinx geometry: NrHops %d, want 1..%d", g.NrHops, MaxHops)
	}
	if g.UserForwardPayloadLength < 1 || g.UserForwardPayloadLength > MaxUserForwardPayloadLength {
		return fmt.Errorf("sphinx geometry: UserForwardPayloadLength %d, want 1..%d", g.UserForwardPayloadLength, MaxUserForwardPayloadLength)
	}
	want := Derive(g.NrHops, g.UserForwardPayloadLength)
	for _, f := range []struct {
		name      string
		got, want int
	}{
		{"PerHopRoutingInfoLength", g.PerHopRoutingInfoLength, want.PerHopRoutingInfoLength},
		{"HeaderLength", g.HeaderLength, want.HeaderLength},
		{"SURBLength", g.SURBLength, want.SURBLength},
		{"ForwardPayloadLength", g.ForwardPayloadLength, want.ForwardPayloadLength},
		{"PayloadLength", g.PayloadLength, want.PayloadLength},
		{"PacketLength", g.PacketLength, want.PacketLength},
	} {
		if f.got != f.want {
			return fmt.Errorf("sphinx geometry: %s %d does not match NrHops %d and UserForwardPayloadLength %d (want %d)",
				f.name, f.got, g.NrHops, g.UserForwardPayloadLength, f.want)
		}
	}
	return nil
}

var canonicalCBOR = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options
	}
	return m
}()

// MarshalCanonical returns the core deterministic CBOR encoding of §3.
func (g *Geometry) MarshalCanonical() ([]byte, error) { return canonicalCBOR.Marshal(g) }

// Hash is BLAKE2b-256 of the canonical encoding (§3): nodes and clients
// compare it to agree on the geometry.
func (g *Geometry) Hash() [32]byte {
	b, err := g.MarshalCanonical()
	if err != nil {
		// Unreachable: a struct of ints always encodes.
		panic("sphinx geometry: " + err.Error())
	}
	return blake2b.Sum256(b)
}

// String summarises the geometry for logs.
func (g Geometry) String() string {
	return fmt.Sprintf("sphinx v%d: %d hops, user payload %d, packet %d bytes", g.Version, g.NrHops, g.UserForwardPayloadLength, g.PacketLength)
}
