package spoold

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/splitmix/splitmix/internal/spoold/boltstore"
	"github.com/splitmix/splitmix/internal/spoold/storetest"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// BenchmarkStoreMessage measures durable stores per second from 32
// concurrent writers (each its own user, 2 KiB messages), with group
// commit and with one sync per store, in process and over the socket.
// Figures: docs/bench/spoold.md.
func BenchmarkStoreMessage(b *testing.B) {
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
			benchStores(b, st)
		})
		b.Run("socket/"+mode.name, func(b *testing.B) {
			c, _ := serveStore(b, opts)
			benchStores(b, c)
		})
	}
}

func benchStores(b *testing.B, st spoolproto.Store) {
	const writers = 32
	ctx := context.Background()
	users := make([][]byte, writers)
	for i := range users {
		users[i] = storetest.NewUser(b)
		if err := st.AddUser(ctx, users[i], storetest.NewLink(b)); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism((writers + 1) / 2) // GOMAXPROCS × this goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		u := users[int(next.Add(1)-1)%writers]
		for pb.Next() {
			if err := st.StoreMessage(ctx, u, storetest.NewMessage(2048, false)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "stores/s")
}
