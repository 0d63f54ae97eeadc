package keystore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/secmem"
	"github.com/splitmix/splitmix/internal/x25519"
)

// Window of epochs SphinxKeys serves, relative to the current epoch (see
// the package documentation).
const (
	SphinxPast   = 1 // current-1
	SphinxFuture = 3 // current+3
	// MaxSphinxRequest bounds the epochs in one SphinxKeys call: the
	// whole window.
	MaxSphinxRequest = SphinxPast + 1 + SphinxFuture
	// maxHeldSphinxKeys bounds the Sphinx keys kept in memory; keys
	// outside the window are dropped from memory (not from disk) first.
	maxHeldSphinxKeys = 2 * MaxSphinxRequest
)

type sphinxEntry struct {
	priv *secmem.Buffer
	pub  [keys.SphinxKeySize]byte
}

func sphinxName(epoch uint64) string { return strconv.FormatUint(epoch, 10) + ".key" }

// parseSphinxName returns the epoch of a Sphinx key file name, or false.
func parseSphinxName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, ".key")
	if !ok || digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	e, err := strconv.ParseUint(digits, 10, 64)
	return e, err == nil
}

// window returns the inclusive range of epochs SphinxKeys serves now.
func (s *Store) window() (lo, hi uint64) {
	cur, _, _ := s.opts.Clock.Current()
	lo = cur
	if lo >= SphinxPast {
		lo -= SphinxPast
	}
	return lo, cur + SphinxFuture
}

// SphinxKeys returns the Sphinx key pairs of the requested epochs, in the
// order asked, creating and storing those that do not exist yet. Each epoch
// must be in [current-1, current+3] and appear once.
func (s *Store) SphinxKeys(ctx context.Context, epochs []uint64) ([]keys.SphinxKey, error) {
	if len(epochs) == 0 || len(epochs) > MaxSphinxRequest {
		return nil, fmt.Errorf("sphinx keys: %w: %d epochs requested, want 1 to %d", keys.ErrMalformed, len(epochs), MaxSphinxRequest)
	}
	for i, e := range epochs {
		if slices.Contains(epochs[:i], e) {
			return nil, fmt.Errorf("sphinx keys: %w: epoch %d requested twice", keys.ErrMalformed, e)
		}
	}
	lo, hi := s.window()
	for _, e := range epochs {
		if e < lo || e > hi {
			return nil, fmt.Errorf("sphinx keys: %w: epoch %d outside [%d, %d]", keys.ErrRefused, e, lo, hi)
		}
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	s.sphinxMu.Lock()
	defer s.sphinxMu.Unlock()

	out := make([]keys.SphinxKey, 0, len(epochs))
	for _, e := range epochs {
		k, err := s.sphinxKey(e, true, lo, hi)
		if err != nil {
			for i := range out {
				out[i].Wipe()
			}
			return nil, fmt.Errorf("sphinx key for epoch %d: %w", e, err)
		}
		sk := keys.SphinxKey{Epoch: e, Public: k.pub}
		copy(sk.Private[:], k.priv.Bytes())
		out = append(out, sk)
	}
	return out, nil
}

// sphinxKey returns epoch's key from memory or disk, creating it when
// create is set. Called with sphinxMu held; [lo, hi] is the current window.
func (s *Store) sphinxKey(epoch uint64, create bool, lo, hi uint64) (*sphinxEntry, error) {
	if k, ok := s.sphinx[epoch]; ok {
		return k, nil
	}
	if len(s.sphinx) >= maxHeldSphinxKeys {
		s.dropOutside(lo, hi)
	}
	priv, err := s.arena.Alloc(keys.SphinxKeySize)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(s.opts.Dir, sphinxDir, sphinxName(epoch))
	err = readKeyFile(path, priv.Bytes())
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && create:
		if _, err = rand.Read(priv.Bytes()); err == nil {
			err = writeNewKeyFile(filepath.Join(s.opts.Dir, sphinxDir), sphinxName(epoch), priv.Bytes())
		}
		if err == nil {
			s.opts.Log.Info("generated Sphinx key", "epoch", epoch)
		}
	}
	if err != nil {
		priv.Free()
		return nil, err
	}
	k := &sphinxEntry{priv: priv}
	publicX25519(&k.pub, (*[x25519.Size]byte)(priv.Bytes()))
	s.sphinx[epoch] = k
	return k, nil
}

// dropOutside frees in-memory keys outside [lo, hi]; their files stay.
func (s *Store) dropOutside(lo, hi uint64) {
	for e, k := range s.sphinx {
		if e < lo || e > hi {
			k.priv.Free()
			delete(s.sphinx, e)
		}
	}
}

// Sweep erases, from memory and disk, the Sphinx keys of epochs before
// current-1, and leftover temporary files of interrupted writes. It
// returns the epochs erased. keyd calls it at start and at every epoch
// boundary.
func (s *Store) Sweep() ([]uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.sphinxMu.Lock()
	defer s.sphinxMu.Unlock()
	lo, _ := s.window()
	for e, k := range s.sphinx {
		if e < lo {
			k.priv.Free()
			delete(s.sphinx, e)
		}
	}
	dir := filepath.Join(s.opts.Dir, sphinxDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var erased []uint64
	var errs []error
	for _, de := range entries {
		name := de.Name()
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, tmpPrefix) {
			errs = append(errs, eraseFile(path))
			continue
		}
		e, ok := parseSphinxName(name)
		if !ok {
			s.opts.Log.Warning("unexpected file in the Sphinx key directory; leaving it", "file", path)
			continue
		}
		if e < lo {
			if err := eraseFile(path); err != nil {
				errs = append(errs, err)
				continue
			}
			erased = append(erased, e)
		}
	}
	if len(erased) > 0 {
		s.opts.Log.Info("erased expired Sphinx keys", "count", len(erased), "before_epoch", lo)
	}
	if err := errors.Join(errs...); err != nil {
		return erased, fmt.Errorf("sweep: %w", err)
	}
	return erased, nil
}
