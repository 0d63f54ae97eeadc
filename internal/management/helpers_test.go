package management_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/management/mgmttest"
)

// testServer is a management server on a real UNIX socket.
type testServer struct {
	path    string
	srv     *management.Server
	backend *mgmttest.Backend
	done    chan error
}

// startServer serves cfg (Backend and Identifier filled in when empty)
// on a fresh socket; the server is closed when the test ends.
func startServer(t *testing.T, cfg management.ServerConfig) *testServer {
	t.Helper()
	b, _ := cfg.Backend.(*mgmttest.Backend)
	if cfg.Backend == nil {
		b = &mgmttest.Backend{}
		cfg.Backend = b
	}
	if cfg.Identifier == "" {
		cfg.Identifier = "mix1.example.net"
	}
	srv, err := management.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "management_sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{path: path, srv: srv, backend: b, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return ts
}

// ownServer admits this process's uid.
func ownServer(t *testing.T) *testServer {
	return startServer(t, management.ServerConfig{OwnerUID: uint32(os.Geteuid()), AdminGID: -1})
}

// rawConn is a socat-like session: raw lines in, raw lines out.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, path string) *rawConn {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// line reads one raw line without its ending.
func (c *rawConn) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\n")
}

// expectClosed asserts the server has closed the connection.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err == nil {
		c.t.Fatalf("connection still open; read %q", l)
	}
}

// session dials with the package's client and fails the test on error.
func session(t *testing.T, path string) *management.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := management.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func do(t *testing.T, c *management.Client, line string) management.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := c.Do(ctx, line)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return rep
}

// linkKeys returns a valid link public key in hex and in base64.
func linkKeys(t *testing.T) (hexKey, b64Key string) {
	t.Helper()
	k, err := memkey.NewLinkKey(make([]byte, memkey.LinkSeedSize))
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	return pub.String(), base64.StdEncoding.EncodeToString(pub.Bytes())
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
