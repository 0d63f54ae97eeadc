package replay

import (
	"path/filepath"
	"testing"
	"time"
)

// TestSyncPolicy: the default interval is the documented one and below the
// kernel's own dirty expiry (30 s); a set interval is honoured; a negative
// one disables the periodic msync.
func TestSyncPolicy(t *testing.T) {
	if DefaultSyncInterval != 10*time.Second {
		t.Fatalf("DefaultSyncInterval %v; docs/spec/replay.md §3 states 10 s", DefaultSyncInterval)
	}
	dir := t.TempDir()
	def := open(t, filepath.Join(dir, "default.replay"), small(t, 100))
	if got := def.SyncInterval(); got != DefaultSyncInterval {
		t.Fatalf("SyncInterval() with zero Options %v, want %v", got, DefaultSyncInterval)
	}

	fast, err := OpenWith(filepath.Join(dir, "fast.replay"), small(t, 100), Options{SyncInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	never, err := OpenWith(filepath.Join(dir, "never.replay"), small(t, 100), Options{SyncInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer never.Close()
	if got := never.SyncInterval(); got >= 0 {
		t.Fatalf("SyncInterval() with a negative option %v, want negative", got)
	}

	for i := range 10 {
		fast.TestAndSet(tagN("sync", i))
		never.TestAndSet(tagN("sync", i))
	}
	deadline := time.Now().Add(20 * time.Second)
	for fast.Stats().Syncs < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("5 ms interval: %d syncs after 20 s", fast.Stats().Syncs)
		}
		time.Sleep(time.Millisecond) // polling a condition, not synchronising
	}
	if s := fast.Stats(); s.SyncErrors != 0 {
		t.Fatalf("%d sync errors", s.SyncErrors)
	}
	if s := never.Stats(); s.Syncs != 0 || s.SyncErrors != 0 {
		t.Fatalf("periodic sync disabled, yet %d syncs, %d errors", s.Syncs, s.SyncErrors)
	}
	if err := never.Close(); err != nil {
		t.Fatalf("Close (final sync): %v", err)
	}
}
