package boltstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/splitmix/splitmix/internal/spoold/storetest"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

const (
	testMaxMessages    = 8
	testMaxMessageSize = 2048
)

func testOptions(dir string) Options {
	return Options{
		UserDB:         filepath.Join(dir, "users.db"),
		SpoolDB:        filepath.Join(dir, "spool.db"),
		MaxMessages:    testMaxMessages,
		MaxMessageSize: testMaxMessageSize,
	}
}

func open(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	s := open(t, testOptions(t.TempDir()))
	storetest.Run(t, storetest.Harness{Store: s, MaxMessages: testMaxMessages, MaxMessageSize: testMaxMessageSize})
	c := s.Counters()
	if c.Stored == 0 || c.Duplicates == 0 || c.Removed == 0 || c.RefusedFull == 0 || c.RefusedTooLarge == 0 {
		t.Fatalf("counters missed something: %+v", c)
	}
}

func TestConformanceNoBatch(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.NoBatch = true
	storetest.Run(t, storetest.Harness{Store: open(t, opts), MaxMessages: testMaxMessages, MaxMessageSize: testMaxMessageSize})
}

func TestReopenKeepsEverything(t *testing.T) {
	opts := testOptions(t.TempDir())
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, l := storetest.NewUser(t), storetest.NewLink(t)
	id := storetest.NewUser(t)
	m := storetest.NewMessage(100, true)
	if err := s.AddUser(ctx, u, l); err != nil {
		t.Fatal(err)
	}
	if err := s.SetIdentity(ctx, u, id); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreMessage(ctx, u, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s = open(t, opts)
	if ok, _ := s.IsValid(ctx, u, l); !ok {
		t.Fatal("user lost across reopen")
	}
	if got, _ := s.GetIdentity(ctx, u); string(got) != string(id) {
		t.Fatal("identity lost across reopen")
	}
	hd, err := s.GetHead(ctx, u)
	if err != nil || hd.Count != 1 || hd.Message.ID != m.ID || *hd.Message.SURBID != *m.SURBID || string(hd.Message.Body) != string(m.Body) {
		t.Fatalf("message lost across reopen: %+v %v", hd, err)
	}
	// The retry of a store acknowledged before the restart is not stored again.
	if err := s.StoreMessage(ctx, u, m); err != nil {
		t.Fatal(err)
	}
	if hd, _ := s.GetHead(ctx, u); hd.Count != 1 {
		t.Fatalf("retry after reopen stored again: %d", hd.Count)
	}
}

// TestOpenRemovesOrphanSpools: a crash between the two commits of a
// user's removal leaves a spool without a user; Open removes it.
func TestOpenRemovesOrphanSpools(t *testing.T) {
	opts := testOptions(t.TempDir())
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gone := storetest.NewUser(t)
	kept, l := storetest.NewUser(t), storetest.NewLink(t)
	for _, u := range [][]byte{gone, kept} {
		if err := s.AddUser(ctx, u, l); err != nil {
			t.Fatal(err)
		}
		if err := s.StoreMessage(ctx, u, storetest.NewMessage(5, false)); err != nil {
			t.Fatal(err)
		}
	}
	// The first commit of RemoveUser alone, as if spoold died after it.
	if err := s.users.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketUsers).Delete(gone) }); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s = open(t, opts)
	if hd, _ := s.GetHead(ctx, gone); hd.Count != 0 {
		t.Fatal("orphan spool survived Open")
	}
	if hd, _ := s.GetHead(ctx, kept); hd.Count != 1 {
		t.Fatal("Open removed a live user's spool")
	}
}

func TestOpenRefusesSecondInstanceAndBadOptions(t *testing.T) {
	opts := testOptions(t.TempDir())
	open(t, opts)
	if _, err := Open(opts); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}
	for _, bad := range []Options{
		{},
		{UserDB: "/x", SpoolDB: "/x"},
		{UserDB: "/x", SpoolDB: "/y", MaxMessages: -1},
		{UserDB: "/x", SpoolDB: "/y", MaxMessageSize: spoolproto.MaxMessageSize + 1},
	} {
		if _, err := Open(bad); err == nil {
			t.Fatalf("Open(%+v) accepted", bad)
		}
	}
}

func TestCorruptRecordIsAnError(t *testing.T) {
	s := open(t, testOptions(t.TempDir()))
	u := storetest.NewUser(t)
	if err := s.users.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketUsers).Put(u, []byte{1, 2, 3}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exists(context.Background(), u); !errors.Is(err, errCorrupt) {
		t.Fatalf("corrupt user record: %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	s := open(t, testOptions(t.TempDir()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Exists(ctx, storetest.NewUser(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Exists with a cancelled context: %v", err)
	}
}
