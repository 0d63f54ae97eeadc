package ipc_test

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

// TestRefusedPeerWhileAllowedClientWorks: once the authoriser refuses the
// test's own uid, a new caller gets CodeDenied and a WARNING is logged,
// while the connection admitted earlier keeps working.
func TestRefusedPeerWhileAllowedClientWorks(t *testing.T) {
	uid := uint32(os.Geteuid())
	var refuse atomic.Bool
	allow, deny := ipc.AllowUIDs(roleUser, uid), ipc.AllowUIDs(roleUser, uid+1)
	cfg := newTestServer("").config(nil)
	cfg.Authorize = func(c ipc.Cred) (ipc.Role, error) {
		if refuse.Load() {
			return deny(c)
		}
		return allow(c)
	}
	path, slog, srv := serveRaw(t, cfg)
	admitted := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path})

	refuse.Store(true)
	_, err := ipc.Dial(ctxT(t), ipc.ClientConfig{Protocol: proto, Path: path})
	if ipc.CodeOf(err) != ipc.CodeDenied {
		t.Fatalf("Dial by a refused uid: %v, want CodeDenied", err)
	}
	e, ok := slog.Find("WARNING", "refused IPC caller")
	if !ok {
		t.Fatalf("refusal not logged at WARNING: %v", slog.Entries())
	}
	if kv := strings.Join(kvStrings(e.KV), " "); !strings.Contains(kv, "pid "+itoa(os.Getpid())) {
		t.Errorf("refusal log lacks the caller's pid: %s", kv)
	}
	var rep echoRep
	if err := admitted.Call(ctxT(t), typeEcho, &echoReq{Text: "still here"}, &rep); err != nil || rep.Text != "still here" {
		t.Fatalf("admitted client after a refusal: %q, %v", rep.Text, err)
	}
	if st := srv.Stats(); st.Refused != 1 || st.Accepted != 2 {
		t.Fatalf("stats %+v: want 2 accepted, 1 refused", st)
	}
}

func TestPeerCredOfCaller(t *testing.T) {
	ts := newTestServer("")
	c, _ := ipctest.Pair(t, ts.config(nil))
	var rep whoRep
	if err := c.Call(ctxT(t), typeWhoAmI, nil, &rep); err != nil {
		t.Fatal(err)
	}
	want := whoRep{PID: int32(os.Getpid()), UID: uint32(os.Geteuid()), GID: uint32(os.Getegid()), Role: roleUser}
	if rep != want {
		t.Fatalf("handler saw %+v, want %+v", rep, want)
	}
}
