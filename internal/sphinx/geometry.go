package sphinx

import "github.com/splitmix/splitmix/internal/sphinx/geo"

// The geometry lives in package geo so that the PKI document (and keyd,
// which parses descriptors) can carry it without linking the packet code;
// these names keep it part of this package's API (docs/spec/sphinx.md §3).
const (
	Version                         = geo.Version
	MaxHops                         = geo.MaxHops
	MaxUserForwardPayloadLength     = geo.MaxUserForwardPayloadLength
	DefaultNrHops                   = geo.DefaultNrHops
	DefaultUserForwardPayloadLength = geo.DefaultUserForwardPayloadLength

	versionLength      = geo.VersionLength
	groupElementLength = geo.GroupElementLength
	authenticatorSize  = geo.AuthenticatorSize
	surbSeedSize       = geo.SURBSeedSize
	flagsLength        = geo.FlagsLength
)

// Geometry is the set of packet sizes the PKI document publishes (§3).
type Geometry = geo.Geometry

// NewGeometry computes the derived sizes for nrHops and a user payload of
// userForwardPayload bytes, and validates the result.
func NewGeometry(nrHops, userForwardPayload int) (Geometry, error) {
	return geo.New(nrHops, userForwardPayload)
}

// DefaultGeometry is 5 hops with a 2000-byte user payload (a 2930-byte
// packet).
func DefaultGeometry() Geometry { return geo.Default() }

func derive(nrHops, user int) Geometry { return geo.Derive(nrHops, user) }

// The command encoding (commands.go) and the geometry must agree on r and
// on the MAC size.
var (
	_ [geo.PerHopRoutingInfoLength - PerHopRoutingInfoLength]struct{}
	_ [PerHopRoutingInfoLength - geo.PerHopRoutingInfoLength]struct{}
	_ [geo.MACSize - macSize]struct{}
	_ [macSize - geo.MACSize]struct{}
)
