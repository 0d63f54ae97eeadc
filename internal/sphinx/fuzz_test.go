package sphinx

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// FuzzUnwrap: arbitrary bytes never panic Unwrap and never pass without a
// valid header MAC. The input is used twice: as a packet of its own (any length),
// and XORed into a valid single-hop packet, where any change must be
// rejected (header: MAC or version; payload: the terminal authenticator).
func FuzzUnwrap(f *testing.F) {
	s := mustSphinx(f, 2, 16)
	rng := newTestRand("fuzz-unwrap")
	nodes := testNodes(rng, 2)
	rcpt, _ := NewRecipientID("fuzz")
	valid, err := s.NewPacket(rng, testPath(nodes[:1]), rcpt, []byte("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	two, err := s.NewPacket(rng, testPath(nodes), rcpt, []byte("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{})
	f.Add(valid)
	f.Add(two)
	f.Add(make([]byte, len(valid)))
	f.Add([]byte{1, 0, 9})
	flip := make([]byte, len(valid))
	flip[len(flip)-1] = 1
	f.Add(flip)
	f.Fuzz(func(t *testing.T, in []byte) {
		var res UnwrapResult
		pkt := bytes.Clone(in)
		// Only a header we built carries a valid MAC; a forwarding hop does
		// not authenticate the payload, so two's header with any payload
		// passes, but valid (terminal) must match in full.
		hl := s.Geometry().HeaderLength
		if err := s.Unwrap(&nodes[0].priv, pkt, &res); err == nil && !bytes.Equal(in[:hl], two[:hl]) && !bytes.Equal(in, valid) {
			t.Fatalf("arbitrary bytes unwrapped: %+v", res.Commands)
		}
		pkt = bytes.Clone(valid)
		changed := false
		for i := range min(len(in), len(pkt)) {
			pkt[i] ^= in[i]
			changed = changed || in[i] != 0
		}
		err := s.Unwrap(&nodes[0].priv, pkt, &res)
		if changed && err == nil {
			t.Fatal("a modified packet unwrapped")
		}
		if !changed && err != nil {
			t.Fatalf("the valid packet failed: %v", err)
		}
		if err != nil && !errors.Is(err, ErrMAC) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrPayloadAuth) && !errors.Is(err, ErrGroupElement) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzCommands: the routing command decoder never panics, and whatever it
// accepts re-encodes to the same bytes (the encoding is canonical, §4).
func FuzzCommands(f *testing.F) {
	full := make([]byte, PerHopRoutingInfoLength)
	(&Commands{HasNextHop: true, HasDelay: true, Delay: 9}).encode(full)
	term := make([]byte, PerHopRoutingInfoLength)
	(&Commands{HasRecipient: true, HasSURBReply: true, HasDelay: true}).encode(term)
	f.Add(full)
	f.Add(term)
	f.Add([]byte{})
	f.Add([]byte{cmdRecipient})
	f.Add([]byte{cmdDelay, 1, 2, 3, 4, cmdRecipient})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Commands
		if err := decodeCommands(b, &c); err != nil {
			if !errors.Is(err, ErrCommands) {
				t.Fatalf("error %v does not wrap ErrCommands", err)
			}
			return
		}
		if len(b) > PerHopRoutingInfoLength {
			return // the node only ever decodes r bytes; longer input cannot round-trip
		}
		out := make([]byte, len(b))
		if len(b) < PerHopRoutingInfoLength {
			out = make([]byte, PerHopRoutingInfoLength)
		}
		if err := c.encode(out); err != nil {
			t.Fatalf("accepted commands do not encode: %v", err)
		}
		if !bytes.Equal(out[:len(b)], b) || !isZero(out[len(b):]) {
			t.Fatalf("not canonical: %x re-encodes as %x", b, out)
		}
	})
}

// FuzzDecodeForwardPayload: the framing decoder never panics and what it
// accepts re-encodes to the same bytes.
func FuzzDecodeForwardPayload(f *testing.F) {
	s := mustSphinx(f, 1, 4)
	g := s.Geometry()
	fp, _ := s.EncodeForwardPayload(nil, []byte("ab"))
	f.Add(fp)
	fp, _ = s.EncodeForwardPayload(make([]byte, g.SURBLength), []byte("abcd"))
	f.Add(fp)
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		surb, msg, err := s.DecodeForwardPayload(b)
		if err != nil {
			return
		}
		again, err := s.EncodeForwardPayload(surb, msg)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip: %x -> %x (%v)", b, again, err)
		}
	})
}

// FuzzGeometry: a geometry decoded from a PKI document never makes New
// panic, and New accepts only consistent ones.
func FuzzGeometry(f *testing.F) {
	g := DefaultGeometry()
	b, _ := g.MarshalCanonical()
	f.Add(b)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var g Geometry
		if cbor.Unmarshal(b, &g) != nil {
			return
		}
		s, err := New(g)
		if err != nil {
			return
		}
		if d := derive(g.NrHops, g.UserForwardPayloadLength); s.Geometry() != d {
			t.Fatalf("accepted inconsistent geometry %+v", g)
		}
	})
}
