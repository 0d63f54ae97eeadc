package testnet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of Options; cmd/testnet's flags start from them.
const (
	DefaultLayers           = 3
	DefaultMixesPerLayer    = 2
	DefaultProviders        = 2
	DefaultUsersPerProvider = 2
	// DefaultEpochPeriod lets a newcomer see an epoch change within
	// minutes; the authority's schedule (next document at 3/4 of an epoch)
	// leaves 30 s for every node to post for the next epoch.
	DefaultEpochPeriod = 2 * time.Minute
	// DefaultMu is the document's Mu: a mean delay of 100 ms per hop, so
	// that round trips take about a second rather than the production
	// half-minute.
	DefaultMu = 0.01
	// DefaultMuMaxDelay caps each hop's delay.
	DefaultMuMaxDelay = time.Second
	// DefaultBasePort is the authority's TCP port; node i listens on
	// DefaultBasePort+1+i, mixes first, then Providers.
	DefaultBasePort = 30000
	// DefaultSendRatePerMinute is the document's client rate limit: high
	// enough that the testnet's own traffic never meets it.
	DefaultSendRatePerMinute = 60000
	// MinEpochPeriod is the shortest epoch the testnet accepts: a
	// network's start must fit in half an epoch.
	MinEpochPeriod = 5 * time.Second
)

// Options describe a local network.
type Options struct {
	// Dir holds everything the network writes (see the package doc).
	// Required; made absolute.
	Dir string
	// BinDir holds the programs dirauth, keyd, spoold, mixd, mixctl and
	// mixclient. Empty: Start builds them into Dir/bin. Set: they are used
	// as they are (see Build).
	BinDir string

	Layers           int // mix layers (default 3)
	MixesPerLayer    int // mixes per layer (default 2)
	Providers        int // Providers (default 2)
	UsersPerProvider int // users made on each Provider (default 2; 0 is allowed with NoUsers)
	// NoUsers creates no users even if UsersPerProvider is 0.
	NoUsers bool

	// EpochPeriod is the authority's EpochPeriod and every node's [Privsep]
	// EpochPeriod (default 2m; at least MinEpochPeriod).
	EpochPeriod time.Duration
	// Mu and MuMaxDelay are the document's per-hop delay parameters
	// (default 0.01 per ms and 1 s). ZeroDelays sets both to zero: packets
	// are forwarded as soon as they are unwrapped (latency benchmarks).
	Mu         float64
	MuMaxDelay time.Duration
	ZeroDelays bool
	// SendRatePerMinute is the document's client rate limit (default 60000).
	SendRatePerMinute uint64

	// BasePort is the authority's port on 127.0.0.1; node i gets
	// BasePort+1+i (default 30000).
	BasePort int
	// SphinxWorkers is each mixd's Debug.NumSphinxWorkers (default 2).
	SphinxWorkers int
	// LogLevel is every daemon's Logging.Level (default NOTICE).
	LogLevel string
	// DecoyTraffic sets Debug.SendDecoyTraffic on the Providers.
	DecoyTraffic bool

	// StartTimeout bounds Start once the programs are built (default: three
	// epochs plus a minute).
	StartTimeout time.Duration
	// Progress receives one line per step of Start and Close; nil discards.
	Progress io.Writer
}

// withDefaults returns o with zero values replaced by defaults, checked.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("testnet: Options.Dir is required")
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return o, fmt.Errorf("testnet: %w", err)
	}
	o.Dir = abs
	if o.BinDir != "" {
		if o.BinDir, err = filepath.Abs(o.BinDir); err != nil {
			return o, fmt.Errorf("testnet: %w", err)
		}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Layers, DefaultLayers)
	def(&o.MixesPerLayer, DefaultMixesPerLayer)
	def(&o.Providers, DefaultProviders)
	if !o.NoUsers {
		def(&o.UsersPerProvider, DefaultUsersPerProvider)
	}
	def(&o.BasePort, DefaultBasePort)
	def(&o.SphinxWorkers, 2)
	if o.EpochPeriod == 0 {
		o.EpochPeriod = DefaultEpochPeriod
	}
	if o.ZeroDelays {
		o.Mu, o.MuMaxDelay = 0, 0
	} else {
		if o.Mu == 0 {
			o.Mu = DefaultMu
		}
		if o.MuMaxDelay == 0 {
			o.MuMaxDelay = DefaultMuMaxDelay
		}
	}
	if o.SendRatePerMinute == 0 {
		o.SendRatePerMinute = DefaultSendRatePerMinute
	}
	if o.LogLevel == "" {
		o.LogLevel = "NOTICE"
	}
	o.LogLevel = strings.ToUpper(o.LogLevel)
	if o.StartTimeout == 0 {
		o.StartTimeout = 3*o.EpochPeriod + time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	var bad []string
	switch {
	case o.Layers < 1 || o.Layers > 8:
		bad = append(bad, fmt.Sprintf("%d layers, want 1 to 8", o.Layers))
	case o.MixesPerLayer < 1 || o.MixesPerLayer > 16:
		bad = append(bad, fmt.Sprintf("%d mixes per layer, want 1 to 16", o.MixesPerLayer))
	case o.Providers < 1 || o.Providers > 16:
		bad = append(bad, fmt.Sprintf("%d Providers, want 1 to 16", o.Providers))
	case o.UsersPerProvider < 0 || o.UsersPerProvider > 64:
		bad = append(bad, fmt.Sprintf("%d users per Provider, want 0 to 64", o.UsersPerProvider))
	}
	if o.EpochPeriod < MinEpochPeriod || o.EpochPeriod%time.Millisecond != 0 {
		bad = append(bad, fmt.Sprintf("epoch %v, want whole milliseconds and at least %v", o.EpochPeriod, MinEpochPeriod))
	}
	if o.Mu < 0 || o.MuMaxDelay < 0 || o.MuMaxDelay%time.Millisecond != 0 {
		bad = append(bad, fmt.Sprintf("mu %v and max delay %v, want >= 0 and whole milliseconds", o.Mu, o.MuMaxDelay))
	}
	if last := o.BasePort + o.nodeCount(); o.BasePort < 1024 || last > 65535 {
		bad = append(bad, fmt.Sprintf("base port %d: ports %d to %d must lie within 1024..65535", o.BasePort, o.BasePort, last))
	}
	switch o.LogLevel {
	case "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG":
	default:
		bad = append(bad, fmt.Sprintf("log level %q, want ERROR, WARNING, NOTICE, INFO or DEBUG", o.LogLevel))
	}
	if o.SphinxWorkers < 1 || o.SphinxWorkers > 64 {
		bad = append(bad, fmt.Sprintf("%d Sphinx workers, want 1 to 64", o.SphinxWorkers))
	}
	if len(bad) > 0 {
		return o, fmt.Errorf("testnet: %s", strings.Join(bad, "; "))
	}
	return o, nil
}

func (o *Options) nodeCount() int { return o.Layers*o.MixesPerLayer + o.Providers }

// DefaultDir is where cmd/testnet puts its network unless told otherwise:
// $TMPDIR/splitmix-testnet, short enough for UNIX socket paths and outside
// any source tree.
func DefaultDir() string { return filepath.Join(os.TempDir(), "splitmix-testnet") }
