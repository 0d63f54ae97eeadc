package testnet

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/proctest"
)

// smallOptions is the test network: one mix per layer, two Providers.
func smallOptions(t *testing.T, dir string, basePort int) Options {
	return Options{
		Dir: dir, BinDir: testBinDir,
		Layers: 3, MixesPerLayer: 1, Providers: 2, UsersPerProvider: 1,
		EpochPeriod: 15 * time.Second, BasePort: basePort, SphinxWorkers: 1,
		Progress: proctest.TestWriter{TB: t},
	}
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, not synchronising
	}
}

func TestNetworkRunsTrafficAndRestartsInPlace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of processes")
	}
	dir := proctest.ShortTempDir(t)
	base, err := FreeBasePort(6)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n, err := Start(ctx, smallOptions(t, dir, base))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	m := n.Manifest()
	if len(m.Nodes) != 5 || len(m.Users) != 4 {
		t.Fatalf("manifest: %d nodes, %d users; want 5 and 4 (one traffic user and one spare per Provider)", len(m.Nodes), len(m.Users))
	}
	for i, nd := range m.Nodes[:3] {
		if nd.Provider || nd.Layer != i {
			t.Fatalf("manifest node %d: %+v; want the mix of layer %d", i, nd, i)
		}
	}
	loaded, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := keys.ParseIdentityPublicKey(loaded.Authority.PublicKey); err != nil || k != n.AuthorityKey() || len(loaded.Nodes) != 5 {
		t.Fatalf("network.json differs: %+v", loaded)
	}

	tr, err := StartTraffic(ctx, n, TrafficOptions{Rate: 4, PingInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 90*time.Second, "messages acknowledged and received and a ping back", func() bool {
		c := tr.Counts()
		return c.Acked >= 3 && c.Received >= 3 && c.PingsOK >= 1
	})
	tr.Close()
	if rtts := tr.TakeRTTs(); len(rtts) == 0 || rtts[0] <= 0 {
		t.Fatalf("ping round trips %v", rtts)
	}
	s, err := n.Stats(ctx, m.Nodes[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if s.Received == 0 || s.Forwarded == 0 || !s.Routing {
		t.Fatalf("%s's stats: received %d forwarded %d routing %v", s.Node, s.Received, s.Forwarded, s.Routing)
	}
	pids := n.Pids()
	if len(pids) != 1+5+2+5 {
		t.Fatalf("%d daemons running, want 13: %v", len(pids), pids)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, pid := range pids {
		if alive(pid) {
			t.Fatalf("%s (pid %d) still runs after Close", name, pid)
		}
	}
	if leftover := findStale(dir); len(leftover) != 0 {
		t.Fatalf("pid files of running daemons after Close: %v", leftover)
	}

	// Again in the same directory: the keys are reused.
	before, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := Start(ctx, smallOptions(t, dir, base))
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if n2.Manifest().Authority.PublicKey != before.AuthorityKey {
		t.Fatal("a second start in the same directory made a new authority key")
	}
	after, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	for node, id := range before.Identities {
		if after.Identities[node] != id {
			t.Fatalf("%s's identity changed on reuse", node)
		}
	}
	tr2, err := StartTraffic(ctx, n2, TrafficOptions{PingInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	waitUntil(t, 60*time.Second, "a ping on the restarted network", func() bool { return tr2.Counts().PingsOK >= 1 })
	tr2.Close()
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "users", "alice.key")); err != nil {
		t.Fatalf("Close removed the users' keys: %v", err)
	}
}
