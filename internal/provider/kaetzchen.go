package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/splitmix/splitmix/internal/config"
)

// Built-in Kaetzchen capabilities ([[Provider.Kaetzchen]] Capability).
const (
	CapabilityEcho      = "echo"
	CapabilityKeyserver = "keyserver"
)

// ErrUnknownCapability: no enabled service has this capability.
var ErrUnknownCapability = errors.New("provider: no such Kaetzchen service")

// errNoResponse tells the worker to send no reply (the service could not
// answer); the request is counted as DropServiceFailed.
var errNoResponse = errors.New("provider: service could not answer")

// handler answers one request's user payload with a response of at most
// UserForwardPayloadLength bytes (docs/spec/client.md §9.2).
type handler func(ctx context.Context, req []byte) ([]byte, error)

// service is one configured, enabled Kaetzchen service.
type service struct {
	capability string
	endpoint   string
	handle     handler
	running    atomic.Bool
}

// kaetzchen is the Provider's set of built-in services, fixed at New; only
// their running flags change (START_KAETZCHEN, STOP_KAETZCHEN).
type kaetzchen struct {
	byCapability map[string]*service
	byEndpoint   map[string]*service
}

// newKaetzchen builds the services of the configuration. Disabled entries
// are left out entirely: Disable is the operator's lasting decision, which
// START_KAETZCHEN does not override. Enabled services start running.
func newKaetzchen(entries []config.Kaetzchen, p *Provider) (*kaetzchen, error) {
	k := &kaetzchen{byCapability: make(map[string]*service), byEndpoint: make(map[string]*service)}
	for i, e := range entries {
		where := fmt.Sprintf("Provider.Kaetzchen[%d]", i)
		if !isEndpoint([]byte(e.Endpoint)) {
			return nil, fmt.Errorf("provider: %s: Endpoint %q: must be \"+\" and 1 to 31 of a-z 0-9 . _ - (docs/spec/client.md §1.2)", where, e.Endpoint)
		}
		if len(e.Config) != 0 {
			return nil, fmt.Errorf("provider: %s: the built-in %q service takes no Config", where, e.Capability)
		}
		var h handler
		switch e.Capability {
		case CapabilityEcho:
			h = echo
		case CapabilityKeyserver:
			h = p.keyserver
		default:
			return nil, fmt.Errorf("provider: %s: unknown built-in capability %q (have %q, %q)", where, e.Capability, CapabilityEcho, CapabilityKeyserver)
		}
		if e.Disable {
			continue
		}
		if k.byCapability[e.Capability] != nil {
			return nil, fmt.Errorf("provider: %s: capability %q configured twice", where, e.Capability)
		}
		if k.byEndpoint[e.Endpoint] != nil {
			return nil, fmt.Errorf("provider: %s: endpoint %q used twice", where, e.Endpoint)
		}
		s := &service{capability: e.Capability, endpoint: e.Endpoint, handle: h}
		s.running.Store(true)
		k.byCapability[e.Capability] = s
		k.byEndpoint[e.Endpoint] = s
	}
	return k, nil
}

// StartKaetzchen starts the service with this capability (START_KAETZCHEN).
// The management Backend calls it.
func (p *Provider) StartKaetzchen(_ context.Context, capability string) error {
	return p.setRunning(capability, true)
}

// StopKaetzchen stops the service with this capability (STOP_KAETZCHEN):
// its requests, including those already queued, are dropped and counted as
// DropServiceStopped, and Services no longer lists it.
func (p *Provider) StopKaetzchen(_ context.Context, capability string) error {
	return p.setRunning(capability, false)
}

func (p *Provider) setRunning(capability string, on bool) error {
	s := p.kz.byCapability[capability]
	if s == nil {
		return fmt.Errorf("%w: %q is not configured or is disabled in the configuration", ErrUnknownCapability, capability)
	}
	s.running.Store(on)
	p.log.Notice("Kaetzchen service toggled", "capability", capability, "running", on)
	return nil
}

// Services returns the running services for the descriptor's Kaetzchen field
// (docs/spec/pki.md): capability -> {"endpoint": endpoint}.
func (p *Provider) Services() map[string]map[string]string {
	out := make(map[string]map[string]string)
	for c, s := range p.kz.byCapability {
		if s.running.Load() {
			out[c] = map[string]string{"endpoint": s.endpoint}
		}
	}
	return out
}

// capabilities lists the services and whether each runs, in order (STATS).
func (p *Provider) capabilities() []string {
	cs := make([]string, 0, len(p.kz.byCapability))
	for c := range p.kz.byCapability {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	return cs
}

// request is a Kaetzchen request waiting for a Kaetzchen worker.
type request struct {
	svc      *service
	surb     []byte
	payload  []byte
	received time.Time
	queued   time.Time
	delay    time.Duration
}

// queueRequest routes a forward packet for endpoint to its service's queue
// (docs/spec/client.md §9.1). It never blocks.
func (p *Provider) queueRequest(endpoint, surb, payload []byte, received time.Time, delay time.Duration) bool {
	s := p.kz.byEndpoint[string(endpoint)]
	switch {
	case s == nil:
		p.count.drop(DropUnknownService)
		return false
	case !s.running.Load():
		p.count.drop(DropServiceStopped)
		return false
	case surb == nil:
		// No way to answer (§9.1).
		p.count.drop(DropNoSURB)
		return false
	}
	r := &request{svc: s, surb: clone(surb), payload: clone(payload), received: received, queued: p.now(), delay: delay}
	return enqueue(p, p.requests, r, DropKaetzchenQueueFull)
}

// kaetzchenWorker is one of Debug.NumKaetzchenWorkers.
func (p *Provider) kaetzchenWorker() {
	for r := range p.requests {
		p.serve(r)
	}
}

// serve runs one request through its service and sends the response back
// through the request's SURB, due at the terminal hop's delay after the
// request arrived (docs/spec/client.md §4.5, §9.2).
func (p *Provider) serve(r *request) {
	switch {
	case p.work.Err() != nil:
		p.count.drop(DropShuttingDown)
		return
	case p.cfg.KaetzchenDelay > 0 && p.now().Sub(r.queued) > p.cfg.KaetzchenDelay:
		p.count.drop(DropKaetzchenTooLate)
		return
	case !r.svc.running.Load():
		p.count.drop(DropServiceStopped)
		return
	}
	ctx, cancel := context.WithTimeout(p.work, p.cfg.StoreTimeout)
	resp, err := r.svc.handle(ctx, r.payload)
	cancel()
	if err != nil || len(resp) > p.geo.UserForwardPayloadLength {
		p.count.drop(DropServiceFailed)
		p.log.Debug("Kaetzchen service failed", "capability", r.svc.capability, "err", err)
		return
	}
	if p.reply(r.surb, resp, r.received.Add(r.delay)) {
		p.count.kaetzchenReplies.Add(1)
	}
}

// echo answers with the request's user payload unchanged
// (docs/spec/client.md §9.3).
func echo(_ context.Context, req []byte) ([]byte, error) {
	return req, nil
}
