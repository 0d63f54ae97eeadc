// Package storetest is the conformance suite for spoolproto.Store
// implementations. It runs against the bolt store in process
// (internal/spoold/boltstore) and against spoold served over its socket
// (spoolproto.Client, in internal/spoold), so both sides of the socket
// are held to the same behaviour (ipc/spoolproto/PROTOCOL.md §3).
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// Harness describes the Store under test. Every test uses fresh user
// names, so one Store serves the whole suite.
type Harness struct {
	Store spoolproto.Store
	// MaxMessages and MaxMessageSize are the limits the Store was
	// configured with. Filling a spool to MaxMessages is tested only when
	// it is at most FillLimit (each store is a sync).
	MaxMessages    int
	MaxMessageSize int
}

// FillLimit is the largest MaxMessages the suite fills a spool to.
const FillLimit = 64

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, h Harness) {
	t.Run("Users", h.testUsers)
	t.Run("UserNames", h.testUserNames)
	t.Run("TrustOnFirstUse", h.testTrustOnFirstUse)
	t.Run("Identity", h.testIdentity)
	t.Run("SpoolFIFO", h.testSpoolFIFO)
	t.Run("SpoolIdempotent", h.testSpoolIdempotent)
	t.Run("SpoolIsolation", h.testSpoolIsolation)
	t.Run("SpoolLimits", h.testSpoolLimits)
	t.Run("SpoolInvalid", h.testSpoolInvalid)
	t.Run("RemoveAndPurge", h.testRemoveAndPurge)
	t.Run("ConcurrentStores", h.testConcurrentStores)
	t.Run("EphemeralMark", h.testEphemeralMark)
	t.Run("EphemeralListing", h.testEphemeralListing)
	t.Run("EphemeralConcurrentFirstUse", h.testEphemeralConcurrentFirstUse)
}

// Ctx returns a context bounded for one test.
func Ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// NewUser returns a fresh random 32-byte user name with no trailing zero.
func NewUser(t testing.TB) []byte {
	u := make([]byte, spoolproto.MaxUserSize)
	_, _ = rand.Read(u)
	u[len(u)-1] |= 1
	return u
}

// NewLink returns a fresh link public key.
func NewLink(t testing.TB) *keys.LinkPublicKey {
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// NewMessage returns a message with a random id and body, and a SURB id
// if surb.
func NewMessage(size int, surb bool) *spoolproto.Message {
	m := &spoolproto.Message{Body: make([]byte, size)}
	_, _ = rand.Read(m.ID[:])
	_, _ = rand.Read(m.Body)
	if surb {
		m.SURBID = new(spoolproto.SURBID)
		_, _ = rand.Read(m.SURBID[:])
	}
	return m
}

func (h Harness) addUser(t *testing.T) ([]byte, *keys.LinkPublicKey) {
	t.Helper()
	u, l := NewUser(t), NewLink(t)
	if err := h.Store.AddUser(Ctx(t), u, l); err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	return u, l
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func (h Harness) valid(t *testing.T, u []byte, l *keys.LinkPublicKey) bool {
	t.Helper()
	ok, err := h.Store.IsValid(Ctx(t), u, l)
	if err != nil {
		t.Fatalf("IsValid: %v", err)
	}
	return ok
}

func (h Harness) exists(t *testing.T, u []byte) bool {
	t.Helper()
	ok, err := h.Store.Exists(Ctx(t), u)
	if err != nil {
		t.Fatalf("Exists: %v", err)
	}
	return ok
}

func (h Harness) testUsers(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	u, l := NewUser(t), NewLink(t)
	if h.exists(t, u) || h.valid(t, u, l) {
		t.Fatal("an unknown user exists or is valid")
	}
	wantErr(t, "UpdateUser of unknown", s.UpdateUser(ctx, u, l), spoolproto.ErrUnknownUser)
	_, err := s.GetLink(ctx, u)
	wantErr(t, "GetLink of unknown", err, spoolproto.ErrUnknownUser)
	if err := s.AddUser(ctx, u, l); err != nil {
		t.Fatal(err)
	}
	if !h.exists(t, u) || !h.valid(t, u, l) {
		t.Fatal("added user does not exist or is not valid with its key")
	}
	other := NewLink(t)
	if h.valid(t, u, other) {
		t.Fatal("valid with another key")
	}
	wantErr(t, "duplicate AddUser", s.AddUser(ctx, u, other), spoolproto.ErrUserExists)
	wantErr(t, "duplicate AddUser, same key", s.AddUser(ctx, u, l), spoolproto.ErrUserExists)
	if !h.valid(t, u, l) {
		t.Fatal("a refused AddUser changed the key")
	}
	got, err := s.GetLink(ctx, u)
	if err != nil || !got.Equal(l) {
		t.Fatalf("GetLink: %v", err)
	}
	if err := s.UpdateUser(ctx, u, other); err != nil {
		t.Fatal(err)
	}
	if h.valid(t, u, l) || !h.valid(t, u, other) {
		t.Fatal("UpdateUser did not replace the key")
	}
	if err := s.UpdateUser(ctx, u, other); err != nil {
		t.Fatalf("repeated UpdateUser: %v", err)
	}
	if err := s.RemoveUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if h.exists(t, u) || h.valid(t, u, other) {
		t.Fatal("removed user still exists")
	}
	wantErr(t, "second RemoveUser", s.RemoveUser(ctx, u), spoolproto.ErrUnknownUser)
	if err := s.AddUser(ctx, u, l); err != nil {
		t.Fatalf("re-adding a removed user: %v", err)
	}
}

func (h Harness) testUserNames(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	l := NewLink(t)
	for _, bad := range [][]byte{nil, {}, {0}, make([]byte, 32), make([]byte, 33), bytes.Repeat([]byte{'a'}, 33)} {
		wantErr(t, fmt.Sprintf("AddUser(%x)", bad), s.AddUser(ctx, bad, l), spoolproto.ErrInvalidUser)
		_, err := s.Exists(ctx, bad)
		wantErr(t, fmt.Sprintf("Exists(%x)", bad), err, spoolproto.ErrInvalidUser)
		wantErr(t, "StoreMessage", s.StoreMessage(ctx, bad, NewMessage(1, false)), spoolproto.ErrInvalidUser)
		_, err = s.GetHead(ctx, bad)
		wantErr(t, "GetHead", err, spoolproto.ErrInvalidUser)
	}
	// A text name and its zero-padded recipient id are the same user;
	// case is significant.
	name := NewUser(t)[:12]
	name[11] = 'x'
	padded := append(append([]byte(nil), name...), make([]byte, 20)...)
	if err := s.AddUser(ctx, padded, l); err != nil {
		t.Fatal(err)
	}
	if !h.valid(t, name, l) {
		t.Fatal("the unpadded name is not the padded one")
	}
	upper := append([]byte(nil), name...)
	upper[11] = 'X'
	if h.exists(t, upper) {
		t.Fatal("names are folded to one case")
	}
	wantErr(t, "AddUser of the unpadded form", s.AddUser(ctx, name, l), spoolproto.ErrUserExists)
	m := NewMessage(10, false)
	if err := s.StoreMessage(ctx, name, m); err != nil {
		t.Fatal(err)
	}
	hd, err := s.GetHead(ctx, padded)
	if err != nil || hd.Count != 1 || hd.Message.ID != m.ID {
		t.Fatalf("head by padded name: %+v %v", hd, err)
	}
	_, err = s.IsValid(ctx, name, nil)
	wantErr(t, "IsValid with no key", err, spoolproto.ErrInvalidKey)
}

func (h Harness) testTrustOnFirstUse(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	u, l, other := NewUser(t), NewLink(t), NewLink(t)
	added, valid, err := s.AddUserIfAbsent(ctx, u, l)
	if err != nil || !added || !valid {
		t.Fatalf("first use: added %t valid %t %v", added, valid, err)
	}
	added, valid, err = s.AddUserIfAbsent(ctx, u, l)
	if err != nil || added || !valid {
		t.Fatalf("second use, same key: added %t valid %t %v", added, valid, err)
	}
	added, valid, err = s.AddUserIfAbsent(ctx, u, other)
	if err != nil || added || valid {
		t.Fatalf("another key: added %t valid %t %v", added, valid, err)
	}
	if !h.valid(t, u, l) {
		t.Fatal("AddUserIfAbsent replaced the key")
	}
}

func (h Harness) testIdentity(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	u, _ := h.addUser(t)
	_, err := s.GetIdentity(ctx, u)
	wantErr(t, "GetIdentity before set", err, spoolproto.ErrNoIdentity)
	wantErr(t, "short identity", s.SetIdentity(ctx, u, make([]byte, 31)), spoolproto.ErrInvalidKey)
	wantErr(t, "long identity", s.SetIdentity(ctx, u, make([]byte, 33)), spoolproto.ErrInvalidKey)
	id := NewUser(t)
	if err := s.SetIdentity(ctx, u, id); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIdentity(ctx, u)
	if err != nil || !bytes.Equal(got, id) {
		t.Fatalf("GetIdentity: %x %v", got, err)
	}
	id2 := NewUser(t)
	if err := s.SetIdentity(ctx, u, id2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetIdentity(ctx, u); !bytes.Equal(got, id2) {
		t.Fatal("SetIdentity did not replace the key")
	}
	// The operator documentation: REMOVE_USER_IDENTITY before REMOVE_USER.
	wantErr(t, "RemoveUser with identity", s.RemoveUser(ctx, u), spoolproto.ErrIdentitySet)
	if !h.exists(t, u) {
		t.Fatal("refused RemoveUser removed the user")
	}
	if err := s.RemoveIdentity(ctx, u); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetIdentity(ctx, u)
	wantErr(t, "GetIdentity after remove", err, spoolproto.ErrNoIdentity)
	if err := s.RemoveIdentity(ctx, u); err != nil {
		t.Fatalf("second RemoveIdentity: %v", err)
	}
	if err := s.RemoveUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "SetIdentity of unknown", s.SetIdentity(ctx, u, id), spoolproto.ErrUnknownUser)
	wantErr(t, "RemoveIdentity of unknown", s.RemoveIdentity(ctx, u), spoolproto.ErrUnknownUser)
	_, err = s.GetIdentity(ctx, u)
	wantErr(t, "GetIdentity of unknown", err, spoolproto.ErrUnknownUser)
}

// drain reads and removes every message of u's spool, checking the
// count at each step, and returns them in order.
func (h Harness) drain(t *testing.T, u []byte) []*spoolproto.Message {
	t.Helper()
	var out []*spoolproto.Message
	for {
		hd, err := h.Store.GetHead(Ctx(t), u)
		if err != nil {
			t.Fatalf("GetHead: %v", err)
		}
		if hd.Message == nil {
			if hd.Count != 0 {
				t.Fatalf("empty head with count %d", hd.Count)
			}
			return out
		}
		if len(out) > min(h.MaxMessages, FillLimit)+1 {
			t.Fatal("the spool does not drain")
		}
		out = append(out, hd.Message)
		if err := h.Store.RemoveMessage(Ctx(t), u, hd.Message.ID); err != nil {
			t.Fatalf("RemoveMessage: %v", err)
		}
	}
}

func (h Harness) head(t *testing.T, u []byte) *spoolproto.Head {
	t.Helper()
	hd, err := h.Store.GetHead(Ctx(t), u)
	if err != nil {
		t.Fatalf("GetHead: %v", err)
	}
	return hd
}

func sameMessage(a, b *spoolproto.Message) bool {
	if a.ID != b.ID || !bytes.Equal(a.Body, b.Body) || (a.SURBID == nil) != (b.SURBID == nil) {
		return false
	}
	return a.SURBID == nil || *a.SURBID == *b.SURBID
}

func (h Harness) testSpoolFIFO(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	u, _ := h.addUser(t)
	hd, err := s.GetHead(ctx, u)
	if err != nil || hd.Message != nil || hd.Count != 0 {
		t.Fatalf("new spool: %+v %v", hd, err)
	}
	var sent []*spoolproto.Message
	for i := range min(h.MaxMessages, FillLimit) {
		m := NewMessage(1+i*7%h.MaxMessageSize, i%2 == 0)
		if err := s.StoreMessage(ctx, u, m); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		sent = append(sent, m)
		hd, err := s.GetHead(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if hd.Count != i+1 || !sameMessage(hd.Message, sent[0]) {
			t.Fatalf("after store %d: count %d", i, hd.Count)
		}
	}
	// GetHead changes nothing.
	hd2 := h.head(t, u)
	if hd2.Count != len(sent) || !sameMessage(hd2.Message, sent[0]) {
		t.Fatal("GetHead changed the spool")
	}
	got := h.drain(t, u)
	if len(got) != len(sent) {
		t.Fatalf("drained %d messages, stored %d", len(got), len(sent))
	}
	for i := range got {
		if !sameMessage(got[i], sent[i]) {
			t.Fatalf("message %d differs or is out of order", i)
		}
	}
}

func (h Harness) testSpoolIdempotent(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	u, _ := h.addUser(t)
	a, b := NewMessage(5, true), NewMessage(6, false)
	for _, m := range []*spoolproto.Message{a, a, b, a, b} {
		if err := s.StoreMessage(ctx, u, m); err != nil {
			t.Fatal(err)
		}
	}
	hd := h.head(t, u)
	if hd.Count != 2 {
		t.Fatalf("retried stores stored %d messages, want 2", hd.Count)
	}
	// Removing a message that is not the head, twice, and an unknown one.
	for range 2 {
		if err := s.RemoveMessage(ctx, u, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveMessage(ctx, u, NewMessage(1, false).ID); err != nil {
		t.Fatalf("removing an unknown id: %v", err)
	}
	if err := s.RemoveMessage(ctx, NewUser(t), a.ID); err != nil {
		t.Fatalf("removing from an unknown user: %v", err)
	}
	got := h.drain(t, u)
	if len(got) != 1 || !sameMessage(got[0], a) {
		t.Fatalf("left %d messages", len(got))
	}
	if err := s.RemoveMessage(ctx, u, a.ID); err != nil {
		t.Fatalf("removing from an empty spool: %v", err)
	}
}

func (h Harness) testSpoolIsolation(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	u1, _ := h.addUser(t)
	u2, _ := h.addUser(t)
	m1, m2 := NewMessage(3, false), NewMessage(4, false)
	if err := s.StoreMessage(ctx, u1, m1); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreMessage(ctx, u2, m2); err != nil {
		t.Fatal(err)
	}
	// A remove naming another user's message does nothing.
	if err := s.RemoveMessage(ctx, u1, m2.ID); err != nil {
		t.Fatal(err)
	}
	g1, g2 := h.drain(t, u1), h.drain(t, u2)
	if len(g1) != 1 || !sameMessage(g1[0], m1) || len(g2) != 1 || !sameMessage(g2[0], m2) {
		t.Fatal("spools are not isolated")
	}
	wantErr(t, "store for unknown user", s.StoreMessage(ctx, NewUser(t), m1), spoolproto.ErrUnknownUser)
	hd, err := s.GetHead(ctx, NewUser(t))
	if err != nil || hd.Count != 0 || hd.Message != nil {
		t.Fatalf("unknown user's head: %+v %v", hd, err)
	}
}

func (h Harness) testSpoolLimits(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	u, _ := h.addUser(t)
	wantErr(t, "oversize message", s.StoreMessage(ctx, u, NewMessage(h.MaxMessageSize+1, false)), spoolproto.ErrMessageTooLarge)
	if err := s.StoreMessage(ctx, u, NewMessage(h.MaxMessageSize, true)); err != nil {
		t.Fatalf("message of the maximum size: %v", err)
	}
	if h.MaxMessages > FillLimit {
		t.Logf("MaxMessages %d > %d: the full-spool refusal is not tested here", h.MaxMessages, FillLimit)
		return
	}
	var last *spoolproto.Message
	for i := 1; i < h.MaxMessages; i++ {
		last = NewMessage(8, false)
		if err := s.StoreMessage(ctx, u, last); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	wantErr(t, "store into a full spool", s.StoreMessage(ctx, u, NewMessage(8, false)), spoolproto.ErrSpoolFull)
	// A retry of a stored message is still success, full or not.
	if last != nil {
		if err := s.StoreMessage(ctx, u, last); err != nil {
			t.Fatalf("retried store into a full spool: %v", err)
		}
	}
	hd, err := s.GetHead(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if hd.Count != h.MaxMessages {
		t.Fatalf("full spool holds %d, want %d", hd.Count, h.MaxMessages)
	}
	if err := s.RemoveMessage(ctx, u, hd.Message.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreMessage(ctx, u, NewMessage(8, false)); err != nil {
		t.Fatalf("store after a removal freed room: %v", err)
	}
}

func (h Harness) testSpoolInvalid(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	u, _ := h.addUser(t)
	wantErr(t, "empty body", s.StoreMessage(ctx, u, &spoolproto.Message{}), spoolproto.ErrInvalidMessage)
	hd := h.head(t, u)
	if hd.Count != 0 {
		t.Fatal("an invalid message was stored")
	}
}

func (h Harness) testRemoveAndPurge(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	// RemoveUser takes the spool with it.
	u, l := h.addUser(t)
	if err := s.StoreMessage(ctx, u, NewMessage(9, false)); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, u, l); err != nil {
		t.Fatal(err)
	}
	if hd := h.head(t, u); hd.Count != 0 {
		t.Fatal("a removed user's spool survived")
	}
	// PurgeUser leaves a user without the ephemeral mark alone, identity
	// key and spool included (PROTOCOL.md §3.3).
	if err := s.SetIdentity(ctx, u, NewUser(t)); err != nil {
		t.Fatal(err)
	}
	um := NewMessage(9, true)
	if err := s.StoreMessage(ctx, u, um); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeUser(ctx, u); err != nil {
		t.Fatalf("PurgeUser of a permanent user: %v", err)
	}
	if !h.valid(t, u, l) {
		t.Fatal("PurgeUser removed a permanent user")
	}
	if _, err := s.GetIdentity(ctx, u); err != nil {
		t.Fatalf("PurgeUser took a permanent user's identity key: %v", err)
	}
	if hd := h.head(t, u); hd.Count != 1 || hd.Message == nil || !sameMessage(hd.Message, um) {
		t.Fatal("PurgeUser touched a permanent user's spool")
	}
	// PurgeUser of an ephemeral user ignores the identity key and is
	// idempotent.
	e, el := h.addEphemeral(t)
	if err := s.SetIdentity(ctx, e, NewUser(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreMessage(ctx, e, NewMessage(9, true)); err != nil {
		t.Fatal(err)
	}
	keep, _ := h.addUser(t)
	km := NewMessage(2, false)
	if err := s.StoreMessage(ctx, keep, km); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.PurgeUser(ctx, e); err != nil {
			t.Fatalf("PurgeUser: %v", err)
		}
	}
	if h.exists(t, e) {
		t.Fatal("purged user exists")
	}
	if hd := h.head(t, e); hd.Count != 0 {
		t.Fatal("purged user's spool survived")
	}
	if err := s.AddUser(ctx, e, el); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetIdentity(ctx, e)
	wantErr(t, "identity after purge", err, spoolproto.ErrNoIdentity)
	if got := h.drain(t, keep); len(got) != 1 || !sameMessage(got[0], km) {
		t.Fatal("purge touched another user's spool")
	}
}

func (h Harness) testConcurrentStores(t *testing.T) {
	const users = 4
	per := min(h.MaxMessages, 16)
	names := make([][]byte, users)
	for i := range names {
		names[i], _ = h.addUser(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, users*per*2)
	sent := make([][]*spoolproto.Message, users)
	for i := range users {
		for range per {
			sent[i] = append(sent[i], NewMessage(32, false))
		}
		for j := range per {
			wg.Add(1)
			go func(m *spoolproto.Message) {
				defer wg.Done()
				// Each store twice, as a retry would.
				for range 2 {
					if err := h.Store.StoreMessage(Ctx(t), names[i], m); err != nil {
						errs <- err
					}
				}
			}(sent[i][j])
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent store: %v", err)
	}
	for i := range users {
		got := h.drain(t, names[i])
		if len(got) != per {
			t.Fatalf("user %d: %d messages, stored %d", i, len(got), per)
		}
		want := map[spoolproto.MessageID]bool{}
		for _, m := range sent[i] {
			want[m.ID] = true
		}
		for _, m := range got {
			if !want[m.ID] {
				t.Fatalf("user %d: unexpected or repeated message", i)
			}
			delete(want, m.ID)
		}
	}
}

// ListAll pages through ListEphemeral with limit and returns every name,
// checking each page: at most limit names, ascending, after the position
// asked for. The suite shares one Store, so the result holds other tests'
// ephemeral users too.
func ListAll(t testing.TB, s spoolproto.Store, limit int) [][]byte {
	t.Helper()
	var all [][]byte
	var after []byte
	for pages := 0; ; pages++ {
		if pages > 1<<20 {
			t.Fatal("ListEphemeral does not end")
		}
		page, err := s.ListEphemeral(Ctx(t), after, limit)
		if err != nil {
			t.Fatalf("ListEphemeral: %v", err)
		}
		if len(page) > limit {
			t.Fatalf("ListEphemeral returned %d names for a limit of %d", len(page), limit)
		}
		for _, u := range page {
			if bytes.Compare(u, after) <= 0 {
				t.Fatalf("ListEphemeral: %x listed after %x", u, after)
			}
			after = u
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
	}
}

func listed(all [][]byte, u []byte) int {
	n := 0
	for _, v := range all {
		if bytes.Equal(v, u) {
			n++
		}
	}
	return n
}

// marked reports whether u is listed once (true) or not at all (false).
func (h Harness) marked(t *testing.T, u []byte) bool {
	t.Helper()
	n := listed(ListAll(t, h.Store, spoolproto.MaxListEphemeral), u)
	if n > 1 {
		t.Fatalf("a user is listed %d times", n)
	}
	return n == 1
}

func (h Harness) addEphemeral(t *testing.T) ([]byte, *keys.LinkPublicKey) {
	t.Helper()
	u, l := NewUser(t), NewLink(t)
	added, valid, err := h.Store.AddEphemeralIfAbsent(Ctx(t), u, l)
	if err != nil || !added || !valid {
		t.Fatalf("AddEphemeralIfAbsent: added %t valid %t %v", added, valid, err)
	}
	return u, l
}

// testEphemeralMark: AddEphemeralIfAbsent is AddUserIfAbsent plus a mark
// that lives and dies with the user (PROTOCOL.md §1.4, §3.8).
func (h Harness) testEphemeralMark(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	e, l := h.addEphemeral(t)
	if !h.valid(t, e, l) || !h.marked(t, e) {
		t.Fatal("an ephemeral user is not valid or not marked")
	}
	other := NewLink(t)
	added, valid, err := s.AddEphemeralIfAbsent(ctx, e, l)
	if err != nil || added || !valid {
		t.Fatalf("second use, same key: added %t valid %t %v", added, valid, err)
	}
	added, valid, err = s.AddEphemeralIfAbsent(ctx, e, other)
	if err != nil || added || valid {
		t.Fatalf("another key: added %t valid %t %v", added, valid, err)
	}
	if !h.valid(t, e, l) || !h.marked(t, e) {
		t.Fatal("a second first contact changed the user")
	}

	// Ordinary users are never marked, whatever finds them later.
	o, ol := h.addUser(t)
	added, valid, err = s.AddEphemeralIfAbsent(ctx, o, ol)
	if err != nil || added || !valid {
		t.Fatalf("ephemeral first contact of an ordinary user: added %t valid %t %v", added, valid, err)
	}
	tofu := NewUser(t)
	if added, _, err := s.AddUserIfAbsent(ctx, tofu, l); err != nil || !added {
		t.Fatalf("AddUserIfAbsent: %v", err)
	}
	all := ListAll(t, s, spoolproto.MaxListEphemeral)
	if listed(all, o) != 0 || listed(all, tofu) != 0 {
		t.Fatal("an ordinary user is listed as ephemeral")
	}

	// The operator's commands: ADD_USER of an ephemeral user fails as for
	// any user; UPDATE_USER and SET_USER_IDENTITY keep the mark.
	wantErr(t, "AddUser of an ephemeral user", s.AddUser(ctx, e, other), spoolproto.ErrUserExists)
	if err := s.UpdateUser(ctx, e, other); err != nil {
		t.Fatal(err)
	}
	if err := s.SetIdentity(ctx, e, NewUser(t)); err != nil {
		t.Fatal(err)
	}
	if !h.valid(t, e, other) || !h.marked(t, e) {
		t.Fatal("UpdateUser or SetIdentity lost the mark")
	}
	// RemoveUser refused keeps it; RemoveUser done removes it.
	wantErr(t, "RemoveUser with identity", s.RemoveUser(ctx, e), spoolproto.ErrIdentitySet)
	if !h.marked(t, e) {
		t.Fatal("a refused RemoveUser removed the mark")
	}
	if err := s.RemoveIdentity(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, e); err != nil {
		t.Fatal(err)
	}
	if h.exists(t, e) || h.marked(t, e) {
		t.Fatal("RemoveUser left the user or its mark")
	}
	// The operator re-adding the name makes a permanent user.
	if err := s.AddUser(ctx, e, l); err != nil {
		t.Fatal(err)
	}
	if h.marked(t, e) {
		t.Fatal("AddUser of a formerly ephemeral name is marked")
	}

	// PurgeUser removes the mark, twice over; a TOFU user of the same name
	// afterwards is ordinary.
	p, pl := h.addEphemeral(t)
	if err := s.StoreMessage(ctx, p, NewMessage(3, false)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.PurgeUser(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if h.exists(t, p) || h.marked(t, p) {
		t.Fatal("PurgeUser left the user or its mark")
	}
	if added, _, err := s.AddUserIfAbsent(ctx, p, pl); err != nil || !added {
		t.Fatalf("AddUserIfAbsent after purge: %v", err)
	}
	if h.marked(t, p) {
		t.Fatal("a purged mark came back")
	}

	// Names are normalised: the padded form is the user, listed unpadded.
	name := NewUser(t)[:10]
	name[9] = 'e'
	padded := append(append([]byte(nil), name...), make([]byte, 22)...)
	if added, _, err := s.AddEphemeralIfAbsent(ctx, padded, l); err != nil || !added {
		t.Fatalf("AddEphemeralIfAbsent of a padded name: %v", err)
	}
	if !h.marked(t, name) || !h.valid(t, name, l) {
		t.Fatal("a padded name is not listed in its normal form")
	}
	for _, bad := range [][]byte{nil, {0}, make([]byte, 33)} {
		_, _, err := s.AddEphemeralIfAbsent(ctx, bad, l)
		wantErr(t, fmt.Sprintf("AddEphemeralIfAbsent(%x)", bad), err, spoolproto.ErrInvalidUser)
	}
	_, _, err = s.AddEphemeralIfAbsent(ctx, NewUser(t), nil)
	wantErr(t, "AddEphemeralIfAbsent with no key", err, spoolproto.ErrInvalidKey)
}

// testEphemeralListing: pages are ascending, bounded and contiguous: paging
// with a small limit over more than three pages of new users gives what one
// large page does, every new ephemeral user once and no ordinary one.
func (h Harness) testEphemeralListing(t *testing.T) {
	s, ctx := h.Store, Ctx(t)
	const limit = 4
	mine := map[string]bool{}
	for range 3*limit + 1 {
		u, _ := h.addEphemeral(t)
		mine[string(u)] = true
	}
	ordinary, _ := h.addUser(t)
	small := ListAll(t, s, limit)
	large := ListAll(t, s, spoolproto.MaxListEphemeral)
	if len(small) != len(large) {
		t.Fatalf("paging by %d lists %d names, by %d %d", limit, len(small), spoolproto.MaxListEphemeral, len(large))
	}
	for i := range small {
		if !bytes.Equal(small[i], large[i]) {
			t.Fatalf("name %d differs between page sizes", i)
		}
	}
	for u := range mine {
		if listed(small, []byte(u)) != 1 {
			t.Fatal("a new ephemeral user is not listed exactly once")
		}
	}
	if listed(small, ordinary) != 0 {
		t.Fatal("an ordinary user is listed")
	}
	// A page starts strictly after its position, whether or not the
	// position is a user; limit 1 is a page of one.
	for i := range small {
		page, err := s.ListEphemeral(ctx, small[i], 1)
		if err != nil {
			t.Fatal(err)
		}
		if i+1 < len(small) && (len(page) != 1 || !bytes.Equal(page[0], small[i+1])) {
			t.Fatalf("the page after name %d is not name %d", i, i+1)
		}
		if i+1 == len(small) && len(page) != 0 {
			t.Fatal("a page after the last name is not empty")
		}
	}
	// Every name between the first name's prefix and the first name would
	// itself have come first: the page after the prefix is the first name.
	prefix := small[0][:len(small[0])-1]
	if page, err := s.ListEphemeral(ctx, prefix, 1); err != nil || len(page) != 1 || !bytes.Equal(page[0], small[0]) {
		t.Fatalf("a page after a position that is not a user: %v", err)
	}
	// Bounds.
	for _, bad := range []int{0, -1, spoolproto.MaxListEphemeral + 1} {
		_, err := s.ListEphemeral(ctx, nil, bad)
		wantErr(t, fmt.Sprintf("ListEphemeral limit %d", bad), err, spoolproto.ErrInvalidLimit)
	}
	_, err := s.ListEphemeral(ctx, make([]byte, spoolproto.MaxUserSize+1), 1)
	wantErr(t, "ListEphemeral after a 33-byte position", err, spoolproto.ErrInvalidUser)
	if _, err := s.ListEphemeral(ctx, bytes.Repeat([]byte{0xff}, spoolproto.MaxUserSize), 1); err != nil {
		t.Fatalf("ListEphemeral after the largest name: %v", err)
	}
}

// testEphemeralConcurrentFirstUse: concurrent first contacts of one name
// add it once, marked once.
func (h Harness) testEphemeralConcurrentFirstUse(t *testing.T) {
	const n = 8
	u, l := NewUser(t), NewLink(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	adds, errs := 0, []error(nil)
	for range n {
		wg.Go(func() {
			added, valid, err := h.Store.AddEphemeralIfAbsent(Ctx(t), u, l)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || !valid {
				errs = append(errs, fmt.Errorf("valid %t: %v", valid, err))
			}
			if added {
				adds++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 || adds != 1 {
		t.Fatalf("%d concurrent first contacts: %d added, errors %v", n, adds, errs)
	}
	if !h.marked(t, u) {
		t.Fatal("not marked")
	}
}
