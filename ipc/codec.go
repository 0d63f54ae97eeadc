package ipc

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Decoder limits. See ipc/PROTOCOL.md §3.
const (
	maxNestedLevels  = 16
	maxArrayElements = 65536
	maxMapPairs      = 65536
)

// The strict CBOR modes every protocol uses. They are built once; the
// options are constants, so a failure is a programming error caught by the
// package's tests, reported by every Marshal/Unmarshal call.
var (
	decMode, encMode, modeErr = buildModes()
)

func buildModes() (cbor.DecMode, cbor.EncMode, error) {
	simple, err := cbor.NewSimpleValueRegistryFromDefaults(
		cbor.WithRejectedSimpleValue(cbor.SimpleValue(23)), // undefined
	)
	if err != nil {
		return nil, nil, fmt.Errorf("ipc: simple value registry: %w", err)
	}
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   maxNestedLevels,
		MaxArrayElements:  maxArrayElements,
		MaxMapPairs:       maxMapPairs,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		SimpleValues:      simple,
		NaN:               cbor.NaNDecodeForbidden,
		Inf:               cbor.InfDecodeForbidden,
	}.DecMode()
	if err != nil {
		return nil, nil, fmt.Errorf("ipc: CBOR decoding mode: %w", err)
	}
	eo := cbor.CoreDetEncOptions()
	eo.IndefLength = cbor.IndefLengthForbidden
	em, err := eo.EncMode()
	if err != nil {
		return nil, nil, fmt.Errorf("ipc: CBOR encoding mode: %w", err)
	}
	return dm, em, nil
}

// Marshal encodes v with the core deterministic encoding of RFC 8949
// §4.2.1, the encoding of every IPC payload. See ipc/PROTOCOL.md §3.
func Marshal(v any) ([]byte, error) {
	if modeErr != nil {
		return nil, modeErr
	}
	return encMode.Marshal(v)
}

// Unmarshal decodes exactly one CBOR item from b into v, strictly: unknown
// fields, duplicate keys, deep nesting, oversize arrays and maps,
// indefinite lengths, tags and trailing bytes are errors.
// See ipc/PROTOCOL.md §3.
func Unmarshal(b []byte, v any) error {
	if modeErr != nil {
		return modeErr
	}
	return decMode.Unmarshal(b, v)
}
