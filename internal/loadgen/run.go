package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/client"
)

// connectTimeout bounds one client's document fetch and handshake.
const connectTimeout = 30 * time.Second

// cleanupTimeout bounds the removal of the run's users.
const cleanupTimeout = 30 * time.Second

// maxSURBs is each client's table of outstanding ACK SURBs: enough for a
// second of sending at 8000 messages/s per client.
const maxSURBs = 8192

// run is one load run in progress.
type run struct {
	cfg     Config
	id      uint64
	start   time.Time
	ledger  *Ledger
	model   DelayModel
	clients []*loadClient
	errs    errorCounter
	// stopSending ends every sender early.
	stopSending context.CancelFunc
}

// errorCounter counts the errors of a kind and keeps the first's text.
type errorCounter struct {
	mu     sync.Mutex
	counts map[string]uint64
	first  map[string]string
}

func (e *errorCounter) add(kind string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts, e.first = map[string]uint64{}, map[string]string{}
	}
	if e.counts[kind] == 0 {
		e.first[kind] = err.Error()
	}
	e.counts[kind]++
}

// now is the time since the run's start, on the monotonic clock.
func (r *run) now() time.Duration { return time.Since(r.start) }

// Run drives the load described by cfg through the network and reports
// what happened. It fails (before any traffic) when the network cannot be
// reached: a node's STATS, a user's ADD_USER or a client's connection.
// Whatever happens, the users it added are removed before it returns.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var providers []*Node
	for i := range cfg.Network.Nodes {
		if cfg.Network.Nodes[i].Provider {
			providers = append(providers, &cfg.Network.Nodes[i])
		}
	}
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, id: binary.BigEndian.Uint64(idb[:]), ledger: NewLedger(cfg.Clients)}

	progress(cfg, "reading the counters of %d nodes", len(cfg.Network.Nodes))
	before := make([]Counters, len(cfg.Network.Nodes))
	for i, n := range cfg.Network.Nodes {
		c, err := readCounters(ctx, n.ManagementSocket)
		if err != nil {
			return nil, fmt.Errorf("loadgen: %s: %w", n.Name, err)
		}
		before[i] = c
	}

	progress(cfg, "adding %d users on %d Providers", cfg.Clients, len(providers))
	users, err := makeUsers(ctx, r.id, cfg.Clients, providers)
	defer func() {
		progress(cfg, "removing the %d users", len(users))
		if cerr := removeUsers(users, cleanupTimeout); cerr != nil {
			if rep != nil {
				rep.CleanupError = cerr.Error()
			} else {
				err = errors.Join(err, cerr)
			}
		}
	}()
	if err != nil {
		return nil, err
	}

	progress(cfg, "connecting %d clients", cfg.Clients)
	defer func() {
		for _, c := range r.clients {
			if c != nil {
				_ = c.c.Close()
			}
		}
	}()
	if err := r.connect(ctx, users); err != nil {
		return nil, err
	}
	doc := r.clients[0].c.Document()
	if doc == nil {
		return nil, errors.New("loadgen: the client holds no document after connecting")
	}
	if maxBody := client.MaxBody(doc.Geometry.UserForwardPayloadLength); cfg.Size > maxBody {
		return nil, fmt.Errorf("%w: size %d: at most %d bytes fit one packet of this network", ErrConfig, cfg.Size, maxBody)
	}
	r.model = NewDelayModel(doc)
	r.pair(users)

	r.traffic(ctx)

	after := make([]NodeDelta, len(cfg.Network.Nodes))
	for i, n := range cfg.Network.Nodes {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := readCounters(cctx, n.ManagementSocket)
		cancel()
		if err != nil {
			after[i] = NodeDelta{Error: err.Error(), Drops: map[string]uint64{}}
		} else {
			after[i] = Delta(before[i], c)
		}
		after[i].Node, after[i].Provider, after[i].Layer = n.Name, n.Provider, n.Layer
	}
	return r.report(after), ctx.Err()
}

func progress(cfg Config, format string, args ...any) {
	fmt.Fprintf(cfg.Progress, "mixload: "+format+"\n", args...)
}

// connect makes and connects one client per user, a few at a time.
func (r *run) connect(ctx context.Context, users []*user) error {
	r.clients = make([]*loadClient, len(users))
	for i, u := range users {
		c, err := client.New(client.Config{
			User: u.name, LinkKey: u.key, Provider: u.provider.Name,
			AuthorityAddress: r.cfg.Network.AuthorityAddress, AuthorityKey: r.cfg.Network.AuthorityKey,
			EpochPeriod:  r.cfg.Network.EpochPeriod,
			PollInterval: r.cfg.PollInterval, HandshakeTimeout: 10 * time.Second,
			MaxSURBs: maxSURBs, SURBMargin: max(r.cfg.Drain, time.Second),
		})
		if err != nil {
			return fmt.Errorf("loadgen: %w", err)
		}
		r.clients[i] = &loadClient{r: r, index: i, user: u, c: c, pending: map[client.MessageID]uint64{}}
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 8)
		mu   sync.Mutex
		errs []error
	)
	for _, lc := range r.clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, connectTimeout)
			defer cancel()
			if err := lc.c.Connect(cctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("loadgen: client of %s: %w", lc.user.provider.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%w (%d of %d clients failed)", errs[0], len(errs), len(users))
	}
	return nil
}

// pair gives each client its correspondent: the next client (in turn) on
// another Provider, or the next client at all when there is one Provider.
func (r *run) pair(users []*user) {
	n := len(users)
	for i, c := range r.clients {
		to := (i + 1) % n
		for k := 1; k < n; k++ {
			if j := (i + k) % n; users[j].provider != users[i].provider {
				to = j
				break
			}
		}
		c.to = users[to].name + "@" + users[to].provider.Name
	}
}

// traffic runs the senders for Warmup+Duration and the receivers until
// every message is settled or Drain has passed after the last send.
func (r *run) traffic(ctx context.Context) {
	mode := "as fast as ACKs allow"
	if r.cfg.Rate > 0 {
		mode = fmt.Sprintf("%g messages/s", r.cfg.Rate)
	}
	progress(r.cfg, "sending (%s) for %v after a %v warmup", mode, r.cfg.Duration, r.cfg.Warmup)
	r.start = time.Now()
	end := r.cfg.Warmup + r.cfg.Duration
	sendCtx, stopSend := context.WithTimeout(ctx, end)
	defer stopSend()
	r.stopSending = stopSend
	recvCtx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()

	var senders, receivers sync.WaitGroup
	for _, c := range r.clients {
		receivers.Add(1)
		go func() { defer receivers.Done(); c.receive(recvCtx) }()
		senders.Add(1)
		go func() { defer senders.Done(); c.send(sendCtx) }()
	}
	senders.Wait()
	progress(r.cfg, "draining: waiting up to %v for deliveries and ACKs", r.cfg.Drain)
	deadline := time.NewTimer(r.cfg.Drain)
	defer deadline.Stop()
	tick := time.NewTicker(max(r.cfg.PollInterval, 50*time.Millisecond))
	defer tick.Stop()
drain:
	for !r.ledger.Settled() {
		select {
		case <-ctx.Done():
			break drain
		case <-deadline.C:
			break drain
		case <-tick.C:
		}
	}
	stopRecv()
	receivers.Wait()
}

// loadClient is one simulated user: a sender and a receiver sharing one
// client (and so one link session to its Provider).
type loadClient struct {
	r     *run
	index int
	user  *user
	c     *client.Client
	to    string // "user@provider"

	mu      sync.Mutex
	pending map[client.MessageID]uint64 // message id -> sequence, ACK awaited
	slots   chan struct{}               // closed-loop window (Rate 0)
}

// send sends messages until ctx ends: on a fixed schedule at Rate/Clients
// per second, or whenever the window has room.
func (lc *loadClient) send(ctx context.Context) {
	cfg := lc.r.cfg
	if cfg.Rate > 0 {
		interval := time.Duration(float64(time.Second) * float64(cfg.Clients) / cfg.Rate)
		// Clients start evenly spread over one interval, so that the
		// overall schedule is smooth.
		next := interval * time.Duration(lc.index) / time.Duration(cfg.Clients)
		t := time.NewTimer(next)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			lc.sendOne(ctx)
			next += interval
			t.Reset(max(0, next-lc.r.now()))
		}
	}
	lc.mu.Lock()
	lc.slots = make(chan struct{}, cfg.Window)
	slots := lc.slots
	lc.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case slots <- struct{}{}:
		}
		if !lc.sendOne(ctx) {
			<-slots
			// A failed send (the Provider is unreachable) is not retried
			// at once: wait a poll interval rather than spin.
			select {
			case <-ctx.Done():
				return
			case <-time.After(cfg.PollInterval):
			}
		}
	}
}

// sendOne sends the next message with a SURB-ACK and records it.
func (lc *loadClient) sendOne(ctx context.Context) bool {
	r := lc.r
	delay, ackDelay, err := r.model.Sample()
	if err != nil {
		r.errs.add("send", err)
		return false
	}
	at := r.now()
	seq, ok := r.ledger.Sent(lc.index, at, at < r.cfg.Warmup, delay, ackDelay)
	if !ok {
		r.stopSending() // the ledger is full
		return false
	}
	b := Body{Run: r.id, Sender: uint32(lc.index), Sequence: seq, Sent: at}
	body, err := b.Encode(r.cfg.Size)
	if err == nil {
		var id client.MessageID
		id, err = lc.c.Send(ctx, lc.to, body, client.WithACK())
		if err == nil {
			lc.mu.Lock()
			lc.pending[id] = seq
			lc.mu.Unlock()
			return true
		}
	}
	r.ledger.Unsend(lc.index, seq)
	if ctx.Err() == nil {
		r.errs.add("send", err)
	}
	return false
}

// receive retrieves the client's spool until ctx ends: messages are
// recorded at once, ACKs (matched by the client while retrieving) are
// collected whenever the spool is empty, and an empty spool is polled
// again after PollInterval.
func (lc *loadClient) receive(ctx context.Context) {
	r := lc.r
	t := time.NewTimer(0)
	defer t.Stop()
	for sinceCheck := 0; ; sinceCheck++ {
		m, err := lc.c.Retrieve(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, client.ErrMalformedMessage):
			r.errs.add("malformed", err)
			continue
		case err != nil:
			r.errs.add("retrieve", err)
		case m != nil:
			lc.record(m)
			if sinceCheck < 16 {
				continue
			}
		}
		lc.collectACKs()
		sinceCheck = 0
		if m != nil {
			continue
		}
		t.Reset(r.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// record books a retrieved message.
func (lc *loadClient) record(m *client.Message) {
	r := lc.r
	at := r.now()
	b, err := DecodeBody(m.Body)
	switch {
	case err != nil:
		r.errs.add("foreign", err)
	case b.Run != r.id:
		r.errs.add("foreign", errors.New("a message of another run"))
	default:
		r.ledger.Received(b, at)
	}
}

// collectACKs moves the messages whose ACK arrived (or will not) out of
// the pending set.
func (lc *loadClient) collectACKs() {
	r := lc.r
	at := r.now()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for id, seq := range lc.pending {
		switch lc.c.AckState(id) {
		case client.AckPending:
			continue
		case client.AckDelivered:
			r.ledger.Acked(lc.index, seq, at)
		default: // expired, or forgotten by the client
			r.ledger.AckExpired(lc.index, seq)
		}
		delete(lc.pending, id)
		lc.releaseLocked()
	}
}

func (lc *loadClient) releaseLocked() {
	if lc.slots != nil {
		select {
		case <-lc.slots:
		default:
		}
	}
}
