package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

func TestRoundTrip(t *testing.T) {
	ts := newTestServer("")
	c, srv := ipctest.Pair(t, ts.config(nil))
	var rep echoRep
	if err := c.Call(ctxT(t), typeEcho, &echoReq{Text: "héllo"}, &rep); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if rep.Text != "héllo" {
		t.Fatalf("reply %q, want %q", rep.Text, "héllo")
	}
	// A nil reply pointer discards the reply.
	if err := c.Call(ctxT(t), typeEcho, &echoReq{Text: "x"}, nil); err != nil {
		t.Fatalf("Call with nil reply: %v", err)
	}
	st := srv.Stats()
	if st.Accepted != 1 || st.Requests != 2 || st.Active != 1 {
		t.Fatalf("stats %+v, want 1 accepted, 2 requests, 1 active", st)
	}
}

func TestConcurrentCallsShareOneConnection(t *testing.T) {
	ts := newTestServer("")
	c, srv := ipctest.Pair(t, ts.config(nil))
	const goroutines, calls = 32, 40
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				want := fmt.Sprintf("g%d-call%d", g, i)
				var rep echoRep
				if err := c.Call(ctxT(t), typeEcho, &echoReq{Text: want}, &rep); err != nil {
					errs <- err
					return
				}
				if rep.Text != want {
					errs <- fmt.Errorf("got reply %q for request %q", rep.Text, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := srv.Stats(); st.Accepted != 1 || st.Requests != goroutines*calls {
		t.Fatalf("stats %+v, want 1 connection and %d requests", st, goroutines*calls)
	}
}

func TestDeadlineExpiryDiscardsLateReply(t *testing.T) {
	ts := newTestServer("late")
	clog := ipctest.NewLogger(t)
	c, srv := ipctest.PairWith(t, ts.config(nil), ipc.ClientConfig{Log: clog})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, typeBlock, &echoReq{Text: "slow"}, &echoRep{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call past its deadline: %v, want DeadlineExceeded", err)
	}
	<-ts.started
	ts.release <- struct{}{} // the handler now answers, too late
	ipctest.Eventually(t, waitLong, "the late reply to be discarded", func() bool {
		_, ok := clog.Find("DEBUG", "late IPC reply discarded")
		return ok
	})
	var rep echoRep
	if err := c.Call(ctxT(t), typeEcho, &echoReq{Text: "after"}, &rep); err != nil || rep.Text != "after" {
		t.Fatalf("Call after a timed-out call: %q, %v", rep.Text, err)
	}
	if st := srv.Stats(); st.Accepted != 1 {
		t.Fatalf("the connection was replaced (%d accepted); it should have stayed usable", st.Accepted)
	}
}

func TestTypedAndInternalErrors(t *testing.T) {
	ts := newTestServer("")
	slog := ipctest.NewLogger(t)
	c, srv := ipctest.Pair(t, ts.config(slog))

	err := c.Call(ctxT(t), typeNotFound, nil, nil)
	var ie *ipc.Error
	if !errors.As(err, &ie) || ie.Code != ipc.CodeNotFound || ie.Msg != `user "bob"` { // the wrapping text stays local
		t.Fatalf("typed error: %v", err)
	}

	err = c.Call(ctxT(t), typeFail, nil, nil)
	if ipc.CodeOf(err) != ipc.CodeInternal {
		t.Fatalf("handler failure: %v, want CodeInternal", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("internal detail leaked to the caller: %v", err)
	}
	e, ok := slog.Find("WARNING", "IPC handler failed")
	if !ok || !strings.Contains(fmt.Sprint(e.KV), "/var/lib/secret/db") {
		t.Fatalf("detail not logged by the server: %v", slog.Entries())
	}
	if st := srv.Stats(); st.HandlerErrors != 2 || st.Accepted != 1 {
		t.Fatalf("stats %+v: want 2 handler errors on one connection", st)
	}
}

func TestUnknownFieldInBodyIsInvalid(t *testing.T) {
	ts := newTestServer("")
	c, srv := ipctest.Pair(t, ts.config(nil))
	type echoReqV2 struct {
		Text  string `cbor:"t"`
		Extra int    `cbor:"x"`
	}
	err := c.Call(ctxT(t), typeEcho, &echoReqV2{Text: "a", Extra: 1}, &echoRep{})
	if ipc.CodeOf(err) != ipc.CodeInvalid || !strings.Contains(err.Error(), "unknown field") {
		t.Fatalf("unknown field: %v, want CodeInvalid naming it", err)
	}
	if err := c.Call(ctxT(t), typeEcho, &echoReq{Text: "b"}, &echoRep{}); err != nil {
		t.Fatalf("connection unusable after an invalid body: %v", err)
	}
	if st := srv.Stats(); st.BadMessages != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v: want 1 bad message on one connection", st)
	}
}

func TestMaxInFlightPerConnection(t *testing.T) {
	ts := newTestServer("done")
	var running, peak atomic.Int32
	cfg := ts.config(nil)
	cfg.MaxInFlight = 2
	inner := cfg.Routes[typeBlock].Handle
	cfg.Routes[typeBlock] = ipc.Route{From: []ipc.Role{roleUser}, Handle: func(ctx context.Context, p ipc.Peer, b []byte) (any, error) {
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		defer running.Add(-1)
		return inner(ctx, p, b)
	}}
	c, _ := ipctest.Pair(t, cfg)

	const calls = 6
	errs := make(chan error, calls)
	for i := 0; i < calls; i++ {
		go func() { errs <- c.Call(ctxT(t), typeBlock, &echoReq{}, &echoRep{}) }()
	}
	for i := 0; i < 2; i++ {
		<-ts.started
	}
	// Two handlers hold both slots; without the limit the other four would
	// start too and running would pass 2.
	ipctest.Eventually(t, waitLong, "two handlers running", func() bool { return running.Load() == 2 })
	for i := 0; i < calls; i++ {
		ts.release <- struct{}{}
	}
	for i := 0; i < calls; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("%d handlers ran at once on one connection, limit 2", p)
	}
}

func TestReplyAndRequestSizeLimits(t *testing.T) {
	ts := newTestServer("")
	c, srv := ipctest.Pair(t, ts.config(nil))
	if err := c.Call(ctxT(t), typeBig, nil, &echoRep{}); ipc.CodeOf(err) != ipc.CodeInternal {
		t.Fatalf("oversize reply: %v, want CodeInternal", err)
	}
	before := srv.Stats().Requests
	err := c.Call(ctxT(t), typeEcho, &echoReq{Text: strings.Repeat("y", proto.MaxFrame)}, &echoRep{})
	if ipc.CodeOf(err) != ipc.CodeInvalid || !errors.Is(err, ipc.ErrFrameTooLarge) {
		t.Fatalf("oversize request: %v, want CodeInvalid wrapping ErrFrameTooLarge", err)
	}
	if err := c.Call(ctxT(t), typeEcho, &echoReq{Text: "ok"}, &echoRep{}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Stats().Requests - before; got != 1 {
		t.Fatalf("server saw %d requests, want only the small one", got)
	}
}

func TestClosedClient(t *testing.T) {
	ts := newTestServer("")
	c, _ := ipctest.Pair(t, ts.config(nil))
	c.Close()
	if err := c.Call(ctxT(t), typeEcho, &echoReq{}, nil); !errors.Is(err, ipc.ErrClosed) {
		t.Fatalf("Call after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestDialNoServer(t *testing.T) {
	_, err := ipc.Dial(ctxT(t), ipc.ClientConfig{Protocol: proto, Path: ipctest.SocketPath(t, "none.sock")})
	if err == nil {
		t.Fatal("Dial to a missing socket succeeded")
	}
	if _, err := ipc.Dial(ctxT(t), ipc.ClientConfig{Protocol: ipc.Protocol{Name: "bad name"}, Path: "/x"}); err == nil {
		t.Fatal("Dial accepted an invalid protocol")
	}
}

func TestNewServerRejectsBadConfig(t *testing.T) {
	ok := newTestServer("").config(nil)
	bad := map[string]func(*ipc.ServerConfig){
		"no authorizer": func(c *ipc.ServerConfig) { c.Authorize = nil },
		"no routes":     func(c *ipc.ServerConfig) { c.Routes = nil },
		"no roles":      func(c *ipc.ServerConfig) { c.Routes = ipc.Routes{1: {Handle: c.Routes[1].Handle}} },
		"no handler":    func(c *ipc.ServerConfig) { c.Routes = ipc.Routes{1: {From: []ipc.Role{roleUser}}} },
		"bad protocol":  func(c *ipc.ServerConfig) { c.Protocol.Name = "" },
	}
	for name, mutate := range bad {
		cfg := ok
		cfg.Routes = newTestServer("").routes()
		mutate(&cfg)
		if _, err := ipc.NewServer(cfg); err == nil {
			t.Errorf("%s: NewServer accepted", name)
		}
	}
}
