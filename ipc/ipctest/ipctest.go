// Package ipctest helps other packages test code built on package ipc:
// short socket paths, servers and clients that clean up after the test,
// an authoriser that admits the test process itself, a raw connection
// past the hello for sending malformed frames, and a logger that records
// what was logged so tests can assert on it.
package ipctest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitmix/splitmix/ipc"
)

// SocketPath returns a path for a UNIX socket named name in a fresh
// directory removed when the test ends. t.TempDir() paths can exceed the
// 107-byte limit of a socket address, so the directory is made directly
// under the system temporary directory.
func SocketPath(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ipc")
	if err != nil {
		t.Fatalf("ipctest: socket directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := filepath.Join(dir, name)
	if len(p) > 107 {
		t.Fatalf("ipctest: socket path %q is longer than 107 bytes", p)
	}
	return p
}

// AllowSelf admits callers running as the test process's effective uid,
// as role.
func AllowSelf(role ipc.Role) ipc.Authorizer {
	return ipc.AllowUIDs(role, uint32(os.Geteuid()))
}

// Serve listens on path and serves cfg there until the test ends. A nil
// cfg.Log becomes a NewLogger(t).
func Serve(t testing.TB, cfg ipc.ServerConfig, path string) *ipc.Server {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = NewLogger(t)
	}
	srv, err := ipc.NewServer(cfg)
	if err != nil {
		t.Fatalf("ipctest: %v", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("ipctest: listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, ipc.ErrServerClosed) {
			t.Errorf("ipctest: Serve: %v", err)
		}
	})
	return srv
}

// Dial connects a client that is closed when the test ends. A nil
// cfg.Log becomes a NewLogger(t).
func Dial(t testing.TB, cfg ipc.ClientConfig) *ipc.Client {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = NewLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ipc.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("ipctest: dial %s: %v", cfg.Path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Pair serves cfg on a fresh socket and returns a client connected to it
// (treating no message type as idempotent) and the server. cfg.Authorize
// is required as always; AllowSelf(role) admits the test.
func Pair(t testing.TB, cfg ipc.ServerConfig) (*ipc.Client, *ipc.Server) {
	t.Helper()
	return PairWith(t, cfg, ipc.ClientConfig{})
}

// PairWith is Pair with a client config; its Protocol and Path, when
// empty, are taken from the server.
func PairWith(t testing.TB, scfg ipc.ServerConfig, ccfg ipc.ClientConfig) (*ipc.Client, *ipc.Server) {
	t.Helper()
	path := SocketPath(t, "s.sock")
	srv := Serve(t, scfg, path)
	if ccfg.Protocol.Name == "" {
		ccfg.Protocol = scfg.Protocol
	}
	if ccfg.Path == "" {
		ccfg.Path = path
	}
	return Dial(t, ccfg), srv
}

// RawDial connects to path and exchanges hellos for protocol p, then
// hands back the bare connection, for tests that send malformed frames.
// It fails the test if the server refuses the hello. The connection is
// closed when the test ends.
func RawDial(t testing.TB, path string, p ipc.Protocol) net.Conn {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("ipctest: dial %s: %v", path, err)
	}
	t.Cleanup(func() { conn.Close() })
	h, err := RawHello(conn, p)
	if err != nil {
		t.Fatalf("ipctest: hello: %v", err)
	}
	if h.Err != nil {
		t.Fatalf("ipctest: hello refused: %v", h.Err)
	}
	return conn
}

// RawHello sends the hello of p on conn and returns the server's answer.
func RawHello(conn net.Conn, p ipc.Protocol) (*ipc.Hello, error) {
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	defer conn.SetDeadline(time.Time{})
	payload, err := ipc.Marshal(&ipc.Hello{Proto: p.Name, Version: p.Version})
	if err != nil {
		return nil, err
	}
	if err := ipc.WriteFrame(conn, payload, ipc.MaxHelloFrame); err != nil {
		return nil, err
	}
	reply, err := ipc.ReadFrame(conn, ipc.MaxHelloFrame)
	if err != nil {
		return nil, err
	}
	return ipc.DecodeHello(reply)
}

// Frame returns payload with its length prefix, without any size check:
// for building malformed input.
func Frame(payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
}

// Request returns the frame of a well-formed request envelope.
func Request(t testing.TB, typ ipc.MsgType, id uint64, body []byte) []byte {
	t.Helper()
	payload, err := ipc.Marshal(&ipc.Envelope{Type: typ, ID: id, Body: body})
	if err != nil {
		t.Fatalf("ipctest: %v", err)
	}
	return Frame(payload)
}

// WaitClosed reads from conn until the peer closes it, failing the test
// if that does not happen within timeout. Frames that arrive first are
// returned (decoded as envelopes where possible).
func WaitClosed(t testing.TB, conn net.Conn, timeout time.Duration) []*ipc.Envelope {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatalf("ipctest: %v", err)
	}
	var got []*ipc.Envelope
	for {
		frame, err := ipc.ReadFrame(conn, ipc.MaxMaxFrame)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("ipctest: connection still open after %v", timeout)
			}
			return got
		}
		if env, err := ipc.DecodeEnvelope(frame); err == nil {
			got = append(got, env)
		}
	}
}

// Eventually waits until cond holds, polling; it fails the test after
// timeout. For conditions no channel announces, such as counters.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("ipctest: timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}
