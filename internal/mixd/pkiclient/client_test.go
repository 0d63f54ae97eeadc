package pkiclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/pki"
)

var errNotYet = errors.New("not yet")

type fakeAuthority struct {
	mu     sync.Mutex
	posts  []uint64
	code   link.DescriptorCode
	docs   map[uint64]*pki.Document
	period time.Duration
	fail   error
}

func (f *fakeAuthority) Post(_ context.Context, epoch uint64, signed []byte) (link.DescriptorCode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return 0, f.fail
	}
	if string(signed) != "desc" {
		return link.DescriptorInvalid, nil
	}
	f.posts = append(f.posts, epoch)
	return f.code, nil
}

func (f *fakeAuthority) Document(_ context.Context, epoch uint64) (*pki.Document, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, nil, f.fail
	}
	d, ok := f.docs[epoch]
	if !ok {
		return nil, nil, errNotYet
	}
	return d, []byte(fmt.Sprintf("signed %d", epoch)), nil
}

func (f *fakeAuthority) publish(e uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs[e] = &pki.Document{Epoch: e, EpochPeriod: f.period}
}

func (f *fakeAuthority) posted() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.posts)
}

type rig struct {
	auth *fakeAuthority
	c    *Client
	now  time.Time
	got  []uint64
}

const period = time.Minute

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{auth: &fakeAuthority{docs: map[uint64]*pki.Document{}, period: period}}
	clock := epochtime.Clock{Period: period, Now: func() time.Time { return r.now }}
	r.now = clock.Start(100).Add(time.Second)
	var err error
	r.c, err = New(Config{
		Authority:  r.auth,
		Clock:      clock,
		Descriptor: func(context.Context, uint64) ([]byte, error) { return []byte("desc"), nil },
		OnDocument: func(d *pki.Document, signed []byte) {
			if want := fmt.Sprintf("signed %d", d.Epoch); string(signed) != want {
				t.Errorf("OnDocument got signed bytes %q, want the authority's %q", signed, want)
			}
			r.got = append(r.got, d.Epoch)
		},
		NotYet: func(err error) bool { return errors.Is(err, errNotYet) },
		Log:    logging.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBootstrapPostsCurrentAndNextThenFetches(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if !r.c.Step(ctx) {
		t.Fatal("nothing pending although no document is published")
	}
	if got := r.auth.posted(); !slices.Equal(got, []uint64{100, 101}) {
		t.Fatalf("posted %v, want current and next", got)
	}
	r.auth.publish(100)
	if !r.c.Step(ctx) { // 101 still missing
		t.Fatal("nothing pending although the next document is missing")
	}
	if got := r.auth.posted(); len(got) != 2 {
		t.Fatalf("posted again: %v", got)
	}
	if !slices.Equal(r.got, []uint64{100}) {
		t.Fatalf("documents handed on: %v", r.got)
	}
	r.auth.publish(101)
	if r.c.Step(ctx) {
		t.Fatal("still pending with everything done")
	}
	if !slices.Equal(r.got, []uint64{100, 101}) {
		t.Fatalf("documents handed on: %v", r.got)
	}
	if d, ok := r.c.Document(101); !ok || d.Epoch != 101 {
		t.Fatal("Document(101) missing")
	}

	// Next epoch: post for 102 only, since 101's document is out.
	r.now = r.now.Add(period)
	r.c.Step(ctx)
	if got := r.auth.posted(); !slices.Equal(got, []uint64{100, 101, 102}) {
		t.Fatalf("posted %v", got)
	}
	r.now = r.now.Add(3 * period)
	r.c.Step(ctx)
	if _, ok := r.c.Document(100); ok {
		t.Fatal("old document kept")
	}
}

func TestStopPostingAndRefusals(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.auth.code = link.DescriptorForbidden
	if !r.c.Step(ctx) {
		t.Fatal("a refused post is not retried")
	}
	r.auth.code = link.DescriptorOk
	r.c.StopPosting()
	before := len(r.auth.posted())
	r.c.Step(ctx)
	if len(r.auth.posted()) != before {
		t.Fatal("posted after StopPosting")
	}

	r2 := newRig(t)
	r2.auth.fail = errors.New("unreachable")
	if !r2.c.Step(ctx) {
		t.Fatal("a network failure is not retried")
	}
	r2.auth.fail = nil
	r2.auth.code = link.DescriptorConflict
	r2.c.Step(ctx)
	n := len(r2.auth.posted())
	r2.c.Step(ctx)
	if len(r2.auth.posted()) != n {
		t.Fatal("a conflicting descriptor is reposted in a loop")
	}
}

func TestRunRetriesUntilDocumentAppears(t *testing.T) {
	r := newRig(t)
	clock := epochtime.Clock{Period: period} // real time for Run's timers
	r.now = time.Now()
	done := make(chan *pki.Document, 4)
	c, err := New(Config{
		Authority:  r.auth,
		Clock:      clock,
		Descriptor: func(context.Context, uint64) ([]byte, error) { return []byte("desc"), nil },
		OnDocument: func(d *pki.Document, _ []byte) { done <- d },
		MinRetry:   5 * time.Millisecond,
		Log:        logging.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	finished := make(chan struct{})
	go func() { c.Run(ctx); close(finished) }()
	e, _, _ := clock.Current()
	r.auth.publish(e)
	r.auth.publish(e + 1)
	c.Kick()
	for i := 0; i < 2; i++ {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run never fetched the documents")
		}
	}
	cancel()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRestartMidEpochDoesNotPostForThePublishedEpoch(t *testing.T) {
	r := newRig(t)
	r.auth.publish(100)
	r.c.Step(context.Background())
	if got := r.auth.posted(); !slices.Equal(got, []uint64{101}) {
		t.Fatalf("posted %v, want only the next epoch", got)
	}
}
