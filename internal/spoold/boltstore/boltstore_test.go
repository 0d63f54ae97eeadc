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

// TestReopenKeepsEphemeralMarks: the marks are durable, as the users are;
// a user purged or removed before the restart stays unmarked after it.
func TestReopenKeepsEphemeralMarks(t *testing.T) {
	opts := testOptions(t.TempDir())
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l := storetest.NewLink(t)
	kept, purged, removed, ordinary := storetest.NewUser(t), storetest.NewUser(t), storetest.NewUser(t), storetest.NewUser(t)
	for _, u := range [][]byte{kept, purged, removed} {
		if added, _, err := s.AddEphemeralIfAbsent(ctx, u, l); err != nil || !added {
			t.Fatalf("AddEphemeralIfAbsent: %v", err)
		}
	}
	if err := s.AddUser(ctx, ordinary, l); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeUser(ctx, purged); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, removed); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, opts)
	got := storetest.ListAll(t, s, 1)
	if len(got) != 1 || string(got[0]) != string(kept) {
		t.Fatalf("after reopening, %d users listed, want the one kept", len(got))
	}
	if ok, _ := s.IsValid(ctx, kept, l); !ok {
		t.Fatal("the ephemeral user lost its key across reopen")
	}
}

// TestOpenOldUserDB: a user database written before the "ephemeral"
// bucket existed opens, its users intact and none of them ephemeral.
func TestOpenOldUserDB(t *testing.T) {
	opts := testOptions(t.TempDir())
	u, l := storetest.NewUser(t), storetest.NewLink(t)
	db, err := bolt.Open(opts.UserDB, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketUsers)
		if err != nil {
			return err
		}
		return b.Put(u, (&userRecord{link: *l}).encode())
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, opts)
	ctx := context.Background()
	if ok, err := s.IsValid(ctx, u, l); err != nil || !ok {
		t.Fatalf("old user: %t %v", ok, err)
	}
	if got := storetest.ListAll(t, s, spoolproto.MaxListEphemeral); len(got) != 0 {
		t.Fatalf("%d users of an old database listed as ephemeral", len(got))
	}
	e := storetest.NewUser(t)
	if added, _, err := s.AddEphemeralIfAbsent(ctx, e, l); err != nil || !added {
		t.Fatalf("AddEphemeralIfAbsent on an old database: %v", err)
	}
	if got := storetest.ListAll(t, s, 1); len(got) != 1 || string(got[0]) != string(e) {
		t.Fatal("the new ephemeral user is not listed")
	}
}

// TestOpenRemovesOrphanMarks: a mark without its user (no commit leaves
// one; a hand-edited file might) is dropped at Open, so it cannot make a
// later user of that name ephemeral; marks with a user stay.
func TestOpenRemovesOrphanMarks(t *testing.T) {
	opts := testOptions(t.TempDir())
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l := storetest.NewLink(t)
	kept, orphan := storetest.NewUser(t), storetest.NewUser(t)
	if _, _, err := s.AddEphemeralIfAbsent(ctx, kept, l); err != nil {
		t.Fatal(err)
	}
	if err := s.users.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketEphemeral).Put(orphan, encodeMark()) }); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	v, err := s.vacuum()
	if err != nil || v.marks != 0 || v.spools != 0 {
		t.Fatalf("Open left something to vacuum: %+v %v", v, err)
	}
	got := storetest.ListAll(t, s, spoolproto.MaxListEphemeral)
	if len(got) != 1 || string(got[0]) != string(kept) {
		t.Fatalf("after Open, %d users listed, want the one with a user", len(got))
	}
	if added, _, err := s.AddUserIfAbsent(ctx, orphan, l); err != nil || !added {
		t.Fatal(err)
	}
	if len(storetest.ListAll(t, s, spoolproto.MaxListEphemeral)) != 1 {
		t.Fatal("a user took over an orphan mark")
	}
}

// TestVacuumCountsOrphanMarks checks vacuum itself on a live store.
func TestVacuumCountsOrphanMarks(t *testing.T) {
	s := open(t, testOptions(t.TempDir()))
	for range 3 {
		u := storetest.NewUser(t)
		if err := s.users.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketEphemeral).Put(u, encodeMark()) }); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.vacuum(); err != nil || v.marks != 3 {
		t.Fatalf("vacuum: %+v %v", v, err)
	}
	if got := storetest.ListAll(t, s, 2); len(got) != 0 {
		t.Fatalf("%d orphan marks survived vacuum", len(got))
	}
}

func TestCorruptMarkIsAnError(t *testing.T) {
	s := open(t, testOptions(t.TempDir()))
	u := storetest.NewUser(t)
	if err := s.users.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketEphemeral).Put(u, []byte{9, 9}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListEphemeral(context.Background(), nil, 1); !errors.Is(err, errCorrupt) {
		t.Fatalf("corrupt mark: %v", err)
	}
}
