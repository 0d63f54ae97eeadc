package decoy

import (
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/sphinx"
)

// FuzzConsume feeds Consume terminal results with arbitrary payloads,
// recipients and SURB ids (what the last mix controls). It must never
// panic; it consumes exactly the replies addressed to RecipientName under a
// SURB id in the table, and counts an unauthenticated one as bad_reply,
// never returned.
func FuzzConsume(f *testing.F) {
	h := newHarness(f, testParams, 0)
	// A genuine loop's keys, reused for one fresh table entry per input.
	if err := h.loops.SendOne(); err != nil {
		f.Fatal(err)
	}
	var keys sphinx.SURBKeys
	var id sphinx.SURBID
	for k, lp := range h.loops.table.loops {
		id, keys = k, append(sphinx.SURBKeys(nil), lp.keys...)
	}
	g := h.sph.Geometry()
	f.Add(make([]byte, g.PayloadLength), []byte(RecipientName), true, true)
	f.Add(make([]byte, g.PayloadLength), []byte("alice"), true, true)
	f.Add([]byte{1, 2, 3}, []byte(RecipientName), true, false)
	f.Add(make([]byte, g.PayloadLength+1), []byte(RecipientName), false, true)
	f.Fuzz(func(t *testing.T, payload, recipient []byte, surbReply, known bool) {
		if len(recipient) > sphinx.RecipientIDSize {
			recipient = recipient[:sphinx.RecipientIDSize]
		}
		lp := &loop{keys: append(sphinx.SURBKeys(nil), keys...), sent: h.clock(), deadline: h.clock().Add(time.Hour)}
		lp.token[0] = 1
		key := id
		if !known {
			key[0] ^= 0xff
		}
		h.loops.table.wipe()
		if !h.loops.table.add(key, lp) {
			t.Fatal("table refused an entry")
		}
		res := &sphinx.UnwrapResult{Payload: payload}
		res.Commands.HasRecipient = true
		res.Commands.HasSURBReply = surbReply
		copy(res.Commands.Recipient[:], recipient)
		res.Commands.SURBID = id
		before := h.loops.Stats()
		got := h.loops.Consume(res, h.clock())
		want := surbReply && known && res.Commands.Recipient == h.loops.recipient
		if got != want {
			t.Fatalf("consumed %v, want %v", got, want)
		}
		after := h.loops.Stats()
		if after.Returned != before.Returned {
			t.Fatal("an unauthenticated reply counted returned")
		}
		if got && after.BadReply != before.BadReply+1 {
			t.Fatal("a consumed bad reply not counted")
		}
	})
}
