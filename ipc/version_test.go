package ipc_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

func TestProtocolMismatch(t *testing.T) {
	path, slog, srv := serveRaw(t, newTestServer("").config(nil))
	cases := []struct {
		name  string
		p     ipc.Protocol
		wants []string
	}{
		{"wrong name", ipc.Protocol{Name: "other", Version: 3}, []string{"test version 3", "other version 3"}},
		{"wrong version", ipc.Protocol{Name: "test", Version: 4}, []string{"test version 3", "test version 4"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ipc.Dial(ctxT(t), ipc.ClientConfig{Protocol: c.p, Path: path})
			if ipc.CodeOf(err) != ipc.CodeUnsupported {
				t.Fatalf("Dial: %v, want CodeUnsupported", err)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if got := srv.Stats().BadHellos; got != uint64(i+1) {
				t.Errorf("%d bad hellos counted, want %d", got, i+1)
			}
		})
	}
	if _, ok := slog.Find("WARNING", "another protocol or version"); !ok {
		t.Errorf("mismatch not logged: %v", slog.Entries())
	}
	checkStillServing(t, path)
}

// TestClientChecksServerHello: a server that answers with another version
// without refusing is refused by the client. See ipc/PROTOCOL.md §4.
func TestClientChecksServerHello(t *testing.T) {
	path := ipctest.SocketPath(t, "fake.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := ipc.ReadFrame(conn, ipc.MaxHelloFrame); err != nil {
			return
		}
		b, _ := ipc.Marshal(&ipc.Hello{Proto: "test", Version: 9})
		_ = ipc.WriteFrame(conn, b, ipc.MaxHelloFrame)
		_, _ = ipc.ReadFrame(conn, ipc.MaxHelloFrame) // until the client hangs up
	}()
	_, err = ipc.Dial(ctxT(t), ipc.ClientConfig{Protocol: proto, Path: path})
	if ipc.CodeOf(err) != ipc.CodeUnsupported || !strings.Contains(err.Error(), "version 9") || !strings.Contains(err.Error(), "version 3") {
		t.Fatalf("Dial to a server of version 9: %v, want CodeUnsupported naming both versions", err)
	}
}

// TestUnknownReplyIDResetsConnection: a reply to an id the client never
// sent is a protocol error. See ipc/PROTOCOL.md §5.3.
func TestUnknownReplyIDResetsConnection(t *testing.T) {
	path := ipctest.SocketPath(t, "fake.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := ipc.ReadFrame(conn, ipc.MaxHelloFrame); err != nil {
			return
		}
		b, _ := ipc.Marshal(&ipc.Hello{Proto: proto.Name, Version: proto.Version})
		_ = ipc.WriteFrame(conn, b, ipc.MaxHelloFrame)
		frame, err := ipc.ReadFrame(conn, proto.MaxFrame)
		if err != nil {
			return
		}
		req, err := ipc.DecodeEnvelope(frame)
		if err != nil {
			return
		}
		b, _ = ipc.Marshal(&ipc.Envelope{Type: req.Type, ID: req.ID + 1000, Body: []byte{0xf6}})
		_ = ipc.WriteFrame(conn, b, proto.MaxFrame)
		_, _ = ipc.ReadFrame(conn, proto.MaxFrame) // until the client hangs up
	}()
	clog := ipctest.NewLogger(t)
	c := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path, Log: clog})
	err = c.Call(ctxT(t), typeEcho, &echoReq{}, nil)
	if !errors.Is(err, ipc.ErrProtocol) || !errors.Is(err, ipc.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "never sent") {
		t.Fatalf("Call answered with a foreign id: %v, want a protocol error and unknown outcome", err)
	}
	if _, ok := clog.Find("WARNING", "broke the protocol"); !ok {
		t.Fatalf("protocol error not logged: %v", clog.Entries())
	}
}
