package pki

import (
	"bytes"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/splitmix/splitmix/internal/sphinx/geo"
)

// MaxEpochPeriod bounds Document.EpochPeriod (docs/spec/dirauth.md §5.4).
const MaxEpochPeriod = 7 * 24 * time.Hour

// wireDocument is the CBOR form of a Document (docs/spec/dirauth.md §5.1).
// Node entries travel as the byte strings the nodes posted.
type wireDocument struct {
	Version     uint32       `cbor:"Version"`
	Epoch       uint64       `cbor:"Epoch"`
	EpochPeriod uint64       `cbor:"EpochPeriod"` // milliseconds
	Geometry    geo.Geometry `cbor:"Geometry"`
	Parameters  Parameters   `cbor:"Parameters"`
	Layers      [][][]byte   `cbor:"Layers"`
	Providers   [][]byte     `cbor:"Providers"`
}

// docDecMode is strict like the descriptor's decoder, with room for the
// node lists (docs/spec/dirauth.md §5.4).
var docDecMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   5,
		MaxArrayElements:  MaxDocumentNodes,
		MaxMapPairs:       32,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err) // static options
	}
	return m
}()

// Marshal validates d and returns its canonical encoding: the bytes the
// authority signs (docs/spec/dirauth.md §5.1).
func (d *Document) Marshal() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	w := wireDocument{
		Version:     d.Version,
		Epoch:       d.Epoch,
		EpochPeriod: uint64(d.EpochPeriod / time.Millisecond),
		Geometry:    d.Geometry,
		Parameters:  d.Parameters,
		Layers:      make([][][]byte, len(d.Layers)),
		Providers:   make([][]byte, len(d.Providers)),
	}
	for l, layer := range d.Layers {
		w.Layers[l] = make([][]byte, len(layer))
		for i := range layer {
			w.Layers[l][i] = layer[i].Signed
		}
	}
	for i := range d.Providers {
		w.Providers[i] = d.Providers[i].Signed
	}
	b, err := encMode.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("document: encode: %w", err)
	}
	if len(b) > MaxDocumentSize {
		return nil, fmt.Errorf("document: %d bytes encoded, at most %d", len(b), MaxDocumentSize)
	}
	return b, nil
}

// ParseDocument decodes an encoded document, verifies every node's
// self-signature and validates the result. Like Parse it accepts only the
// canonical encoding. It does not check the authority's signature: use
// SignedDocument.Verify for documents from the network.
func ParseDocument(b []byte) (*Document, error) {
	if len(b) > MaxDocumentSize {
		return nil, fmt.Errorf("document: %d bytes, at most %d", len(b), MaxDocumentSize)
	}
	var w wireDocument
	if err := docDecMode.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("document: decode: %w", err)
	}
	if w.EpochPeriod == 0 || w.EpochPeriod > uint64(MaxEpochPeriod/time.Millisecond) {
		return nil, fmt.Errorf("document: epoch period of %d ms, want 1 to %d", w.EpochPeriod, MaxEpochPeriod/time.Millisecond)
	}
	if len(w.Layers) < 1 || len(w.Layers) > MaxLayers {
		return nil, fmt.Errorf("document: %d mix layers, want 1 to %d", len(w.Layers), MaxLayers)
	}
	n := len(w.Providers)
	for _, layer := range w.Layers {
		n += len(layer)
	}
	if n > MaxDocumentNodes {
		return nil, fmt.Errorf("document: %d nodes, at most %d", n, MaxDocumentNodes)
	}
	d := &Document{
		Version:     w.Version,
		Epoch:       w.Epoch,
		EpochPeriod: time.Duration(w.EpochPeriod) * time.Millisecond,
		Geometry:    w.Geometry,
		Parameters:  w.Parameters,
		Layers:      make([][]NodeEntry, len(w.Layers)),
		Providers:   make([]NodeEntry, len(w.Providers)),
	}
	// The cheap checks first: a malformed document fails before the
	// signature of every node is checked.
	if d.Version != DocumentVersion {
		return nil, fmt.Errorf("document: version %d, want %d", d.Version, DocumentVersion)
	}
	if err := d.Geometry.Validate(); err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	var err error
	for l, layer := range w.Layers {
		d.Layers[l] = make([]NodeEntry, len(layer))
		for i, s := range layer {
			if d.Layers[l][i], err = NewNodeEntry(s); err != nil {
				return nil, fmt.Errorf("document: layer %d entry %d: %w", l, i, err)
			}
		}
	}
	for i, s := range w.Providers {
		if d.Providers[i], err = NewNodeEntry(s); err != nil {
			return nil, fmt.Errorf("document: Provider entry %d: %w", i, err)
		}
	}
	canon, err := d.Marshal() // validates
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("document: not in canonical encoding")
	}
	return d, nil
}
