package ipctest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSocketPathIsShortAndFresh(t *testing.T) {
	p := SocketPath(t, "x.sock")
	if len(p) > 107 {
		t.Fatalf("path %q too long for a socket", p)
	}
	if _, err := os.Stat(filepath.Dir(p)); err != nil {
		t.Fatalf("directory missing: %v", err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("socket path already exists: %v", err)
	}
	if q := SocketPath(t, "x.sock"); q == p {
		t.Fatal("two calls gave the same path")
	}
}

func TestFrame(t *testing.T) {
	if got := Frame([]byte{9, 8}); !bytes.Equal(got, []byte{0, 0, 0, 2, 9, 8}) {
		t.Fatalf("Frame = %x", got)
	}
}

func TestLoggerRecords(t *testing.T) {
	l := NewLogger(t)
	l.Warning("refused IPC caller", "uid", 5)
	l.Debug("other")
	if e, ok := l.Find("WARNING", "refused"); !ok || e.KV[1] != 5 {
		t.Fatalf("Find = %+v, %v", e, ok)
	}
	if _, ok := l.Find("ERROR", "refused"); ok {
		t.Fatal("Find matched the wrong level")
	}
	if n := len(l.Entries()); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
}
