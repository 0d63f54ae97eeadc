package decoy

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// SweepInterval is how often loops past their deadline are counted lost
// (docs/spec/decoy.md §4.4).
const SweepInterval = time.Second

// Reasons a loop was not sent, each with its counter (docs/spec/decoy.md
// §6). Compare with errors.Is.
var (
	ErrNoDocument  = errors.New("decoy: no document for the current epoch")
	ErrNoEcho      = errors.New("decoy: no Provider runs the echo service")
	ErrNoRoute     = errors.New("decoy: no route")
	ErrTableFull   = errors.New("decoy: too many loops in flight")
	ErrSendRefused = errors.New("decoy: the scheduler refused the packet")
	ErrBuild       = errors.New("decoy: building the packet failed")
	ErrClosed      = errors.New("decoy: closed")
)

// Config configures Loops. Sphinx, Document and Send are required.
type Config struct {
	// Sphinx is the network's packet format.
	Sphinx *sphinx.Sphinx
	// Self is this Provider's node id.
	Self keys.NodeID
	// Document returns the document of the current epoch, if held.
	Document func() (*pki.Document, bool)
	// Send hands a loop packet to the scheduler: due at dispatchAt, for
	// firstHop (a mix of Layers[0]). It must not block for long; false
	// means refused.
	Send func(packet []byte, firstHop keys.NodeID, dispatchAt time.Time) bool
	// Slack is Debug.DecoySlack: how long past its path delays a loop may
	// take before it counts as lost (§4.2).
	Slack time.Duration
	// MaxOutstanding bounds the loops in flight; 0 means
	// DefaultMaxOutstanding.
	MaxOutstanding int
	// Rand is the random source; nil means crypto/rand.Reader.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives the package's log; nil discards it.
	Log *logging.Logger
}

// Loops sends a Provider's decoy loops and recognises their replies. See
// docs/spec/decoy.md. Its methods are safe for concurrent use.
type Loops struct {
	cfg       Config
	recipient sphinx.RecipientID
	table     *table
	count     counters
	// rngMu serialises Rand: tests pass readers that are not safe for
	// concurrent use.
	rngMu sync.Mutex

	startOnce sync.Once
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// New checks cfg. Start begins sending.
func New(cfg Config) (*Loops, error) {
	if cfg.Sphinx == nil || cfg.Document == nil || cfg.Send == nil {
		return nil, errors.New("decoy: Config needs Sphinx, Document and Send")
	}
	if cfg.Slack < 0 || cfg.MaxOutstanding < 0 {
		return nil, errors.New("decoy: negative Slack or MaxOutstanding")
	}
	if cfg.MaxOutstanding == 0 {
		cfg.MaxOutstanding = DefaultMaxOutstanding
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r, err := sphinx.NewRecipientID(RecipientName)
	if err != nil {
		return nil, err
	}
	l := &Loops{cfg: cfg, recipient: r, table: newTable(cfg.MaxOutstanding),
		stop: make(chan struct{}), done: make(chan struct{})}
	l.count.meanInterval.Store(int64(DefaultInterval))
	return l, nil
}

// Start runs the sender and the sweep in a goroutine until Close.
func (l *Loops) Start() {
	l.startOnce.Do(func() {
		l.cfg.Log.Notice("sending decoy loops", "mean_interval", l.meanInterval().String(), "slack", l.cfg.Slack.String())
		go l.run()
	})
}

// Close stops the sender, waits for it and wipes the loops in flight.
// Replies that arrive later are not consumed. Idempotent.
func (l *Loops) Close() {
	l.closeOnce.Do(func() {
		close(l.stop)
		started := true
		l.startOnce.Do(func() { started = false })
		if started {
			<-l.done
		}
		l.table.wipe()
	})
}

// run sends loops at Poisson times and sweeps lost ones (§2, §4.4).
func (l *Loops) run() {
	defer close(l.done)
	sweep := time.NewTicker(SweepInterval)
	defer sweep.Stop()
	next := time.NewTimer(l.nextInterval())
	defer next.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-sweep.C:
			l.Sweep()
		case <-next.C:
			if err := l.SendOne(); err != nil {
				l.cfg.Log.Debug("decoy loop not sent", "error", err)
			}
			next.Reset(l.nextInterval())
		}
	}
}

// document returns the current document or nil.
func (l *Loops) document() *pki.Document {
	if doc, ok := l.cfg.Document(); ok && doc != nil {
		return doc
	}
	return nil
}

// meanInterval is the current document's mean interval (§2.2), recorded
// for Stats.
func (l *Loops) meanInterval() time.Duration {
	m := meanInterval(l.document())
	l.count.meanInterval.Store(int64(m))
	return m
}

// nextInterval draws the time to the next loop from the current
// document's rate (§2.3).
func (l *Loops) nextInterval() time.Duration {
	doc := l.document()
	l.count.meanInterval.Store(int64(meanInterval(doc)))
	l.rngMu.Lock()
	d, err := sampleInterval(l.cfg.Rand, doc)
	l.rngMu.Unlock()
	if err != nil {
		return DefaultInterval
	}
	return d
}

// SendOne builds one loop and hands it to Config.Send, or counts why not
// (docs/spec/decoy.md §3, §6). The error wraps ErrNoDocument, ErrNoEcho,
// ErrNoRoute, ErrTableFull, ErrSendRefused, ErrBuild or ErrClosed.
func (l *Loops) SendOne() error {
	select {
	case <-l.stop:
		return ErrClosed
	default:
	}
	doc := l.document()
	if doc == nil {
		l.count.noDocument.Add(1)
		return ErrNoDocument
	}
	if l.table.full() {
		l.count.tableFull.Add(1)
		return ErrTableFull
	}
	now := l.cfg.Now()
	l.rngMu.Lock()
	b, err := build(l.cfg.Rand, l.cfg.Sphinx, doc, l.cfg.Self, l.cfg.Slack, now)
	l.rngMu.Unlock()
	if err != nil {
		switch {
		case errors.Is(err, ErrNoEcho):
			l.count.noEcho.Add(1)
		case errors.Is(err, ErrNoRoute):
			l.count.noRoute.Add(1)
		default:
			l.count.buildFailed.Add(1)
		}
		return err
	}
	// In the table (and counted sent) before the packet exists anywhere
	// else, so that no reply can come back unknown.
	if !l.table.add(b.id, b.loop) {
		b.loop.forget()
		l.count.tableFull.Add(1)
		return ErrTableFull
	}
	if !l.cfg.Send(b.packet, b.firstHop, b.dispatchAt) {
		l.table.unsend(b.id)
		l.count.sendRefused.Add(1)
		return ErrSendRefused
	}
	return nil
}

// Consume takes a packet that ends at this Provider (its terminal unwrap
// result, received at received) if it is the reply of a loop in flight:
// recipient RecipientName and a SURB id in the table (docs/spec/decoy.md
// §5). It returns false, leaving res untouched, for anything else, which
// then goes to the Provider's delivery. A consumed reply is counted
// returned, lost (late) or bad_reply; its payload is decrypted in place.
func (l *Loops) Consume(res *sphinx.UnwrapResult, received time.Time) bool {
	cmds := &res.Commands
	if !cmds.IsTerminal() || !cmds.HasSURBReply || cmds.Recipient != l.recipient {
		return false
	}
	lp, ok := l.table.take(cmds.SURBID)
	if !ok {
		l.count.unmatched.Add(1)
		return false
	}
	defer lp.forget()
	if received.After(lp.deadline) {
		l.count.lost.Add(1) // §5.2 step 1
		return true
	}
	if len(res.Payload) != l.cfg.Sphinx.Geometry().PayloadLength {
		l.count.badReply.Add(1)
		return true
	}
	reply, err := l.cfg.Sphinx.DecryptSURBPayload(lp.keys, res.Payload)
	if err != nil || !echoes(reply, &lp.token) {
		l.count.badReply.Add(1)
		return true
	}
	l.count.returnedAfter(received.Sub(lp.sent))
	l.cfg.Log.Debug("decoy loop returned")
	return true
}

// echoes reports whether reply is the echo of token (docs/spec/decoy.md
// §5.2 step 2): the token, then zero bytes only.
func echoes(reply []byte, token *[tokenSize]byte) bool {
	if len(reply) < tokenSize {
		return false
	}
	ok := subtle.ConstantTimeCompare(reply[:tokenSize], token[:])
	var rest byte
	for _, b := range reply[tokenSize:] {
		rest |= b
	}
	return ok == 1 && rest == 0
}

// Sweep counts the loops past their deadline as lost and forgets them
// (docs/spec/decoy.md §4.4). The sender calls it every SweepInterval;
// tests call it directly.
func (l *Loops) Sweep() int {
	n := l.table.expire(l.cfg.Now())
	l.count.lost.Add(uint64(n))
	return n
}

// Stats returns the counters (docs/spec/decoy.md §6). In every snapshot
// sent >= returned + lost + bad_reply + outstanding: a loop leaves the
// table before it is counted returned, lost or bad, and the outcomes are
// read before the table.
func (l *Loops) Stats() Stats {
	s := l.count.snapshot()
	s.Sent, s.Outstanding = l.table.counts()
	return s
}
