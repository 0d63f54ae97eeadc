package config

import (
	"path/filepath"
)

// MaxSocketPathLen is the longest UNIX socket path Linux accepts:
// sun_path is 108 bytes including the terminating NUL.
const MaxSocketPathLen = 107

// resolvePath applies the file's one rule for paths: an absolute path is
// used as written (cleaned); a relative one is taken relative to DataDir.
// An empty path stays empty. When DataDir itself is invalid (already
// reported) a relative path is returned unchanged.
func resolvePath(dataDir, p string) string {
	switch {
	case p == "":
		return ""
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	case dataDir == "":
		return p
	default:
		return filepath.Join(dataDir, p)
	}
}

// checkSocketPaths checks every socket path's length and that no two
// sockets share a path.
func checkSocketPaths(ck *checker, c *Config) {
	if c.Server.DataDir == "" {
		return // relative defaults could not be resolved; DataDir is reported
	}
	sockets := []struct{ key, path string }{
		{"Privsep.KeydSocket", c.Privsep.KeydSocket},
		{"Privsep.SpooldSocket", c.Privsep.SpooldSocket},
		{"Privsep.PluginhostSocket", c.Privsep.PluginhostSocket},
	}
	if c.Management.Enabled() {
		sockets = append(sockets, struct{ key, path string }{"Management.Path", c.Management.Path})
	}
	seen := map[string]string{}
	for _, s := range sockets {
		if len(s.path) > MaxSocketPathLen {
			ck.errorf(s.key, "socket path %q is %d bytes, longer than the %d a UNIX socket allows", s.path, len(s.path), MaxSocketPathLen)
		}
		if other, dup := seen[s.path]; dup {
			ck.errorf(s.key, "socket path %q is also %s", s.path, other)
		}
		seen[s.path] = s.key
	}
}
