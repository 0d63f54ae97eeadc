package diskqueue

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/splitmix/splitmix/internal/mixd/scheduler"
	"github.com/splitmix/splitmix/internal/mixd/scheduler/internal/minheap"
	"github.com/splitmix/splitmix/internal/mixd/scheduler/schedtest"
)

func newDiskQueue(t *testing.T, capacity int, seed *[32]byte) scheduler.Queue {
	t.Helper()
	q, err := Open(Options{Dir: t.TempDir(), Capacity: capacity, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func TestDiskQueueConformance(t *testing.T) { schedtest.RunQueueSuite(t, newDiskQueue) }

func TestSchedulerOverDiskQueue(t *testing.T) { schedtest.RunSchedulerSuite(t, newDiskQueue) }

func item(at int64, meta uint64, payload string) scheduler.Item {
	return scheduler.Item{DispatchAt: at, Meta: meta, Payload: []byte(payload)}
}

func mustOpen(t *testing.T, opts Options) *Queue {
	t.Helper()
	q, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func popAll(t *testing.T, q *Queue) []scheduler.Item {
	t.Helper()
	var all []scheduler.Item
	buf := make([]scheduler.Item, 4)
	for {
		n, err := q.PopDue(math.MaxInt64, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return all
		}
		all = append(all, buf[:n]...)
	}
}

func TestReopenKeepsPackets(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, Options{Dir: dir, Capacity: 10})
	want := []scheduler.Item{item(-5, 7, "first"), item(10, 1, "second"), item(10, 2, ""), item(30, math.MaxUint64, "last")}
	for _, i := range []int{3, 1, 0, 2} { // pushed out of order; the ties (10) in order
		if _, _, err := q.Push(want[i]); err != nil {
			t.Fatal(err)
		}
	}
	// One packet leaves before the restart and must not come back.
	buf := make([]scheduler.Item, 1)
	if n, err := q.PopDue(-5, buf); n != 1 || err != nil || buf[0].Meta != 7 {
		t.Fatalf("PopDue: n=%d err=%v item=%+v", n, err, buf[0])
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q2 := mustOpen(t, Options{Dir: dir, Capacity: 10})
	if r := q2.Recovery(); r != (Recovery{Kept: 3}) {
		t.Fatalf("Recovery = %+v, want 3 kept", r)
	}
	if at, ok := q2.Earliest(); !ok || at != 10 || q2.Len() != 3 {
		t.Fatalf("after reopen: Earliest %d,%v Len %d", at, ok, q2.Len())
	}
	// New pushes after the reopen must sort after the old ties.
	if _, _, err := q2.Push(item(10, 3, "after reopen")); err != nil {
		t.Fatal(err)
	}
	got := popAll(t, q2)
	want = append(want[1:3], item(10, 3, "after reopen"), want[3])
	if len(got) != len(want) {
		t.Fatalf("got %d items, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].DispatchAt != want[i].DispatchAt || got[i].Meta != want[i].Meta || !bytes.Equal(got[i].Payload, want[i].Payload) {
			t.Fatalf("item %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestReopenTrimsToSmallerCapacity(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, Options{Dir: dir, Capacity: 20})
	for i := range 20 {
		if _, _, err := q.Push(item(int64(i), uint64(i), "p")); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q2 := mustOpen(t, Options{Dir: dir, Capacity: 5, Seed: schedtest.Seed(1)})
	if r := q2.Recovery(); r != (Recovery{Kept: 5, Trimmed: 15}) {
		t.Fatalf("Recovery = %+v", r)
	}
	if got := popAll(t, q2); len(got) != 5 {
		t.Fatalf("%d packets after trimming, want 5", len(got))
	}
	if err := q2.Close(); err != nil {
		t.Fatal(err)
	}
	// The trim was written to the file, not only to the index.
	q3 := mustOpen(t, Options{Dir: dir, Capacity: 20})
	if q3.Len() != 0 {
		t.Fatalf("file still holds %d packets", q3.Len())
	}
}

func TestOpenDeletesCorruptEntries(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, Options{Dir: dir, Capacity: 10})
	if _, _, err := q.Push(item(1, 1, "good")); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var kb [keyLen]byte
	encodeKey(&kb, minheap.Key{At: 2, Seq: 99})
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketName)
		for k, v := range map[string][]byte{
			"short key":          encodeValue(nil, 1, []byte("x")),
			string(kb[:]):        {2, 0, 0}, // short value
			"0123456789abcdef":   {9, 0, 0, 0, 0, 0, 0, 0, 0, 'x'},
			"0123456789abcdeX":   encodeValue(nil, 1, make([]byte, 100)), // over MaxPayload below
			"nested-bucket-name": nil,
		} {
			var err error
			if v == nil {
				_, err = b.CreateBucket([]byte(k))
			} else {
				err = b.Put([]byte(k), v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	q2 := mustOpen(t, Options{Dir: dir, Capacity: 10, MaxPayload: 50})
	if r := q2.Recovery(); r != (Recovery{Kept: 1, Corrupt: 5}) {
		t.Fatalf("Recovery = %+v, want 1 kept, 5 corrupt", r)
	}
	got := popAll(t, q2)
	if len(got) != 1 || string(got[0].Payload) != "good" {
		t.Fatalf("got %+v", got)
	}
}

func TestFileAndDirectoryModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sched")
	mustOpen(t, Options{Dir: dir, Capacity: 1})
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s has mode %v, want at most %v", path, got, want)
		}
	}
}

func TestSecondOpenFailsInsteadOfHanging(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, Options{Dir: dir, Capacity: 1})
	_, err := Open(Options{Dir: dir, Capacity: 1})
	if err == nil || !strings.Contains(err.Error(), FileName) {
		t.Fatalf("second Open of a locked queue: %v, want an error naming the file", err)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for name, opts := range map[string]Options{
		"no dir":           {Capacity: 1},
		"zero capacity":    {Dir: dir},
		"negative payload": {Dir: dir, Capacity: 1, MaxPayload: -1},
	} {
		if q, err := Open(opts); err == nil {
			_ = q.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPushRejectsOversizedPacket(t *testing.T) {
	q := mustOpen(t, Options{Dir: t.TempDir(), Capacity: 4, MaxPayload: 8})
	if _, _, err := q.Push(item(1, 1, "123456789")); err == nil || errors.Is(err, scheduler.ErrClosed) {
		t.Fatalf("9-byte packet with MaxPayload 8: %v", err)
	}
	if _, _, err := q.Push(item(1, 1, "12345678")); err != nil {
		t.Fatalf("8-byte packet: %v", err)
	}
	if q.Len() != 1 {
		t.Fatalf("Len = %d, want 1", q.Len())
	}
}

// TestPushCopiesPayload: unlike the memory queue, the disk queue has the
// packet on disk once Push returns, so the caller's buffer is free again.
func TestPushCopiesPayload(t *testing.T) {
	q := mustOpen(t, Options{Dir: t.TempDir(), Capacity: 4})
	buf := []byte("original")
	if _, _, err := q.Push(scheduler.Item{DispatchAt: 1, Payload: buf}); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX")
	if got := popAll(t, q); len(got) != 1 || string(got[0].Payload) != "original" {
		t.Fatalf("got %+v", got)
	}
}

func TestKeyOrderIsNumericOrder(t *testing.T) {
	times := []int64{math.MinInt64, -1 << 40, -1, 0, 1, 1 << 40, math.MaxInt64}
	var prev [keyLen]byte
	for i, at := range times {
		var kb [keyLen]byte
		encodeKey(&kb, minheap.Key{At: at, Seq: 5})
		if i > 0 && bytes.Compare(prev[:], kb[:]) >= 0 {
			t.Fatalf("key for %d does not sort after key for %d", at, times[i-1])
		}
		k, err := decodeKey(kb[:])
		if err != nil || k != (minheap.Key{At: at, Seq: 5}) {
			t.Fatalf("round trip of %d: %+v %v", at, k, err)
		}
		prev = kb
	}
}
