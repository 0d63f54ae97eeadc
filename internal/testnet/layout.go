package testnet

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// stateVersion is the marker file's format.
const stateVersion = 1

// state is the marker file DIR/testnet-state.json: it says that the
// directory is a testnet's (so that a later run may replace it) and records
// what the keys' public halves are (so that a later run may reuse them
// without asking keyd, whose -g refuses to overwrite).
type state struct {
	Version int    `json:"version"`
	Shape   shape  `json:"shape"`
	Note    string `json:"note"`
	// AuthorityKey is the authority's identity public key; empty until
	// generated.
	AuthorityKey string `json:"authority_key"`
	// Identities maps a node to its identity public key, as keyd -g
	// printed it.
	Identities map[string]string `json:"identities"`
}

const stateNote = "written by splitmix's testnet (internal/testnet); the testnet may delete this directory's contents"

func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, markerName))
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", markerName, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("%s: version %d, want %d", markerName, s.Version, stateVersion)
	}
	return &s, nil
}

func (s *state) save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, markerName)
	if err := os.WriteFile(path+".tmp", append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// decision is what prepare does with an existing directory.
type decision int

const (
	decideFresh   decision = iota // nothing there (or empty): generate everything
	decideReuse                   // same shape, keys complete: reuse the keys
	decideReplace                 // a testnet's, of another shape or broken: delete what it wrote
	decideRefuse                  // not empty and not a testnet's: touch nothing
)

func (d decision) String() string {
	return [...]string{"fresh", "reuse", "replace", "refuse"}[d]
}

// decide looks at dir and says what to do with it for shape want, and why.
// It reads only.
func decide(dir string, want *shape) (decision, *state, string) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return decideFresh, nil, "new directory"
	}
	if err != nil {
		return decideRefuse, nil, err.Error()
	}
	if len(entries) == 0 {
		return decideFresh, nil, "empty directory"
	}
	st, err := loadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return decideRefuse, nil, fmt.Sprintf("%s is not empty and has no %s: it is not a testnet's directory; remove it or choose another -dir", dir, markerName)
	}
	if err != nil {
		return decideReplace, nil, "unreadable state: " + err.Error()
	}
	if !st.Shape.equal(want) {
		return decideReplace, st, "a network of another shape"
	}
	if why := st.incomplete(dir); why != "" {
		return decideReplace, st, "incomplete keys: " + why
	}
	return decideReuse, st, "same shape: reusing its keys"
}

// incomplete says what key material is missing for a reuse, or "".
func (s *state) incomplete(dir string) string {
	if s.AuthorityKey == "" || !nonEmptyDir(authKeyDir(dir)) {
		return "the authority's keys"
	}
	for _, n := range s.Shape.nodes() {
		if s.Identities[n] == "" || !nonEmptyDir(nodeKeyDir(dir, n)) {
			return n + "'s keys"
		}
	}
	for _, us := range s.Shape.Users {
		for _, u := range us {
			if _, err := readUserKey(userKeyPath(dir, u)); err != nil {
				return err.Error()
			}
		}
	}
	return ""
}

func nonEmptyDir(path string) bool {
	e, err := os.ReadDir(path)
	return err == nil && len(e) > 0
}

// removeWritten deletes what a testnet writes in dir: the fixed entries and
// the node directories of the old shape (or, without a readable state, any
// directory holding a node.toml). Other files are left alone; the binary
// directory is kept (it is rebuilt anyway).
func removeWritten(dir string, old *state) error {
	names := []string{authDirName, usersDir, ManifestName, ManifestName + ".tmp", markerName + ".tmp"}
	if old != nil {
		names = append(names, old.Shape.nodes()...)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "node.toml")); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	// The marker goes last: if anything above failed, the next run still
	// knows the directory is a testnet's.
	return os.RemoveAll(filepath.Join(dir, markerName))
}

// clearVolatile removes what one run leaves behind and the next must not
// see, keeping the keys: every node's directory but its keyd key
// directory (spools, replay filters, sockets, logs of the last run), and the
// authority's database (its documents name the last run's epochs and
// parameters).
func clearVolatile(dir string, st *state) error {
	for _, n := range st.Shape.nodes() {
		entries, err := os.ReadDir(nodeDir(dir, n))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Name() == "keyd" {
				continue
			}
			if err := os.RemoveAll(filepath.Join(nodeDir(dir, n), e.Name())); err != nil {
				return err
			}
		}
	}
	for _, p := range []string{authDataDir(dir), filepath.Join(dir, authDirName, "dirauth.log"), filepath.Join(dir, authDirName, "dirauth.pid"), filepath.Join(dir, ManifestName)} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// dirLock is the flock on DIR/testnet.lock held while a testnet runs.
type dirLock struct{ f *os.File }

// lockDir takes the directory's lock or says which process holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := strings.TrimSpace(string(b))
		if holder == "" {
			holder = "unknown"
		}
		return nil, fmt.Errorf("testnet: another testnet (pid %s) is running in %s; stop it first or choose another -dir", holder, dir)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) release() {
	if l != nil && l.f != nil {
		_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
		l.f.Close()
		l.f = nil
	}
}

// readUserKey reads a user's key file: the link key seed in hex, as
// `mixclient genkey` writes it.
func readUserKey(path string) (*memkey.LinkKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != memkey.LinkSeedSize {
		return nil, fmt.Errorf("%s: want %d bytes in hex", path, memkey.LinkSeedSize)
	}
	return memkey.NewLinkKey(seed)
}

// writeUserKey makes a new user key file (0600, never overwriting).
func writeUserKey(path string) (*memkey.LinkKey, error) {
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(k.Seed())); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// RemoveDir deletes a testnet's directory: everything a testnet writes
// there (including DIR/bin), then the directory itself if nothing else is
// left. It refuses a directory without the testnet's marker file, and one
// a running testnet holds.
func RemoveDir(dir string) error {
	st, err := loadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("testnet: %s has no %s: not removing a directory the testnet did not make", dir, markerName)
	}
	lock, lerr := lockDir(dir)
	if lerr != nil {
		return lerr
	}
	defer lock.release()
	if err := removeWritten(dir, st); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	for _, name := range []string{binDirName, lockName} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
	}
	if e, err := os.ReadDir(dir); err == nil && len(e) == 0 {
		return os.Remove(dir)
	}
	return nil
}
