package ipc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func mustFrame(f *testing.F, v any, max int) []byte {
	b, err := encodeFrame(v, max)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzReadFrame: never panics, never returns more than the limit, and
// returns exactly the announced payload when it succeeds.
func FuzzReadFrame(f *testing.F) {
	const max = 4096
	f.Add(mustFrame(f, &Hello{Proto: "keyd", Version: 1}, max))
	f.Add(mustFrame(f, &Envelope{Type: 3, ID: 7, Body: []byte{0xf6}}, max))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 5, 1, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ReadFrame(bytes.NewReader(in), max)
		if err != nil {
			return
		}
		if len(p) == 0 || len(p) > max || len(p) > len(in)-frameHeaderSize {
			t.Fatalf("ReadFrame returned %d bytes from %d input bytes", len(p), len(in))
		}
		if !bytes.Equal(p, in[frameHeaderSize:frameHeaderSize+len(p)]) {
			t.Fatal("payload differs from input")
		}
	})
}

// FuzzDecodeEnvelope: never panics, and whatever it accepts satisfies the
// envelope rules and survives a re-encode.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, e := range []Envelope{
		{Type: 1, ID: 1, Body: []byte{0xf6}},
		{Type: 65535, ID: 1 << 63, Body: []byte{0xa1, 0x61, 0x61, 0x01}},
		{Type: 2, ID: 9, Err: &Error{Code: CodeDenied, Msg: "no"}},
	} {
		b, err := Marshal(&e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa2, 0x61, 0x49, 0x01, 0x61, 0x49, 0x02}) // duplicate key
	f.Add(nested(40))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := DecodeEnvelope(in)
		if err != nil {
			return
		}
		if e.ID == 0 || (e.Err != nil && (e.Err.Code == 0 || len(e.Body) != 0)) {
			t.Fatalf("accepted an envelope breaking the rules: %+v", e)
		}
		b, err := Marshal(e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := DecodeEnvelope(b); err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v", err)
		}
	})
}

// FuzzDecodeHello: never panics; accepted hellos have a valid name.
func FuzzDecodeHello(f *testing.F) {
	for _, h := range []Hello{{Proto: "keyd", Version: 1}, {Proto: "spoold", Version: 2, Err: &Error{Code: CodeUnsupported, Msg: "v"}}} {
		b, err := Marshal(&h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := DecodeHello(in)
		if err != nil {
			if len(in) > MaxHelloFrame && !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("oversize hello refused for another reason: %v", err)
			}
			return
		}
		if validName(h.Proto) != nil {
			t.Fatalf("accepted hello with bad name %q", h.Proto)
		}
	})
}

func TestEnvelopeRules(t *testing.T) {
	bad := []Envelope{
		{Type: 1, ID: 0, Body: []byte{0xf6}},
		{Type: 1, ID: 1, Body: []byte{0xf6}, Err: &Error{Code: CodeInvalid}},
		{Type: 1, ID: 1, Err: &Error{Code: 0, Msg: "x"}},
	}
	for _, e := range bad {
		b, err := Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeEnvelope(b); err == nil {
			t.Errorf("DecodeEnvelope accepted %+v", e)
		}
	}
	if err := (&Envelope{Type: 1, ID: 1}).checkRequest(); err == nil {
		t.Error("request without body accepted")
	}
	if err := (&Envelope{Type: 1, ID: 1}).checkReply(); err == nil {
		t.Error("reply without body or error accepted")
	}
	if err := (&Envelope{Type: 1, ID: 1, Err: &Error{Code: 1}}).checkRequest(); err == nil {
		t.Error("request carrying an error accepted")
	}
}

// TestGoldenFrames pins the wire format of ipc/PROTOCOL.md §2, §4, §5.
func TestGoldenFrames(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		// {"P": "keyd", "V": 1}
		{&Hello{Proto: "keyd", Version: 1}, "0000000ba26150646b657964615601"},
		// {"B": h'f6', "I": 7, "T": 3}
		{&Envelope{Type: 3, ID: 7, Body: []byte{0xf6}}, "0000000ba3614241f6614907615403"},
		// {"E": {"C": 2, "M": "no"}, "I": 7, "T": 3}
		{&Envelope{Type: 3, ID: 7, Err: &Error{Code: CodeDenied, Msg: "no"}}, "00000012a36145a2614302614d626e6f614907615403"},
	}
	for _, c := range cases {
		got, err := encodeFrame(c.v, 1024)
		if err != nil {
			t.Fatal(err)
		}
		if hexs := hex.EncodeToString(got); hexs != c.want {
			t.Errorf("frame of %+v = %s, want %s", c.v, hexs, c.want)
		}
	}
}
