package config

import (
	"runtime"
	"time"
)

// Production defaults of the [Debug] keys. A key that is absent or 0 takes
// its default (as in the baseline server); a negative value is an error,
// except SchedulerQueueSize (see UnlimitedSchedulerQueueSize).
const (
	// DefaultNumProviderWorkers: Provider-side packet workers.
	DefaultNumProviderWorkers = 1
	// DefaultNumKaetzchenWorkers: workers for built-in Kaetzchen.
	DefaultNumKaetzchenWorkers = 3
	// DefaultSchedulerQueueSize: packets held by the scheduler before
	// random entries are dropped.
	DefaultSchedulerQueueSize = 10000
	// UnlimitedSchedulerQueueSize is the hard cap on the scheduler queue.
	// The spec says a SchedulerQueueSize <= 0 means "unlimited"; every
	// queue here is bounded, so such a value is taken as this cap (about
	// 3 GB of packets) and a warning is added. Larger values are errors.
	UnlimitedSchedulerQueueSize = 1_000_000
	// DefaultSchedulerMaxBurst: packets dispatched per scheduler wake-up.
	DefaultSchedulerMaxBurst = 16
	// DefaultUnwrapDelay (ms): longest a packet may wait for a Sphinx
	// worker. Larger than the baseline's 10 ms, which drops packets under
	// ordinary scheduling jitter; 250 ms is still far below any mix delay.
	DefaultUnwrapDelay = 250
	// DefaultProviderDelay (ms): longest wait for a Provider worker.
	DefaultProviderDelay = 500
	// DefaultKaetzchenDelay (ms): longest wait for a Kaetzchen worker.
	DefaultKaetzchenDelay = 750
	// DefaultSchedulerSlack (ms): how late a packet may be dispatched.
	DefaultSchedulerSlack = 150
	// DefaultSendSlack (ms): how long a packet may wait to be sent.
	DefaultSendSlack = 50
	// DefaultDecoySlack (ms): extra time before a decoy loop counts as lost.
	DefaultDecoySlack = 15000
	// DefaultConnectTimeout (ms): TCP connect timeout.
	DefaultConnectTimeout = 60000
	// DefaultHandshakeTimeout (ms): link handshake timeout.
	DefaultHandshakeTimeout = 30000
	// DefaultReauthInterval (ms): how often links re-authenticate peers.
	DefaultReauthInterval = 30000

	// MaxIncomingConnections bounds Debug.MaxIncomingConnections.
	MaxIncomingConnections = 1 << 20

	// MinSchedulerSlack and MinSendSlack (ms): smaller values are raised
	// to these (with a warning): below them ordinary timer jitter drops
	// packets.
	MinSchedulerSlack = 10
	MinSendSlack      = 50

	// MaxWorkers bounds every worker count and MaxConcurrency.
	MaxWorkers = 1024
	// MaxSchedulerMaxBurst bounds SchedulerMaxBurst.
	MaxSchedulerMaxBurst = 1 << 16
	// MaxMilliseconds bounds every millisecond key (one day).
	MaxMilliseconds = 24 * 60 * 60 * 1000
)

// Debug is the [Debug] section: advanced tuning. See docs/spec/mix-server.md,
// "Debug section". The millisecond keys are ints, as in the file; each has
// a time.Duration accessor. After Load every count and delay is positive.
type Debug struct {
	// IdentityKey is the identity private key (read by keyd only).
	IdentityKey string
	// NumSphinxWorkers: inbound Sphinx workers; default runtime.NumCPU().
	NumSphinxWorkers int
	// NumProviderWorkers: Provider packet workers; default 1.
	NumProviderWorkers int
	// NumKaetzchenWorkers: built-in Kaetzchen workers; default 3.
	NumKaetzchenWorkers int
	// SchedulerExternalMemoryQueue enables the disk-backed scheduler queue.
	SchedulerExternalMemoryQueue bool
	// SchedulerQueueSize: queue size before random drops; default 10000;
	// <= 0 in the file means UnlimitedSchedulerQueueSize.
	SchedulerQueueSize int
	// SchedulerMaxBurst: packets per scheduler wake-up; default 16.
	SchedulerMaxBurst int
	// UnwrapDelay (ms): default 250.
	UnwrapDelay int
	// ProviderDelay (ms): default 500.
	ProviderDelay int
	// KaetzchenDelay (ms): default 750.
	KaetzchenDelay int
	// SchedulerSlack (ms): default 150, minimum 10.
	SchedulerSlack int
	// SendSlack (ms): default 50, minimum 50.
	SendSlack int
	// DecoySlack (ms): default 15000.
	DecoySlack int
	// ConnectTimeout (ms): default 60000.
	ConnectTimeout int
	// HandshakeTimeout (ms): default 30000.
	HandshakeTimeout int
	// ReauthInterval (ms): default 30000.
	ReauthInterval int
	// SendDecoyTraffic enables (experimental) decoy traffic; default off.
	SendDecoyTraffic bool
	// DisableRateLimit disables the per-client rate limiter (testing only).
	DisableRateLimit bool
	// GenerateOnly: generate the long-term keys and exit (like -g).
	GenerateOnly bool
	// MaxIncomingConnections bounds mixd's incoming connections (peers
	// and, on a Provider, clients); beyond it a connection is closed before
	// its handshake and counted. Not in the spec. 0 (the default) derives
	// it at startup from the file descriptor limit (see mixd).
	MaxIncomingConnections int
}

func ms(v int) time.Duration { return time.Duration(v) * time.Millisecond }

// UnwrapDelayDuration returns UnwrapDelay as a time.Duration.
func (d *Debug) UnwrapDelayDuration() time.Duration { return ms(d.UnwrapDelay) }

// ProviderDelayDuration returns ProviderDelay as a time.Duration.
func (d *Debug) ProviderDelayDuration() time.Duration { return ms(d.ProviderDelay) }

// KaetzchenDelayDuration returns KaetzchenDelay as a time.Duration.
func (d *Debug) KaetzchenDelayDuration() time.Duration { return ms(d.KaetzchenDelay) }

// SchedulerSlackDuration returns SchedulerSlack as a time.Duration.
func (d *Debug) SchedulerSlackDuration() time.Duration { return ms(d.SchedulerSlack) }

// SendSlackDuration returns SendSlack as a time.Duration.
func (d *Debug) SendSlackDuration() time.Duration { return ms(d.SendSlack) }

// DecoySlackDuration returns DecoySlack as a time.Duration.
func (d *Debug) DecoySlackDuration() time.Duration { return ms(d.DecoySlack) }

// ConnectTimeoutDuration returns ConnectTimeout as a time.Duration.
func (d *Debug) ConnectTimeoutDuration() time.Duration { return ms(d.ConnectTimeout) }

// HandshakeTimeoutDuration returns HandshakeTimeout as a time.Duration.
func (d *Debug) HandshakeTimeoutDuration() time.Duration { return ms(d.HandshakeTimeout) }

// ReauthIntervalDuration returns ReauthInterval as a time.Duration.
func (d *Debug) ReauthIntervalDuration() time.Duration { return ms(d.ReauthInterval) }

// positive fills a count or delay: 0 takes def, negative or above max is
// an error.
func positive(ck *checker, key string, v *int, def, max int, unit string) {
	switch {
	case *v < 0:
		ck.errorf(key, "%d is negative", *v)
	case *v > max:
		ck.errorf(key, "%d%s is larger than the maximum %d%s", *v, unit, max, unit)
	case *v == 0:
		*v = def
	}
}

func convertDebug(ck *checker, d Debug, queueSizeSet bool) Debug {
	positive(ck, "Debug.NumSphinxWorkers", &d.NumSphinxWorkers, min(runtime.NumCPU(), MaxWorkers), MaxWorkers, "")
	positive(ck, "Debug.NumProviderWorkers", &d.NumProviderWorkers, DefaultNumProviderWorkers, MaxWorkers, "")
	positive(ck, "Debug.NumKaetzchenWorkers", &d.NumKaetzchenWorkers, DefaultNumKaetzchenWorkers, MaxWorkers, "")
	positive(ck, "Debug.SchedulerMaxBurst", &d.SchedulerMaxBurst, DefaultSchedulerMaxBurst, MaxSchedulerMaxBurst, "")
	positive(ck, "Debug.MaxIncomingConnections", &d.MaxIncomingConnections, 0, MaxIncomingConnections, "")

	switch {
	case !queueSizeSet:
		d.SchedulerQueueSize = DefaultSchedulerQueueSize
	case d.SchedulerQueueSize <= 0:
		ck.warnf("Debug.SchedulerQueueSize", "%d means unlimited in the spec; the queue is bounded at %d packets instead", d.SchedulerQueueSize, UnlimitedSchedulerQueueSize)
		d.SchedulerQueueSize = UnlimitedSchedulerQueueSize
	case d.SchedulerQueueSize > UnlimitedSchedulerQueueSize:
		ck.errorf("Debug.SchedulerQueueSize", "%d is larger than the maximum %d", d.SchedulerQueueSize, UnlimitedSchedulerQueueSize)
	}

	for _, k := range []struct {
		key string
		v   *int
		def int
	}{
		{"Debug.UnwrapDelay", &d.UnwrapDelay, DefaultUnwrapDelay},
		{"Debug.ProviderDelay", &d.ProviderDelay, DefaultProviderDelay},
		{"Debug.KaetzchenDelay", &d.KaetzchenDelay, DefaultKaetzchenDelay},
		{"Debug.SchedulerSlack", &d.SchedulerSlack, DefaultSchedulerSlack},
		{"Debug.SendSlack", &d.SendSlack, DefaultSendSlack},
		{"Debug.DecoySlack", &d.DecoySlack, DefaultDecoySlack},
		{"Debug.ConnectTimeout", &d.ConnectTimeout, DefaultConnectTimeout},
		{"Debug.HandshakeTimeout", &d.HandshakeTimeout, DefaultHandshakeTimeout},
		{"Debug.ReauthInterval", &d.ReauthInterval, DefaultReauthInterval},
	} {
		positive(ck, k.key, k.v, k.def, MaxMilliseconds, " ms")
	}
	if d.SchedulerSlack > 0 && d.SchedulerSlack < MinSchedulerSlack {
		ck.warnf("Debug.SchedulerSlack", "%d ms raised to the minimum %d ms", d.SchedulerSlack, MinSchedulerSlack)
		d.SchedulerSlack = MinSchedulerSlack
	}
	if d.SendSlack > 0 && d.SendSlack < MinSendSlack {
		ck.warnf("Debug.SendSlack", "%d ms raised to the minimum %d ms", d.SendSlack, MinSendSlack)
		d.SendSlack = MinSendSlack
	}
	if d.IdentityKey != "" {
		ck.warnf("Debug.IdentityKey", "an identity private key is set in the configuration file; keep the file readable by keyd only")
	}
	if d.DisableRateLimit {
		ck.warnf("Debug.DisableRateLimit", "the per-client rate limiter is off; use this for testing only")
	}
	return d
}
