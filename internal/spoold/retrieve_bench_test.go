package spoold

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/splitmix/splitmix/internal/spoold/boltstore"
	"github.com/splitmix/splitmix/internal/spoold/storetest"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// retrieveReaders is how many users are served at once, each by its own
// goroutine, as mixd serves the clients fetching their spools.
const retrieveReaders = 32

// BenchmarkRetrieveMessage measures retrievals per second: GetHead and then
// RemoveMessage of the head (what mixd does when a client fetches a message
// and acknowledges it) from 32 concurrent readers, each emptying its own
// user's spool of 2 KiB messages, with group commit of the removals and
// with one sync per removal, in process and over the socket. The spools
// are filled before the timer starts, b.N messages in all. Figures:
// docs/bench/spoold.md.
func BenchmarkRetrieveMessage(b *testing.B) {
	for _, mode := range []struct {
		name    string
		noBatch bool
	}{{"batch", false}, {"sync-each", true}} {
		opts := boltstore.Options{MaxMessages: spoolproto.MaxSpoolCount, NoBatch: mode.noBatch}
		b.Run("inprocess/"+mode.name, func(b *testing.B) {
			dir := b.TempDir()
			o := opts
			o.UserDB, o.SpoolDB = filepath.Join(dir, "u.db"), filepath.Join(dir, "s.db")
			st, err := boltstore.Open(o)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			benchRetrievals(b, st, st)
			if got := st.Counters().Removed; got != uint64(b.N) {
				b.Fatalf("removed %d messages, want %d", got, b.N)
			}
		})
		b.Run("socket/"+mode.name, func(b *testing.B) {
			c, st := serveStore(b, opts)
			benchRetrievals(b, c, st)
			if got := st.Counters().Removed; got != uint64(b.N) {
				b.Fatalf("removed %d messages, want %d", got, b.N)
			}
		})
	}
}

// benchRetrievals fills the spools through fill (the store itself, fast)
// and then times the retrievals through st.
func benchRetrievals(b *testing.B, st, fill spoolproto.Store) {
	ctx := context.Background()
	users := make([][]byte, retrieveReaders)
	share := make([]int, retrieveReaders)
	for i := range users {
		users[i] = storetest.NewUser(b)
		if err := fill.AddUser(ctx, users[i], storetest.NewLink(b)); err != nil {
			b.Fatal(err)
		}
		share[i] = b.N / retrieveReaders
		if i < b.N%retrieveReaders {
			share[i]++
		}
		if share[i] > spoolproto.MaxSpoolCount {
			b.Fatalf("%d messages per spool is over the limit %d: lower -benchtime", share[i], spoolproto.MaxSpoolCount)
		}
	}
	runReaders(b, func(i int) {
		for range share[i] {
			if err := fill.StoreMessage(ctx, users[i], storetest.NewMessage(2048, false)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if b.Failed() {
		return
	}
	b.ResetTimer()
	runReaders(b, func(i int) {
		for range share[i] {
			h, err := st.GetHead(ctx, users[i])
			if err != nil {
				b.Error(err)
				return
			}
			if h.Message == nil {
				b.Error("spool empty before its messages were all retrieved")
				return
			}
			if err := st.RemoveMessage(ctx, users[i], h.Message.ID); err != nil {
				b.Error(err)
				return
			}
		}
		if h, err := st.GetHead(ctx, users[i]); err != nil || h.Count != 0 {
			b.Errorf("spool not empty after retrieving its messages: %v, %+v", err, h)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "retrievals/s")
}

// runReaders runs f(0) .. f(retrieveReaders-1) at once and waits for all.
func runReaders(b *testing.B, f func(i int)) {
	var wg sync.WaitGroup
	for i := range retrieveReaders {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}
