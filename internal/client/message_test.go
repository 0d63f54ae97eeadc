package client

import (
	"bytes"
	"errors"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	const size = 2000
	id := MessageID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for _, n := range []int{0, 1, 100, MaxBody(size)} {
		body := bytes.Repeat([]byte{0xA5}, n)
		b, err := EncodeMessage(size, id, body)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != size {
			t.Fatalf("encoded %d bytes", len(b))
		}
		gotID, gotBody, err := DecodeMessage(size, b)
		if err != nil {
			t.Fatal(err)
		}
		if gotID != id || !bytes.Equal(gotBody, body) {
			t.Fatalf("round trip of %d bytes changed the message", n)
		}
	}
	if MaxBody(2000) != 1978 {
		t.Fatalf("MaxBody(2000) = %d, spec says 1978", MaxBody(2000))
	}
	if _, err := EncodeMessage(size, id, make([]byte, MaxBody(size)+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversize body: %v", err)
	}
}

func TestDecodeMessageRejects(t *testing.T) {
	const size = 64
	good, err := EncodeMessage(size, MessageID{9}, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	cases := map[string][]byte{
		"short":    good[:size-1],
		"long":     append(append([]byte{}, good...), 0),
		"version":  mut(func(b []byte) []byte { b[0] = 2; return b }),
		"reserved": mut(func(b []byte) []byte { b[1] = 1; return b }),
		"length":   mut(func(b []byte) []byte { b[21] = byte(MaxBody(size) + 1); return b }),
		"huge":     mut(func(b []byte) []byte { b[18] = 0xff; return b }),
		"padding":  mut(func(b []byte) []byte { b[size-1] = 1; return b }),
	}
	for name, b := range cases {
		if _, _, err := DecodeMessage(size, b); !errors.Is(err, ErrMalformedMessage) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNames(t *testing.T) {
	for _, ok := range []string{"alice", "a", "bob.smith_2-x", "abcdefghijklmnopqrstuvwxyz012345"} {
		if err := ValidateUserName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Alice", "al ice", "+echo", "a@b", "abcdefghijklmnopqrstuvwxyz0123456", "é"} {
		if err := ValidateUserName(bad); !errors.Is(err, ErrName) {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, ok := range []string{"+echo", "+keyserver", "+a"} {
		if err := ValidateEndpoint(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"echo", "+", "+Echo", "++x"} {
		if err := ValidateEndpoint(bad); err == nil {
			t.Errorf("endpoint %q accepted", bad)
		}
	}
	a, err := ParseAddress("bob@provider@x")
	if err == nil {
		t.Errorf("user part with '@' accepted: %+v", a)
	}
	a, err = ParseAddress("bob@prov-1")
	if err != nil || a.User != "bob" || a.Provider != "prov-1" || a.String() != "bob@prov-1" {
		t.Errorf("ParseAddress: %+v %v", a, err)
	}
	for _, bad := range []string{"bob", "bob@", "@prov", "Bob@prov"} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("address %q accepted", bad)
		}
	}
}

func TestKeyserverFormats(t *testing.T) {
	const size = 2000
	req, err := EncodeKeyserverRequest(size, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if name, err := DecodeKeyserverRequest(req); err != nil || name != "alice" {
		t.Fatalf("request round trip: %q %v", name, err)
	}
	req[size-1] = 1
	if _, err := DecodeKeyserverRequest(req); err == nil {
		t.Fatal("request padding not checked")
	}
	if _, err := EncodeKeyserverRequest(size, "Bad"); err == nil {
		t.Fatal("bad user name encoded")
	}

	ok := &KeyserverResponse{Status: KeyserverOk, User: "alice", IdentityKey: [32]byte{7, 7}}
	for _, r := range []*KeyserverResponse{ok, {Status: KeyserverNotFound, User: "bob"}, {Status: KeyserverInvalid}} {
		b, err := EncodeKeyserverResponse(size, r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeKeyserverResponse(b)
		if err != nil || *got != *r {
			t.Fatalf("response round trip: %+v %v, want %+v", got, err, r)
		}
	}
	for name, r := range map[string]*KeyserverResponse{
		"key with NotFound": {Status: KeyserverNotFound, User: "bob", IdentityKey: [32]byte{1}},
		"Invalid with name": {Status: KeyserverInvalid, User: "bob"},
		"Ok without name":   {Status: KeyserverOk, IdentityKey: [32]byte{1}},
		"unknown status":    {Status: 3, User: "bob"},
		"bad name":          {Status: KeyserverNotFound, User: "B"},
	} {
		if _, err := EncodeKeyserverResponse(size, r); err == nil {
			t.Errorf("%s encoded", name)
		}
	}
	good, _ := EncodeKeyserverResponse(size, ok)
	for name, f := range map[string]func(b []byte){
		"version":      func(b []byte) { b[0] = 2 },
		"status":       func(b []byte) { b[1] = 9 },
		"name length":  func(b []byte) { b[2] = 33 },
		"name padding": func(b []byte) { b[3+10] = 'x' },
		"zero key":     func(b []byte) { clear(b[3+32 : 3+64]) },
		"padding":      func(b []byte) { b[size-1] = 1 },
	} {
		b := append([]byte{}, good...)
		f(b)
		if _, err := DecodeKeyserverResponse(b); !errors.Is(err, ErrMalformedReply) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
