package pki

import (
	"bytes"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/splitmix/splitmix/internal/keys"
)

// wireDescriptor is the CBOR form of a Descriptor (docs/spec/pki.md §1.2).
// Keys travel as byte strings whose lengths Parse checks exactly.
type wireDescriptor struct {
	Version     uint32                       `cbor:"Version"`
	Name        string                       `cbor:"Name"`
	Epoch       uint64                       `cbor:"Epoch"`
	IdentityKey []byte                       `cbor:"IdentityKey"`
	LinkKey     []byte                       `cbor:"LinkKey"`
	MixKeys     map[uint64][]byte            `cbor:"MixKeys"`
	Addresses   map[string][]string          `cbor:"Addresses"`
	Provider    bool                         `cbor:"Provider"`
	Kaetzchen   map[string]map[string]string `cbor:"Kaetzchen,omitempty"`
}

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	// Core deterministic encoding (RFC 8949 §4.2.1): shortest integers,
	// definite lengths, map keys sorted bytewise.
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  MaxAddresses * 2,
		MaxMapPairs:       64,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Marshal validates d and returns its canonical encoding
// (docs/spec/pki.md §1.2): the bytes that are signed.
func (d *Descriptor) Marshal() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	w := wireDescriptor{
		Version:     d.Version,
		Name:        d.Name,
		Epoch:       d.Epoch,
		IdentityKey: d.IdentityKey[:],
		LinkKey:     d.LinkKey.Bytes(),
		MixKeys:     make(map[uint64][]byte, len(d.MixKeys)),
		Addresses:   d.Addresses,
		Provider:    d.Provider,
		Kaetzchen:   d.Kaetzchen,
	}
	for e, k := range d.MixKeys {
		w.MixKeys[e] = k[:]
	}
	b, err := encMode.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("descriptor: encode: %w", err)
	}
	if len(b) > MaxDescriptorSize {
		return nil, fmt.Errorf("descriptor: %d bytes encoded, at most %d", len(b), MaxDescriptorSize)
	}
	return b, nil
}

// Parse decodes and validates an encoded descriptor. It accepts only the
// canonical encoding: the input must be exactly what Marshal would produce
// for the decoded value, so one descriptor has one encoding and one
// signature message.
func Parse(b []byte) (*Descriptor, error) {
	if len(b) > MaxDescriptorSize {
		return nil, fmt.Errorf("descriptor: %d bytes, at most %d", len(b), MaxDescriptorSize)
	}
	var w wireDescriptor
	if err := decMode.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("descriptor: decode: %w", err)
	}
	if len(w.IdentityKey) != keys.IdentityPublicKeySize {
		return nil, fmt.Errorf("descriptor: identity key of %d bytes, want %d", len(w.IdentityKey), keys.IdentityPublicKeySize)
	}
	link, err := keys.ParseLinkPublicKey(w.LinkKey)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	d := &Descriptor{
		Version:   w.Version,
		Name:      w.Name,
		Epoch:     w.Epoch,
		LinkKey:   link,
		MixKeys:   make(map[uint64][keys.SphinxKeySize]byte, len(w.MixKeys)),
		Addresses: w.Addresses,
		Provider:  w.Provider,
		Kaetzchen: w.Kaetzchen,
	}
	copy(d.IdentityKey[:], w.IdentityKey)
	for e, k := range w.MixKeys {
		if len(k) != keys.SphinxKeySize {
			return nil, fmt.Errorf("descriptor: mix key for epoch %d of %d bytes, want %d", e, len(k), keys.SphinxKeySize)
		}
		d.MixKeys[e] = [keys.SphinxKeySize]byte(k)
	}
	canon, err := d.Marshal() // validates
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("descriptor: not in canonical encoding")
	}
	return d, nil
}
