package sphinxkeys

import (
	"context"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// FuzzRingUnwrap feeds arbitrary bytes to the ring: they never panic, are
// never accepted (no valid MAC without the key), and every refusal has a
// reason.
func FuzzRingUnwrap(f *testing.F) {
	fx := newFixture(f)
	r, err := Open(Config{Clock: fx.clock, Dir: fx.dir, Source: fx.src, FilterOptions: replayOptions()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = r.Close() })
	now := fx.at(42, time.Second) // in the grace window: two keys tried
	if _, err := r.Rotate(context.Background()); err != nil {
		f.Fatal(err)
	}
	plen := fx.sph.Geometry().PacketLength
	f.Add(make([]byte, plen))
	f.Add(make([]byte, 3))
	valid := make([]byte, plen)
	valid[0] = sphinx.Version
	f.Add(valid)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		var res sphinx.UnwrapResult
		reason, ok := r.Unwrap(fx.sph, now, pkt, &res)
		if ok {
			t.Fatal("random bytes unwrapped")
		}
		if reason >= drops.NumReasons {
			t.Fatalf("reason %d out of range", reason)
		}
	})
}
