package ipc_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

// startServer serves cfg on path and returns a stop function that closes
// the server (removing the socket) and waits for Serve to return.
func startServer(t *testing.T, cfg ipc.ServerConfig, path string) (stop func()) {
	t.Helper()
	srv, err := ipc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		srv.Close()
		if err := <-done; !errors.Is(err, ipc.ErrServerClosed) {
			t.Errorf("Serve after Close: %v, want ErrServerClosed", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// restartMidCall starts a call of typeBlock on server one, closes server
// one while the call is in flight, starts server two on the same path,
// and returns the call's reply, server two's handler and the call's error.
func restartMidCall(t *testing.T, idempotent bool) (echoRep, *testServer, error) {
	path := ipctest.SocketPath(t, "restart.sock")
	first, second := newTestServer("first"), newTestServer("second")
	second.release <- struct{}{} // server two answers at once
	stopFirst := startServer(t, first.config(ipctest.NewLogger(t)), path)

	c := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path, Log: ipctest.NewLogger(t),
		Idempotent: func(t ipc.MsgType) bool { return idempotent && t == typeBlock }})
	type result struct {
		rep echoRep
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.err = c.Call(ctxT(t), typeBlock, &echoReq{Text: "in flight"}, &r.rep)
		done <- r
	}()
	if got := <-first.started; got != "in flight" {
		t.Fatalf("server one got %q", got)
	}
	stopFirst() // the handler sees its ctx end; the connection drops
	startServer(t, second.config(ipctest.NewLogger(t)), path)
	r := <-done
	return r.rep, second, r.err
}

func TestRestartRetriesIdempotentCall(t *testing.T) {
	rep, second, err := restartMidCall(t, true)
	if err != nil {
		t.Fatalf("idempotent call across a restart: %v", err)
	}
	if rep.Text != "second" {
		t.Fatalf("reply %q, want the new server's %q", rep.Text, "second")
	}
	if got := <-second.started; got != "in flight" {
		t.Fatalf("server two got %q", got)
	}
}

func TestRestartFailsNonIdempotentCall(t *testing.T) {
	_, second, err := restartMidCall(t, false)
	if !errors.Is(err, ipc.ErrOutcomeUnknown) {
		t.Fatalf("non-idempotent call across a restart: %v, want ErrOutcomeUnknown", err)
	}
	select {
	case got := <-second.started:
		t.Fatalf("the non-idempotent request was resent to server two (%q)", got)
	default:
	}
}

// TestNewCallsRedialAfterRestart: with nothing in flight, the first call
// after a restart simply uses a new connection.
func TestNewCallsRedialAfterRestart(t *testing.T) {
	path := ipctest.SocketPath(t, "redial.sock")
	stop := startServer(t, newTestServer("").config(nil), path)
	c := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path})
	if err := c.Call(ctxT(t), typeEcho, &echoReq{}, nil); err != nil {
		t.Fatal(err)
	}
	stop()
	startServer(t, newTestServer("").config(nil), path)
	var rep echoRep
	if err := c.Call(ctxT(t), typeEcho, &echoReq{Text: "again"}, &rep); err != nil || rep.Text != "again" {
		t.Fatalf("call after restart: %q, %v", rep.Text, err)
	}
}

// TestCallWhileServerDownEndsAtDeadline: the retries stop at the call's
// deadline and say what failed.
func TestCallWhileServerDownEndsAtDeadline(t *testing.T) {
	path := ipctest.SocketPath(t, "down.sock")
	stop := startServer(t, newTestServer("").config(nil), path)
	c := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path, Idempotent: func(ipc.MsgType) bool { return true }})
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), 100e6)
	defer cancel()
	err := c.Call(ctx, typeEcho, &echoReq{}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call with the server down: %v, want DeadlineExceeded", err)
	}
}

func TestServeEndsWithContext(t *testing.T) {
	srv, err := ipc.NewServer(newTestServer("").config(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	path := ipctest.SocketPath(t, "ctx.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path})
	if err := c.Call(ctxT(t), typeEcho, &echoReq{}, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v, want nil", err)
	}
	if st := srv.Stats(); st.Active != 0 {
		t.Fatalf("%d connections still active after Serve returned", st.Active)
	}
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("socket still accepting after Serve returned")
	}
	srv.Close()
	ln2, err := net.Listen("unix", ipctest.SocketPath(t, "x.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(context.Background(), ln2); !errors.Is(err, ipc.ErrServerClosed) {
		t.Fatalf("Serve after Close: %v, want ErrServerClosed", err)
	}
}
