// Package sphinxkeys is mixd's Sphinx key ring: the per-epoch Sphinx private
// keys, obtained from keyd and held in locked memory (internal/secmem), each
// with its persistent replay filter (internal/replay), and the unwrap step
// that picks the right key for a packet.
//
// # Which keys, when
//
// A packet does not say which epoch's key it was made for. A mix tries the
// key of the current epoch and, near a boundary, its neighbour: during the
// first Grace of epoch e also the key of e-1 (packets sent just before the
// boundary, still in flight), during the last Grace of e also the key of
// e+1 (senders whose clock runs ahead). The ring therefore holds the keys of
// e and e+1 at all times and the key of e-1 until Grace into e; then that key
// is wiped and its replay filter file deleted (no packet can be processed
// under it any more, so its replay state is no longer needed).
//
// Grace is a quarter of the epoch period, at most MaxGrace.
//
// # Replay filters
//
// One filter per key, in Dir/epoch-N (Dir is DataDir/replay). The filter
// file is mapped MAP_SHARED, so every tag recorded is in the page cache at
// once: a mix killed with SIGKILL and restarted within the epoch gets the
// same key from keyd, reopens the same file and still rejects every packet
// it accepted. Filters are sized by replay.ParamsFor for MaxPacketRate
// packets per second over the key's lifetime (one period plus two Grace)
// at FalsePositiveRate; for the production period of 20 minutes that is
// 3.6 million tags, about 13 MiB per file, three files at most.
// The sizing depends only on the epoch period, so a restart opens the file
// with the same parameters; a changed period makes the old file unusable
// and its key is then refused (logged at ERROR) rather than the filter
// silently reset.
//
// SECURITY: private keys live only in the secmem arena (mlocked,
// MADV_DONTDUMP, wiped on fork and on release); keyd's reply is wiped as soon
// as it has been copied. Unwrap holds the ring's read lock while it uses a
// key, so rotation never frees a key under a worker. Nothing here logs a
// packet or a tag.
package sphinxkeys

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/replay"
	"github.com/splitmix/splitmix/internal/secmem"
	"github.com/splitmix/splitmix/internal/sphinx"
)

const (
	// MaxPacketRate is the packet rate (per second) the replay filters are
	// sized for. A node that receives more under one key fills its filter
	// early and then drops (drops.ReplayFilterFull) rather than accept a
	// possible replay.
	MaxPacketRate = 2000
	// FalsePositiveRate is the replay filters' false-positive rate at
	// capacity: the fraction of fresh packets wrongly dropped as replays.
	FalsePositiveRate = 1e-6
	// MaxGrace caps Grace.
	MaxGrace = epochtime.MaxKeyGrace
	// filePrefix names the filter files: Dir/epoch-N.
	filePrefix = "epoch-"
)

// Grace is how long into an epoch the previous key is still tried, and how
// long before its end the next key already is: a quarter of the period, at
// most MaxGrace (epochtime.KeyGrace, which the directory authority checks
// its delay parameters against).
func Grace(period time.Duration) time.Duration {
	return epochtime.KeyGrace(period)
}

// FilterParams sizes the replay filter of the key with the given epoch and
// public key, for a node whose epochs last period.
func FilterParams(period time.Duration, epoch uint64, pub [32]byte) replay.Params {
	p := replay.ParamsFor(MaxPacketRate, period+2*Grace(period), FalsePositiveRate)
	p.Epoch = epoch
	p.Key = pub
	return p
}

// Source hands out Sphinx keys: keyd's client (ipc/keyproto) is one.
type Source interface {
	SphinxKeys(ctx context.Context, epochs []uint64) ([]keys.SphinxKey, error)
}

// Config configures a Ring.
type Config struct {
	// Clock tells the epoch ([Privsep] EpochPeriod).
	Clock epochtime.Clock
	// Dir holds the replay filter files; created 0700 if missing.
	Dir string
	// Source supplies the keys.
	Source Source
	// Log receives rotation events (epochs only, never key material).
	Log *logging.Logger
	// FilterOptions tune the replay filters (tests shorten nothing here;
	// the zero value is the production default).
	FilterOptions replay.Options
}

type key struct {
	epoch  uint64
	pub    [32]byte
	priv   *secmem.Buffer
	filter *replay.Filter
}

// Ring holds the Sphinx keys in use. It is safe for concurrent use: many
// crypto workers call Unwrap while one goroutine calls Rotate.
type Ring struct {
	cfg   Config
	grace time.Duration
	arena *secmem.Arena

	mu     sync.RWMutex
	held   map[uint64]*key
	closed bool
}

// arenaSize fits the few keys the ring holds with room to spare.
const arenaSize = 4096

// Open creates the ring. It holds no key until Rotate.
func Open(cfg Config) (*Ring, error) {
	if cfg.Source == nil || cfg.Dir == "" || cfg.Clock.Period <= 0 {
		return nil, errors.New("sphinxkeys: Source, Dir and Clock are required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("sphinxkeys: replay directory: %w", err)
	}
	arena, err := secmem.New(arenaSize)
	if err != nil {
		return nil, fmt.Errorf("sphinxkeys: %w", err)
	}
	return &Ring{cfg: cfg, grace: Grace(cfg.Clock.Period), arena: arena, held: map[uint64]*key{}}, nil
}

// Protection reports whether the key memory is locked and undumpable (see
// secmem.Arena.Protection); the daemon logs a failure as a WARNING.
func (r *Ring) Protection() error { return r.arena.Protection() }

// Grace is the ring's grace window (see the package documentation).
func (r *Ring) Grace() time.Duration { return r.grace }

// wanted is the set of epochs whose keys the ring should hold at t.
func (r *Ring) wanted(t time.Time) (want []uint64, next time.Time) {
	e, elapsed, _ := r.cfg.Clock.At(t)
	want = []uint64{e, e + 1}
	next = r.cfg.Clock.Start(e + 1)
	if e > 0 && elapsed < r.grace {
		want = append(want, e-1)
		next = r.cfg.Clock.Start(e).Add(r.grace)
	}
	return want, next
}

func (r *Ring) now() time.Time {
	if r.cfg.Clock.Now != nil {
		return r.cfg.Clock.Now()
	}
	return time.Now()
}

// Rotate brings the ring up to date with the clock: it fetches the keys it
// lacks, opens their replay filters, and wipes the keys that expired,
// deleting their filter files. It returns when Rotate should run next. On
// error the ring keeps what it has; the caller retries soon.
func (r *Ring) Rotate(ctx context.Context) (next time.Time, err error) {
	want, next := r.wanted(r.now())
	r.expire(want)
	r.removeStaleFiles(want)

	r.mu.RLock()
	var missing []uint64
	for _, e := range want {
		if _, ok := r.held[e]; !ok {
			missing = append(missing, e)
		}
	}
	r.mu.RUnlock()
	if len(missing) == 0 {
		return next, nil
	}
	slices.Sort(missing)
	got, err := r.cfg.Source.SphinxKeys(ctx, missing)
	if err != nil {
		return next, fmt.Errorf("sphinxkeys: fetching keys for epochs %v: %w", missing, err)
	}
	defer func() {
		for i := range got {
			got[i].Wipe()
		}
	}()
	if len(got) != len(missing) {
		return next, fmt.Errorf("sphinxkeys: asked for %d keys, got %d", len(missing), len(got))
	}
	var errs []error
	for i := range got {
		if got[i].Epoch != missing[i] {
			errs = append(errs, fmt.Errorf("sphinxkeys: asked for epoch %d, got %d", missing[i], got[i].Epoch))
			continue
		}
		if err := r.add(&got[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return next, errors.Join(errs...)
}

// add copies one key into locked memory and opens its filter.
func (r *Ring) add(sk *keys.SphinxKey) error {
	if pub := sphinx.PublicKey(&sk.Private); subtle.ConstantTimeCompare(pub[:], sk.Public[:]) != 1 {
		return fmt.Errorf("sphinxkeys: key for epoch %d does not match its public key", sk.Epoch)
	}
	params := FilterParams(r.cfg.Clock.Period, sk.Epoch, sk.Public)
	filter, err := replay.OpenWith(r.filterPath(sk.Epoch), params, r.cfg.FilterOptions)
	if err != nil {
		return fmt.Errorf("sphinxkeys: replay filter for epoch %d (key refused): %w", sk.Epoch, err)
	}
	buf, err := r.arena.Alloc(keys.SphinxKeySize)
	if err != nil {
		_ = filter.Close()
		return fmt.Errorf("sphinxkeys: %w", err)
	}
	copy(buf.Bytes(), sk.Private[:])
	k := &key{epoch: sk.Epoch, pub: sk.Public, priv: buf, filter: filter}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		buf.Free()
		return errors.Join(filter.Close(), errors.New("sphinxkeys: ring closed"))
	}
	if _, dup := r.held[sk.Epoch]; dup { // a concurrent Rotate won
		buf.Free()
		return filter.Close()
	}
	r.held[sk.Epoch] = k
	r.cfg.Log.Info("Sphinx key loaded", "epoch", sk.Epoch, "replay_tags", filter.Stats().Count)
	return nil
}

// expire wipes every held key not in want and deletes its filter file.
func (r *Ring) expire(want []uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for e, k := range r.held {
		if slices.Contains(want, e) {
			continue
		}
		delete(r.held, e)
		k.priv.Free()
		if err := k.filter.Remove(); err != nil {
			r.cfg.Log.Warning("removing an expired replay filter failed", "epoch", e, "error", err)
		}
		r.cfg.Log.Info("Sphinx key expired and wiped", "epoch", e)
	}
}

// removeStaleFiles deletes filter files of epochs older than every wanted
// one: left by a run that stopped before their key expired.
func (r *Ring) removeStaleFiles(want []uint64) {
	oldest := slices.Min(want)
	entries, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		r.cfg.Log.Warning("reading the replay directory failed", "error", err)
		return
	}
	for _, ent := range entries {
		rest, ok := strings.CutPrefix(ent.Name(), filePrefix)
		if !ok {
			continue
		}
		e, err := strconv.ParseUint(rest, 10, 64)
		if err != nil || e >= oldest {
			continue
		}
		if err := os.Remove(filepath.Join(r.cfg.Dir, ent.Name())); err != nil {
			r.cfg.Log.Warning("removing a stale replay filter failed", "file", ent.Name(), "error", err)
		}
	}
}

func (r *Ring) filterPath(epoch uint64) string {
	return filepath.Join(r.cfg.Dir, filePrefix+strconv.FormatUint(epoch, 10))
}

// Epochs returns the epochs whose keys the ring holds, in order.
func (r *Ring) Epochs() []uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]uint64, 0, len(r.held))
	for e := range r.held {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

// FilterStats returns the replay filter counters of the key for epoch.
func (r *Ring) FilterStats(epoch uint64) (replay.Stats, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.held[epoch]
	if !ok {
		return replay.Stats{}, false
	}
	return k.filter.Stats(), true
}

// PublicKeys returns the Sphinx public keys of epochs, for the node's
// descriptor: from the ring where it holds them, otherwise from the Source
// (whose private halves are wiped at once: the ring loads them when their
// time comes).
func (r *Ring) PublicKeys(ctx context.Context, epochs []uint64) (map[uint64][32]byte, error) {
	out := make(map[uint64][32]byte, len(epochs))
	var missing []uint64
	r.mu.RLock()
	for _, e := range epochs {
		if k, ok := r.held[e]; ok {
			out[e] = k.pub
		} else {
			missing = append(missing, e)
		}
	}
	r.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	got, err := r.cfg.Source.SphinxKeys(ctx, missing)
	for i := range got {
		got[i].Wipe()
	}
	if err != nil {
		return nil, fmt.Errorf("sphinxkeys: public keys for epochs %v: %w", missing, err)
	}
	if len(got) != len(missing) {
		return nil, fmt.Errorf("sphinxkeys: asked for %d keys, got %d", len(missing), len(got))
	}
	for i, sk := range got {
		if sk.Epoch != missing[i] {
			return nil, fmt.Errorf("sphinxkeys: asked for epoch %d, got %d", missing[i], sk.Epoch)
		}
		out[sk.Epoch] = sk.Public
	}
	return out, nil
}

// Unwrap strips this node's layer from pkt (in place) with the key of the
// epoch at now, or near a boundary the neighbouring key, and records the
// packet's replay tag in that key's filter. ok is true if the packet may be
// routed on (res then describes it); otherwise reason says why it must be
// dropped. It allocates nothing.
func (r *Ring) Unwrap(s *sphinx.Sphinx, now time.Time, pkt []byte, res *sphinx.UnwrapResult) (reason drops.Reason, ok bool) {
	e, elapsed, till := r.cfg.Clock.At(now)
	var candidates [2]uint64
	n := 0
	candidates[n] = e
	n++
	switch {
	case elapsed < r.grace && e > 0:
		candidates[n] = e - 1
		n++
	case till <= r.grace:
		candidates[n] = e + 1
		n++
	}

	r.mu.RLock()
	defer r.mu.RUnlock()
	tried := false
	for _, epoch := range candidates[:n] {
		k, held := r.held[epoch]
		if !held {
			continue
		}
		tried = true
		err := s.Unwrap((*[32]byte)(k.priv.Bytes()), pkt, res)
		switch {
		case err == nil:
		case errors.Is(err, sphinx.ErrMAC):
			continue // perhaps the neighbour's key
		case errors.Is(err, sphinx.ErrPacketSize):
			return drops.BadSize, false
		case errors.Is(err, sphinx.ErrVersion), errors.Is(err, sphinx.ErrGroupElement):
			return drops.BadHeader, false
		case errors.Is(err, sphinx.ErrCommands):
			return drops.BadCommands, false
		default: // ErrPayloadAuth: a terminal packet that was tampered with
			return drops.UnwrapFailed, false
		}
		tag := (*[32]byte)(&res.Tag)
		switch k.filter.TestAndSet(tag) {
		case replay.Fresh:
			return 0, true
		case replay.Replay:
			return drops.Replay, false
		default:
			return drops.ReplayFilterFull, false
		}
	}
	if !tried {
		return drops.NoKey, false
	}
	return drops.UnwrapFailed, false
}

// Close wipes every key and closes (but keeps) the replay filter files, so
// a restart within the epoch reopens them. Idempotent.
func (r *Ring) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	for e, k := range r.held {
		k.priv.Free()
		if err := k.filter.Close(); err != nil {
			errs = append(errs, err)
		}
		delete(r.held, e)
	}
	errs = append(errs, r.arena.Close())
	return errors.Join(errs...)
}
