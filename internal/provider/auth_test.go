package provider

import (
	"errors"
	"testing"
	"time"
)

// Without TOFU or ephemeral clients only the registered key is accepted.
func TestAuthorizeRegistered(t *testing.T) {
	h := newHarness(t, nil)
	user := newUserName(t)
	key := newLinkKey(t)
	if err := h.st.AddUser(ctxT(t), user, key); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Authorize(ctxT(t), user, key); err != nil {
		t.Fatalf("registered key refused: %v", err)
	}
	if err := h.p.Authorize(ctxT(t), user, newLinkKey(t)); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("other key: %v", err)
	}
	if err := h.p.Authorize(ctxT(t), newUserName(t), key); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("unknown user: %v", err)
	}
	for _, blob := range [][]byte{nil, []byte("Alice"), []byte("+echo"), make([]byte, 33), []byte("a\x00")} {
		if err := h.p.Authorize(ctxT(t), blob, key); !errors.Is(err, ErrNotAuthorized) {
			t.Fatalf("blob %q: %v", blob, err)
		}
	}
	if ok, _ := h.st.Exists(ctxT(t), []byte("alice")); ok {
		t.Fatal("a user was created without TOFU")
	}
}

// Trust on first use records the first key and refuses a second one.
func TestAuthorizeTrustOnFirstUse(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.TrustOnFirstUse = true })
	user := newUserName(t)
	first, second := newLinkKey(t), newLinkKey(t)
	if err := h.p.Authorize(ctxT(t), user, first); err != nil {
		t.Fatal(err)
	}
	got, err := h.st.GetLink(ctxT(t), user)
	if err != nil || !got.Equal(first) {
		t.Fatalf("recorded key: %v", err)
	}
	if err := h.p.Authorize(ctxT(t), user, second); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("second key: %v", err)
	}
	if err := h.p.Authorize(ctxT(t), user, first); err != nil {
		t.Fatalf("first key again: %v", err)
	}
	// TOFU users are not ephemeral: never purged.
	if _, _, eph := h.p.clients.counts(); eph != 0 {
		t.Fatalf("%d ephemeral users", eph)
	}
}

// Ephemeral users are created on first contact and purged once gone: no
// session for EphemeralIdle and an empty spool, or no session for four such
// periods whatever the spool holds.
func TestEphemeralClients(t *testing.T) {
	clock := newFakeClock()
	const idle = time.Hour
	_, st := privateSpoold(t)
	h := newHarnessOn(t, st, ephemeralConfig(clock, idle))
	emptyUser, fullUser := newUserName(t), newUserName(t)
	keyE, keyF := newLinkKey(t), newLinkKey(t)
	if err := h.p.Authorize(ctxT(t), emptyUser, keyE); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Authorize(ctxT(t), fullUser, keyF); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Authorize(ctxT(t), emptyUser, keyF); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("second key for an ephemeral user: %v", err)
	}
	if s := h.p.Stats(); s.EphemeralUsers != 2 {
		t.Fatalf("ephemeral users %d", s.EphemeralUsers)
	}
	spoolEntry(t, h.st, fullUser, 1, false)

	// Connected: never purged.
	sess, err := h.p.NewSession(emptyUser)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * idle)
	purge := func(want int) {
		t.Helper()
		n, err := h.p.PurgeEphemeral(ctxT(t))
		if err != nil || n != want {
			t.Fatalf("PurgeEphemeral = %d, %v; want %d", n, err, want)
		}
	}
	purge(0) // emptyUser connected; fullUser has a message
	sess.Close()
	clock.Advance(idle - time.Second)
	purge(0) // not idle long enough since the session closed
	clock.Advance(time.Second)
	purge(1)
	if ok, err := h.st.Exists(ctxT(t), emptyUser); err != nil || ok {
		t.Fatalf("purged user still exists: %v %v", ok, err)
	}
	if ok, err := h.st.Exists(ctxT(t), fullUser); err != nil || !ok {
		t.Fatalf("user with a spooled message purged early: %v %v", ok, err)
	}
	clock.Advance(idle) // fullUser now idle 4 periods: abandoned
	purge(1)
	if ok, err := h.st.Exists(ctxT(t), fullUser); err != nil || ok {
		t.Fatalf("abandoned user still exists: %v %v", ok, err)
	}
	if s := h.p.Stats(); s.EphemeralUsers != 0 {
		t.Fatalf("ephemeral users %d after purge", s.EphemeralUsers)
	}
	// A purged name is free again: a new first contact recreates it.
	if err := h.p.Authorize(ctxT(t), emptyUser, keyF); err != nil {
		t.Fatalf("recreating a purged user: %v", err)
	}
}

// An ephemeral user the operator replaced (REMOVE_USER, then ADD_USER of
// the same name) while the Provider still tracks it is not purged: spoold
// purges only users that carry the ephemeral mark, and the Provider drops
// its entry (ipc/spoolproto/PROTOCOL.md §3.3).
func TestPurgeSparesReplacedUser(t *testing.T) {
	clock := newFakeClock()
	const idle = time.Hour
	_, st := privateSpoold(t)
	h := newHarnessOn(t, st, ephemeralConfig(clock, idle))
	user, key := newUserName(t), newLinkKey(t)
	if err := h.p.Authorize(ctxT(t), user, key); err != nil {
		t.Fatal(err)
	}
	// The operator's commands go straight to spoold, as mixd's management
	// backend sends them.
	if err := h.st.RemoveUser(ctxT(t), user); err != nil {
		t.Fatal(err)
	}
	operatorKey := newLinkKey(t)
	if err := h.st.AddUser(ctxT(t), user, operatorKey); err != nil {
		t.Fatal(err)
	}
	clock.Advance(idle)
	if _, err := h.p.PurgeEphemeral(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.st.IsValid(ctxT(t), user, operatorKey); err != nil || !ok {
		t.Fatalf("the operator's user was purged: %v %v", ok, err)
	}
	if s := h.p.Stats(); s.EphemeralUsers != 0 {
		t.Fatalf("ephemeral users %d: the replaced entry is still tracked", s.EphemeralUsers)
	}
}

// The ephemeral users are bounded: beyond the bound no new one is created,
// while existing users still connect.
func TestEphemeralBound(t *testing.T) {
	_, st := privateSpoold(t)
	h := newHarnessOn(t, st, func(c *Config) { c.EnableEphemeralClients = true; c.MaxEphemeralClients = 1 })
	if err := h.p.Authorize(ctxT(t), newUserName(t), newLinkKey(t)); err != nil {
		t.Fatal(err)
	}
	stranger := newUserName(t)
	if err := h.p.Authorize(ctxT(t), stranger, newLinkKey(t)); !errors.Is(err, ErrTooManyEphemeral) {
		t.Fatalf("beyond the bound: %v", err)
	}
	if ok, _ := h.st.Exists(ctxT(t), stranger); ok {
		t.Fatal("user created beyond the bound")
	}
	regular := newUserName(t)
	key := newLinkKey(t)
	if err := h.st.AddUser(ctxT(t), regular, key); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Authorize(ctxT(t), regular, key); err != nil {
		t.Fatalf("registered user at the bound: %v", err)
	}
}
