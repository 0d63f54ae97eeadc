package config

import (
	"fmt"
	"io"
	"os"

	"github.com/BurntSushi/toml"
)

// MaxFileSize bounds the configuration file we read; a real one is a few
// kilobytes.
const MaxFileSize = 1 << 20

// Config is a loaded, validated configuration with every default filled
// in. Each daemon reads the same file and uses the sections it needs.
type Config struct {
	Server     Server
	PKI        PKI
	Logging    Logging
	Management Management
	Debug      Debug
	// Provider is nil on a mix (Server.IsProvider = false) and never nil
	// on a Provider, even when the file has no [Provider] section.
	Provider *Provider
	// Privsep is our own section, beyond the spec: how the split daemons
	// find each other.
	Privsep Privsep

	file     string
	warnings []string
}

// File returns the path (or name) the configuration was loaded from.
func (c *Config) File() string { return c.file }

// Warnings returns things that are accepted but deserve the operator's
// attention (a quirk of the spec interpreted, a limit substituted, an
// unsafe setting). Each is "FILE: Key: text"; daemons log them at WARNING
// after their logger is set up.
func (c *Config) Warnings() []string { return append([]string(nil), c.warnings...) }

// ListenAddresses returns the addresses to bind: Server.BindAddresses if
// set, otherwise Server.Addresses. Load has validated them; an entry that
// does not parse (only possible in a Config built by hand) is left out.
func (c *Config) ListenAddresses() []Address {
	if len(c.Server.BindAddresses) > 0 {
		return parseAll(c.Server.BindAddresses)
	}
	return parseAll(c.Server.Addresses)
}

// AdvertiseAddresses returns Server.Addresses, the addresses published in
// the PKI descriptor.
func (c *Config) AdvertiseAddresses() []Address { return parseAll(c.Server.Addresses) }

func parseAll(ss []string) []Address {
	out := make([]Address, 0, len(ss))
	for _, s := range ss {
		if a, err := ParseAddress(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// Load reads and validates the configuration file at path. Errors name the
// file, the key path and the problem; a *Error lists all problems found.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg, err := LoadBytes(path, data)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o044 != 0 {
		cfg.warnAboutSecrets(fi.Mode().Perm())
	}
	return cfg, nil
}

// LoadBytes parses and validates a configuration; name is used in error
// messages and returned by File.
func LoadBytes(name string, data []byte) (*Config, error) {
	ck := &checker{file: name}
	if len(data) > MaxFileSize {
		ck.errorf("", "file is larger than %d bytes", MaxFileSize)
		return nil, ck.err()
	}
	text := string(data)

	// Parse once without a schema so that syntax errors are reported as
	// such (with line and column) and not confused with type errors.
	var generic map[string]any
	if _, err := toml.Decode(text, &generic); err != nil {
		ck.problems = append(ck.problems, syntaxProblem(err))
		return nil, ck.err()
	}
	var raw fileConfig
	md, err := toml.Decode(text, &raw)
	if err != nil {
		ck.problems = append(ck.problems, decodeProblem(err))
		return nil, ck.err()
	}
	checkUnknownKeys(ck, md.Undecoded(), &md)

	cfg := &Config{file: name}
	cfg.Server = convertServer(ck, raw.Server)
	dataDir := cfg.Server.DataDir
	cfg.PKI = convertPKI(ck, raw.PKI)
	cfg.Logging = convertLogging(ck, &raw.Logging, dataDir)
	cfg.Management = convertManagement(ck, &raw.Management, dataDir)
	cfg.Debug = convertDebug(ck, raw.Debug, md.IsDefined("Debug", "SchedulerQueueSize"))
	cfg.Provider = convertProvider(ck, raw.Provider, cfg.Server.IsProvider, dataDir)
	cfg.Privsep = convertPrivsep(ck, &raw.Privsep, dataDir)
	checkSocketPaths(ck, cfg)
	if err := ck.err(); err != nil {
		return nil, err
	}
	cfg.warnings = ck.warnings
	return cfg, nil
}

// fileConfig is the shape of the TOML file. It differs from Config where
// the file format needs interpretation (aliases, the spec's quirks, values
// converted to typed forms).
type fileConfig struct {
	Server     *Server
	PKI        *filePKI
	Logging    fileLogging
	Management fileManagement
	Debug      Debug
	Provider   *fileProvider
	Privsep    filePrivsep
}

// warnAboutSecrets adds a warning when a file that others can read holds a
// secret.
func (c *Config) warnAboutSecrets(perm os.FileMode) {
	ck := &checker{file: c.file}
	if c.Debug.IdentityKey != "" {
		ck.warnf("Debug.IdentityKey", "the file holds a private key but is readable by group or others (mode %#o)", perm)
	}
	if c.Provider != nil && dsnHasPassword(c.Provider.SQLDB.DataSourceName) {
		ck.warnf("Provider.SQLDB.DataSourceName", "the file holds a database password but is readable by group or others (mode %#o)", perm)
	}
	c.warnings = append(c.warnings, ck.warnings...)
}
