package testnet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/logging"
)

// Bounds of the traffic generator's bookkeeping.
const (
	maxInFlightSends = 16   // Send calls running at once; more ticks are skipped
	maxPendingAcks   = 1024 // messages per user waiting for their ACK
	maxRTTSamples    = 4096 // ping round trips kept between two TakeRTTs
	retrieveInterval = 300 * time.Millisecond
	pingTimeout      = time.Minute
)

// bodyPrefix marks the messages the generator sends.
const bodyPrefix = "testnet message "

// TrafficOptions shape the steady flow of messages and pings.
type TrafficOptions struct {
	// Rate is messages per second over the whole network (0: none).
	// Senders take turns; each message goes to a user of the next
	// Provider, with a SURB-ACK.
	Rate float64
	// PingInterval is how often each Provider's echo service is pinged,
	// by a user of another Provider where there is one (0: never).
	PingInterval time.Duration
	// Log receives the clients' logs; nil discards them.
	Log *logging.Logger
}

// TrafficCounts are the generator's counters since it started.
type TrafficCounts struct {
	Sent       uint64 // messages handed to the Provider
	SendFailed uint64 // Send returned an error
	Skipped    uint64 // a tick found maxInFlightSends sends running
	Acked      uint64 // SURB-ACKs received: the destination spooled it
	AckExpired uint64 // SURBs expired without an ACK
	Received   uint64 // messages retrieved by their recipients
	Pings      uint64 // echo requests sent
	PingsOK    uint64 // echo replies received
	PingFailed uint64 // pings that failed or timed out
}

// trafficUser is one user's client and the ACKs it waits for.
type trafficUser struct {
	name, provider string
	to             string // user@provider its messages go to
	c              *client.Client

	mu      sync.Mutex
	pending []client.MessageID
}

// Traffic is a running traffic generator over a Network's users.
type Traffic struct {
	users  []*trafficUser
	cancel context.CancelFunc
	wg     sync.WaitGroup

	sent, sendFailed, skipped, acked, ackExpired, received atomic.Uint64
	pings, pingsOK, pingFailed                             atomic.Uint64

	rttMu sync.Mutex
	rtts  []time.Duration

	errMu   sync.Mutex
	lastErr string

	closeOnce sync.Once
}

// StartTraffic connects a client for every user of n and starts sending,
// retrieving and pinging. It needs at least one user per Provider.
func StartTraffic(ctx context.Context, n *Network, o TrafficOptions) (*Traffic, error) {
	if o.Rate < 0 || o.PingInterval < 0 {
		return nil, errors.New("testnet: negative traffic rate or ping interval")
	}
	byProvider := map[string][]*trafficUser{}
	providers := n.lay.shape.Providers
	t := &Traffic{}
	for _, u := range n.man.Users {
		if u.Spare {
			continue
		}
		tu := &trafficUser{name: u.Name, provider: u.Provider}
		t.users = append(t.users, tu)
		byProvider[u.Provider] = append(byProvider[u.Provider], tu)
	}
	for pi, p := range providers {
		if len(byProvider[p]) == 0 {
			return nil, fmt.Errorf("testnet: traffic needs a user on every Provider; %s has none", p)
		}
		next := byProvider[providers[(pi+1)%len(providers)]]
		for j, tu := range byProvider[p] {
			dst := next[j%len(next)]
			tu.to = dst.name + "@" + dst.provider
		}
	}
	for _, tu := range t.users {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := n.NewClient(cctx, tu.name, o.Log)
		cancel()
		if err != nil {
			t.closeClients()
			return nil, err
		}
		tu.c = c
	}
	rctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	for _, tu := range t.users {
		t.wg.Add(1)
		go t.retrieveLoop(rctx, tu)
	}
	if o.Rate > 0 {
		t.wg.Add(1)
		go t.sendLoop(rctx, o.Rate)
	}
	if o.PingInterval > 0 {
		for pi, p := range providers {
			pinger := byProvider[providers[(pi+1)%len(providers)]][0]
			t.wg.Add(1)
			go t.pingLoop(rctx, pinger, p, o.PingInterval)
		}
	}
	return t, nil
}

func (t *Traffic) noteErr(err error) {
	t.errMu.Lock()
	t.lastErr = err.Error()
	t.errMu.Unlock()
}

// LastError is the text of the last error a client met ("" if none).
func (t *Traffic) LastError() string {
	t.errMu.Lock()
	defer t.errMu.Unlock()
	return t.lastErr
}

// sendLoop sends one message every 1/rate, from each user in turn.
func (t *Traffic) sendLoop(ctx context.Context, rate float64) {
	defer t.wg.Done()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	slots := make(chan struct{}, maxInFlightSends)
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		tu := t.users[seq%uint64(len(t.users))]
		seq++
		tu.mu.Lock()
		full := len(tu.pending) >= maxPendingAcks
		tu.mu.Unlock()
		if full {
			t.skipped.Add(1)
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			t.skipped.Add(1)
			continue
		}
		t.wg.Add(1)
		go func(n uint64) {
			defer t.wg.Done()
			defer func() { <-slots }()
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			id, err := tu.c.Send(sctx, tu.to, fmt.Appendf(nil, "%s%d", bodyPrefix, n), client.WithACK())
			if err != nil {
				if ctx.Err() == nil {
					t.sendFailed.Add(1)
					t.noteErr(err)
				}
				return
			}
			t.sent.Add(1)
			tu.mu.Lock()
			tu.pending = append(tu.pending, id)
			tu.mu.Unlock()
		}(seq)
	}
}

// retrieveLoop empties the user's spool (which also collects the ACKs of
// its messages) and settles the ACKs that arrived or expired.
func (t *Traffic) retrieveLoop(ctx context.Context, tu *trafficUser) {
	defer t.wg.Done()
	tick := time.NewTicker(retrieveInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for ctx.Err() == nil {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			m, err := tu.c.Retrieve(rctx)
			cancel()
			if errors.Is(err, client.ErrMalformedMessage) {
				continue
			}
			if err != nil {
				if ctx.Err() == nil {
					t.noteErr(err)
				}
				break
			}
			if m == nil {
				break
			}
			if strings.HasPrefix(string(m.Body), bodyPrefix) {
				t.received.Add(1)
			}
		}
		tu.mu.Lock()
		kept := tu.pending[:0]
		for _, id := range tu.pending {
			switch tu.c.AckState(id) {
			case client.AckDelivered:
				t.acked.Add(1)
			case client.AckExpired, client.AckUnknown:
				t.ackExpired.Add(1)
			default:
				kept = append(kept, id)
			}
		}
		tu.pending = kept
		tu.mu.Unlock()
	}
}

// pingLoop pings provider's echo service every interval from tu.
func (t *Traffic) pingLoop(ctx context.Context, tu *trafficUser, provider string, interval time.Duration) {
	defer t.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		t.pings.Add(1)
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		rtt, err := tu.c.Ping(pctx, provider, "+echo")
		cancel()
		switch {
		case err == nil:
			t.pingsOK.Add(1)
			t.rttMu.Lock()
			if len(t.rtts) < maxRTTSamples {
				t.rtts = append(t.rtts, rtt)
			}
			t.rttMu.Unlock()
		case ctx.Err() != nil:
			t.pings.Add(^uint64(0)) // stopped, not failed
			return
		default:
			t.pingFailed.Add(1)
			t.noteErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Counts returns the counters so far.
func (t *Traffic) Counts() TrafficCounts {
	return TrafficCounts{
		Sent: t.sent.Load(), SendFailed: t.sendFailed.Load(), Skipped: t.skipped.Load(),
		Acked: t.acked.Load(), AckExpired: t.ackExpired.Load(), Received: t.received.Load(),
		Pings: t.pings.Load(), PingsOK: t.pingsOK.Load(), PingFailed: t.pingFailed.Load(),
	}
}

// TakeRTTs returns the ping round trips since the last call, sorted.
func (t *Traffic) TakeRTTs() []time.Duration {
	t.rttMu.Lock()
	out := t.rtts
	t.rtts = nil
	t.rttMu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Close stops the generator and closes the clients; idempotent.
func (t *Traffic) Close() {
	t.closeOnce.Do(func() {
		if t.cancel != nil {
			t.cancel()
		}
		t.wg.Wait()
		t.closeClients()
	})
}

func (t *Traffic) closeClients() {
	for _, tu := range t.users {
		if tu.c != nil {
			tu.c.Close()
		}
	}
}
