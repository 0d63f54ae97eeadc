package ipc_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

// serveRaw starts a server and returns its socket path, a logger and the
// server, for tests that talk to it with hand-made frames.
func serveRaw(t *testing.T, cfg ipc.ServerConfig) (string, *ipctest.Logger, *ipc.Server) {
	t.Helper()
	log := ipctest.NewLogger(t)
	cfg.Log = log
	path := ipctest.SocketPath(t, "raw.sock")
	return path, log, ipctest.Serve(t, cfg, path)
}

// checkStillServing proves a fault on one connection left the server up.
func checkStillServing(t *testing.T, path string) {
	t.Helper()
	c := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path})
	var rep echoRep
	if err := c.Call(ctxT(t), typeEcho, &echoReq{Text: "alive"}, &rep); err != nil || rep.Text != "alive" {
		t.Fatalf("server not serving after the fault: %q, %v", rep.Text, err)
	}
}

func write(t *testing.T, conn net.Conn, b []byte) {
	t.Helper()
	if _, err := conn.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func TestBadFramesCloseTheConnection(t *testing.T) {
	env := func(v any) []byte {
		b, err := ipc.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"garbage payload", ipctest.Frame([]byte{0xff, 0x00, 0x13, 0x37})},
		{"4 GiB length prefix", []byte{0xff, 0xff, 0xff, 0xff}},
		{"length over MaxFrame", binary.BigEndian.AppendUint32(nil, uint32(proto.MaxFrame+1))},
		{"empty frame", []byte{0, 0, 0, 0}},
		{"envelope with unknown field", ipctest.Frame(env(map[string]any{"T": 1, "I": 1, "B": []byte{0xf6}, "X": 1}))},
		// {"I": 1, "I": 2, "T": 1, "B": h'f6'}
		{"envelope with duplicate key", ipctest.Frame([]byte{0xa4, 0x61, 'I', 0x01, 0x61, 'I', 0x02, 0x61, 'T', 0x01, 0x61, 'B', 0x41, 0xf6})},
		{"envelope nested too deep", ipctest.Frame(append(bytes.Repeat([]byte{0x81}, 40), 0x01))},
		{"request id 0", ipctest.Request(t, typeEcho, 0, []byte{0xf6})},
		{"request without body", ipctest.Request(t, typeEcho, 1, nil)},
		{"request carrying an error", ipctest.Frame(env(&ipc.Envelope{Type: typeEcho, ID: 1, Err: &ipc.Error{Code: ipc.CodeDenied}}))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, log, srv := serveRaw(t, newTestServer("").config(nil))
			conn := ipctest.RawDial(t, path, proto)
			write(t, conn, c.bytes)
			if got := ipctest.WaitClosed(t, conn, waitLong); len(got) != 0 {
				t.Fatalf("server answered a bad frame: %+v", got[0])
			}
			ipctest.Eventually(t, waitLong, "the bad frame to be counted", func() bool { return srv.Stats().BadFrames == 1 })
			if _, ok := log.Find("WARNING", "bad "); !ok {
				t.Errorf("bad frame not logged at WARNING: %v", log.Entries())
			}
			checkStillServing(t, path)
		})
	}
}

func TestTruncatedFrame(t *testing.T) {
	path, _, srv := serveRaw(t, newTestServer("").config(nil))
	conn := ipctest.RawDial(t, path, proto)
	frame := ipctest.Request(t, typeEcho, 1, []byte{0xa1, 0x61, 't', 0x61, 'x'})
	write(t, conn, frame[:len(frame)-3])
	if err := conn.(*net.UnixConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	ipctest.WaitClosed(t, conn, waitLong)
	ipctest.Eventually(t, waitLong, "the truncated frame to be counted", func() bool { return srv.Stats().BadFrames == 1 })
	if st := srv.Stats(); st.Requests != 0 {
		t.Fatalf("a truncated request reached a handler: %+v", st)
	}
}

func TestBadBodiesAreInvalidAndKeepTheConnection(t *testing.T) {
	path, _, srv := serveRaw(t, newTestServer("").config(nil))
	conn := ipctest.RawDial(t, path, proto)
	bodies := map[string][]byte{
		"duplicate key":  {0xa2, 0x61, 't', 0x61, 'a', 0x61, 't', 0x61, 'b'},
		"deeply nested":  append(bytes.Repeat([]byte{0x81}, 40), 0x01),
		"unknown field":  {0xa1, 0x61, 'z', 0x01},
		"trailing bytes": {0xa1, 0x61, 't', 0x61, 'x', 0x00},
		"tag":            {0xa1, 0x61, 't', 0xc1, 0x01},
	}
	id := uint64(0)
	for name, body := range bodies {
		id++
		write(t, conn, ipctest.Request(t, typeEcho, id, body))
		if err := conn.SetReadDeadline(time.Now().Add(waitLong)); err != nil {
			t.Fatal(err)
		}
		frame, err := ipc.ReadFrame(conn, proto.MaxFrame)
		if err != nil {
			t.Fatalf("%s: no reply: %v", name, err)
		}
		rep, err := ipc.DecodeEnvelope(frame)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.ID != id || rep.Type != typeEcho || rep.Err == nil || rep.Err.Code != ipc.CodeInvalid {
			t.Fatalf("%s: reply %+v (error %v), want CodeInvalid for id %d", name, rep, rep.Err, id)
		}
	}
	if st := srv.Stats(); st.BadMessages != uint64(len(bodies)) || st.BadFrames != 0 || st.Accepted != 1 {
		t.Fatalf("stats %+v: want %d bad messages on one connection", st, len(bodies))
	}
}

func TestUnknownMessageTypeClosesConnection(t *testing.T) {
	ts := newTestServer("")
	slog := ipctest.NewLogger(t)
	c, srv := ipctest.Pair(t, ts.config(slog))
	err := c.Call(ctxT(t), 99, nil, nil)
	if ipc.CodeOf(err) != ipc.CodeUnsupported || !strings.Contains(err.Error(), "99") {
		t.Fatalf("unknown type: %v, want CodeUnsupported naming it", err)
	}
	ipctest.Eventually(t, waitLong, "the connection to close", func() bool { return srv.Stats().Active == 0 })
	if st := srv.Stats(); st.UnknownTypes != 1 {
		t.Fatalf("stats %+v: want 1 unknown type", st)
	}
	if _, ok := slog.Find("WARNING", "unknown message type"); !ok {
		t.Fatalf("not logged at WARNING: %v", slog.Entries())
	}
	// The client redials for the next call.
	if err := c.Call(ctxT(t), typeEcho, &echoReq{}, nil); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Accepted != 2 {
		t.Fatalf("%d connections accepted, want 2 (the first was closed)", st.Accepted)
	}
}

func TestMessageFromDisallowedRole(t *testing.T) {
	ts := newTestServer("")
	slog := ipctest.NewLogger(t)
	c, srv := ipctest.Pair(t, ts.config(slog)) // the client is a "user"
	err := c.Call(ctxT(t), typeAdminOnly, nil, nil)
	if ipc.CodeOf(err) != ipc.CodeDenied {
		t.Fatalf("admin-only type from a user: %v, want CodeDenied", err)
	}
	ipctest.Eventually(t, waitLong, "the connection to close", func() bool { return srv.Stats().Active == 0 })
	if st := srv.Stats(); st.WrongRole != 1 || st.Requests != 0 {
		t.Fatalf("stats %+v: want 1 wrong role and no request handled", st)
	}
	if _, ok := slog.Find("WARNING", "not allowed for caller's role"); !ok {
		t.Fatalf("not logged at WARNING: %v", slog.Entries())
	}
}

func TestHandlerPanicClosesOnlyThatConnection(t *testing.T) {
	ts := newTestServer("")
	path, slog, srv := serveRaw(t, ts.config(nil))
	other := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path})
	c := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path})

	err := c.Call(ctxT(t), typePanic, nil, nil)
	if err == nil {
		t.Fatal("a panicking handler produced a reply")
	}
	e, ok := slog.Find("ERROR", "panicked")
	if !ok || !strings.Contains(fmt.Sprint(e.KV), "goroutine") || !strings.Contains(fmt.Sprint(e.KV), "handler bug") {
		t.Fatalf("panic not logged at ERROR with its stack: %v", slog.Entries())
	}
	if st := srv.Stats(); st.Panics != 1 {
		t.Fatalf("stats %+v: want 1 panic", st)
	}
	for _, cl := range []*ipc.Client{other, c} {
		if err := cl.Call(ctxT(t), typeEcho, &echoReq{Text: "x"}, nil); err != nil {
			t.Fatalf("server not serving after a handler panic: %v", err)
		}
	}
}

func TestHelloFaults(t *testing.T) {
	path, _, srv := serveRaw(t, newTestServer("").config(nil))

	// Not a hello at all: "hell" read as a length is far over MaxHelloFrame.
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	write(t, conn, []byte("hello, server\n"))
	ipctest.WaitClosed(t, conn, waitLong)
	ipctest.Eventually(t, waitLong, "the bad hello to be counted", func() bool { return srv.Stats().BadHellos == 1 })

	// A request before the hello.
	conn2, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	write(t, conn2, ipctest.Request(t, typeEcho, 1, []byte{0xf6}))
	ipctest.WaitClosed(t, conn2, waitLong)
	ipctest.Eventually(t, waitLong, "the request-as-hello to be counted", func() bool { return srv.Stats().BadHellos == 2 })
	if st := srv.Stats(); st.Requests != 0 {
		t.Fatalf("a request before the hello was handled: %+v", st)
	}
	checkStillServing(t, path)
}

func TestHelloTimeout(t *testing.T) {
	cfg := newTestServer("").config(nil)
	cfg.HelloTimeout = 50 * time.Millisecond
	path, _, srv := serveRaw(t, cfg)
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ipctest.WaitClosed(t, conn, waitLong) // says nothing; the server hangs up
	ipctest.Eventually(t, waitLong, "the silent caller to be counted", func() bool { return srv.Stats().BadHellos == 1 })
}
