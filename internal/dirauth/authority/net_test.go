package authority

import (
	"context"
	"errors"
	"github.com/splitmix/splitmix/internal/dirauth"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// startAuthority runs an authority on a loopback port for net and returns
// its address and keys; it stops when the test ends.
func startAuthority(t *testing.T, net *testNet, period time.Duration) (string, *Keys) {
	t.Helper()
	dir := t.TempDir()
	addr, err := config.ParseAddress("tcp://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	addr.Port = 0 // the kernel chooses
	p := net.policy(period)
	cfg := &Config{
		Authority: AuthoritySection{
			Identifier: "test", Addresses: []config.Address{addr}, DataDir: dir, KeyDir: filepath.Join(dir, "keys"),
			Layers: 3, EpochPeriod: period, MinNodesPerLayer: 1, MinProviders: 1, BootstrapGrace: time.Second,
			MaxConnections: 8, HandshakeTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second,
		},
		Geometry: sphinx.DefaultGeometry(), Parameters: p.Parameters, Mixes: p.Mixes, Providers: p.Providers,
	}
	k, err := GenerateKeys(cfg.Authority.KeyDir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
		a.Close()
	})
	return addrs[0].String(), k
}

func (n *testNode) client(addr string, k *Keys) *dirauth.Client {
	return &dirauth.Client{Address: addr, Authority: k.IdentityPublic, Static: n.link, AuthBlob: n.blob()}
}

func TestNetwork(t *testing.T) {
	net := newTestNet(t, 3, 1)
	addr, k := startAuthority(t, net, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now, _, _ := epochtime.Clock{Period: time.Hour}.Current()

	m := net.mixes[0]
	if code, err := m.client(addr, k).Post(ctx, now, m.signed(t, now)); err != nil || code != link.DescriptorOk {
		t.Fatalf("post: %d, %v", code, err)
	}
	stranger := newTestNode(t, "stranger", false)
	if code, err := stranger.client(addr, k).Post(ctx, now, stranger.signed(t, now)); err != nil || code != link.DescriptorForbidden {
		t.Fatalf("stranger: %d, %v", code, err)
	}
	anon := &dirauth.Client{Address: addr, Authority: k.IdentityPublic, Static: stranger.link}
	if _, _, err := anon.Document(ctx, now); !errors.Is(err, dirauth.ErrNotYet) {
		t.Fatalf("document before publication: %v", err)
	}
	if code, err := anon.Post(ctx, now, m.signed(t, now)); err != nil || code != link.DescriptorForbidden {
		t.Fatalf("client posting: %d, %v", code, err)
	}

	// Another authority key: the certificate does not verify.
	_, wrong := authorityKeys(t)
	bad := &dirauth.Client{Address: addr, Authority: wrong, Static: stranger.link}
	if _, _, err := bad.Document(ctx, now); !errors.Is(err, dirauth.ErrLinkCertificate) {
		t.Fatalf("wrong authority key: %v", err)
	}
	// A blob that is neither empty nor a NodeID is refused in the handshake.
	odd := &dirauth.Client{Address: addr, Authority: k.IdentityPublic, Static: stranger.link, AuthBlob: []byte("user")}
	if _, _, err := odd.Document(ctx, now); !errors.Is(err, link.ErrPeerRejected) {
		t.Fatalf("odd blob: %v", err)
	}
	// A command that is not for the authority ends the session.
	s, err := dirauth.Dial(ctx, addr, k.IdentityPublic, stranger.link, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&link.RetrieveMessage{Sequence: 1}); err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if cmd, err := s.Recv(); err == nil {
		t.Fatalf("answer %v to RetrieveMessage", cmd.ID())
	}
	s.Close()

	for _, n := range net.all()[1:] {
		if code, err := n.client(addr, k).Post(ctx, now, n.signed(t, now)); err != nil || code != link.DescriptorOk {
			t.Fatalf("%s: %d, %v", n.name, code, err)
		}
	}
	d, signed, err := anon.Document(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.VerifyDocument(signed, k.IdentityPublic); err != nil || len(d.Layers) != 3 || len(d.Providers) != 1 {
		t.Fatalf("document: %v", err)
	}
}
