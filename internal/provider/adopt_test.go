package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/ipc/ipctest"
	"github.com/splitmix/splitmix/ipc/spoolproto"

	"github.com/splitmix/splitmix/internal/proctest"
)

// ephemeralConfig enables ephemeral clients with idle on clock.
func ephemeralConfig(clock *fakeClock, idle time.Duration) func(*Config) {
	return func(c *Config) {
		c.EnableEphemeralClients = true
		c.EphemeralIdle = idle
		c.Now = clock.Now
	}
}

// waitAdopted waits until the Provider's purge loop adopted spoold's
// ephemeral users.
func waitAdopted(t *testing.T, p *Provider) {
	t.Helper()
	select {
	case <-p.adoption.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the Provider did not adopt spoold's ephemeral users")
	}
}

// closeProvider closes h's Provider, as mixd's shutdown would.
func closeProvider(t *testing.T, h *harness) {
	t.Helper()
	if err := h.p.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, st spoolproto.Store, u []byte) bool {
	t.Helper()
	ok, err := st.Exists(ctxT(t), u)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// An ephemeral user created before mixd restarted is adopted by the next
// Provider and purged by it once gone; an ordinary user (ADD_USER, or trust
// on first use) is never adopted. The adoption is logged once at NOTICE,
// by count, naming nobody.
func TestEphemeralAdoptedAfterRestart(t *testing.T) {
	clock := newFakeClock()
	const idle = time.Hour
	_, st := privateSpoold(t)
	h1 := newHarnessOn(t, st, ephemeralConfig(clock, idle))
	eph, key := newUserName(t), newLinkKey(t)
	if err := h1.p.Authorize(ctxT(t), eph, key); err != nil {
		t.Fatal(err)
	}
	ordinary := addUser(t, st)
	tofu := newUserName(t)
	if _, _, err := st.AddUserIfAbsent(ctxT(t), tofu, newLinkKey(t)); err != nil {
		t.Fatal(err)
	}
	closeProvider(t, h1) // mixd stops; its memory of eph is gone

	var logs proctest.Buffer
	backend, err := logging.NewWriter(&logs, "INFO")
	if err != nil {
		t.Fatal(err)
	}
	edit := ephemeralConfig(clock, idle)
	h2 := newHarnessOn(t, st, func(c *Config) { edit(c); c.Log = backend.Logger("provider") })
	h2.waitStat("the ephemeral user adopted", func(s *Stats) bool { return s.EphemeralUsers == 1 })
	waitAdopted(t, h2.p)
	if n := strings.Count(logs.String(), "[NOTICE] provider: adopted the ephemeral clients recorded by spoold: count=1"); n != 1 {
		t.Fatalf("adoption logged %d times at NOTICE with its count:\n%s", n, logs.String())
	}
	for _, u := range [][]byte{eph, ordinary, tofu} {
		if strings.Contains(logs.String(), string(u)) {
			t.Fatalf("a user named in the log above DEBUG:\n%s", logs.String())
		}
	}

	// Adopted as if its last session had just closed.
	clock.Advance(idle - time.Second)
	if n, err := h2.p.PurgeEphemeral(ctxT(t)); err != nil || n != 0 {
		t.Fatalf("PurgeEphemeral before EphemeralIdle = %d, %v", n, err)
	}
	clock.Advance(time.Second)
	if n, err := h2.p.PurgeEphemeral(ctxT(t)); err != nil || n != 1 {
		t.Fatalf("PurgeEphemeral after EphemeralIdle = %d, %v", n, err)
	}
	if exists(t, st, eph) {
		t.Fatal("the adopted user was not purged from spoold")
	}
	if !exists(t, st, ordinary) || !exists(t, st, tofu) {
		t.Fatal("an ordinary user was purged")
	}
	if s := h2.p.Stats(); s.EphemeralUsers != 0 {
		t.Fatalf("%d ephemeral users after the purge", s.EphemeralUsers)
	}
	if l, err := st.ListEphemeral(ctxT(t), nil, spoolproto.MaxListEphemeral); err != nil || len(l) != 0 {
		t.Fatalf("spoold still lists %d ephemeral users: %v", len(l), err)
	}
}

// An adopted user that reconnects is an ephemeral user like any other (its
// key checked, not purged while connected, purged once gone); one whose spool
// is not empty is purged once abandoned.
func TestEphemeralAdoptedReconnects(t *testing.T) {
	clock := newFakeClock()
	const idle = time.Hour
	_, st := privateSpoold(t)
	h1 := newHarnessOn(t, st, ephemeralConfig(clock, idle))
	back, full := newUserName(t), newUserName(t)
	keyB, keyF := newLinkKey(t), newLinkKey(t)
	for u, k := range map[string]*keys.LinkPublicKey{string(back): keyB, string(full): keyF} {
		if err := h1.p.Authorize(ctxT(t), []byte(u), k); err != nil {
			t.Fatal(err)
		}
	}
	spoolEntry(t, st, full, 1, false)
	closeProvider(t, h1)

	h2 := newHarnessOn(t, st, ephemeralConfig(clock, idle))
	h2.waitStat("both adopted", func(s *Stats) bool { return s.EphemeralUsers == 2 })
	if err := h2.p.Authorize(ctxT(t), back, keyF); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("an adopted user with another key: %v", err)
	}
	if err := h2.p.Authorize(ctxT(t), back, keyB); err != nil {
		t.Fatalf("an adopted user reconnecting: %v", err)
	}
	if s := h2.p.Stats(); s.EphemeralUsers != 2 {
		t.Fatalf("a reconnection counted again: %d ephemeral users", s.EphemeralUsers)
	}
	sess, err := h2.p.NewSession(back)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * idle)
	if n, err := h2.p.PurgeEphemeral(ctxT(t)); err != nil || n != 0 {
		t.Fatalf("PurgeEphemeral with one connected and one spool full = %d, %v", n, err)
	}
	sess.Close()
	clock.Advance(idle)
	if n, err := h2.p.PurgeEphemeral(ctxT(t)); err != nil || n != 1 {
		t.Fatalf("PurgeEphemeral after the session closed = %d, %v", n, err)
	}
	if exists(t, st, back) || !exists(t, st, full) {
		t.Fatal("wrong user purged")
	}
	clock.Advance(idle) // full: 4 periods since its adoption, abandoned
	if n, err := h2.p.PurgeEphemeral(ctxT(t)); err != nil || n != 1 {
		t.Fatalf("PurgeEphemeral of an abandoned user = %d, %v", n, err)
	}
	if exists(t, st, full) {
		t.Fatal("the abandoned adopted user was not purged")
	}
}

// gatedList holds ListEphemeral until released.
type gatedList struct {
	spoolproto.Store
	entered chan struct{}
	release chan struct{}
}

func (g *gatedList) ListEphemeral(ctx context.Context, after []byte, limit int) ([][]byte, error) {
	select {
	case g.entered <- struct{}{}:
	default: // a retry after a failed test: nobody is waiting
	}
	select {
	case <-g.release:
	case <-ctx.Done(): // Close, if the test failed before releasing
		return nil, ctx.Err()
	}
	return g.Store.ListEphemeral(ctx, after, limit)
}

// Users this Provider knows before adoption runs are not counted twice: one
// that reconnected (as an existing user, since spoold has it) becomes
// ephemeral once, and one this Provider created is already counted.
func TestEphemeralAdoptionNotDoubleCounted(t *testing.T) {
	clock := newFakeClock()
	const idle = time.Hour
	_, st := privateSpoold(t)
	h1 := newHarnessOn(t, st, ephemeralConfig(clock, idle))
	old, key := newUserName(t), newLinkKey(t)
	if err := h1.p.Authorize(ctxT(t), old, key); err != nil {
		t.Fatal(err)
	}
	closeProvider(t, h1)

	g := &gatedList{Store: st, entered: make(chan struct{}, 1), release: make(chan struct{})}
	edit := ephemeralConfig(clock, idle)
	h2 := newHarnessOn(t, st, func(c *Config) { edit(c); c.Store = g })
	<-g.entered // adoption is under way, its listing held
	if err := h2.p.Authorize(ctxT(t), old, key); err != nil {
		t.Fatalf("a user of the previous run before adoption: %v", err)
	}
	sess, err := h2.p.NewSession(old)
	if err != nil {
		t.Fatal(err)
	}
	fresh := newUserName(t)
	if err := h2.p.Authorize(ctxT(t), fresh, newLinkKey(t)); err != nil {
		t.Fatal(err)
	}
	if s := h2.p.Stats(); s.EphemeralUsers != 1 {
		t.Fatalf("before adoption: %d ephemeral users, want the fresh one", s.EphemeralUsers)
	}
	close(g.release)
	waitAdopted(t, h2.p)
	if s := h2.p.Stats(); s.EphemeralUsers != 2 {
		t.Fatalf("after adoption: %d ephemeral users, want 2", s.EphemeralUsers)
	}
	// old is ephemeral now: kept while connected, purged once gone.
	clock.Advance(idle)
	if n, err := h2.p.PurgeEphemeral(ctxT(t)); err != nil || n != 1 {
		t.Fatalf("PurgeEphemeral = %d, %v; want the fresh user only", n, err)
	}
	sess.Close()
	clock.Advance(idle)
	if n, err := h2.p.PurgeEphemeral(ctxT(t)); err != nil || n != 1 {
		t.Fatalf("PurgeEphemeral after the session closed = %d, %v", n, err)
	}
	if exists(t, st, old) || exists(t, st, fresh) {
		t.Fatal("an ephemeral user survived")
	}
}

// Adopted users count toward MaxEphemeralClients and are all adopted even
// beyond it: new ones are refused until enough are purged, the adopted ones
// still connect.
func TestEphemeralAdoptionBeyondBound(t *testing.T) {
	clock := newFakeClock()
	const idle = time.Hour
	_, st := privateSpoold(t)
	h1 := newHarnessOn(t, st, ephemeralConfig(clock, idle))
	users := make([][]byte, 3)
	ks := make([]*keys.LinkPublicKey, 3)
	for i := range users {
		users[i], ks[i] = newUserName(t), newLinkKey(t)
		if err := h1.p.Authorize(ctxT(t), users[i], ks[i]); err != nil {
			t.Fatal(err)
		}
	}
	closeProvider(t, h1)

	edit := ephemeralConfig(clock, idle)
	h2 := newHarnessOn(t, st, func(c *Config) { edit(c); c.MaxEphemeralClients = 1 })
	h2.waitStat("all adopted", func(s *Stats) bool { return s.EphemeralUsers == 3 })
	if err := h2.p.Authorize(ctxT(t), newUserName(t), newLinkKey(t)); !errors.Is(err, ErrTooManyEphemeral) {
		t.Fatalf("a new user beyond the bound: %v", err)
	}
	if err := h2.p.Authorize(ctxT(t), users[1], ks[1]); err != nil {
		t.Fatalf("an adopted user beyond the bound: %v", err)
	}
	clock.Advance(idle)
	if n, err := h2.p.PurgeEphemeral(ctxT(t)); err != nil || n != 3 {
		t.Fatalf("PurgeEphemeral = %d, %v", n, err)
	}
	if err := h2.p.Authorize(ctxT(t), newUserName(t), newLinkKey(t)); err != nil {
		t.Fatalf("a new user once the adopted ones are purged: %v", err)
	}
}

// failingList fails the first fail ListEphemeral calls, counting calls.
type failingList struct {
	spoolproto.Store
	mu          sync.Mutex
	fail, calls int
}

var errListDown = errors.New("spoold unreachable (test)")

func (f *failingList) ListEphemeral(ctx context.Context, after []byte, limit int) ([][]byte, error) {
	f.mu.Lock()
	f.calls++
	failing := f.calls <= f.fail
	f.mu.Unlock()
	if failing {
		return nil, errListDown
	}
	return f.Store.ListEphemeral(ctx, after, limit)
}

func (f *failingList) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Adoption that fails is retried at the purge ticks until it succeeds.
// The purge ticks run every EphemeralIdle/4 of real time, but the clock
// that decides who is gone stands still, so they purge nothing.
func TestEphemeralAdoptionRetries(t *testing.T) {
	clock := newFakeClock()
	const idle = 40 * time.Millisecond
	_, st := privateSpoold(t)
	h1 := newHarnessOn(t, st, ephemeralConfig(clock, idle))
	u := newUserName(t)
	if err := h1.p.Authorize(ctxT(t), u, newLinkKey(t)); err != nil {
		t.Fatal(err)
	}
	closeProvider(t, h1)

	f := &failingList{Store: st, fail: 2}
	edit := ephemeralConfig(clock, idle)
	h2 := newHarnessOn(t, st, func(c *Config) { edit(c); c.Store = f })
	h2.waitStat("adopted after failures", func(s *Stats) bool { return s.EphemeralUsers == 1 })
	waitAdopted(t, h2.p)
	if n := f.count(); n != 3 {
		t.Fatalf("%d ListEphemeral calls, want 2 failed and 1 that succeeded", n)
	}
	if !exists(t, st, u) {
		t.Fatal("purged with the clock standing still")
	}
}

// spoold down when mixd starts: the Provider adopts once spoold is back.
func TestEphemeralAdoptionWaitsForSpoold(t *testing.T) {
	clock := newFakeClock()
	const idle = 40 * time.Millisecond
	proc, st := privateSpoold(t)
	h1 := newHarnessOn(t, st, ephemeralConfig(clock, idle))
	u := newUserName(t)
	if err := h1.p.Authorize(ctxT(t), u, newLinkKey(t)); err != nil {
		t.Fatal(err)
	}
	closeProvider(t, h1)
	proc.kill()

	f := &failingList{Store: st} // counts the attempts, fails none itself
	edit := ephemeralConfig(clock, idle)
	h2 := newHarnessOn(t, st, func(c *Config) { edit(c); c.Store = f; c.StoreTimeout = 50 * time.Millisecond })
	ipctest.Eventually(t, 20*time.Second, "an attempt failed against the stopped spoold", func() bool { return f.count() >= 2 })
	if s := h2.p.Stats(); s.EphemeralUsers != 0 {
		t.Fatalf("%d ephemeral users adopted with spoold down", s.EphemeralUsers)
	}
	if err := proc.start(); err != nil {
		t.Fatal(err)
	}
	h2.waitStat("adopted once spoold is back", func(s *Stats) bool { return s.EphemeralUsers == 1 })
	waitAdopted(t, h2.p)
}

// endlessList is a broken spoold that lists new names without end.
type endlessList struct {
	spoolproto.Store
	mu    sync.Mutex
	next  int
	pages int
}

func (e *endlessList) ListEphemeral(_ context.Context, _ []byte, limit int) ([][]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pages++
	page := make([][]byte, limit)
	for i := range page {
		page[i] = fmt.Appendf(nil, "u-%012x", e.next)
		e.next++
	}
	return page, nil
}

// Adoption is bounded even when spoold lists without end: the table stops
// growing at the limit, and the Provider goes on working.
func TestEphemeralAdoptionBounded(t *testing.T) {
	clock := newFakeClock()
	st := store(t) // its own marks are never listed: e lists instead
	e := &endlessList{Store: st}
	edit := ephemeralConfig(clock, time.Hour)
	h := newHarnessOn(t, st, func(c *Config) { edit(c); c.Store = e })
	waitAdopted(t, h.p)
	limit := h.p.adoptLimit()
	if s := h.p.Stats(); s.EphemeralUsers < limit || s.EphemeralUsers >= limit+adoptPage {
		t.Fatalf("%d ephemeral users adopted, limit %d", s.EphemeralUsers, limit)
	}
	e.mu.Lock()
	pages := e.pages
	e.mu.Unlock()
	if pages != (limit+adoptPage-1)/adoptPage {
		t.Fatalf("%d pages listed for a limit of %d", pages, limit)
	}
	if err := h.p.Authorize(ctxT(t), newUserName(t), newLinkKey(t)); !errors.Is(err, ErrTooManyEphemeral) {
		t.Fatalf("a new user with the table over its bound: %v", err)
	}
}
