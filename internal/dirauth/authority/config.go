package authority

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// Defaults of the configuration (docs/spec/dirauth.md §9).
const (
	DefaultLayers           = 3
	DefaultMinNodesPerLayer = 1
	DefaultMinProviders     = 1
	DefaultBootstrapGrace   = 5 * time.Second
	DefaultMaxConnections   = 128
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 60 * time.Second
	DefaultSendRate         = 100
	DefaultRate             = 0.00025 // per ms: a mean of 4 s
	// maxDelayQuantile is the share of exponential samples a derived
	// *MaxDelay lets through: the 99.999th percentile.
	maxDelayQuantile = 1e-5
	// maxAllowedNodes bounds the allow-list, below the document's limit.
	maxAllowedNodes = pki.MaxDocumentNodes
)

// Config is the directory authority's configuration, loaded from its own
// TOML file (docs/spec/dirauth.md §9).
type Config struct {
	Authority  AuthoritySection
	Logging    config.Logging
	Geometry   sphinx.Geometry
	Parameters pki.Parameters
	Mixes      []AllowedNode
	Providers  []AllowedNode

	file string
}

// File is the path the configuration was loaded from.
func (c *Config) File() string { return c.file }

// AuthoritySection is the [Authority] section.
type AuthoritySection struct {
	Identifier       string
	Addresses        []config.Address
	DataDir          string
	KeyDir           string // default DataDir/keys
	Layers           int
	EpochPeriod      time.Duration
	MinNodesPerLayer int
	MinProviders     int
	BootstrapGrace   time.Duration
	MaxConnections   int
	HandshakeTimeout time.Duration
	IdleTimeout      time.Duration
}

// AllowedNode is one [[Mixes]] or [[Providers]] entry.
type AllowedNode struct {
	Identifier  string
	IdentityKey keys.IdentityPublicKey
}

// DatabasePath is where the authority keeps descriptors and documents.
func (c *Config) DatabasePath() string { return filepath.Join(c.Authority.DataDir, "dirauth.db") }

// duration decodes a TOML duration string such as "20m" or "5s".
type duration struct{ d time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"20m\" or \"5s\"", b)
	}
	d.d = v
	return nil
}

// The file's shape. Pointers tell "absent" from "zero".
type fileConfig struct {
	Authority      *fileAuthority
	Logging        *fileLogging
	SphinxGeometry *fileGeometry
	Parameters     *fileParameters
	Mixes          []fileNode
	Providers      []fileNode
}

type fileAuthority struct {
	Identifier       string
	Addresses        []string
	DataDir          string
	KeyDir           string
	Layers           *int
	EpochPeriod      *duration
	MinNodesPerLayer *int
	MinProviders     *int
	BootstrapGrace   *duration
	MaxConnections   *int
	HandshakeTimeout *duration
	IdleTimeout      *duration
}

type fileLogging struct {
	Disable bool
	File    string
	Level   string
}

type fileGeometry struct {
	NrHops                   *int
	UserForwardPayloadLength *int
}

type fileParameters struct {
	SendRatePerMinute *uint64
	Mu                *float64
	MuMaxDelay        *uint64
	LambdaP           *float64
	LambdaPMaxDelay   *uint64
	LambdaL           *float64
	LambdaLMaxDelay   *uint64
	LambdaD           *float64
	LambdaDMaxDelay   *uint64
	LambdaM           *float64
	LambdaMMaxDelay   *uint64
}

type fileNode struct {
	Identifier  string
	IdentityKey string
}

// problems collects what is wrong with a file, each naming its key.
type problems struct {
	file string
	list []string
}

func (p *problems) add(key, format string, args ...any) {
	p.list = append(p.list, key+": "+fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s", p.file, strings.Join(p.list, "; "))
}

// Load reads and checks the configuration file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return LoadBytes(path, b)
}

// LoadBytes checks configuration text; name is used in errors. Unknown keys,
// wrong types, bad keys and out-of-range values are errors that name the
// file and the key.
func LoadBytes(name string, data []byte) (*Config, error) {
	var f fileConfig
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return nil, fmt.Errorf("%s: line %d: %s: %s", name, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return nil, fmt.Errorf("%s: line %d: %s", name, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	p := &problems{file: name}
	for _, k := range md.Undecoded() {
		p.add(k.String(), "unknown key")
	}
	c := &Config{file: name}
	c.convertAuthority(p, f.Authority)
	c.convertLogging(p, f.Logging)
	c.convertGeometry(p, f.SphinxGeometry)
	c.convertParameters(p, f.Parameters)
	c.convertNodes(p, f.Mixes, f.Providers)
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func intOr(v *int, def int) int {
	if v == nil {
		return def
	}
	return *v
}

func durOr(v *duration, def time.Duration) time.Duration {
	if v == nil {
		return def
	}
	return v.d
}

func (c *Config) convertAuthority(p *problems, a *fileAuthority) {
	if a == nil {
		p.add("Authority", "missing section (Addresses and DataDir are required)")
		return
	}
	out := &c.Authority
	out.Identifier = a.Identifier
	if out.Identifier == "" {
		out.Identifier = "dirauth"
	} else if err := checkName(out.Identifier); err != nil {
		p.add("Authority.Identifier", "%v", err)
	}
	if len(a.Addresses) == 0 {
		p.add("Authority.Addresses", "missing: at least one tcp://, tcp4:// or tcp6:// address to listen on")
	}
	for i, s := range a.Addresses {
		addr, err := config.ParseAddress(s)
		if err != nil {
			p.add(fmt.Sprintf("Authority.Addresses[%d]", i), "%v", err)
			continue
		}
		if addr.IsQUIC() {
			p.add(fmt.Sprintf("Authority.Addresses[%d]", i), "%q: the authority listens on TCP only", s)
			continue
		}
		out.Addresses = append(out.Addresses, addr)
	}
	switch {
	case a.DataDir == "":
		p.add("Authority.DataDir", "missing: the directory for the authority's database")
	case !filepath.IsAbs(a.DataDir):
		p.add("Authority.DataDir", "%q is not an absolute path", a.DataDir)
	}
	out.DataDir = a.DataDir
	out.KeyDir = a.KeyDir
	if out.KeyDir == "" && a.DataDir != "" {
		out.KeyDir = filepath.Join(a.DataDir, "keys")
	} else if out.KeyDir != "" && !filepath.IsAbs(out.KeyDir) {
		p.add("Authority.KeyDir", "%q is not an absolute path", out.KeyDir)
	}
	out.Layers = intOr(a.Layers, DefaultLayers)
	if out.Layers < 1 || out.Layers > pki.MaxLayers {
		p.add("Authority.Layers", "%d, want 1 to %d", out.Layers, pki.MaxLayers)
	}
	out.EpochPeriod = durOr(a.EpochPeriod, epochtime.DefaultPeriod)
	if out.EpochPeriod < time.Second || out.EpochPeriod > pki.MaxEpochPeriod || out.EpochPeriod%time.Millisecond != 0 {
		p.add("Authority.EpochPeriod", "%v, want whole milliseconds from 1s to %v", out.EpochPeriod, pki.MaxEpochPeriod)
	}
	out.MinNodesPerLayer = intOr(a.MinNodesPerLayer, DefaultMinNodesPerLayer)
	if out.MinNodesPerLayer < 1 {
		p.add("Authority.MinNodesPerLayer", "%d, want at least 1", out.MinNodesPerLayer)
	}
	out.MinProviders = intOr(a.MinProviders, DefaultMinProviders)
	if out.MinProviders < 1 {
		p.add("Authority.MinProviders", "%d, want at least 1", out.MinProviders)
	}
	out.BootstrapGrace = durOr(a.BootstrapGrace, DefaultBootstrapGrace)
	if out.BootstrapGrace < 0 {
		p.add("Authority.BootstrapGrace", "%v is negative", out.BootstrapGrace)
	}
	out.MaxConnections = intOr(a.MaxConnections, DefaultMaxConnections)
	if out.MaxConnections < 1 || out.MaxConnections > 65536 {
		p.add("Authority.MaxConnections", "%d, want 1 to 65536", out.MaxConnections)
	}
	out.HandshakeTimeout = durOr(a.HandshakeTimeout, DefaultHandshakeTimeout)
	if out.HandshakeTimeout <= 0 {
		p.add("Authority.HandshakeTimeout", "%v, want a positive duration", out.HandshakeTimeout)
	}
	out.IdleTimeout = durOr(a.IdleTimeout, DefaultIdleTimeout)
	if out.IdleTimeout <= 0 {
		p.add("Authority.IdleTimeout", "%v, want a positive duration", out.IdleTimeout)
	}
}

func (c *Config) convertLogging(p *problems, l *fileLogging) {
	c.Logging.Level = "NOTICE"
	if l == nil {
		return
	}
	c.Logging.Disable, c.Logging.File = l.Disable, l.File
	if l.Level != "" {
		level := strings.ToUpper(l.Level)
		switch level {
		case "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG":
			c.Logging.Level = level
		default:
			p.add("Logging.Level", "%q, want ERROR, WARNING, NOTICE, INFO or DEBUG", l.Level)
		}
	}
}

func (c *Config) convertGeometry(p *problems, g *fileGeometry) {
	c.Geometry = sphinx.DefaultGeometry()
	if g == nil {
		return
	}
	hops := intOr(g.NrHops, sphinx.DefaultNrHops)
	user := intOr(g.UserForwardPayloadLength, sphinx.DefaultUserForwardPayloadLength)
	geo, err := sphinx.NewGeometry(hops, user)
	if err != nil {
		p.add("SphinxGeometry", "%v", err)
		return
	}
	c.Geometry = geo
	if c.Authority.Layers+2 > hops {
		p.add("SphinxGeometry.NrHops", "%d hops cannot cross %d mix layers and two Providers", hops, c.Authority.Layers)
	}
}

// defaultMaxDelay is the 99.999th percentile of an exponential delay of the
// given rate (per ms), capped at pki.MaxParameterDelay.
func defaultMaxDelay(rate float64) uint64 {
	if rate <= 0 {
		return 0
	}
	return uint64(min(math.Ceil(-math.Log(maxDelayQuantile)/rate), pki.MaxParameterDelay))
}

func (c *Config) convertParameters(p *problems, f *fileParameters) {
	if f == nil {
		f = &fileParameters{}
	}
	out := &c.Parameters
	out.SendRatePerMinute = DefaultSendRate
	if f.SendRatePerMinute != nil {
		out.SendRatePerMinute = *f.SendRatePerMinute
	}
	pair := func(rate *float64, maxDelay *uint64, outRate *float64, outMax *uint64) {
		*outRate = DefaultRate
		if rate != nil {
			*outRate = *rate
		}
		*outMax = defaultMaxDelay(*outRate)
		if maxDelay != nil {
			*outMax = *maxDelay
		}
	}
	pair(f.Mu, f.MuMaxDelay, &out.Mu, &out.MuMaxDelay)
	pair(f.LambdaP, f.LambdaPMaxDelay, &out.LambdaP, &out.LambdaPMaxDelay)
	pair(f.LambdaL, f.LambdaLMaxDelay, &out.LambdaL, &out.LambdaLMaxDelay)
	pair(f.LambdaD, f.LambdaDMaxDelay, &out.LambdaD, &out.LambdaDMaxDelay)
	pair(f.LambdaM, f.LambdaMMaxDelay, &out.LambdaM, &out.LambdaMMaxDelay)
	if err := out.Validate(); err != nil {
		p.add("Parameters", "%v", strings.TrimPrefix(err.Error(), "parameters: "))
	}
}

func (c *Config) convertNodes(p *problems, mixes, providers []fileNode) {
	names := map[string]string{}
	ids := map[keys.IdentityPublicKey]string{}
	conv := func(section string, list []fileNode) []AllowedNode {
		var out []AllowedNode
		for i, n := range list {
			key := fmt.Sprintf("%s[%d]", section, i)
			if n.Identifier == "" {
				p.add(key+".Identifier", "missing: the node's Server.Identifier")
			} else if err := checkName(n.Identifier); err != nil {
				p.add(key+".Identifier", "%v", err)
			} else if prev, dup := names[n.Identifier]; dup {
				p.add(key+".Identifier", "%q is also %s", n.Identifier, prev)
			} else {
				names[n.Identifier] = key
			}
			if n.IdentityKey == "" {
				p.add(key+".IdentityKey", "missing: the node's identity public key (hex or base64)")
				continue
			}
			k, err := keys.ParseIdentityPublicKey(n.IdentityKey)
			if err != nil {
				p.add(key+".IdentityKey", "%v", err)
				continue
			}
			if prev, dup := ids[k]; dup {
				p.add(key+".IdentityKey", "the same key as %s", prev)
				continue
			}
			ids[k] = key
			out = append(out, AllowedNode{Identifier: n.Identifier, IdentityKey: k})
		}
		return out
	}
	c.Mixes = conv("Mixes", mixes)
	c.Providers = conv("Providers", providers)
	if len(mixes)+len(providers) > maxAllowedNodes {
		p.add("Mixes", "%d nodes in all, at most %d", len(mixes)+len(providers), maxAllowedNodes)
	}
}

// checkName applies the descriptor's rule for names (docs/spec/pki.md):
// 1 to pki.MaxNameLen bytes of UTF-8 without control characters.
func checkName(s string) error {
	if len(s) > pki.MaxNameLen {
		return fmt.Errorf("%d bytes, at most %d", len(s), pki.MaxNameLen)
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%q: not UTF-8 text without control characters", s)
	}
	return nil
}

// DelayWarning describes how the parameters can outlast a Sphinx key, or
// is "" when they cannot: a packet's last hop unwraps it after Layers + 1
// delays of at most MuMaxDelay each, and must do so within the key grace
// of the epoch period (docs/spec/keys.md §3.1, dirauth.md §5.2).
func (c *Config) DelayWarning() string {
	worst := time.Duration(c.Authority.Layers+1) * time.Duration(c.Parameters.MuMaxDelay) * time.Millisecond
	grace := epochtime.KeyGrace(c.Authority.EpochPeriod)
	if worst < grace {
		return ""
	}
	return fmt.Sprintf("Parameters.MuMaxDelay: %d ms a hop over %d mix layers and a Provider allows %v of delay before a packet's last hop, not below the %v for which nodes keep the previous epoch's Sphinx key (a quarter of Authority.EpochPeriod %v, at most %v); packets sent just before an epoch change and delayed that long will be lost",
		c.Parameters.MuMaxDelay, c.Authority.Layers, worst, grace, c.Authority.EpochPeriod, epochtime.MaxKeyGrace)
}
