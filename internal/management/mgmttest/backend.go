// Package mgmttest is a management.Backend for tests: it records every
// call and returns the errors a test tells it to, so that the management
// server and mixctl can be tested without mixd.
package mgmttest

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/management"
)

var _ management.Backend = (*Backend)(nil)

// Call is one recorded Backend call: the method's name and its arguments
// rendered as text (keys in hex).
type Call struct {
	Method string
	Args   []string
}

// String renders the call as "Method(arg, arg)".
func (c Call) String() string { return c.Method + "(" + strings.Join(c.Args, ", ") + ")" }

// Backend records calls. Set Errors[method] to make a method fail, and
// Identity to what UserIdentity returns. The zero value is ready to use.
type Backend struct {
	mu       sync.Mutex
	calls    []Call
	errs     map[string]error
	identity []byte
	stats    management.Stats
	shutdown chan struct{}
	once     sync.Once
}

// Fail makes method (e.g. "AddUser") return err from now on; nil clears it.
func (b *Backend) Fail(method string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.errs == nil {
		b.errs = make(map[string]error)
	}
	b.errs[method] = err
}

// SetIdentity sets what UserIdentity returns.
func (b *Backend) SetIdentity(key []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.identity = append([]byte(nil), key...)
}

// SetStats sets what Stats returns.
func (b *Backend) SetStats(st management.Stats) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats = st
}

// Calls returns the calls so far, in order.
func (b *Backend) Calls() []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Call(nil), b.calls...)
}

// ShutdownCalled is closed by the first call to Shutdown.
func (b *Backend) ShutdownCalled() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shutdown == nil {
		b.shutdown = make(chan struct{})
	}
	return b.shutdown
}

func (b *Backend) record(method string, args ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, Call{Method: method, Args: args})
	return b.errs[method]
}

func linkHex(k *keys.LinkPublicKey) string {
	if k == nil {
		return "<nil>"
	}
	return k.String()
}

// AddUser implements management.Backend.
func (b *Backend) AddUser(_ context.Context, user string, key *keys.LinkPublicKey) error {
	return b.record("AddUser", user, linkHex(key))
}

// UpdateUser implements management.Backend.
func (b *Backend) UpdateUser(_ context.Context, user string, key *keys.LinkPublicKey) error {
	return b.record("UpdateUser", user, linkHex(key))
}

// RemoveUser implements management.Backend.
func (b *Backend) RemoveUser(_ context.Context, user string) error {
	return b.record("RemoveUser", user)
}

// SetUserIdentity implements management.Backend.
func (b *Backend) SetUserIdentity(_ context.Context, user string, key []byte) error {
	return b.record("SetUserIdentity", user, hex.EncodeToString(key))
}

// RemoveUserIdentity implements management.Backend.
func (b *Backend) RemoveUserIdentity(_ context.Context, user string) error {
	return b.record("RemoveUserIdentity", user)
}

// UserIdentity implements management.Backend.
func (b *Backend) UserIdentity(_ context.Context, user string) ([]byte, error) {
	if err := b.record("UserIdentity", user); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.identity...), nil
}

// SetSendRate implements management.Backend.
func (b *Backend) SetSendRate(_ context.Context, perMinute uint64) error {
	return b.record("SetSendRate", strconv.FormatUint(perMinute, 10))
}

// SetSendBurst implements management.Backend.
func (b *Backend) SetSendBurst(_ context.Context, n uint64) error {
	return b.record("SetSendBurst", strconv.FormatUint(n, 10))
}

// StartKaetzchen implements management.Backend.
func (b *Backend) StartKaetzchen(_ context.Context, capability string) error {
	return b.record("StartKaetzchen", capability)
}

// StopKaetzchen implements management.Backend.
func (b *Backend) StopKaetzchen(_ context.Context, capability string) error {
	return b.record("StopKaetzchen", capability)
}

// Shutdown implements management.Backend.
func (b *Backend) Shutdown() {
	b.record("Shutdown")
	b.ShutdownCalled()
	b.once.Do(func() { close(b.shutdown) })
}

// Stats implements management.Backend.
func (b *Backend) Stats(context.Context) management.Stats {
	b.record("Stats")
	b.mu.Lock()
	defer b.mu.Unlock()
	out := management.Stats{}
	for _, sec := range b.stats.Sections {
		c := *sec
		c.Lines = append([]management.StatsLine(nil), sec.Lines...)
		out.Sections = append(out.Sections, &c)
	}
	return out
}
