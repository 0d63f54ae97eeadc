package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BuiltinKaetzchen are the capabilities of the built-in services that
// [[Provider.Kaetzchen]] may configure.
var BuiltinKaetzchen = []string{"echo", "keyserver"}

// Limits on the service names.
const (
	// MaxEndpointLen: an endpoint is zero-padded into the 32-byte Sphinx
	// recipient field.
	MaxEndpointLen = 32
	// MaxCapabilityLen bounds a capability name.
	MaxCapabilityLen = 64
	// DefaultMaxConcurrency is a plugin's MaxConcurrency when unset.
	DefaultMaxConcurrency = 1
)

// Kaetzchen is one [[Provider.Kaetzchen]] entry: a built-in service. See
// docs/spec/mix-server.md, "Kaetzchen Configuration".
type Kaetzchen struct {
	// Capability names the service (echo, keyserver).
	Capability string
	// Endpoint is where requests arrive: a lower-case e-mail local-part,
	// by convention starting with "+".
	Endpoint string
	// Config holds extra arguments, every value rendered as a string.
	Config map[string]string
	// Disable turns the service off.
	Disable bool
}

// CBORPluginKaetzchen is one [[Provider.CBORPluginKaetzchen]] entry: an
// external plugin program. See docs/spec/mix-server.md, "External Kaetzchen
// Plugin Configuration".
type CBORPluginKaetzchen struct {
	Capability string
	Endpoint   string
	// Config is passed to the plugin as command-line arguments "-key
	// value" (see Args). Values are strings; numbers and booleans in the
	// file are rendered as strings; tables and arrays are rejected.
	Config map[string]string
	// Command is the absolute path of the plugin program.
	Command string
	// MaxConcurrency is how many instances of the plugin to run;
	// default 1.
	MaxConcurrency int
	Disable        bool
}

// Args returns Config as the plugin's arguments, "-key", "value", in key
// order so that the command line is deterministic.
func (k *CBORPluginKaetzchen) Args() []string {
	args := make([]string, 0, 2*len(k.Config))
	for _, key := range sortedKeys(k.Config) {
		args = append(args, "-"+key, k.Config[key])
	}
	return args
}

type fileKaetzchen struct {
	Capability string
	Endpoint   string
	Config     map[string]any
	Disable    bool
}

type filePlugin struct {
	Capability     string
	Endpoint       string
	Config         map[string]any
	Command        string
	MaxConcurrency int
	Disable        bool
}

// filePluginKaetzchen is the table the spec's plugin example writes as
// [Provider.PluginKaetzchen.Config].
type filePluginKaetzchen struct {
	Config map[string]any
}

func convertKaetzchen(ck *checker, p *fileProvider) ([]Kaetzchen, []CBORPluginKaetzchen) {
	applyStrayPluginConfig(ck, p)
	names := newServiceNames(ck)
	var builtins []Kaetzchen
	for i, k := range p.Kaetzchen {
		key := fmt.Sprintf("Provider.Kaetzchen[%d]", i)
		names.check(key, k.Capability, k.Endpoint)
		if k.Capability != "" && !slices.Contains(BuiltinKaetzchen, k.Capability) {
			ck.errorf(key+".Capability", "%q is not a built-in service (%s); external services are [[Provider.CBORPluginKaetzchen]] entries", k.Capability, strings.Join(BuiltinKaetzchen, ", "))
		}
		builtins = append(builtins, Kaetzchen{
			Capability: k.Capability,
			Endpoint:   k.Endpoint,
			Config:     convertServiceConfig(ck, key+".Config", k.Config),
			Disable:    k.Disable,
		})
	}
	var plugins []CBORPluginKaetzchen
	for i, k := range p.CBORPluginKaetzchen {
		key := fmt.Sprintf("Provider.CBORPluginKaetzchen[%d]", i)
		names.check(key, k.Capability, k.Endpoint)
		switch {
		case k.Command == "":
			ck.errorf(key+".Command", "missing: the absolute path of the plugin program is required")
		case !strings.HasPrefix(k.Command, "/"):
			ck.errorf(key+".Command", "%q is not an absolute path", k.Command)
		}
		positive(ck, key+".MaxConcurrency", &k.MaxConcurrency, DefaultMaxConcurrency, MaxWorkers, "")
		plugins = append(plugins, CBORPluginKaetzchen{
			Capability:     k.Capability,
			Endpoint:       k.Endpoint,
			Config:         convertServiceConfig(ck, key+".Config", k.Config),
			Command:        k.Command,
			MaxConcurrency: k.MaxConcurrency,
			Disable:        k.Disable,
		})
	}
	return builtins, plugins
}

// applyStrayPluginConfig interprets the spec's plugin example, which
// follows a [[Provider.CBORPluginKaetzchen]] entry with a table named
// [Provider.PluginKaetzchen.Config]. In TOML that is a different table, not
// the entry's Config. We take it as the Config of the one plugin entry that
// has none of its own, and warn; if that entry is not unique, the file is
// ambiguous and rejected.
func applyStrayPluginConfig(ck *checker, p *fileProvider) {
	if p.PluginKaetzchen == nil {
		return
	}
	const key = "Provider.PluginKaetzchen.Config"
	if p.PluginKaetzchen.Config == nil {
		ck.errorf("Provider.PluginKaetzchen", "not a section of its own; plugins are [[Provider.CBORPluginKaetzchen]] entries with a [Provider.CBORPluginKaetzchen.Config] table")
		return
	}
	var without []int
	for i, k := range p.CBORPluginKaetzchen {
		if k.Config == nil {
			without = append(without, i)
		}
	}
	switch {
	case len(p.CBORPluginKaetzchen) == 0:
		ck.errorf(key, "there is no [[Provider.CBORPluginKaetzchen]] entry to apply it to")
	case len(without) == 0:
		ck.errorf(key, "ambiguous: every [[Provider.CBORPluginKaetzchen]] entry has its own Config; remove this table or write it as [Provider.CBORPluginKaetzchen.Config] under its entry")
	case len(without) > 1:
		ck.errorf(key, "ambiguous: %d [[Provider.CBORPluginKaetzchen]] entries (%s) have no Config; write it as [Provider.CBORPluginKaetzchen.Config] directly under its entry", len(without), indexList(without))
	default:
		i := without[0]
		p.CBORPluginKaetzchen[i].Config = p.PluginKaetzchen.Config
		ck.warnf(key, "taken as the Config of Provider.CBORPluginKaetzchen[%d] (Capability %q), the only plugin without one; write it as [Provider.CBORPluginKaetzchen.Config] under that entry", i, p.CBORPluginKaetzchen[i].Capability)
	}
}

func indexList(is []int) string {
	s := make([]string, len(is))
	for j, i := range is {
		s[j] = fmt.Sprintf("[%d]", i)
	}
	return strings.Join(s, ", ")
}

// convertServiceConfig renders a service's Config table as strings: the
// values become "-key value" arguments of a program.
func convertServiceConfig(ck *checker, key string, m map[string]any) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for _, name := range sortedKeys(m) {
		k := key + "." + name
		if !validArgName(name) {
			ck.errorf(k, "%q is not a valid argument name: names are letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64 bytes", name)
			continue
		}
		var s string
		switch v := m[name].(type) {
		case string:
			if strings.IndexByte(v, 0) >= 0 {
				ck.errorf(k, "contains a NUL byte, which cannot be passed as an argument")
				continue
			}
			s = v
		case int64:
			s = strconv.FormatInt(v, 10)
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				ck.errorf(k, "%v is not a finite number", v)
				continue
			}
			s = strconv.FormatFloat(v, 'g', -1, 64)
		case bool:
			s = strconv.FormatBool(v)
		case map[string]any:
			ck.errorf(k, "a table cannot be passed as -%s value; values must be strings, numbers or booleans", name)
			continue
		case time.Time:
			ck.errorf(k, "a datetime cannot be passed as -%s value; quote it to pass it as a string", name)
			continue
		case []any, []map[string]any:
			ck.errorf(k, "an array cannot be passed as -%s value; values must be strings, numbers or booleans", name)
			continue
		default:
			ck.errorf(k, "a %T cannot be passed as -%s value; values must be strings, numbers or booleans", v, name)
			continue
		}
		out[name] = s
	}
	return out
}

func validArgName(s string) bool {
	if s == "" || len(s) > 64 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// serviceNames checks capabilities and endpoints, across built-in and
// plugin services, for presence, syntax and uniqueness.
type serviceNames struct {
	ck           *checker
	capabilities map[string]string
	endpoints    map[string]string
}

func newServiceNames(ck *checker) *serviceNames {
	return &serviceNames{ck: ck, capabilities: map[string]string{}, endpoints: map[string]string{}}
}

func (n *serviceNames) check(key, capability, endpoint string) {
	switch {
	case capability == "":
		n.ck.errorf(key+".Capability", "missing: the service's capability (e.g. \"echo\") is required")
	case len(capability) > MaxCapabilityLen || strings.IndexFunc(capability, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
		n.ck.errorf(key+".Capability", "%q: want at most %d printable ASCII characters without spaces", capability, MaxCapabilityLen)
	default:
		if other, dup := n.capabilities[capability]; dup {
			n.ck.errorf(key+".Capability", "%q is also the capability of %s", capability, other)
		}
		n.capabilities[capability] = key
	}
	if endpoint == "" {
		n.ck.errorf(key+".Endpoint", "missing: the service's endpoint (e.g. \"+echo\") is required")
		return
	}
	if err := checkEndpoint(endpoint); err != nil {
		n.ck.errorf(key+".Endpoint", "%v", err)
		return
	}
	if other, dup := n.endpoints[endpoint]; dup {
		n.ck.errorf(key+".Endpoint", "%q is also the endpoint of %s", endpoint, other)
	}
	n.endpoints[endpoint] = key
}

// checkEndpoint requires a lower-case e-mail local-part (RFC 5322
// dot-atom: atext characters and inner single dots) of at most
// MaxEndpointLen bytes.
func checkEndpoint(e string) error {
	if len(e) > MaxEndpointLen {
		return fmt.Errorf("%q is longer than %d bytes", e, MaxEndpointLen)
	}
	if strings.ToLower(e) != e {
		return fmt.Errorf("%q is not lower-case", e)
	}
	if e[0] == '.' || e[len(e)-1] == '.' || strings.Contains(e, "..") {
		return fmt.Errorf("%q is not an e-mail local-part: a dot may not start, end or repeat", e)
	}
	for i := 0; i < len(e); i++ {
		c := e[i]
		if c >= 0x80 {
			return fmt.Errorf("%q is not a lower-case e-mail local-part: only ASCII is allowed", e)
		}
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0) {
			return fmt.Errorf("%q is not a lower-case e-mail local-part: %q is not allowed", e, string(rune(c)))
		}
	}
	return nil
}
