package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

// The test protocol.
var proto = ipc.Protocol{Name: "test", Version: 3, MaxFrame: 64 << 10}

const (
	typeEcho      ipc.MsgType = 1
	typeBlock     ipc.MsgType = 2 // blocks until released or the connection ends
	typeAdminOnly ipc.MsgType = 3
	typeFail      ipc.MsgType = 4
	typePanic     ipc.MsgType = 5
	typeWhoAmI    ipc.MsgType = 6
	typeBig       ipc.MsgType = 7
	typeNotFound  ipc.MsgType = 8
)

const (
	roleUser  ipc.Role = "user"
	roleAdmin ipc.Role = "admin"
)

type echoReq struct {
	Text string `cbor:"t"`
}

type echoRep struct {
	Text string `cbor:"t"`
}

type whoRep struct {
	PID  int32    `cbor:"p"`
	UID  uint32   `cbor:"u"`
	GID  uint32   `cbor:"g"`
	Role ipc.Role `cbor:"r"`
}

// testServer is a routes table whose blocking handler the test drives.
type testServer struct {
	started chan string   // typeBlock handlers announce themselves
	release chan struct{} // each token lets one typeBlock handler finish
	reply   string        // what typeBlock answers
	seen    chan ipc.Peer // typeWhoAmI reports its caller
}

func newTestServer(reply string) *testServer {
	return &testServer{
		started: make(chan string, 64),
		release: make(chan struct{}, 64),
		reply:   reply,
		seen:    make(chan ipc.Peer, 16),
	}
}

func (ts *testServer) routes() ipc.Routes {
	both := []ipc.Role{roleUser, roleAdmin}
	return ipc.Routes{
		typeEcho: {From: both, Handle: ipc.Handle(func(_ context.Context, _ ipc.Peer, r *echoReq) (*echoRep, error) {
			return &echoRep{Text: r.Text}, nil
		})},
		typeBlock: {From: both, Handle: ipc.Handle(func(ctx context.Context, _ ipc.Peer, r *echoReq) (*echoRep, error) {
			ts.started <- r.Text
			select {
			case <-ts.release:
				return &echoRep{Text: ts.reply}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})},
		typeAdminOnly: {From: []ipc.Role{roleAdmin}, Handle: func(context.Context, ipc.Peer, []byte) (any, error) {
			return nil, nil
		}},
		typeFail: {From: both, Handle: func(context.Context, ipc.Peer, []byte) (any, error) {
			return nil, errors.New("open /var/lib/secret/db: permission denied")
		}},
		typeNotFound: {From: both, Handle: func(context.Context, ipc.Peer, []byte) (any, error) {
			return nil, fmt.Errorf("lookup: %w", ipc.Errorf(ipc.CodeNotFound, "user %q", "bob"))
		}},
		typePanic: {From: both, Handle: func(context.Context, ipc.Peer, []byte) (any, error) {
			panic("handler bug")
		}},
		typeWhoAmI: {From: both, Handle: func(_ context.Context, p ipc.Peer, _ []byte) (any, error) {
			ts.seen <- p
			return &whoRep{PID: p.Cred.PID, UID: p.Cred.UID, GID: p.Cred.GID, Role: p.Role}, nil
		}},
		typeBig: {From: both, Handle: func(context.Context, ipc.Peer, []byte) (any, error) {
			return &echoRep{Text: strings.Repeat("x", proto.MaxFrame)}, nil
		}},
	}
}

func (ts *testServer) config(log ipc.Logger) ipc.ServerConfig {
	return ipc.ServerConfig{Protocol: proto, Routes: ts.routes(), Authorize: ipctest.AllowSelf(roleUser), Log: log}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

const waitLong = 10 * time.Second

// TestMain doubles as the child process of the cross-process tests.
func TestMain(m *testing.M) {
	if path := os.Getenv(childSocketEnv); path != "" {
		os.Exit(childMain(path))
	}
	os.Exit(m.Run())
}
