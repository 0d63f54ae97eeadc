package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// ErrNoRoute reports a document through which no path can be built: an
// empty layer, a missing Sphinx key, a path longer than the geometry allows.
var ErrNoRoute = errors.New("client: no route")

// randUint64 reads 8 bytes from rng.
func randUint64(rng io.Reader) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(rng, b[:]); err != nil {
		return 0, fmt.Errorf("client: random source: %w", err)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// randIntN returns a uniform integer in [0, n), n > 0, by rejection sampling
// so that no value is favoured.
func randIntN(rng io.Reader, n int) (int, error) {
	if n <= 0 {
		return 0, fmt.Errorf("client: randIntN(%d)", n)
	}
	un := uint64(n)
	limit := math.MaxUint64 - math.MaxUint64%un // values >= limit are rejected
	for {
		v, err := randUint64(rng)
		if err != nil {
			return 0, err
		}
		if v < limit {
			return int(v % un), nil
		}
	}
}

// SampleDelay draws a per-hop delay in milliseconds (docs/spec/client.md
// §4.4): floor(-ln(U)/mu) with U uniform in (0, 1] from 53 random bits,
// capped at maxDelay (and at the uint32 of a delay command). mu = 0 gives 0.
func SampleDelay(rng io.Reader, mu float64, maxDelay uint64) (uint32, error) {
	if mu < 0 || math.IsNaN(mu) || math.IsInf(mu, 0) {
		return 0, fmt.Errorf("client: delay rate Mu = %v", mu)
	}
	if mu == 0 {
		return 0, nil
	}
	v, err := randUint64(rng)
	if err != nil {
		return 0, err
	}
	u := float64(v>>11+1) / (1 << 53) // (0, 1]
	x := -math.Log(u) / mu
	limit := min(maxDelay, math.MaxUint32)
	if x >= float64(limit) {
		return uint32(limit), nil
	}
	return uint32(x), nil
}

// hop turns a node entry into a Sphinx path hop for the document's epoch.
func hop(doc *pki.Document, e *pki.NodeEntry, delay uint32) (sphinx.PathHop, error) {
	k, ok := e.Descriptor.MixKeys[doc.Epoch]
	if !ok {
		return sphinx.PathHop{}, fmt.Errorf("%w: node %q has no Sphinx key for epoch %d", ErrNoRoute, e.Descriptor.Name, doc.Epoch)
	}
	return sphinx.PathHop{ID: e.NodeID(), PublicKey: k, Delay: delay}, nil
}

// mixHops picks one mix per layer, uniformly (§4.2), each with a sampled delay.
func mixHops(rng io.Reader, doc *pki.Document) ([]sphinx.PathHop, error) {
	if len(doc.Layers) == 0 {
		return nil, fmt.Errorf("%w: the document has no mix layers", ErrNoRoute)
	}
	hops := make([]sphinx.PathHop, 0, len(doc.Layers)+2)
	for l, layer := range doc.Layers {
		if len(layer) == 0 {
			return nil, fmt.Errorf("%w: mix layer %d is empty", ErrNoRoute, l)
		}
		i, err := randIntN(rng, len(layer))
		if err != nil {
			return nil, err
		}
		d, err := SampleDelay(rng, doc.Parameters.Mu, doc.Parameters.MuMaxDelay)
		if err != nil {
			return nil, err
		}
		h, err := hop(doc, &layer[i], d)
		if err != nil {
			return nil, err
		}
		hops = append(hops, h)
	}
	return hops, nil
}

// ForwardPath builds the Sphinx path of a forward packet from a client of
// src to a recipient at dst (docs/spec/client.md §4.1, §4.5): src, one mix
// per layer, dst. Every hop but the last gets a sampled delay; the last gets
// one only if the packet carries a SURB (the delay dst holds the reply).
func ForwardPath(rng io.Reader, doc *pki.Document, src, dst *pki.NodeEntry, withSURB bool) ([]sphinx.PathHop, error) {
	if len(doc.Layers)+2 > doc.Geometry.NrHops {
		return nil, fmt.Errorf("%w: %d layers need %d hops, the geometry has %d", ErrNoRoute, len(doc.Layers), len(doc.Layers)+2, doc.Geometry.NrHops)
	}
	d0, err := SampleDelay(rng, doc.Parameters.Mu, doc.Parameters.MuMaxDelay)
	if err != nil {
		return nil, err
	}
	first, err := hop(doc, src, d0)
	if err != nil {
		return nil, err
	}
	mixes, err := mixHops(rng, doc)
	if err != nil {
		return nil, err
	}
	var dl uint32
	if withSURB {
		if dl, err = SampleDelay(rng, doc.Parameters.Mu, doc.Parameters.MuMaxDelay); err != nil {
			return nil, err
		}
	}
	last, err := hop(doc, dst, dl)
	if err != nil {
		return nil, err
	}
	path := append([]sphinx.PathHop{first}, mixes...)
	return append(path, last), nil
}

// ReplyPath builds the return path of a SURB for a client of src
// (docs/spec/client.md §4.3, §4.5): one mix per layer with sampled delays,
// then src with delay 0.
func ReplyPath(rng io.Reader, doc *pki.Document, src *pki.NodeEntry) ([]sphinx.PathHop, error) {
	if len(doc.Layers)+1 > doc.Geometry.NrHops {
		return nil, fmt.Errorf("%w: %d layers need %d hops, the geometry has %d", ErrNoRoute, len(doc.Layers), len(doc.Layers)+1, doc.Geometry.NrHops)
	}
	mixes, err := mixHops(rng, doc)
	if err != nil {
		return nil, err
	}
	last, err := hop(doc, src, 0)
	if err != nil {
		return nil, err
	}
	return append(mixes, last), nil
}

// PathDelay is the sum of a path's delays.
func PathDelay(path []sphinx.PathHop) time.Duration {
	var t time.Duration
	for _, h := range path {
		t += time.Duration(h.Delay) * time.Millisecond
	}
	return t
}
