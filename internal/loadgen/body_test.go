package loadgen

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestBodyRoundTrip(t *testing.T) {
	for _, size := range []int{BodyHeaderSize, BodyHeaderSize + 1, 256, 2000} {
		in := Body{Run: 0x0102030405060708, Sender: 7, Sequence: 1 << 40, Sent: 1234567 * time.Microsecond}
		p, err := in.Encode(size)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(p) != size {
			t.Fatalf("size %d: encoded %d bytes", size, len(p))
		}
		out, err := DecodeBody(p)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if out != in {
			t.Fatalf("size %d: decoded %+v, want %+v", size, out, in)
		}
	}
}

func TestBodyEncodeRefuses(t *testing.T) {
	if _, err := (&Body{}).Encode(BodyHeaderSize - 1); err == nil {
		t.Fatal("a body smaller than the header was encoded")
	}
	if _, err := (&Body{Sent: -1}).Encode(64); err == nil {
		t.Fatal("a negative send time was encoded")
	}
}

func TestDecodeBodyRejects(t *testing.T) {
	good, err := (&Body{Run: 1, Sender: 2, Sequence: 3, Sent: 4}).Encode(64)
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(p []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string][]byte{
		"empty":       nil,
		"short":       good[:BodyHeaderSize-1],
		"magic":       mutate(func(p []byte) []byte { p[0] = 'X'; return p }),
		"version":     mutate(func(p []byte) []byte { p[4] = 2; return p }),
		"reserved":    mutate(func(p []byte) []byte { p[5] = 1; return p }),
		"negative":    mutate(func(p []byte) []byte { p[26] = 0x80; return p }),
		"padding":     mutate(func(p []byte) []byte { p[len(p)-1] = 1; return p }),
		"user's text": []byte("hello, this is an ordinary message of a person"),
	}
	for name, p := range cases {
		if _, err := DecodeBody(p); !errors.Is(err, ErrBadBody) {
			t.Errorf("%s: got %v, want ErrBadBody", name, err)
		}
	}
}

// FuzzDecodeBody: DecodeBody takes bytes from the network. It must never
// panic, and whatever it accepts must encode back to the same bytes.
func FuzzDecodeBody(f *testing.F) {
	good, _ := (&Body{Run: 9, Sender: 1, Sequence: 2, Sent: time.Second}).Encode(BodyHeaderSize + 8)
	f.Add(good)
	f.Add(good[:BodyHeaderSize])
	f.Add([]byte{})
	f.Add([]byte("SMLD\x01\x00"))
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := DecodeBody(p)
		if err != nil {
			if !errors.Is(err, ErrBadBody) {
				t.Fatalf("error %v does not wrap ErrBadBody", err)
			}
			return
		}
		again, err := b.Encode(len(p))
		if err != nil {
			t.Fatalf("accepted %x but cannot encode %+v: %v", p, b, err)
		}
		if !bytes.Equal(again, p) {
			t.Fatalf("accepted %x, re-encoded as %x", p, again)
		}
	})
}
