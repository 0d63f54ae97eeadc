package spoold

import (
	"path/filepath"
	"testing"

	"github.com/splitmix/splitmix/internal/spoold/boltstore"
	"github.com/splitmix/splitmix/internal/spoold/storetest"
	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// serveStore serves a bolt store with small limits over a socket in this
// process and returns a client of it.
func serveStore(t testing.TB, opts boltstore.Options) (*spoolproto.Client, *boltstore.Store) {
	t.Helper()
	dir := t.TempDir()
	opts.UserDB, opts.SpoolDB = filepath.Join(dir, "users.db"), filepath.Join(dir, "spool.db")
	st, err := boltstore.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	path := ipctest.SocketPath(t, "spoold.sock")
	// Registered before the server, so it runs after the server closed.
	t.Cleanup(func() { _ = st.Close() })
	ipctest.Serve(t, ipc.ServerConfig{Protocol: spoolproto.Protocol, Routes: spoolproto.Routes(st), Authorize: ipctest.AllowSelf(spoolproto.RoleMixd)}, path)
	return dial(t, path), st
}

// TestConformanceOverSocketSmallLimits runs the suite through the client
// and server against a store with limits small enough to fill: the
// full-spool and too-large refusals cross the socket as the same errors.
func TestConformanceOverSocketSmallLimits(t *testing.T) {
	c, st := serveStore(t, boltstore.Options{MaxMessages: 8, MaxMessageSize: 2048})
	storetest.Run(t, storetest.Harness{Store: c, MaxMessages: 8, MaxMessageSize: 2048})
	if cnt := st.Counters(); cnt.RefusedFull == 0 || cnt.RefusedTooLarge == 0 {
		t.Fatalf("refusals not counted: %+v", cnt)
	}
}
