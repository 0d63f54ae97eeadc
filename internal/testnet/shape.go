package testnet

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// shape is what decides whether an existing directory's keys can be reused:
// the names of the nodes and users. Epoch, delays and ports live only in the
// configuration files, which every start rewrites.
type shape struct {
	Mixes     []string `json:"mixes"`
	Providers []string `json:"providers"`
	// Users maps a Provider to its users' names, in creation order.
	Users map[string][]string `json:"users"`
}

// userNames are handed out in turn, alternating between Providers, so that
// alice is on provider-a and bob on provider-b.
var userNames = []string{
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
	"trent", "victor", "walter", "xavier", "yvonne", "zoe",
}

// userName is the k-th user's name.
func userName(k int) string {
	if k < len(userNames) {
		return userNames[k]
	}
	return fmt.Sprintf("user%d", k)
}

// providerName is the i-th Provider's name: provider-a, provider-b, ...
func providerName(i int) string {
	if i < 26 {
		return fmt.Sprintf("provider-%c", 'a'+i)
	}
	return fmt.Sprintf("provider-%d", i)
}

// shapeOf names the nodes and users of o: mix-1 ... mix-N (the authority,
// not the testnet, assigns them to layers), provider-a, provider-b, ...;
// user k is on Provider k mod Providers.
func shapeOf(o *Options) shape {
	s := shape{Users: map[string][]string{}}
	for i := range o.Layers * o.MixesPerLayer {
		s.Mixes = append(s.Mixes, fmt.Sprintf("mix-%d", i+1))
	}
	for i := range o.Providers {
		s.Providers = append(s.Providers, providerName(i))
	}
	for k := range o.UsersPerProvider * o.Providers {
		p := s.Providers[k%o.Providers]
		s.Users[p] = append(s.Users[p], userName(k))
	}
	if !o.NoUsers {
		for _, p := range s.Providers {
			s.Users[p] = append(s.Users[p], spareUserName(p))
		}
	}
	return s
}

// spareUserName is the user testnet makes on Provider p for the person at
// the keyboard (you-a on provider-a, ...): the traffic never uses it, so
// its spool is left for mixclient to retrieve, where a traffic user's
// replies would be taken by the traffic's own retrieval loop.
func spareUserName(p string) string {
	return "you-" + strings.TrimPrefix(p, "provider-")
}

// isSpareUser reports whether user on Provider p is p's spare user.
func isSpareUser(p, user string) bool { return user == spareUserName(p) }

// nodes lists every node name, mixes first: the order of ports and of start.
func (s *shape) nodes() []string { return append(slices.Clone(s.Mixes), s.Providers...) }

// equal reports whether two shapes name the same nodes and users.
func (s *shape) equal(t *shape) bool {
	if !slices.Equal(s.Mixes, t.Mixes) || !slices.Equal(s.Providers, t.Providers) || len(s.Users) != len(t.Users) {
		return false
	}
	for p, us := range s.Users {
		if !slices.Equal(us, t.Users[p]) {
			return false
		}
	}
	return true
}

// Paths inside DIR. Everything the network writes is under one of these.
const (
	markerName  = "testnet-state.json" // the marker: this directory is a testnet's
	lockName    = "testnet.lock"       // flock held while a testnet runs here
	authDirName = "dirauth"
	usersDir    = "users"
	binDirName  = "bin"
)

func nodeDir(dir, node string) string        { return filepath.Join(dir, node) }
func nodeConfigPath(dir, node string) string { return filepath.Join(dir, node, "node.toml") }
func nodeKeyDir(dir, node string) string     { return filepath.Join(dir, node, "keyd") }
func userKeyPath(dir, user string) string    { return filepath.Join(dir, usersDir, user+".key") }
func mgmtSocket(dir, node string) string     { return filepath.Join(dir, node, "management_sock") }
func keydSocket(dir, node string) string     { return filepath.Join(dir, node, "run", "keyd.sock") }
func spooldSocket(dir, node string) string   { return filepath.Join(dir, node, "run", "spoold.sock") }
func daemonLog(dir, node, daemon string) string {
	return filepath.Join(dir, node, daemon+".log")
}
func pidPath(dir, node, daemon string) string { return filepath.Join(dir, node, daemon+".pid") }

func authConfigPath(dir string) string { return filepath.Join(dir, authDirName, "dirauth.toml") }
func authKeyDir(dir string) string     { return filepath.Join(dir, authDirName, "keys") }
func authDataDir(dir string) string    { return filepath.Join(dir, authDirName, "data") }
