package boltstore

import (
	"bytes"
	"testing"

	"github.com/splitmix/splitmix/internal/spoold/storetest"
)

// FuzzDecodeUser: a damaged user record is an error, never a panic, and
// whatever decodes re-encodes to the same bytes.
func FuzzDecodeUser(f *testing.F) {
	u := &userRecord{link: *storetest.NewLink(f)}
	f.Add(u.encode())
	u.identity = bytes.Repeat([]byte{7}, 32)
	f.Add(u.encode())
	f.Add([]byte{})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := decodeUser(b)
		if err != nil {
			return
		}
		if !bytes.Equal(u.encode(), b) {
			t.Fatal("user record does not round-trip")
		}
	})
}

// FuzzDecodeMessage: as FuzzDecodeUser, for message records.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeMessage(storetest.NewMessage(10, false)))
	f.Add(encodeMessage(storetest.NewMessage(1, true)))
	f.Add([]byte{1})
	f.Add(append([]byte{1}, make([]byte, 18)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		if len(m.Body) == 0 {
			t.Fatal("decoded an empty message")
		}
		if !bytes.Equal(encodeMessage(m), b) {
			t.Fatal("message record does not round-trip")
		}
	})
}

// FuzzDecodeMark: as FuzzDecodeUser, for ephemeral mark records: only the
// one valid encoding decodes.
func FuzzDecodeMark(f *testing.F) {
	f.Add(encodeMark())
	f.Add([]byte{})
	f.Add([]byte{2})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if decodeMark(b) != nil {
			return
		}
		if !bytes.Equal(encodeMark(), b) {
			t.Fatal("mark record does not round-trip")
		}
	})
}
