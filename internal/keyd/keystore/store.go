package keystore

import (
	"context"
	"crypto/ed25519"
	"crypto/mlkem"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/secmem"
	"github.com/splitmix/splitmix/internal/x25519"
)

// arenaSize holds the identity key (64 bytes), the link key (96) and the
// Sphinx keys in memory (a 64-byte chunk each, at most maxHeldSphinxKeys).
const arenaSize = 64 << 10

// ErrNoKeys is returned (wrapped, with the directory) by Open when the key
// directory holds no node keys: the operator has not run `keyd -g` yet.
var ErrNoKeys = errors.New("no keys")

// ErrClosed is returned by every operation after Close.
var ErrClosed = errors.New("key store closed")

// Logger receives the store's few log lines; *logging.Logger satisfies it.
type Logger interface {
	Warning(msg string, kv ...any)
	Info(msg string, kv ...any)
	Debug(msg string, kv ...any)
}

type discard struct{}

func (discard) Warning(string, ...any) {}
func (discard) Info(string, ...any)    {}
func (discard) Debug(string, ...any)   {}

// Options configures Generate and Open.
type Options struct {
	// Dir is the key directory ([Privsep] KeyDir).
	Dir string
	// Identifier is the node's Server.Identifier: the only descriptor
	// name SignDescriptor accepts, and what PublicKeys reports.
	Identifier string
	// IsProvider is Server.IsProvider: the only Provider flag
	// SignDescriptor accepts.
	IsProvider bool
	// Clock tells the current epoch ([Privsep] EpochPeriod).
	Clock epochtime.Clock
	// IdentityKeyText is Debug.IdentityKey; empty means identity.key.
	IdentityKeyText string
	// Log may be nil.
	Log Logger
}

func (o *Options) check() error {
	if o.Dir == "" || !filepath.IsAbs(o.Dir) {
		return fmt.Errorf("key directory %q: must be an absolute path", o.Dir)
	}
	if o.Identifier == "" {
		return fmt.Errorf("no server identifier")
	}
	if o.Clock.Period <= 0 {
		return fmt.Errorf("epoch period %v: must be positive", o.Clock.Period)
	}
	if o.Log == nil {
		o.Log = discard{}
	}
	return nil
}

// Store is the opened key store. It implements keys.Oracle and is safe for
// concurrent use.
type Store struct {
	opts  Options
	arena *secmem.Arena

	// mu guards the fields below against Close; operations hold it for
	// reading.
	mu       sync.RWMutex
	closed   bool
	identity *secmem.Buffer // ed25519 Go form: seed ‖ public
	link     *secmem.Buffer // X25519 scalar ‖ ML-KEM seed
	kem      *mlkem.DecapsulationKey768
	pub      keys.PublicKeys

	sphinxMu sync.Mutex
	sphinx   map[uint64]*sphinxEntry
}

var _ keys.Oracle = (*Store)(nil)

// Generate creates the node's identity key (unless opts.IdentityKeyText
// gives it) and link key in opts.Dir, which it creates 0700 if needed, and
// returns the public keys. It refuses, changing nothing, if a key it would
// write exists already.
func Generate(opts Options) (*keys.PublicKeys, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := makePrivateDir(opts.Dir); err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	writeIdentity := opts.IdentityKeyText == ""
	want := []string{linkFile}
	if writeIdentity {
		want = []string{identityFile, linkFile}
	}
	var present []string
	for _, name := range want {
		ok, err := exists(filepath.Join(opts.Dir, name))
		if err != nil {
			return nil, err
		}
		if ok {
			present = append(present, name)
		}
	}
	if len(present) > 0 {
		return nil, fmt.Errorf("%s already holds %s: refusing to overwrite existing keys (move them away first to make new ones)",
			opts.Dir, strings.Join(present, " and "))
	}

	arena, err := secmem.New(arenaSize)
	if err != nil {
		return nil, err
	}
	defer arena.Close()
	if err := arena.Protection(); err != nil {
		opts.Log.Warning("private keys are not in locked memory", "error", err)
	}
	id, err := arena.Alloc(ed25519.PrivateKeySize)
	if err != nil {
		return nil, err
	}
	if writeIdentity {
		seed := id.Bytes()[:ed25519.SeedSize]
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		if err := expandIdentity(seed, id.Bytes()); err != nil {
			return nil, err
		}
	} else if err := loadIdentityText(opts.IdentityKeyText, id.Bytes()); err != nil {
		return nil, err
	}
	link, err := arena.Alloc(memkey.LinkSeedSize)
	if err != nil {
		return nil, err
	}
	if _, err := rand.Read(link.Bytes()); err != nil {
		return nil, err
	}
	pk := &keys.PublicKeys{Identifier: opts.Identifier, Identity: identityPublic(id)}
	if err := linkPublic(link.Bytes(), &pk.Link); err != nil {
		return nil, err
	}

	if writeIdentity {
		if err := writeNewKeyFile(opts.Dir, identityFile, id.Bytes()[:ed25519.SeedSize]); err != nil {
			return nil, fmt.Errorf("writing identity key: %w", err)
		}
	}
	if err := writeNewKeyFile(opts.Dir, linkFile, link.Bytes()); err != nil {
		if writeIdentity {
			// Leave the directory as we found it.
			_ = eraseFile(filepath.Join(opts.Dir, identityFile))
		}
		return nil, fmt.Errorf("writing link key: %w", err)
	}
	return pk, nil
}

// linkPublic derives the public link key from a 96-byte link seed without
// copying the X25519 scalar off the arena (the ML-KEM half is expanded on
// the heap for the derivation; see the package documentation).
func linkPublic(seed []byte, out *keys.LinkPublicKey) error {
	kem, err := mlkem.NewDecapsulationKey768(seed[32:])
	if err != nil {
		return fmt.Errorf("link key: ML-KEM-768: %w", err)
	}
	return linkPublicWith(seed, kem, out)
}

func linkPublicWith(seed []byte, kem *mlkem.DecapsulationKey768, out *keys.LinkPublicKey) error {
	publicX25519(&out.X25519, (*[x25519.Size]byte)(seed[:x25519.Size]))
	copy(out.MLKEM[:], kem.EncapsulationKey().Bytes())
	return nil
}

// Open loads the node's keys from opts.Dir and erases expired Sphinx keys.
// It fails with an error wrapping ErrNoKeys when the directory holds none.
func Open(opts Options) (_ *Store, err error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := checkPrivateDir(opts.Dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s (the directory does not exist)", ErrNoKeys, opts.Dir)
		}
		return nil, fmt.Errorf("key directory: %w", err)
	}
	linkPath := filepath.Join(opts.Dir, linkFile)
	haveLink, err := exists(linkPath)
	if err != nil {
		return nil, err
	}
	if !haveLink {
		if ok, _ := exists(filepath.Join(opts.Dir, identityFile)); ok {
			return nil, fmt.Errorf("%s: %s is present but %s is missing: restore it from a backup", opts.Dir, identityFile, linkFile)
		}
		return nil, fmt.Errorf("%w in %s", ErrNoKeys, opts.Dir)
	}
	if err := makePrivateDir(filepath.Join(opts.Dir, sphinxDir)); err != nil {
		return nil, fmt.Errorf("sphinx key directory: %w", err)
	}

	arena, err := secmem.New(arenaSize)
	if err != nil {
		return nil, err
	}
	s := &Store{opts: opts, arena: arena, sphinx: make(map[uint64]*sphinxEntry)}
	// Past this point, failures must Close s, which wipes the arena.
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if perr := arena.Protection(); perr != nil {
		opts.Log.Warning("private keys are not in locked memory", "error", perr)
	}

	if s.identity, err = arena.Alloc(ed25519.PrivateKeySize); err != nil {
		return nil, err
	}
	if opts.IdentityKeyText != "" {
		if err := loadIdentityText(opts.IdentityKeyText, s.identity.Bytes()); err != nil {
			return nil, err
		}
		if ok, _ := exists(filepath.Join(opts.Dir, identityFile)); ok {
			opts.Log.Warning("Debug.IdentityKey is set: ignoring the identity key file", "file", filepath.Join(opts.Dir, identityFile))
		}
	} else {
		seed := s.identity.Bytes()[:ed25519.SeedSize]
		if err := readKeyFile(filepath.Join(opts.Dir, identityFile), seed); err != nil {
			return nil, fmt.Errorf("identity key: %w", err)
		}
		if err := expandIdentity(seed, s.identity.Bytes()); err != nil {
			return nil, err
		}
	}

	if s.link, err = arena.Alloc(memkey.LinkSeedSize); err != nil {
		return nil, err
	}
	if err := readKeyFile(linkPath, s.link.Bytes()); err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	if s.kem, err = mlkem.NewDecapsulationKey768(s.link.Bytes()[32:]); err != nil {
		return nil, fmt.Errorf("link key: ML-KEM-768: %w", err)
	}
	s.pub.Identifier = opts.Identifier
	s.pub.Identity = identityPublic(s.identity)
	if err := linkPublicWith(s.link.Bytes(), s.kem, &s.pub.Link); err != nil {
		return nil, err
	}

	if _, err := s.Sweep(); err != nil {
		return nil, err
	}
	return s, nil
}

// Protection reports whether the private keys are in locked, undumpable
// memory (nil) or why not (see secmem.Arena.Protection).
func (s *Store) Protection() error { return s.arena.Protection() }

// Close wipes every private key from memory. It is idempotent; operations
// after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.sphinxMu.Lock()
	for e, k := range s.sphinx {
		k.priv.Free()
		delete(s.sphinx, e)
	}
	s.sphinxMu.Unlock()
	s.identity.Free()
	s.link.Free()
	s.kem = nil
	return s.arena.Close()
}

// begin takes the read lock for an operation, failing after Close or when
// ctx is done. The caller must call s.mu.RUnlock.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// PublicKeys returns the node's identifier and public keys.
func (s *Store) PublicKeys(ctx context.Context) (*keys.PublicKeys, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	pk := s.pub
	return &pk, nil
}
