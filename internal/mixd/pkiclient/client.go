// Package pkiclient is mixd's side of the directory authority protocol
// (docs/spec/dirauth.md): it posts the node's signed descriptor for the
// coming epochs ahead of time and fetches, verifies and hands on the
// documents of the current and next epochs, retrying with backoff.
//
// # Timing
//
// In epoch e the client posts its descriptor for e+1 (and for e itself while
// the authority has published no document for e: a network bootstrapping, or
// a node that has just started), and fetches the documents for e and e+1. The
// authority builds e+1's document from the descriptors posted for it at a
// fixed point in e, so posting at the start of e leaves most of the epoch for
// retries. A missing document is asked for again with exponential backoff
// (Config.MinRetry to Config.MaxRetry); once everything is done the client
// sleeps until the next epoch starts.
//
// # Shutdown
//
// StopPosting, called first thing on SIGTERM, stops advertising the node for
// further epochs. A descriptor already accepted for the next epoch cannot be
// withdrawn (the link protocol has no such command): the node may be listed
// in one more document while it is gone, and the network then sees it as
// down (its peers count LinkDown).
//
// SECURITY: documents are verified against the authority's identity key
// (PKI.Nonvoting.PublicKey) by the Authority implementation before they are
// used, and their epoch is checked here; the descriptor is signed by keyd.
package pkiclient

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/pki"
)

// Authority is the directory authority as the client uses it:
// *dirauth.Client (one link session per request).
type Authority interface {
	// Post uploads an encoded pki.SignedDescriptor for epoch.
	Post(ctx context.Context, epoch uint64, signed []byte) (link.DescriptorCode, error)
	// Document fetches and verifies the document for epoch.
	Document(ctx context.Context, epoch uint64) (*pki.Document, []byte, error)
}

// Defaults for Config fields left zero.
const (
	DefaultMinRetry       = 500 * time.Millisecond
	DefaultMaxRetry       = time.Minute
	DefaultRequestTimeout = 30 * time.Second
)

// Config configures a Client.
type Config struct {
	Authority Authority
	// Clock tells the epoch ([Privsep] EpochPeriod).
	Clock epochtime.Clock
	// Descriptor returns the node's encoded, signed descriptor for epoch.
	Descriptor func(ctx context.Context, epoch uint64) ([]byte, error)
	// OnDocument receives every new verified document and its signed
	// encoding exactly as the authority served it (a Provider relays it to
	// its clients, docs/spec/client.md §3.2), on the client's goroutine.
	OnDocument func(doc *pki.Document, signed []byte)
	// NotYet reports whether an error from Authority.Document means the
	// document is not published yet (logged at DEBUG, not WARNING).
	NotYet func(error) bool
	// MinRetry and MaxRetry bound the retry backoff; MaxRetry is also
	// capped at a quarter of the epoch period.
	MinRetry, MaxRetry time.Duration
	// RequestTimeout bounds one request.
	RequestTimeout time.Duration
	Log            *logging.Logger
}

// Client runs the node's PKI duties. Run drives it.
type Client struct {
	cfg     Config
	posting atomic.Bool
	kick    chan struct{}

	mu     sync.Mutex
	docs   map[uint64]*pki.Document
	posted map[uint64]bool
}

// New checks cfg and returns a client that will post descriptors.
func New(cfg Config) (*Client, error) {
	if cfg.Authority == nil || cfg.Descriptor == nil || cfg.OnDocument == nil || cfg.Clock.Period <= 0 {
		return nil, errors.New("pkiclient: incomplete configuration")
	}
	if cfg.MinRetry <= 0 {
		cfg.MinRetry = DefaultMinRetry
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = DefaultMaxRetry
	}
	cfg.MaxRetry = max(min(cfg.MaxRetry, cfg.Clock.Period/4), cfg.MinRetry)
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.NotYet == nil {
		cfg.NotYet = func(error) bool { return false }
	}
	c := &Client{cfg: cfg, kick: make(chan struct{}, 1), docs: map[uint64]*pki.Document{}, posted: map[uint64]bool{}}
	c.posting.Store(true)
	return c, nil
}

// StopPosting stops advertising the node for further epochs.
func (c *Client) StopPosting() { c.posting.Store(false) }

// Document returns the verified document of epoch e, if the client has it.
func (c *Client) Document(e uint64) (*pki.Document, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.docs[e]
	return d, ok
}

// Kick makes Run go round at once (for instance after the node's addresses
// changed); it never blocks.
func (c *Client) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *Client) now() time.Time {
	if c.cfg.Clock.Now != nil {
		return c.cfg.Clock.Now()
	}
	return time.Now()
}

// Run posts and fetches until ctx ends.
func (c *Client) Run(ctx context.Context) {
	retry := c.cfg.MinRetry
	for {
		pending := c.Step(ctx)
		if ctx.Err() != nil {
			return
		}
		now := c.now()
		_, _, till := c.cfg.Clock.At(now)
		wait := till
		if pending {
			wait = min(retry, till)
			retry = min(2*retry, c.cfg.MaxRetry)
		} else {
			retry = c.cfg.MinRetry
		}
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-c.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// Step does one round of the node's PKI duties for the current epoch: the
// posts and fetches still to do. It reports whether something is left to
// retry.
func (c *Client) Step(ctx context.Context) (pending bool) {
	e, _, _ := c.cfg.Clock.At(c.now())
	c.prune(e)
	for _, target := range []uint64{e, e + 1} {
		// Fetch first: a node restarted mid-epoch finds the current
		// document out and need not post for it.
		if _, have := c.Document(target); !have {
			if !c.fetch(ctx, target) {
				pending = true
			}
		}
		if c.posting.Load() && c.needPost(target, e) {
			if !c.post(ctx, target) {
				pending = true
			}
		}
		if ctx.Err() != nil {
			return true
		}
	}
	return pending
}

// needPost: the next epoch always (once); the current one only while its
// document is not out.
func (c *Client) needPost(target, current uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.posted[target] {
		return false
	}
	if target == current && c.docs[target] != nil {
		return false
	}
	return true
}

// post uploads the descriptor for target; it reports whether that is done
// (accepted, or refused in a way a retry cannot fix).
func (c *Client) post(ctx context.Context, target uint64) bool {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	signed, err := c.cfg.Descriptor(ctx, target)
	if err != nil {
		c.cfg.Log.Warning("building the descriptor failed; will retry", "epoch", target, "error", err)
		return false
	}
	code, err := c.cfg.Authority.Post(ctx, target, signed)
	if err != nil {
		c.cfg.Log.Warning("posting the descriptor failed; will retry", "epoch", target, "error", err)
		return false
	}
	switch code {
	case link.DescriptorOk:
		c.cfg.Log.Notice("descriptor accepted by the authority", "epoch", target)
		c.markPosted(target)
		return true
	case link.DescriptorConflict:
		// The authority holds another descriptor of ours for this epoch
		// (keys or addresses changed since), or has already published
		// the epoch's document: a retry cannot change either.
		c.cfg.Log.Warning("the authority refused the descriptor as conflicting: it holds another one of this node, or the epoch's document is out", "epoch", target)
		c.markPosted(target)
		return true
	case link.DescriptorForbidden:
		c.cfg.Log.Error("the authority refuses this node: is its identity key on the authority's list?", "epoch", target)
	case link.DescriptorInvalid:
		c.cfg.Log.Error("the authority rejected the descriptor as invalid", "epoch", target)
	default:
		c.cfg.Log.Error("the authority answered an unknown status", "epoch", target, "code", code)
	}
	return false
}

func (c *Client) markPosted(e uint64) {
	c.mu.Lock()
	c.posted[e] = true
	c.mu.Unlock()
}

// fetch asks for target's document; it reports whether it got it.
func (c *Client) fetch(ctx context.Context, target uint64) bool {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	doc, signed, err := c.cfg.Authority.Document(ctx, target)
	if err != nil {
		if c.cfg.NotYet(err) {
			c.cfg.Log.Debug("document not published yet", "epoch", target)
		} else {
			c.cfg.Log.Warning("fetching the document failed; will retry", "epoch", target, "error", err)
		}
		return false
	}
	if doc.Epoch != target {
		c.cfg.Log.Warning("the authority sent the document of another epoch", "asked", target, "got", doc.Epoch)
		return false
	}
	if doc.EpochPeriod != c.cfg.Clock.Period {
		c.cfg.Log.Error("the authority's epoch period differs from Privsep.EpochPeriod; fix the configuration",
			"authority", doc.EpochPeriod, "configured", c.cfg.Clock.Period)
	}
	c.mu.Lock()
	c.docs[target] = doc
	c.mu.Unlock()
	c.cfg.Log.Notice("PKI document received", "epoch", target, "layers", len(doc.Layers), "providers", len(doc.Providers))
	c.cfg.OnDocument(doc, signed)
	return true
}

// prune forgets what is older than the previous epoch.
func (c *Client) prune(current uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := range c.docs {
		if e+1 < current {
			delete(c.docs, e)
		}
	}
	for e := range c.posted {
		if e < current {
			delete(c.posted, e)
		}
	}
}
