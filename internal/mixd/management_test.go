package mixd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/management"
)

// recordingControl stands in for the Provider and records each call.
type recordingControl struct{ calls []string }

func (r *recordingControl) SetSendRate(_ context.Context, n uint64) error {
	r.calls = append(r.calls, fmt.Sprintf("SetSendRate(%d)", n))
	return nil
}

func (r *recordingControl) SetSendBurst(_ context.Context, n uint64) error {
	r.calls = append(r.calls, fmt.Sprintf("SetSendBurst(%d)", n))
	return nil
}

func (r *recordingControl) StartKaetzchen(_ context.Context, c string) error {
	r.calls = append(r.calls, "StartKaetzchen("+c+")")
	return nil
}

func (r *recordingControl) StopKaetzchen(_ context.Context, c string) error {
	r.calls = append(r.calls, "StopKaetzchen("+c+")")
	return errSentinel
}

// TestMixBackendHasNoProviderCommands: on a mix every user, rate and
// Kaetzchen command answers ErrNotAvailable (502); SHUTDOWN and STATS work.
func TestMixBackendHasNoProviderCommands(t *testing.T) {
	shut := 0
	b := &nodeBackend{shutdown: func() { shut++ },
		stats: func(context.Context) management.Stats {
			var st management.Stats
			st.Add("drops").Set("received", "3")
			return st
		}}
	key, _ := memkey.GenerateLinkKey()
	ctx := context.Background()
	_, idErr := b.UserIdentity(ctx, "alice")
	for name, err := range map[string]error{
		"AddUser":            b.AddUser(ctx, "alice", key.Public()),
		"UpdateUser":         b.UpdateUser(ctx, "alice", key.Public()),
		"RemoveUser":         b.RemoveUser(ctx, "alice"),
		"SetUserIdentity":    b.SetUserIdentity(ctx, "alice", make([]byte, 32)),
		"RemoveUserIdentity": b.RemoveUserIdentity(ctx, "alice"),
		"UserIdentity":       idErr,
		"SetSendRate":        b.SetSendRate(ctx, 5),
		"SetSendBurst":       b.SetSendBurst(ctx, 5),
		"StartKaetzchen":     b.StartKaetzchen(ctx, "echo"),
		"StopKaetzchen":      b.StopKaetzchen(ctx, "echo"),
	} {
		if !errors.Is(err, management.ErrNotAvailable) {
			t.Errorf("%s on a mix: %v, want ErrNotAvailable", name, err)
		}
	}
	b.Shutdown()
	if shut != 1 {
		t.Fatal("Shutdown not passed on")
	}
	if st := b.Stats(ctx); len(st.Sections) != 1 || st.Sections[0].Lines[0].Value != "3" {
		t.Fatalf("Stats not passed on: %+v", st)
	}
}

// TestProviderBackendUserCommandsReachTheStore: each user command does its
// Store call, and spoold's refusals come back as sentences.
func TestProviderBackendUserCommandsReachTheStore(t *testing.T) {
	st := openStore(t)
	b := &nodeBackend{store: st, control: func() providerControl { return nil }}
	ctx := context.Background()
	k1, _ := memkey.GenerateLinkKey()
	k2, _ := memkey.GenerateLinkKey()

	if err := b.UpdateUser(ctx, "alice", k1.Public()); err == nil || err.Error() != "no such user" {
		t.Fatalf("UpdateUser of an unknown user: %v", err)
	}
	if err := b.AddUser(ctx, "alice", k1.Public()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.IsValid(ctx, []byte("alice"), k1.Public()); !ok {
		t.Fatal("AddUser did not add the user with its key")
	}
	if err := b.AddUser(ctx, "alice", k2.Public()); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("AddUser twice: %v", err)
	}
	if err := b.UpdateUser(ctx, "alice", k2.Public()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.IsValid(ctx, []byte("alice"), k2.Public()); !ok {
		t.Fatal("UpdateUser did not replace the key")
	}
	if _, err := b.UserIdentity(ctx, "alice"); err == nil || !strings.Contains(err.Error(), "no identity key") {
		t.Fatalf("UserIdentity before one is set: %v", err)
	}
	id := bytes.Repeat([]byte{7}, management.UserIdentityKeySize)
	if err := b.SetUserIdentity(ctx, "alice", id); err != nil {
		t.Fatal(err)
	}
	if got, err := b.UserIdentity(ctx, "alice"); err != nil || !bytes.Equal(got, id) {
		t.Fatalf("UserIdentity = %x, %v", got, err)
	}
	if err := b.RemoveUser(ctx, "alice"); err == nil || !strings.Contains(err.Error(), "REMOVE_USER_IDENTITY") {
		t.Fatalf("RemoveUser with an identity key set: %v", err)
	}
	if err := b.RemoveUserIdentity(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.Exists(ctx, []byte("alice")); ok {
		t.Fatal("RemoveUser left the user")
	}
}

// TestProviderBackendControlsTheProvider: rate and Kaetzchen commands go to
// the running Provider, and before it runs say so (not 502).
func TestProviderBackendControlsTheProvider(t *testing.T) {
	var running providerControl
	b := &nodeBackend{store: openStore(t), control: func() providerControl { return running }}
	ctx := context.Background()
	if err := b.SetSendRate(ctx, 60); !errors.Is(err, errNotStarted) {
		t.Fatalf("SEND_RATE before the Provider runs: %v", err)
	}
	rec := &recordingControl{}
	running = rec
	for _, err := range []error{b.SetSendRate(ctx, 60), b.SetSendBurst(ctx, 0), b.StartKaetzchen(ctx, "echo")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := b.StopKaetzchen(ctx, "keyserver"); !errors.Is(err, errSentinel) {
		t.Fatalf("the Provider's error was not passed on: %v", err)
	}
	want := "SetSendRate(60) SetSendBurst(0) StartKaetzchen(echo) StopKaetzchen(keyserver)"
	if got := strings.Join(rec.calls, " "); got != want {
		t.Fatalf("calls %q, want %q", got, want)
	}
}
