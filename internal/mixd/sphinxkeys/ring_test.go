package sphinxkeys

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// fakeSource is keyd's key store in miniature: a stable key per epoch.
type fakeSource struct {
	mu    sync.Mutex
	keys  map[uint64]keys.SphinxKey
	calls atomic.Int32
	fail  error
}

func (f *fakeSource) SphinxKeys(_ context.Context, epochs []uint64) ([]keys.SphinxKey, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	if f.keys == nil {
		f.keys = map[uint64]keys.SphinxKey{}
	}
	out := make([]keys.SphinxKey, len(epochs))
	for i, e := range epochs {
		k, ok := f.keys[e]
		if !ok {
			k.Epoch = e
			if _, err := rand.Read(k.Private[:]); err != nil {
				return nil, err
			}
			k.Public = sphinx.PublicKey(&k.Private)
			f.keys[e] = k
		}
		out[i] = k
	}
	return out, nil
}

func (f *fakeSource) key(e uint64) keys.SphinxKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[e]
}

// fakeTime is a settable clock.
type fakeTime struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeTime) Now() time.Time  { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeTime) Set(t time.Time) { f.mu.Lock(); f.t = t; f.mu.Unlock() }

const period = 40 * time.Second // Grace = 10 s

type fixture struct {
	src   *fakeSource
	now   *fakeTime
	clock epochtime.Clock
	dir   string
	sph   *sphinx.Sphinx
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	g, err := sphinx.NewGeometry(2, 64)
	if err != nil {
		t.Fatal(err)
	}
	sph, err := sphinx.New(g)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{src: &fakeSource{}, now: &fakeTime{}, dir: filepath.Join(t.TempDir(), "replay"), sph: sph}
	f.clock = epochtime.Clock{Period: period, Now: f.now.Now}
	return f
}

func (f *fixture) open(t *testing.T) *Ring {
	t.Helper()
	r, err := Open(Config{Clock: f.clock, Dir: f.dir, Source: f.src, Log: logging.Discard(),
		FilterOptions: replayOptions()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// at sets the clock to offset into epoch e.
func (f *fixture) at(e uint64, offset time.Duration) time.Time {
	t := f.clock.Start(e).Add(offset)
	f.now.Set(t)
	return t
}

// packet makes a two-hop packet whose first hop is us under epoch e's key.
func (f *fixture) packet(t *testing.T, e uint64) []byte {
	t.Helper()
	k := f.src.key(e)
	if k.Epoch != e {
		t.Fatalf("no key for epoch %d yet", e)
	}
	var next keys.NodeID
	next[0] = 0xAA
	path := []sphinx.PathHop{{PublicKey: k.Public, Delay: 5}, {ID: next, PublicKey: k.Public}}
	path[0].ID[0] = 1
	rcpt, _ := sphinx.NewRecipientID("alice")
	pkt, err := f.sph.NewPacket(rand.Reader, path, rcpt, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

func TestRotationHoldsNeighbourKeysAndExpiresOldOnes(t *testing.T) {
	f := newFixture(t)
	r := f.open(t)
	ctx := context.Background()
	const e = 1000

	f.at(e, 2*time.Second) // inside the grace window: e-1, e, e+1
	next, err := r.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Epochs(); !slices.Equal(got, []uint64{e - 1, e, e + 1}) {
		t.Fatalf("epochs held %v", got)
	}
	if want := f.clock.Start(e).Add(Grace(period)); !next.Equal(want) {
		t.Fatalf("next rotation %v, want end of grace %v", next, want)
	}
	for _, ep := range []uint64{e - 1, e, e + 1} {
		if _, err := os.Stat(filepath.Join(f.dir, "epoch-"+itoa(ep))); err != nil {
			t.Fatalf("filter file for %d: %v", ep, err)
		}
	}
	calls := f.src.calls.Load()
	if _, err := r.Rotate(ctx); err != nil || f.src.calls.Load() != calls {
		t.Fatalf("a second Rotate fetched again (err %v)", err)
	}

	f.at(e, Grace(period)) // grace over: e-1 is wiped and its file removed
	next, err = r.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Epochs(); !slices.Equal(got, []uint64{e, e + 1}) {
		t.Fatalf("epochs held after grace %v", got)
	}
	if !next.Equal(f.clock.Start(e + 1)) {
		t.Fatalf("next rotation %v, want next epoch", next)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "epoch-"+itoa(e-1))); !os.IsNotExist(err) {
		t.Fatalf("expired filter file still there: %v", err)
	}
}

func TestUnwrapPicksTheRightKeyNearBoundaries(t *testing.T) {
	f := newFixture(t)
	r := f.open(t)
	ctx := context.Background()
	const e = 500
	var res sphinx.UnwrapResult

	now := f.at(e, time.Second)
	if _, err := r.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []uint64{e - 1, e} { // previous key in the first part
		pkt := f.packet(t, ep)
		if reason, ok := r.Unwrap(f.sph, now, pkt, &res); !ok {
			t.Fatalf("packet for epoch %d at start of %d: dropped %v", ep, e, reason)
		}
		if !res.Commands.HasNextHop || res.Commands.Delay != 5 {
			t.Fatalf("commands %+v", res.Commands)
		}
	}
	early := f.packet(t, e+1) // next key is not tried at the start
	if reason, ok := r.Unwrap(f.sph, now, early, &res); ok || reason != drops.UnwrapFailed {
		t.Fatalf("next epoch's packet at the start: %v %v", reason, ok)
	}

	now = f.at(e, period-time.Second) // next key in the last part
	if _, err := r.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if reason, ok := r.Unwrap(f.sph, now, f.packet(t, e+1), &res); !ok {
		t.Fatalf("next epoch's packet near the end: %v", reason)
	}
	if reason, ok := r.Unwrap(f.sph, now, f.packet(t, e-1), &res); ok || reason != drops.UnwrapFailed {
		t.Fatalf("expired key's packet: %v %v", reason, ok)
	}

	garbage := make([]byte, f.sph.Geometry().PacketLength)
	if reason, ok := r.Unwrap(f.sph, now, garbage, &res); ok || reason == drops.Replay {
		t.Fatalf("garbage: %v %v", reason, ok)
	}
	if reason, _ := r.Unwrap(f.sph, now, garbage[:10], &res); reason != drops.BadSize {
		t.Fatalf("short packet: %v", reason)
	}
}

func TestReplayRejectedAlsoAfterReopen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const e = 77
	now := f.at(e, period/2)
	r := f.open(t)
	if _, err := r.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	pkt := f.packet(t, e)
	replayed := slices.Clone(pkt)
	again := slices.Clone(pkt)
	var res sphinx.UnwrapResult
	if _, ok := r.Unwrap(f.sph, now, pkt, &res); !ok {
		t.Fatal("fresh packet dropped")
	}
	if reason, ok := r.Unwrap(f.sph, now, replayed, &res); ok || reason != drops.Replay {
		t.Fatalf("replay: %v %v", reason, ok)
	}
	if st, _ := r.FilterStats(e); st.Count != 1 {
		t.Fatalf("filter holds %d tags", st.Count)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := r.Epochs(); len(got) != 0 {
		t.Fatalf("closed ring holds %v", got)
	}

	r2 := f.open(t) // a restart: same keys from the source, same files
	if _, err := r2.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if reason, ok := r2.Unwrap(f.sph, now, again, &res); ok || reason != drops.Replay {
		t.Fatalf("replay after reopen: %v %v", reason, ok)
	}
}

func TestNoKeyAndSourceFailure(t *testing.T) {
	f := newFixture(t)
	r := f.open(t)
	now := f.at(10, period/2)
	var res sphinx.UnwrapResult
	pkt := make([]byte, f.sph.Geometry().PacketLength)
	if reason, ok := r.Unwrap(f.sph, now, pkt, &res); ok || reason != drops.NoKey {
		t.Fatalf("before any key: %v %v", reason, ok)
	}
	f.src.fail = errors.New("keyd down")
	if _, err := r.Rotate(context.Background()); err == nil {
		t.Fatal("Rotate succeeded without keys")
	}
	if _, err := r.PublicKeys(context.Background(), []uint64{11}); err == nil {
		t.Fatal("PublicKeys succeeded without keys")
	}
	f.src.fail = nil
	if _, err := r.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	pubs, err := r.PublicKeys(context.Background(), []uint64{10, 11, 12})
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range []uint64{10, 11, 12} {
		if pubs[ep] != f.src.key(ep).Public {
			t.Fatalf("public key for %d differs from the source's", ep)
		}
	}
	if got := r.Epochs(); !slices.Equal(got, []uint64{10, 11}) {
		t.Fatalf("PublicKeys loaded private keys: %v", got)
	}
}

func TestWrongKeyFromSourceRefused(t *testing.T) {
	f := newFixture(t)
	r := f.open(t)
	f.at(3, period/2)
	if _, err := f.src.SphinxKeys(context.Background(), []uint64{3, 4}); err != nil {
		t.Fatal(err)
	}
	f.src.mu.Lock()
	k := f.src.keys[3]
	k.Public[0] ^= 1
	f.src.keys[3] = k
	f.src.mu.Unlock()
	if _, err := r.Rotate(context.Background()); err == nil {
		t.Fatal("a key whose public half does not match was accepted")
	}
	if got := r.Epochs(); !slices.Equal(got, []uint64{4}) {
		t.Fatalf("held %v", got)
	}
}

func TestStaleFilesRemovedAtRotate(t *testing.T) {
	f := newFixture(t)
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(f.dir, "epoch-5")
	keep := filepath.Join(f.dir, "unrelated")
	for _, p := range []string{stale, keep} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := f.open(t)
	f.at(20, period/2)
	if _, err := r.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale filter file kept")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatal("unrelated file removed")
	}
}

func TestUnwrapDoesNotAllocate(t *testing.T) {
	f := newFixture(t)
	r := f.open(t)
	now := f.at(9, period/2)
	if _, err := r.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	pkt := f.packet(t, 9)
	work := make([]byte, len(pkt))
	var res sphinx.UnwrapResult
	allocs := testing.AllocsPerRun(20, func() {
		copy(work, pkt)
		r.Unwrap(f.sph, now, work, &res)
	})
	if allocs != 0 {
		t.Fatalf("Unwrap allocates %v times", allocs)
	}
}

func TestGrace(t *testing.T) {
	if Grace(20*time.Minute) != 5*time.Minute || Grace(2*time.Hour) != MaxGrace || Grace(8*time.Second) != 2*time.Second {
		t.Fatal("Grace is not a quarter of the period capped at MaxGrace")
	}
	p := FilterParams(20*time.Minute, 1, [32]byte{})
	if p.Capacity != MaxPacketRate*30*60 {
		t.Fatalf("capacity %d for 20 min epochs", p.Capacity)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}
