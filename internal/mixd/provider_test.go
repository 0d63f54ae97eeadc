package mixd

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/mixd/incoming"
	"github.com/splitmix/splitmix/internal/mixd/mixtest"
	"github.com/splitmix/splitmix/internal/mixd/packet"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/mixd/scheduler"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/provider"
	"github.com/splitmix/splitmix/internal/sphinx"
	"github.com/splitmix/splitmix/internal/spoold/boltstore"
)

// testNet is a one-mix-per-layer network seen from Provider p0.
type testNet struct {
	layers    [][]*mixtest.Node
	providers []*mixtest.Node
	table     *route.Table
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	mk := func(name string, prov bool) *mixtest.Node {
		n, err := mixtest.NewNode(name, prov)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := &testNet{
		layers:    [][]*mixtest.Node{{mk("l0", false)}, {mk("l1", false)}, {mk("l2", false)}},
		providers: []*mixtest.Node{mk("p0", true), mk("p1", true)},
		table:     route.NewTable(),
	}
	doc, err := mixtest.Document(3, time.Minute, sphinx.DefaultGeometry(), pki.Parameters{}, n.layers, n.providers)
	if err != nil {
		t.Fatal(err)
	}
	v, err := route.NewView(doc, n.providers[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	n.table.Set(v, 0)
	return n
}

func openStore(t *testing.T) *boltstore.Store {
	t.Helper()
	dir := t.TempDir()
	st, err := boltstore.Open(boltstore.Options{UserDB: filepath.Join(dir, "users.db"), SpoolDB: filepath.Join(dir, "spool.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newProvider(t *testing.T, st *boltstore.Store, send func(provider.Outgoing) bool) *provider.Provider {
	t.Helper()
	sph, err := sphinx.New(sphinx.DefaultGeometry())
	if err != nil {
		t.Fatal(err)
	}
	if send == nil {
		send = func(provider.Outgoing) bool { return false }
	}
	p, err := provider.New(provider.Config{Sphinx: sph, Store: st, Send: send})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// TestAuthorizeLinkPeersFirstThenClients: a Provider admits the last layer
// as nodes, its users (by name and key) as clients, and nobody else; a mix
// admits no client.
func TestAuthorizeLinkPeersFirstThenClients(t *testing.T) {
	n := newTestNet(t)
	st := openStore(t)
	alice, _ := memkey.GenerateLinkKey()
	other, _ := memkey.GenerateLinkKey()
	ctx := context.Background()
	if err := st.AddUser(ctx, []byte("alice"), alice.Public()); err != nil {
		t.Fatal(err)
	}
	auth := authorizeLink(n.table, newProvider(t, st, nil))
	last, first := n.layers[2][0], n.layers[0][0]

	for _, tc := range []struct {
		name   string
		key    *keys.LinkPublicKey
		blob   []byte
		kind   incoming.Kind
		admits bool
	}{
		{"last layer", last.Link.Public(), last.ID[:], incoming.Node, true},
		{"layer 0", first.Link.Public(), first.ID[:], incoming.Node, false},
		{"last layer, wrong key", other.Public(), last.ID[:], incoming.Node, false},
		{"user", alice.Public(), []byte("alice"), incoming.Client, true},
		{"user, wrong key", other.Public(), []byte("alice"), incoming.Client, false},
		{"unknown user", alice.Public(), []byte("bob"), incoming.Client, false},
		{"neither", alice.Public(), []byte("Not A User!"), incoming.Node, false},
	} {
		kind, err := auth(ctx, tc.key, tc.blob)
		if kind != tc.kind || (err == nil) != tc.admits {
			t.Errorf("%s: kind %v, err %v; want kind %v, admitted %v", tc.name, kind, err, tc.kind, tc.admits)
		}
	}

	mix := authorizeLink(n.table, nil)
	if kind, err := mix(ctx, alice.Public(), []byte("alice")); err == nil || kind != incoming.Node {
		t.Fatalf("a mix admitted a client: %v %v", kind, err)
	}
}

// TestRecheckLink: an established client link stays while the user maps to
// its key and goes once the operator removes the user; a node's link
// follows the routing table.
func TestRecheckLink(t *testing.T) {
	n := newTestNet(t)
	st := openStore(t)
	alice, _ := memkey.GenerateLinkKey()
	ctx := context.Background()
	if err := st.AddUser(ctx, []byte("alice"), alice.Public()); err != nil {
		t.Fatal(err)
	}
	m := &Mixd{table: n.table, store: st}
	if !m.recheckLink(ctx, incoming.Client, alice.Public(), []byte("alice")) {
		t.Fatal("valid client link refused")
	}
	if err := st.RemoveUser(ctx, []byte("alice")); err != nil {
		t.Fatal(err)
	}
	if m.recheckLink(ctx, incoming.Client, alice.Public(), []byte("alice")) {
		t.Fatal("link of a removed user kept")
	}
	last := n.layers[2][0]
	if !m.recheckLink(ctx, incoming.Node, last.Link.Public(), last.ID[:]) {
		t.Fatal("last layer's link refused")
	}
	if m.recheckLink(ctx, incoming.Node, n.layers[1][0].Link.Public(), n.layers[1][0].ID[:]) {
		t.Fatal("layer 1's link kept")
	}

	// spoold cannot answer: client links are kept, every failure counted,
	// one warning logged.
	if err := st.AddUser(ctx, []byte("bob"), alice.Public()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	m.log = logging.Discard()
	for i := 0; i < 3; i++ {
		if !m.recheckLink(ctx, incoming.Client, alice.Public(), []byte("bob")) {
			t.Fatal("client link dropped while the user database could not answer")
		}
	}
	if got := m.recheckFailures.Load(); got != 3 {
		t.Fatalf("recheck failures %d, want 3", got)
	}
	if m.recheckLogged.Load() == 0 {
		t.Fatal("the first failure was not logged")
	}
}

// TestSendFromProviderSchedulesForLayer0: what the Provider sends goes to
// the scheduler with its first hop and due time, and only to layer 0.
func TestSendFromProviderSchedulesForLayer0(t *testing.T) {
	n := newTestNet(t)
	g := sphinx.DefaultGeometry()
	pool, err := packet.NewPool(g.PacketLength, 4)
	if err != nil {
		t.Fatal(err)
	}
	q, err := scheduler.NewMemQueue(scheduler.MemOptions{Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := scheduler.New(scheduler.Config{Queue: q, Dispatch: func(scheduler.Item) {}, OnDrop: func(scheduler.Item, scheduler.DropReason) {}, MaxBurst: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sched.Close() })
	p := &pipeline{pool: pool, sched: sched}
	pkt := make([]byte, g.PacketLength)
	pkt[0] = 42
	due := time.Now().Add(time.Hour) // stays queued
	if p.sendFromProvider(provider.Outgoing{Packet: pkt, NextHop: n.layers[1][0].ID, DispatchAt: due}, n.table) {
		t.Fatal("a reply was sent to layer 1")
	}
	if p.sendFromProvider(provider.Outgoing{Packet: pkt[:10], NextHop: n.layers[0][0].ID, DispatchAt: due}, n.table) {
		t.Fatal("a short packet was accepted")
	}
	if !p.sendFromProvider(provider.Outgoing{Packet: pkt, NextHop: n.layers[0][0].ID, DispatchAt: due}, n.table) {
		t.Fatal("a reply to layer 0 was refused")
	}
	if err := sched.Close(); err != nil {
		t.Fatal(err)
	}
	var items []scheduler.Item
	if _, err := sched.Drain(func(it scheduler.Item) { items = append(items, it) }); err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].DispatchAt != due.UnixNano() {
		t.Fatalf("scheduled %+v", items)
	}
	got, next, ok := pool.Split(items[0].Payload)
	if !ok || next != n.layers[0][0].ID || got[0] != 42 {
		t.Fatalf("scheduled packet: next %v ok %v first byte %d", next, ok, got[0])
	}
}

// TestConsensusRelay: docs/spec/client.md §3.2's three answers.
func TestConsensusRelay(t *testing.T) {
	clock, err := epochtime.New(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m := &Mixd{clock: clock, signed: map[uint64][]byte{}}
	cur, _, _ := clock.Current()
	m.keepSigned(cur, []byte("doc"))
	if code, b := m.consensus(cur); code != link.ConsensusOk || string(b) != "doc" {
		t.Fatalf("held epoch: %v %q", code, b)
	}
	if code, _ := m.consensus(cur + 1); code != link.ConsensusNotFound {
		t.Fatalf("next epoch: %v", code)
	}
	if code, _ := m.consensus(cur - 1); code != link.ConsensusGone {
		t.Fatalf("previous epoch: %v", code)
	}
	m.pruneSigned(cur + 1)
	if code, _ := m.consensus(cur); code != link.ConsensusNotFound {
		t.Fatalf("pruned current epoch: %v", code)
	}
}

func TestDescriptorServicesAndAltAddresses(t *testing.T) {
	p := &config.Provider{
		AltAddresses: map[string][]string{"tcp": {"10.0.0.1:1", "127.0.0.1:2"}, "tcp6": {"[::1]:3"}},
		Kaetzchen: []config.Kaetzchen{
			{Capability: "echo", Endpoint: "+echo"},
			{Capability: "keyserver", Endpoint: "+keys", Disable: true},
		},
	}
	advert := map[string][]string{"tcp": {"127.0.0.1:2"}}
	addAltAddresses(advert, p)
	if len(advert["tcp"]) != 2 || advert["tcp"][1] != "10.0.0.1:1" || len(advert["tcp6"]) != 1 {
		t.Fatalf("addresses %v", advert)
	}
	svc := configServices(p)
	if len(svc) != 1 || svc["echo"][pki.KaetzchenEndpoint] != "+echo" {
		t.Fatalf("services %v", svc)
	}
	if len(configServices(nil)) != 0 {
		t.Fatal("services without a [Provider] section")
	}
}

var errSentinel = errors.New("sentinel")
