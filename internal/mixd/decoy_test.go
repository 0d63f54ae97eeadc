package mixd

import (
	"context"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/mixd/decoy"
	"github.com/splitmix/splitmix/internal/mixd/mixtest"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/provider"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// unwrapTo unwraps pkt from first, hop by hop with the nodes' Sphinx keys
// of epoch, and returns the terminal node and result.
func unwrapTo(t *testing.T, sph *sphinx.Sphinx, nodes map[keys.NodeID]*mixtest.Node, epoch uint64, pkt []byte, first keys.NodeID) (*mixtest.Node, *sphinx.UnwrapResult) {
	t.Helper()
	pkt = append([]byte(nil), pkt...)
	for id, hop := first, 0; hop <= sphinx.MaxHops; hop++ {
		n := nodes[id]
		if n == nil {
			t.Fatalf("hop %d: unknown node", hop)
		}
		k, err := n.SphinxKey(epoch)
		if err != nil {
			t.Fatal(err)
		}
		res := new(sphinx.UnwrapResult)
		if err := sph.Unwrap(&k.Private, pkt, res); err != nil {
			t.Fatalf("hop %d: %v", hop, err)
		}
		if res.Commands.IsTerminal() {
			return n, res
		}
		id = res.Commands.NextHop
	}
	t.Fatal("no terminal hop")
	return nil, nil
}

// TestDeliverWithDecoys: on a Provider sending decoy loops, a loop's reply
// is consumed by the loops and never reaches the Provider's delivery; a
// user's SURB reply still does.
func TestDeliverWithDecoys(t *testing.T) {
	n := newTestNet(t)
	nodes := map[keys.NodeID]*mixtest.Node{}
	for _, l := range n.layers {
		nodes[l[0].ID] = l[0]
	}
	for _, p := range n.providers {
		nodes[p.ID] = p
	}
	const epoch = 3
	doc, err := mixtest.Document(epoch, time.Minute, sphinx.DefaultGeometry(), pki.Parameters{Mu: 0.01, MuMaxDelay: 300}, n.layers, n.providers)
	if err != nil {
		t.Fatal(err)
	}
	doc.Providers[1].Descriptor.Kaetzchen = map[string]map[string]string{provider.CapabilityEcho: {pki.KaetzchenEndpoint: "+echo"}}
	sph, err := sphinx.New(doc.Geometry)
	if err != nil {
		t.Fatal(err)
	}
	type out struct {
		pkt   []byte
		first keys.NodeID
	}
	sent := make(chan out, 1)
	loops, err := decoy.New(decoy.Config{
		Sphinx:   sph,
		Self:     n.providers[0].ID,
		Document: func() (*pki.Document, bool) { return doc, true },
		Send: func(pkt []byte, first keys.NodeID, _ time.Time) bool {
			sent <- out{pkt, first}
			return true
		},
		Slack: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(loops.Close)
	if err := loops.SendOne(); err != nil {
		t.Fatal(err)
	}
	o := <-sent
	dst, req := unwrapTo(t, sph, nodes, epoch, o.pkt, o.first)
	if dst != n.providers[1] {
		t.Fatalf("loop went to %s", dst.Name)
	}
	surb, msg, err := sph.DecodeForwardPayload(req.Payload)
	if err != nil {
		t.Fatal(err)
	}
	reply, next, err := sph.NewPacketFromSURB(surb, msg) // p1's echo
	if err != nil {
		t.Fatal(err)
	}
	back, res := unwrapTo(t, sph, nodes, epoch, reply, next)
	if back != n.providers[0] {
		t.Fatalf("reply went to %s", back.Name)
	}

	st := openStore(t)
	if err := st.AddUser(context.Background(), []byte("alice"), n.providers[0].Link.Public()); err != nil {
		t.Fatal(err)
	}
	prov := newProvider(t, st, nil)
	deliver := deliverWithDecoys(loops, prov)
	if !deliver(res, time.Now()) {
		t.Fatal("the loop's reply was refused")
	}
	if s := loops.Stats(); s.Returned != 1 {
		t.Fatalf("loop stats %+v", s)
	}

	// A user's SURB reply goes on to the Provider and is spooled.
	user := *res
	user.Payload = make([]byte, sph.Geometry().PayloadLength)
	user.Commands.Recipient, _ = sphinx.NewRecipientID("alice")
	if !deliver(&user, time.Now()) {
		t.Fatal("a user's reply was refused")
	}
	deadline := time.Now().Add(10 * time.Second)
	for prov.Stats().RepliesStored != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the user's reply was not stored: %+v", prov.Stats())
		}
		time.Sleep(5 * time.Millisecond) // polling
	}
	if ps := prov.Stats(); ps.Drop(provider.DropReplyToEndpoint) != 0 {
		t.Fatalf("the loop's reply reached the Provider: %+v", ps)
	}
}

// TestDecoySection: STATS has a decoy section on every node, with every
// key; enabled only where loops run.
func TestDecoySection(t *testing.T) {
	lines := func(p *pipeline) map[string]string {
		var st management.Stats
		decoySection(st.Add("decoy"), p)
		m := map[string]string{}
		for _, l := range st.Sections[0].Lines {
			m[l.Key] = l.Value
		}
		return m
	}
	want := []string{"enabled", "sent", "returned", "lost", "outstanding", "bad_reply", "unmatched",
		"no_document", "no_echo", "no_route", "table_full", "send_refused", "build_failed",
		"rtt_last_ms", "rtt_mean_ms", "rtt_max_ms", "mean_interval_ms"}
	off := lines(nil)
	for _, k := range want {
		if _, ok := off[k]; !ok {
			t.Errorf("no key %q", k)
		}
	}
	if off["enabled"] != "false" || off["sent"] != "0" {
		t.Fatalf("without a pipeline: %v", off)
	}
	sph, err := sphinx.New(sphinx.DefaultGeometry())
	if err != nil {
		t.Fatal(err)
	}
	loops, err := decoy.New(decoy.Config{Sphinx: sph,
		Document: func() (*pki.Document, bool) { return nil, false },
		Send:     func([]byte, keys.NodeID, time.Time) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	_ = loops.SendOne() // no document
	on := lines(&pipeline{decoy: loops})
	if on["enabled"] != "true" || on["no_document"] != "1" || on["mean_interval_ms"] != "10000" {
		t.Fatalf("with loops: %v", on)
	}
	if off := lines(&pipeline{}); off["enabled"] != "false" {
		t.Fatalf("a pipeline without loops: %v", off)
	}
}
