package loadgen

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
)

// Network is what the tool needs to know of a running network: where the
// authority is, the epoch length, and every node's management socket. The
// command fills it from the manifest cmd/testnet writes
// (internal/testnet.Manifest); any network described this way will do.
type Network struct {
	AuthorityAddress string
	AuthorityKey     keys.IdentityPublicKey
	// EpochPeriod is the network's epoch length (0: the production
	// default); the clients need it before they hold a document.
	EpochPeriod time.Duration
	Nodes       []Node
}

// Node is one mix or Provider.
type Node struct {
	Name     string
	Provider bool
	// Layer is a mix's layer (0-based); -1 for a Provider.
	Layer int
	// ManagementSocket is mixd's management socket: STATS on every node,
	// ADD_USER and REMOVE_USER on the Providers. The tool must run as the
	// socket's owner or a member of the node's admin group.
	ManagementSocket string
}

// Config describes one load run.
type Config struct {
	Network Network
	// Clients is the number of simulated users, spread over the Providers
	// in turn; each sends to a user of another Provider.
	Clients int
	// Rate is messages per second over all clients, spread evenly. 0 means
	// as fast as the network accepts: each client keeps Window messages
	// unacknowledged and sends the next when an ACK arrives.
	Rate float64
	// Window is the number of unacknowledged messages per client when Rate
	// is 0 (default 1).
	Window int
	// Warmup is sent before the measurement and left out of every figure;
	// Duration is the measurement itself.
	Warmup   time.Duration
	Duration time.Duration
	// Drain is how long to wait after the last send for deliveries and
	// ACKs still under way; it is also the margin of every SURB's deadline
	// beyond its path's delays (an ACK later than that is not waited for).
	Drain time.Duration
	// Size is each message body's size in bytes (at least BodyHeaderSize,
	// at most what one packet carries).
	Size int
	// PollInterval is how long a receiver waits after finding its spool
	// empty. It bounds the latency's resolution: a message waits in the
	// spool for about half of it on average.
	PollInterval time.Duration
	// Progress receives a line per phase of the run; nil discards.
	Progress io.Writer
}

// ErrConfig reports a Config that cannot describe a run.
var ErrConfig = errors.New("loadgen: bad configuration")

// Defaults of Config.
const (
	DefaultWindow       = 1
	DefaultDrain        = 30 * time.Second
	DefaultSize         = 256
	DefaultPollInterval = 10 * time.Millisecond
	// MaxClients bounds Clients: each is a link session and two goroutines.
	MaxClients = 1000
)

func (c Config) withDefaults() (Config, error) {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	var bad []string
	if c.Network.AuthorityAddress == "" || c.Network.AuthorityKey == (keys.IdentityPublicKey{}) {
		bad = append(bad, "the network has no authority address or key")
	}
	providers := 0
	for _, n := range c.Network.Nodes {
		if n.Name == "" || n.ManagementSocket == "" {
			bad = append(bad, fmt.Sprintf("node %q has no name or management socket", n.Name))
		}
		if n.Provider {
			providers++
		}
	}
	if providers == 0 {
		bad = append(bad, "the network has no Provider")
	}
	if c.Clients < 1 || c.Clients > MaxClients {
		bad = append(bad, fmt.Sprintf("%d clients, want 1 to %d", c.Clients, MaxClients))
	}
	if c.Rate < 0 || c.Rate != c.Rate {
		bad = append(bad, fmt.Sprintf("rate %v, want >= 0", c.Rate))
	}
	if c.Window < 1 || c.Window > 1024 {
		bad = append(bad, fmt.Sprintf("window %d, want 1 to 1024", c.Window))
	}
	if c.Duration <= 0 || c.Warmup < 0 || c.Drain < 0 {
		bad = append(bad, fmt.Sprintf("duration %v, warmup %v, drain %v: want a positive duration and no negative time", c.Duration, c.Warmup, c.Drain))
	}
	if c.Size < BodyHeaderSize {
		bad = append(bad, fmt.Sprintf("size %d, want at least %d (the body's header)", c.Size, BodyHeaderSize))
	}
	if c.PollInterval < time.Millisecond {
		bad = append(bad, fmt.Sprintf("poll interval %v, want at least 1ms", c.PollInterval))
	}
	if len(bad) > 0 {
		return c, fmt.Errorf("%w: %s", ErrConfig, strings.Join(bad, "; "))
	}
	return c, nil
}
