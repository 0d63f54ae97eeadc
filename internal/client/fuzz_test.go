package client

import (
	"bytes"
	"testing"
)

// FuzzDecodeMessage: the user message decoder never panics, and whatever
// it accepts re-encodes to the same bytes (the encoding is canonical).
func FuzzDecodeMessage(f *testing.F) {
	const size = 96
	good, _ := EncodeMessage(size, MessageID{1}, []byte("hello"))
	f.Add(good)
	f.Add(make([]byte, size))
	f.Add([]byte{1, 0})
	full, _ := EncodeMessage(size, MessageID{2}, bytes.Repeat([]byte{0xff}, MaxBody(size)))
	f.Add(full)
	f.Fuzz(func(t *testing.T, b []byte) {
		id, body, err := DecodeMessage(size, b)
		if err != nil {
			return
		}
		again, err := EncodeMessage(size, id, body)
		if err != nil {
			t.Fatalf("accepted message does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("decode/encode is not the identity")
		}
	})
}

// FuzzDecodeKeyserverResponse: the keyserver response decoder never panics
// and is canonical.
func FuzzDecodeKeyserverResponse(f *testing.F) {
	const size = 128
	ok, _ := EncodeKeyserverResponse(size, &KeyserverResponse{Status: KeyserverOk, User: "alice", IdentityKey: [32]byte{1}})
	f.Add(ok)
	nf, _ := EncodeKeyserverResponse(size, &KeyserverResponse{Status: KeyserverNotFound, User: "bob"})
	f.Add(nf)
	f.Add(make([]byte, size))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeKeyserverResponse(b)
		if err != nil {
			return
		}
		again, err := EncodeKeyserverResponse(len(b), r)
		if err != nil {
			t.Fatalf("accepted response does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("decode/encode is not the identity")
		}
	})
}

// FuzzDecodeKeyserverRequest: the Provider-side request decoder never panics.
func FuzzDecodeKeyserverRequest(f *testing.F) {
	req, _ := EncodeKeyserverRequest(64, "alice")
	f.Add(req)
	f.Add([]byte{1, 40})
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := DecodeKeyserverRequest(b)
		if err == nil && ValidateUserName(name) != nil {
			t.Fatalf("accepted invalid name %q", name)
		}
	})
}
