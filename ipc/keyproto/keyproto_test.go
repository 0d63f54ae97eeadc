package keyproto

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

func serve(t *testing.T, o keys.Oracle, authorize ipc.Authorizer) (*Client, *ipc.Server) {
	t.Helper()
	path := ipctest.SocketPath(t, "keyd.sock")
	srv := ipctest.Serve(t, ipc.ServerConfig{Protocol: Protocol, Routes: Routes(o), Authorize: authorize}, path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, path, ipctest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, srv
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCallsRoundTrip(t *testing.T) {
	f := newFakeOracle()
	c, _ := serve(t, f, ipctest.AllowSelf(RoleMixd))
	pk, err := c.PublicKeys(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.PublicKeys(context.Background())
	if pk.Identifier != want.Identifier || !pk.Identity.Equal(want.Identity) || !pk.Link.Equal(&want.Link) {
		t.Fatal("public keys differ")
	}
	sig, err := c.SignDescriptor(tctx(t), []byte("descriptor"))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(f.id.Public().(ed25519.PublicKey), []byte("descriptor"), sig) {
		t.Fatal("signature does not verify")
	}
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	shared, err := c.LinkECDH(tctx(t), peer.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	x, _ := f.link.Public().ECDHPublicKey()
	if want, _ := peer.ECDH(x); !bytes.Equal(shared, want) {
		t.Fatal("ECDH differs")
	}
	ek, _ := f.link.Public().EncapsulationKey()
	k, ct := ek.Encapsulate()
	got, err := c.LinkDecapsulate(tctx(t), ct)
	if err != nil || !bytes.Equal(got, k) {
		t.Fatalf("decapsulate: %v", err)
	}
	sk, err := c.SphinxKeys(tctx(t), []uint64{7, 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(sk) != 2 || sk[0].Epoch != 7 || sk[0].Private[0] != 7 || sk[1].Public != [32]byte{3, 1} {
		t.Fatalf("sphinx keys %+v", sk)
	}
	lk, err := c.LinkKey(tctx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !lk.Public().Equal(f.link.Public()) {
		t.Fatal("LinkKey public differs")
	}
}

func TestErrorsMapBothWays(t *testing.T) {
	c, srv := serve(t, newFakeOracle(), ipctest.AllowSelf(RoleMixd))
	check := func(name string, err error, kind error, code ipc.Code) {
		t.Helper()
		if !errors.Is(err, kind) {
			t.Errorf("%s: %v does not wrap %v", name, err, kind)
		}
		if ipc.CodeOf(err) != code {
			t.Errorf("%s: code %v, want %v", name, ipc.CodeOf(err), code)
		}
	}
	_, err := c.SignDescriptor(tctx(t), nil)
	check("empty descriptor", err, keys.ErrMalformed, ipc.CodeInvalid)
	_, err = c.SignDescriptor(tctx(t), []byte("refuse me"))
	check("refused descriptor", err, keys.ErrRefused, ipc.CodeDenied)
	_, err = c.SphinxKeys(tctx(t), []uint64{2000})
	check("refused epoch", err, keys.ErrRefused, ipc.CodeDenied)
	_, err = c.SphinxKeys(tctx(t), []uint64{1, 2, 3, 4, 5, 6})
	check("too many epochs", err, keys.ErrMalformed, ipc.CodeInvalid)
	_, err = c.LinkECDH(tctx(t), []byte{1, 2, 3})
	check("short point", err, keys.ErrMalformed, ipc.CodeInvalid)
	_, err = c.SignDescriptor(tctx(t), []byte("fail inside"))
	if ipc.CodeOf(err) != ipc.CodeInternal || bytes.Contains([]byte(err.Error()), []byte("/secret/path")) {
		t.Errorf("internal failure: %v; want CodeInternal without the detail", err)
	}
	// The connection survives typed errors.
	if _, err := c.PublicKeys(tctx(t)); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Requests < 7 || st.BadFrames != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestBrokenServerRepliesRejected(t *testing.T) {
	f := newFakeOracle()
	f.short = true
	c, _ := serve(t, f, ipctest.AllowSelf(RoleMixd))
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	ek, _ := f.link.Public().EncapsulationKey()
	_, ct := ek.Encapsulate()
	for name, call := range map[string]func() error{
		"sign":        func() error { _, err := c.SignDescriptor(tctx(t), []byte("d")); return err },
		"ecdh":        func() error { _, err := c.LinkECDH(tctx(t), peer.PublicKey().Bytes()); return err },
		"decapsulate": func() error { _, err := c.LinkDecapsulate(tctx(t), ct); return err },
		"sphinx":      func() error { _, err := c.SphinxKeys(tctx(t), []uint64{1, 2}); return err },
	} {
		if err := call(); !errors.Is(err, errReply) {
			t.Errorf("%s: %v, want errReply", name, err)
		}
	}
}

func TestOnlyMixdRole(t *testing.T) {
	// A caller admitted under another role (say an admin on a shared
	// socket) is refused every message and loses the connection.
	c, srv := serve(t, newFakeOracle(), ipctest.AllowSelf("admin"))
	_, err := c.PublicKeys(tctx(t))
	if ipc.CodeOf(err) != ipc.CodeDenied {
		t.Fatalf("admin role: %v, want CodeDenied", err)
	}
	if srv.Stats().WrongRole != 1 {
		t.Fatalf("stats %+v", srv.Stats())
	}
}

func TestRefusedUID(t *testing.T) {
	path := ipctest.SocketPath(t, "keyd.sock")
	ipctest.Serve(t, ipc.ServerConfig{Protocol: Protocol, Routes: Routes(newFakeOracle()), Authorize: ipc.AllowUIDs(RoleMixd, 65534)}, path)
	_, err := Dial(tctx(t), path, nil)
	if ipc.CodeOf(err) != ipc.CodeDenied || !errors.Is(err, keys.ErrRefused) {
		t.Fatalf("Dial as a foreign uid: %v, want CodeDenied", err)
	}
}

func TestEveryMessageRoutedAndIdempotent(t *testing.T) {
	r := Routes(newFakeOracle())
	for _, typ := range []ipc.MsgType{TypeGetPublicKeys, TypeSignDescriptor, TypeLinkECDH, TypeLinkDecapsulate, TypeSphinxKeys} {
		route, ok := r[typ]
		if !ok {
			t.Errorf("type %d not routed", typ)
			continue
		}
		if len(route.From) != 1 || route.From[0] != RoleMixd {
			t.Errorf("type %d allowed from %v, want mixd only", typ, route.From)
		}
		if !Idempotent(typ) {
			t.Errorf("type %d not idempotent", typ)
		}
	}
	if len(r) != 5 {
		t.Errorf("%d routes, want 5", len(r))
	}
	if Idempotent(99) {
		t.Error("unknown type idempotent")
	}
}
