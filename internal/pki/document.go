package pki

import (
	"fmt"
	"math"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/sphinx/geo"
)

// DocumentVersion is the only document format version this code reads and
// writes (docs/spec/dirauth.md §5.1).
const DocumentVersion = 1

// Limits of a document (docs/spec/dirauth.md §5.4). A node or client
// enforces them on what the authority sends before it allocates by them.
const (
	MaxDocumentSize       = 4 << 20 // encoded bytes
	MaxSignedDocumentSize = MaxDocumentSize + 128
	MaxLayers             = geo.MaxHops - 2 // entry Provider, mixes, exit Provider
	MaxDocumentNodes      = 1024            // mixes and Providers together
)

// ProviderLayer is what Document.LayerOf returns for a Provider.
const ProviderLayer = -1

// Document is the directory authority's description of the network for one
// epoch: the mix layers in order, the Providers, the Sphinx geometry and the
// traffic parameters clients use. See docs/spec/dirauth.md §5.
type Document struct {
	// Version is DocumentVersion.
	Version uint32
	// Epoch is the epoch the document is for.
	Epoch uint64
	// EpochPeriod is the length of every epoch; a whole number of
	// milliseconds.
	EpochPeriod time.Duration
	// Geometry is the Sphinx packet geometry of the network.
	Geometry geo.Geometry
	// Parameters are the traffic parameters for clients and decoy senders.
	Parameters Parameters
	// Layers are the mix layers in path order: a packet goes from its
	// entry Provider to Layers[0], ..., Layers[len-1], then to a Provider.
	Layers [][]NodeEntry
	// Providers are the Providers.
	Providers []NodeEntry
}

// NodeEntry is one node of a document: the signed descriptor exactly as the
// node posted it, so that anyone can check the node's own signature, and
// its decoded form. See docs/spec/dirauth.md §5.1.
type NodeEntry struct {
	// Signed is the encoded SignedDescriptor the node posted.
	Signed []byte
	// Descriptor is Signed decoded, its self-signature verified.
	Descriptor *Descriptor
}

// NewNodeEntry decodes an encoded SignedDescriptor and verifies the
// signature by the identity key it carries.
func NewNodeEntry(signed []byte) (NodeEntry, error) {
	s, err := ParseSignedDescriptor(signed)
	if err != nil {
		return NodeEntry{}, err
	}
	d, err := s.Open()
	if err != nil {
		return NodeEntry{}, err
	}
	return NodeEntry{Signed: signed, Descriptor: d}, nil
}

// NodeID is the node's id: the hash of its identity key.
func (e *NodeEntry) NodeID() keys.NodeID { return e.Descriptor.IdentityKey.NodeID() }

// Parameters are the traffic parameters of docs/spec/dirauth.md §5.2. Rates
// are events per millisecond (the mean interval is 1/rate ms); delays are
// milliseconds.
type Parameters struct {
	// SendRatePerMinute is the rate at which a Provider lets a client send.
	SendRatePerMinute uint64 `cbor:"SendRatePerMinute"`
	// Mu is the rate of the exponential per-hop delay senders choose;
	// MuMaxDelay caps one hop's delay.
	Mu         float64 `cbor:"Mu"`
	MuMaxDelay uint64  `cbor:"MuMaxDelay"`
	// LambdaP is the rate of a client's messages (real or drop decoys).
	LambdaP         float64 `cbor:"LambdaP"`
	LambdaPMaxDelay uint64  `cbor:"LambdaPMaxDelay"`
	// LambdaL is the rate of a client's loop decoys.
	LambdaL         float64 `cbor:"LambdaL"`
	LambdaLMaxDelay uint64  `cbor:"LambdaLMaxDelay"`
	// LambdaD is the rate of a client's drop decoys.
	LambdaD         float64 `cbor:"LambdaD"`
	LambdaDMaxDelay uint64  `cbor:"LambdaDMaxDelay"`
	// LambdaM is the rate of a mix's loop decoys.
	LambdaM         float64 `cbor:"LambdaM"`
	LambdaMMaxDelay uint64  `cbor:"LambdaMMaxDelay"`
}

// MaxParameterDelay bounds every *MaxDelay parameter: one day.
const MaxParameterDelay = 24 * 60 * 60 * 1000

// Validate checks that every rate is finite and not negative and every delay
// cap at most MaxParameterDelay (docs/spec/dirauth.md §5.2).
func (p *Parameters) Validate() error {
	for _, r := range []struct {
		name  string
		rate  float64
		delay uint64
	}{
		{"Mu", p.Mu, p.MuMaxDelay},
		{"LambdaP", p.LambdaP, p.LambdaPMaxDelay},
		{"LambdaL", p.LambdaL, p.LambdaLMaxDelay},
		{"LambdaD", p.LambdaD, p.LambdaDMaxDelay},
		{"LambdaM", p.LambdaM, p.LambdaMMaxDelay},
	} {
		if math.IsNaN(r.rate) || math.IsInf(r.rate, 0) || r.rate < 0 {
			return fmt.Errorf("parameters: %s = %v, want a finite rate >= 0", r.name, r.rate)
		}
		if r.delay > MaxParameterDelay {
			return fmt.Errorf("parameters: %sMaxDelay = %d ms, at most %d", r.name, r.delay, MaxParameterDelay)
		}
	}
	return nil
}

// Validate checks the rules of docs/spec/dirauth.md §5.4 that need no
// signature: ranges, the geometry, that every entry is a descriptor for this
// epoch in the right role, and that no node appears twice.
func (d *Document) Validate() error {
	if d.Version != DocumentVersion {
		return fmt.Errorf("document: version %d, want %d", d.Version, DocumentVersion)
	}
	if d.EpochPeriod <= 0 || d.EpochPeriod%time.Millisecond != 0 {
		return fmt.Errorf("document: epoch period %v is not a positive whole number of milliseconds", d.EpochPeriod)
	}
	if err := d.Geometry.Validate(); err != nil {
		return fmt.Errorf("document: %w", err)
	}
	if err := d.Parameters.Validate(); err != nil {
		return fmt.Errorf("document: %w", err)
	}
	if len(d.Layers) < 1 || len(d.Layers) > MaxLayers {
		return fmt.Errorf("document: %d mix layers, want 1 to %d", len(d.Layers), MaxLayers)
	}
	if len(d.Layers)+2 > d.Geometry.NrHops {
		return fmt.Errorf("document: %d mix layers need %d hops, the geometry has %d", len(d.Layers), len(d.Layers)+2, d.Geometry.NrHops)
	}
	if len(d.Providers) == 0 {
		return fmt.Errorf("document: no Providers")
	}
	seen := make(map[keys.NodeID]bool)
	check := func(where string, e *NodeEntry, provider bool) error {
		if e.Descriptor == nil {
			return fmt.Errorf("document: %s: entry without a decoded descriptor", where)
		}
		if len(e.Signed) == 0 || len(e.Signed) > MaxSignedDescriptorSize {
			return fmt.Errorf("document: %s: signed descriptor of %d bytes", where, len(e.Signed))
		}
		if e.Descriptor.Epoch != d.Epoch {
			return fmt.Errorf("document: %s: descriptor for epoch %d in the document for epoch %d", where, e.Descriptor.Epoch, d.Epoch)
		}
		if e.Descriptor.Provider != provider {
			return fmt.Errorf("document: %s: descriptor says Provider=%v", where, e.Descriptor.Provider)
		}
		id := e.NodeID()
		if seen[id] {
			return fmt.Errorf("document: %s: node %s listed twice", where, id)
		}
		seen[id] = true
		if len(seen) > MaxDocumentNodes {
			return fmt.Errorf("document: more than %d nodes", MaxDocumentNodes)
		}
		return nil
	}
	for l, layer := range d.Layers {
		if len(layer) == 0 {
			return fmt.Errorf("document: mix layer %d is empty", l)
		}
		for i := range layer {
			if err := check(fmt.Sprintf("layer %d entry %d", l, i), &layer[i], false); err != nil {
				return err
			}
		}
	}
	for i := range d.Providers {
		if err := check(fmt.Sprintf("Provider entry %d", i), &d.Providers[i], true); err != nil {
			return err
		}
	}
	return nil
}
