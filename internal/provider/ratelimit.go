package provider

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limitSettings are the rate limiter's parameters: the document's rate,
// the operator's overrides (SEND_RATE, SEND_BURST) and the kill switch
// (Debug.DisableRateLimit). Every client's token bucket follows them.
type limitSettings struct {
	mu           sync.Mutex
	docRate      uint64  // SendRatePerMinute of the current document
	rateOverride *uint64 // SEND_RATE, if the operator set one
	burst        int
	disabled     bool
}

func newLimitSettings(perMinute uint64, burst int, disabled bool) *limitSettings {
	return &limitSettings{docRate: perMinute, burst: burst, disabled: disabled}
}

// current returns the limit and burst of every client's bucket. A rate of
// 0, a burst of 0 (the management commands' "off") or the kill switch mean
// no limit.
func (s *limitSettings) current() (rate.Limit, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	perMinute := s.docRate
	if s.rateOverride != nil {
		perMinute = *s.rateOverride
	}
	if s.disabled || perMinute == 0 || s.burst == 0 {
		return rate.Inf, max(s.burst, 1)
	}
	return rate.Limit(float64(perMinute) / 60), s.burst
}

// SetDocumentRate sets the client send rate from a new PKI document's
// SendRatePerMinute. An operator's SEND_RATE takes precedence over it.
func (p *Provider) SetDocumentRate(perMinute uint64) {
	p.limits.mu.Lock()
	changed := p.limits.docRate != perMinute && p.limits.rateOverride == nil
	p.limits.docRate = perMinute
	p.limits.mu.Unlock()
	if changed {
		p.applyLimits()
	}
}

// SetSendRate sets every client's send rate to perMinute packets per minute,
// overriding the document's (SEND_RATE); 0 turns rate limiting off.
// It applies to connected clients at once. The management Backend calls it.
func (p *Provider) SetSendRate(_ context.Context, perMinute uint64) error {
	p.limits.mu.Lock()
	p.limits.rateOverride = &perMinute
	p.limits.mu.Unlock()
	p.applyLimits()
	p.log.Notice("client send rate set", "per_minute", perMinute)
	return nil
}

// SetSendBurst sets every client's burst to n packets (SEND_BURST); 0 turns
// rate limiting off. It applies to connected clients at once.
func (p *Provider) SetSendBurst(_ context.Context, n uint64) error {
	p.limits.mu.Lock()
	p.limits.burst = int(min(n, math.MaxInt32))
	p.limits.mu.Unlock()
	p.applyLimits()
	p.log.Notice("client send burst set", "burst", n)
	return nil
}

// applyLimits moves every connected client's bucket to the current settings.
func (p *Provider) applyLimits() {
	lim, burst := p.limits.current()
	now := p.now()
	p.clients.each(func(c *client) {
		c.limiter.SetLimitAt(now, lim)
		c.limiter.SetBurstAt(now, burst)
	})
}

// newLimiter returns a bucket at the current settings, full.
func (p *Provider) newLimiter() *rate.Limiter {
	lim, burst := p.limits.current()
	l := rate.NewLimiter(lim, burst)
	return l
}

// allowSend takes one token from c's bucket at now, counting a refusal.
func (p *Provider) allowSend(c *client, now time.Time) bool {
	if c.limiter.AllowN(now, 1) {
		return true
	}
	p.count.drop(DropRateLimited)
	return false
}
