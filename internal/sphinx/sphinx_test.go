package sphinx

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// route sends pkt through nodes, checking each hop's commands, and returns
// the terminal hop's result.
func route(t *testing.T, s *Sphinx, nodes []testNode, pkt []byte) UnwrapResult {
	t.Helper()
	var res UnwrapResult
	for i, nd := range nodes {
		if err := s.Unwrap(&nd.priv, pkt, &res); err != nil {
			t.Fatalf("hop %d of %d: %v", i, len(nodes), err)
		}
		c := res.Commands
		wantDelay := uint32(1000*(i+1) + i)
		if !c.HasDelay || c.Delay != wantDelay {
			t.Fatalf("hop %d: delay %v %d, want %d", i, c.HasDelay, c.Delay, wantDelay)
		}
		if i < len(nodes)-1 {
			if !c.HasNextHop || c.HasRecipient || c.NextHop != nodes[i+1].id || res.Payload != nil {
				t.Fatalf("hop %d: commands %+v, want next hop %x", i, c, nodes[i+1].id)
			}
		} else if !c.IsTerminal() || c.HasNextHop {
			t.Fatalf("terminal hop %d: commands %+v", i, c)
		}
	}
	return res
}

func TestForwardRoundTrip(t *testing.T) {
	s := mustSphinx(t, 5, 200)
	rng := newTestRand("forward")
	all := testNodes(rng, 5)
	recipient, _ := NewRecipientID("alice")
	for n := 1; n <= 5; n++ {
		for _, withSURB := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d hops, SURB %v", n, withSURB), func(t *testing.T) {
				nodes := all[:n]
				msg := []byte(fmt.Sprintf("hello through %d hops", n))
				var surb []byte
				if withSURB {
					var err error
					surb, _, _, err = s.NewSURB(rng, testPath(all[5-n:]), recipient)
					if err != nil {
						t.Fatal(err)
					}
				}
				fp, err := s.EncodeForwardPayload(surb, msg)
				if err != nil {
					t.Fatal(err)
				}
				pkt, err := s.NewPacket(rng, testPath(nodes), recipient, fp)
				if err != nil {
					t.Fatal(err)
				}
				if len(pkt) != s.Geometry().PacketLength {
					t.Fatalf("packet of %d bytes, want %d", len(pkt), s.Geometry().PacketLength)
				}
				res := route(t, s, nodes, pkt)
				if res.Commands.Recipient != recipient || res.Commands.HasSURBReply {
					t.Fatalf("terminal commands %+v", res.Commands)
				}
				gotSURB, gotMsg, err := s.DecodeForwardPayload(res.Payload)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(gotSURB, surb) {
					t.Fatalf("SURB did not survive the trip")
				}
				if !bytes.Equal(gotMsg[:len(msg)], msg) || !isZero(gotMsg[len(msg):]) {
					t.Fatalf("message %q", gotMsg)
				}
			})
		}
	}
}

func TestSURBRoundTrip(t *testing.T) {
	s := mustSphinx(t, 5, 100)
	rng := newTestRand("surb")
	all := testNodes(rng, 5)
	me, _ := NewRecipientID("bob")
	for n := 1; n <= 5; n++ {
		t.Run(fmt.Sprintf("%d hops", n), func(t *testing.T) {
			nodes := all[:n]
			surb, keys, id, err := s.NewSURB(rng, testPath(nodes), me)
			if err != nil {
				t.Fatal(err)
			}
			reply := bytes.Repeat([]byte("reply "), 50)
			pkt, first, err := s.NewPacketFromSURB(surb, reply)
			if err != nil {
				t.Fatal(err)
			}
			if first != nodes[0].id {
				t.Fatalf("first hop %x, want %x", first, nodes[0].id)
			}
			if bytes.Contains(pkt, reply[:32]) {
				t.Fatal("reply visible in the packet")
			}
			res := route(t, s, nodes, pkt)
			c := res.Commands
			if !c.HasSURBReply || c.SURBID != id || c.Recipient != me {
				t.Fatalf("terminal commands %+v, want SURB reply %x to %x", c, id, me)
			}
			if len(res.Payload) != s.Geometry().PayloadLength {
				t.Fatalf("SURB reply payload of %d bytes", len(res.Payload))
			}
			got, err := s.DecryptSURBPayload(keys, res.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != s.Geometry().ForwardPayloadLength || !bytes.Equal(got[:len(reply)], reply) || !isZero(got[len(reply):]) {
				t.Fatalf("decrypted reply %q", got)
			}
		})
	}
}

// TestSURBReplyTamperDetected: any bit of the delivered reply flipped, or
// the wrong keys, fails at the SURB's creator.
func TestSURBReplyTamperDetected(t *testing.T) {
	s := mustSphinx(t, 3, 16)
	rng := newTestRand("surb-tamper")
	nodes := testNodes(rng, 3)
	me, _ := NewRecipientID("carol")
	surb, keys, _, err := s.NewSURB(rng, testPath(nodes), me)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKeys, _, err := s.NewSURB(rng, testPath(nodes), me)
	if err != nil {
		t.Fatal(err)
	}
	pkt, _, err := s.NewPacketFromSURB(surb, []byte("secret reply"))
	if err != nil {
		t.Fatal(err)
	}
	res := route(t, s, nodes, pkt)
	delivered := bytes.Clone(res.Payload)

	if _, err := s.DecryptSURBPayload(otherKeys, bytes.Clone(delivered)); !errors.Is(err, ErrPayloadAuth) {
		t.Fatalf("wrong keys: %v, want ErrPayloadAuth", err)
	}
	for i := range delivered {
		p := bytes.Clone(delivered)
		p[i] ^= 1 << (i % 8)
		if _, err := s.DecryptSURBPayload(keys, p); !errors.Is(err, ErrPayloadAuth) {
			t.Fatalf("byte %d flipped: %v, want ErrPayloadAuth", i, err)
		}
	}
	if got, err := s.DecryptSURBPayload(keys, delivered); err != nil || !bytes.HasPrefix(got, []byte("secret reply")) {
		t.Fatalf("untouched reply: %q, %v", got, err)
	}
}

// TestReplayTagStable: the same packet gives the same tag at a node every
// time (so a replay is recognised), different packets and different keys
// give different tags, and the tag is what a second Unwrap reports.
func TestReplayTagStable(t *testing.T) {
	s := mustSphinx(t, 3, 32)
	rng := newTestRand("tags")
	nodes := testNodes(rng, 3)
	recipient, _ := NewRecipientID("dave")
	pkt, err := s.NewPacket(rng, testPath(nodes), recipient, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	var r1, r2, r3 UnwrapResult
	p1, p2 := bytes.Clone(pkt), bytes.Clone(pkt)
	if err := s.Unwrap(&nodes[0].priv, p1, &r1); err != nil {
		t.Fatal(err)
	}
	if err := s.Unwrap(&nodes[0].priv, p2, &r2); err != nil {
		t.Fatal(err)
	}
	if r1.Tag != r2.Tag || isZero(r1.Tag[:]) {
		t.Fatalf("tags of one packet differ: %x %x", r1.Tag, r2.Tag)
	}
	if !bytes.Equal(p1, p2) {
		t.Fatal("unwrapping is not deterministic")
	}
	if err := s.Unwrap(&nodes[1].priv, p1, &r3); err != nil {
		t.Fatal(err)
	}
	if r3.Tag == r1.Tag {
		t.Fatal("the next hop's tag equals this hop's")
	}
	other, err := s.NewPacket(rng, testPath(nodes), recipient, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unwrap(&nodes[0].priv, other, &r3); err != nil {
		t.Fatal(err)
	}
	if r3.Tag == r1.Tag {
		t.Fatal("two packets share a tag")
	}
}

func TestUnwrapRejects(t *testing.T) {
	s := mustSphinx(t, 3, 32)
	rng := newTestRand("rejects")
	nodes := testNodes(rng, 3)
	recipient, _ := NewRecipientID("erin")
	pkt, err := s.NewPacket(rng, testPath(nodes), recipient, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	var res UnwrapResult
	for _, tc := range []struct {
		name string
		key  *[32]byte
		pkt  func() []byte
		want error
	}{
		{"short", &nodes[0].priv, func() []byte { return pkt[:len(pkt)-1] }, ErrPacketSize},
		{"long", &nodes[0].priv, func() []byte { return append(bytes.Clone(pkt), 0) }, ErrPacketSize},
		{"empty", &nodes[0].priv, func() []byte { return nil }, ErrPacketSize},
		{"version", &nodes[0].priv, func() []byte { p := bytes.Clone(pkt); p[0] = 2; return p }, ErrVersion},
		{"reserved", &nodes[0].priv, func() []byte { p := bytes.Clone(pkt); p[1] = 1; return p }, ErrVersion},
		{"low order alpha", &nodes[0].priv, func() []byte { p := bytes.Clone(pkt); clear(p[2:34]); return p }, ErrGroupElement},
		{"wrong key", &nodes[1].priv, func() []byte { return bytes.Clone(pkt) }, ErrMAC},
	} {
		p := tc.pkt()
		before := bytes.Clone(p)
		err := s.Unwrap(tc.key, p, &res)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if !bytes.Equal(p, before) {
			t.Errorf("%s: the rejected packet was modified", tc.name)
		}
		if res.Payload != nil || res.Commands != (Commands{}) || res.Tag != (ReplayTag{}) {
			t.Errorf("%s: result not cleared: %+v", tc.name, res)
		}
	}
}

// TestUnwrapNoAlloc: the node's per-packet path allocates nothing, at a
// forwarding hop and at a terminal hop.
func TestUnwrapNoAlloc(t *testing.T) {
	s := mustSphinx(t, 5, DefaultUserForwardPayloadLength)
	rng := newTestRand("allocs")
	nodes := testNodes(rng, 2)
	recipient, _ := NewRecipientID("frank")
	pkt, err := s.NewPacket(rng, testPath(nodes), recipient, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(pkt))
	var res UnwrapResult
	for i, nd := range nodes {
		if err := s.Unwrap(&nd.priv, bytes.Clone(pkt), &res); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			copy(buf, pkt)
			if err := s.Unwrap(&nd.priv, buf, &res); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("hop %d: Unwrap made %v allocations, want 0", i, allocs)
		}
		if err := s.Unwrap(&nd.priv, pkt, &res); err != nil {
			t.Fatal(err)
		}
	}
	bad := bytes.Clone(pkt)
	bad[40] ^= 1
	if a := testing.AllocsPerRun(20, func() { _ = s.Unwrap(&nodes[0].priv, bad, &res) }); a != 0 {
		t.Errorf("rejecting a packet made %v allocations, want 0", a)
	}
}

func TestNewPacketRejects(t *testing.T) {
	s := mustSphinx(t, 3, 32)
	rng := newTestRand("new-rejects")
	nodes := testNodes(rng, 4)
	var rcpt RecipientID
	if _, err := s.NewPacket(rng, nil, rcpt, nil); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := s.NewPacket(rng, testPath(nodes), rcpt, nil); err == nil {
		t.Error("4 hops accepted by a 3-hop geometry")
	}
	if _, err := s.NewPacket(rng, testPath(nodes[:3]), rcpt, make([]byte, s.Geometry().ForwardPayloadLength+1)); err == nil {
		t.Error("oversize payload accepted")
	}
	low := testPath(nodes[:2])
	low[1].PublicKey = [32]byte{1}
	if _, err := s.NewPacket(rng, low, rcpt, nil); !errors.Is(err, errLowOrderKey) {
		t.Errorf("low-order key: %v", err)
	}
	if _, _, err := s.NewPacketFromSURB(make([]byte, 10), nil); err == nil {
		t.Error("short SURB accepted")
	}
	if _, _, err := s.NewPacketFromSURB(make([]byte, s.Geometry().SURBLength), nil); !errors.Is(err, ErrVersion) {
		t.Errorf("zero SURB: %v", err)
	}
	if _, err := s.DecryptSURBPayload(make(SURBKeys, 100), make([]byte, s.Geometry().PayloadLength)); err == nil {
		t.Error("malformed SURB keys accepted")
	}
	if _, err := NewRecipientID(string(make([]byte, 33))); err == nil {
		t.Error("33-byte recipient accepted")
	}
}

func TestForwardPayloadFraming(t *testing.T) {
	s := mustSphinx(t, 2, 10)
	g := s.Geometry()
	surb := bytes.Repeat([]byte{7}, g.SURBLength)
	fp, err := s.EncodeForwardPayload(surb, []byte("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	if fp[0] != flagSURB || len(fp) != g.ForwardPayloadLength {
		t.Fatalf("framing %x", fp[:2])
	}
	gs, gm, err := s.DecodeForwardPayload(fp)
	if err != nil || !bytes.Equal(gs, surb) || string(gm) != "0123456789" {
		t.Fatalf("decode: %x %q %v", gs, gm, err)
	}
	fp, _ = s.EncodeForwardPayload(nil, []byte("hi"))
	gs, gm, err = s.DecodeForwardPayload(fp)
	if err != nil || gs != nil || string(gm[:2]) != "hi" {
		t.Fatalf("no SURB: %x %q %v", gs, gm, err)
	}
	for name, mutate := range map[string]func(b []byte){
		"flags":        func(b []byte) { b[0] = 2 },
		"reserved":     func(b []byte) { b[1] = 1 },
		"stray SURB":   func(b []byte) { b[5] = 1 },
		"short buffer": nil,
	} {
		b := bytes.Clone(fp)
		if mutate == nil {
			b = b[:len(b)-1]
		} else {
			mutate(b)
		}
		if _, _, err := s.DecodeForwardPayload(b); !errors.Is(err, ErrForwardPayload) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.EncodeForwardPayload(nil, make([]byte, 11)); err == nil {
		t.Error("oversize message accepted")
	}
	if _, err := s.EncodeForwardPayload(make([]byte, 3), nil); err == nil {
		t.Error("wrong-size SURB accepted")
	}
}
