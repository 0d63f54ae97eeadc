package config

import (
	"cmp"
	"fmt"
	"path/filepath"
	"regexp"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
)

// Privsep defaults, relative to Server.DataDir (RuntimeDir for sockets).
const (
	DefaultRuntimeDir       = "run"
	DefaultKeyDir           = "keyd"
	DefaultKeydSocket       = "keyd.sock"
	DefaultSpooldSocket     = "spoold.sock"
	DefaultPluginhostSocket = "pluginhost.sock"
)

// Bounds on Privsep.EpochPeriod: seconds are for tests, minutes for
// production.
const (
	MinEpochPeriod = time.Second
	MaxEpochPeriod = 7 * 24 * time.Hour
)

// Privsep is the [Privsep] section, our own addition to the spec's file:
// where the split daemons meet and who may talk to whom. Every key has a
// default under which a file written only from the spec runs unchanged,
// all daemons under one unprivileged user. Relative paths are taken
// relative to Server.DataDir.
type Privsep struct {
	// RuntimeDir holds the IPC sockets; default DataDir/run.
	RuntimeDir string
	// KeyDir is keyd's private key directory (mode 0700); default
	// DataDir/keyd.
	KeyDir string
	// KeydSocket, SpooldSocket and PluginhostSocket default to keyd.sock,
	// spoold.sock and pluginhost.sock in RuntimeDir.
	KeydSocket       string
	SpooldSocket     string
	PluginhostSocket string
	// MixdUser is the user name or numeric uid mixd runs as; keyd, spoold
	// and pluginhost accept connections from it only. Default "": the
	// same uid as the daemon itself.
	MixdUser string
	// AdminGroup is the group (name or numeric gid) allowed on the
	// management socket besides its owner. Default "": owner only.
	AdminGroup string
	// EpochPeriod is the PKI epoch length, written as a duration string
	// ("20m", "5s"); default 20m. keyd uses it to tell the epoch without
	// a network.
	EpochPeriod time.Duration
}

type filePrivsep struct {
	RuntimeDir       string
	KeyDir           string
	KeydSocket       string
	SpooldSocket     string
	PluginhostSocket string
	MixdUser         string
	AdminGroup       string
	EpochPeriod      duration
}

// duration decodes a TOML duration string. A bare number is refused: the
// decoder would otherwise take it as nanoseconds.
type duration struct {
	d   time.Duration
	set bool
}

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration: want a string such as \"20m\" or \"5s\"", b)
	}
	d.d, d.set = v, true
	return nil
}

// namePattern is what useradd/groupadd accept, plus numeric ids.
var namePattern = regexp.MustCompile(`^(?:[0-9]+|[a-z_][a-z0-9_-]{0,30}\$?)$`)

func convertPrivsep(ck *checker, p *filePrivsep, dataDir string) Privsep {
	out := Privsep{
		RuntimeDir: resolvePath(dataDir, cmp.Or(p.RuntimeDir, DefaultRuntimeDir)),
		KeyDir:     resolvePath(dataDir, cmp.Or(p.KeyDir, DefaultKeyDir)),
		MixdUser:   p.MixdUser,
		AdminGroup: p.AdminGroup,
	}
	socket := func(v, def string) string {
		if v != "" {
			return resolvePath(dataDir, v)
		}
		if out.RuntimeDir == "" || dataDir == "" {
			return ""
		}
		return filepath.Join(out.RuntimeDir, def)
	}
	out.KeydSocket = socket(p.KeydSocket, DefaultKeydSocket)
	out.SpooldSocket = socket(p.SpooldSocket, DefaultSpooldSocket)
	out.PluginhostSocket = socket(p.PluginhostSocket, DefaultPluginhostSocket)

	if dataDir != "" {
		switch out.KeyDir {
		case dataDir:
			ck.errorf("Privsep.KeyDir", "%q is Server.DataDir; keyd's key directory must be a directory of its own", out.KeyDir)
		case out.RuntimeDir:
			ck.errorf("Privsep.KeyDir", "%q is Privsep.RuntimeDir; keyd's key directory must be a directory of its own", out.KeyDir)
		}
	}
	if p.MixdUser != "" && !namePattern.MatchString(p.MixdUser) {
		ck.errorf("Privsep.MixdUser", "%q is neither a user name nor a numeric uid", p.MixdUser)
	}
	if p.AdminGroup != "" && !namePattern.MatchString(p.AdminGroup) {
		ck.errorf("Privsep.AdminGroup", "%q is neither a group name nor a numeric gid", p.AdminGroup)
	}

	out.EpochPeriod = epochtime.DefaultPeriod
	if p.EpochPeriod.set {
		switch d := p.EpochPeriod.d; {
		case d < MinEpochPeriod:
			ck.errorf("Privsep.EpochPeriod", "%v is shorter than the minimum %v", d, MinEpochPeriod)
		case d > MaxEpochPeriod:
			ck.errorf("Privsep.EpochPeriod", "%v is longer than the maximum %v", d, MaxEpochPeriod)
		case d%time.Second != 0:
			ck.errorf("Privsep.EpochPeriod", "%v is not a whole number of seconds", d)
		default:
			out.EpochPeriod = d
		}
	}
	return out
}
