package authority

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// Key files in Authority.KeyDir (docs/spec/dirauth.md §9.2).
const (
	identityKeyFile = "identity.key" // the 32-byte Ed25519 seed
	linkKeyFile     = "link.key"     // the memkey.LinkSeedSize-byte link key seed
)

// Keys are the authority's private keys. It holds them in memory: it has
// no keyd (docs/spec/dirauth.md §1).
type Keys struct {
	Identity       ed25519.PrivateKey
	IdentityPublic keys.IdentityPublicKey
	Link           *memkey.LinkKey
}

// ErrNoKeys is returned (wrapped) by LoadKeys when the key files are absent.
var ErrNoKeys = errors.New("no authority keys")

// GenerateKeys makes a fresh identity and link key and writes them to dir
// (created 0700 if needed), files 0600. It refuses to overwrite: if either
// file exists nothing is written.
func GenerateKeys(dir string) (*Keys, error) {
	if err := privateDir(dir, true); err != nil {
		return nil, err
	}
	for _, name := range []string{identityKeyFile, linkKeyFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return nil, fmt.Errorf("%s: %w: refusing to overwrite an existing key", filepath.Join(dir, name), fs.ErrExist)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	seed := make([]byte, ed25519.SeedSize)
	defer clear(seed)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	link, err := memkey.GenerateLinkKey()
	if err != nil {
		return nil, err
	}
	linkSeed := link.Seed()
	defer clear(linkSeed)
	if err := writeNewFile(filepath.Join(dir, identityKeyFile), seed); err != nil {
		return nil, err
	}
	if err := writeNewFile(filepath.Join(dir, linkKeyFile), linkSeed); err != nil {
		return nil, err
	}
	return newKeys(seed, link), nil
}

// LoadKeys reads the keys GenerateKeys wrote. The directory must be 0700 and
// the files 0600 regular files of the right size.
func LoadKeys(dir string) (*Keys, error) {
	if err := privateDir(dir, false); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s: run `dirauth -f FILE -g` first", ErrNoKeys, dir)
		}
		return nil, err
	}
	seed, err := readKeyFile(filepath.Join(dir, identityKeyFile), ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	linkSeed, err := readKeyFile(filepath.Join(dir, linkKeyFile), memkey.LinkSeedSize)
	if err != nil {
		return nil, err
	}
	defer clear(linkSeed)
	link, err := memkey.NewLinkKey(linkSeed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, linkKeyFile), err)
	}
	return newKeys(seed, link), nil
}

func newKeys(seed []byte, link *memkey.LinkKey) *Keys {
	k := &Keys{Identity: ed25519.NewKeyFromSeed(seed), Link: link}
	copy(k.IdentityPublic[:], k.Identity.Public().(ed25519.PublicKey))
	return k
}

// PrintPublicKeys writes what -g prints: the identity key as a node's
// [PKI.Nonvoting] PublicKey line (base64; hex is also accepted there).
func (k *Keys) PrintPublicKeys(w io.Writer) error {
	fp := k.Link.Public().Fingerprint()
	_, err := fmt.Fprintf(w, "Authority identity public key (for the nodes' [PKI.Nonvoting] section; base64, base16 is also accepted):\n"+
		"PublicKey = %q\n"+
		"# base16: %s\n"+
		"# link key fingerprint (BLAKE2b-256): %X\n",
		base64.StdEncoding.EncodeToString(k.IdentityPublic[:]), k.IdentityPublic, fp[:])
	return err
}

// privateDir checks (and with create, makes) a directory that only its
// owner may use.
func privateDir(dir string, create bool) error {
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s: mode %04o gives access to group or others; it must be 0700 (chmod 700 %s)", dir, perm, dir)
	}
	return nil
}

// readKeyFile reads a 0600 regular file of exactly size bytes.
func readKeyFile(path string, size int) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is missing: run `dirauth -f FILE -g` first", ErrNoKeys, path)
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s: not a regular file", path)
	case fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("%s: mode %04o gives access to group or others; it must be 0600", path, fi.Mode().Perm())
	case fi.Size() != int64(size):
		return nil, fmt.Errorf("%s: %d bytes, want %d: not an authority key file, or damaged", path, fi.Size(), size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		clear(b)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// writeNewFile creates path 0600 (failing if it exists) and writes data
// durably.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return fmt.Errorf("%s: %w", path, werr)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
