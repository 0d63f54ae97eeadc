package replay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Result is the outcome of TestAndSet.
type Result uint8

const (
	// Fresh: the tag was not in the filter and has been recorded; process
	// the packet.
	Fresh Result = iota
	// Replay: the tag was already in the filter (a replay, or a false
	// positive at rate at most FPRate); drop the packet.
	Replay
	// Full: the filter holds Capacity tags and refuses more; drop the
	// packet (and count it: the node receives more than it was sized for).
	Full
)

func (r Result) String() string {
	switch r {
	case Fresh:
		return "fresh"
	case Replay:
		return "replay"
	case Full:
		return "full"
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// DefaultSyncInterval is how often a filter msyncs its file: the window of
// accepted tags a power loss or kernel crash (not a process crash) can
// forget (docs/spec/replay.md §3).
//
// Why ten seconds and not one: every writeback, whether by msync or by the
// kernel's flusher, write-protects the pages it cleans, and at full load
// nearly every page of the filter is dirtied again within a second, so
// each sync costs one write fault per page plus the writeback of the whole
// file. At one second that was 5% of a forwarding mix's CPU
// (docs/bench/forwarding.md); at ten it is a tenth of that. Ten seconds is
// also below the kernel's own dirty expiry (vm.dirty_expire_centisecs, 30 s
// by default), so the window does not depend on the kernel's tunables.
const DefaultSyncInterval = 10 * time.Second

// Options tune Open.
type Options struct {
	// SyncInterval between msyncs: the power-loss window. 0 means
	// DefaultSyncInterval, a negative value disables the periodic msync
	// (Close still syncs; the kernel's flusher still writes dirty pages
	// back on its own schedule, but nothing bounds the window).
	SyncInterval time.Duration
}

// stripes is the number of stripe locks: enough that workers almost never
// meet on one, few enough to stay in cache.
const stripes = 1024

// Filter is one Sphinx key's replay filter.
type Filter struct {
	path   string
	params Params
	file   *os.File
	mem    []byte   // the whole mapping
	words  []uint64 // the bit array, inside mem
	count  *uint64  // the persisted count, inside mem's header
	blocks uint64   // len(words) / blockWords
	locks  [stripes]sync.Mutex

	refused atomic.Uint64
	syncs   atomic.Uint64 // periodic msyncs that succeeded
	syncErr atomic.Uint64 // periodic msyncs that failed

	interval time.Duration // resolved SyncInterval

	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	done      chan struct{}
}

// Open opens the filter file at path for params, creating it if it does
// not exist. An existing file must have been created with exactly these
// params (capacity, rate, size, hashes, epoch and key); otherwise, or if its
// header is corrupt, Open fails and leaves the file alone. The file is
// locked (flock) against a second opener.
func Open(path string, params Params) (*Filter, error) {
	return OpenWith(path, params, Options{})
}

// OpenWith is Open with options.
func OpenWith(path string, params Params, opts Options) (*Filter, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		f, err = create(path, &params)
	}
	if err != nil {
		return nil, fmt.Errorf("replay filter %s: %w", path, err)
	}
	flt, err := mapFile(f, path, &params)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("replay filter %s: %w", path, err)
	}
	interval := opts.SyncInterval
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	flt.interval = interval
	flt.stop, flt.done = make(chan struct{}), make(chan struct{})
	go flt.syncLoop(interval)
	return flt, nil
}

// create makes the file under a temporary name and renames it into place
// once its header is on disk, so that a crash during creation never leaves
// a half-written filter at path.
func create(path string, p *Params) (*os.File, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := f.Truncate(p.FileSize()); err != nil {
		return fail(err)
	}
	if _, err := f.WriteAt(encodeHeader(p), 0); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Link(tmp, path); err != nil {
		// Someone created path meanwhile: use theirs, never overwrite it.
		f.Close()
		os.Remove(tmp)
		if errors.Is(err, os.ErrExist) {
			return os.OpenFile(path, os.O_RDWR, 0)
		}
		return nil, err
	}
	os.Remove(tmp)
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return f, nil
}

func mapFile(f *os.File, path string, want *Params) (*Filter, error) {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil, fmt.Errorf("locked by another process: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < headerSize {
		return nil, fmt.Errorf("%w: file of %d bytes", ErrHeader, st.Size())
	}
	hdr := make([]byte, headerSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return nil, err
	}
	got, _, err := decodeHeader(hdr)
	if err != nil {
		return nil, err
	}
	if err := sameParams(&got, want); err != nil {
		return nil, err
	}
	if st.Size() != want.FileSize() {
		return nil, fmt.Errorf("%w: file of %d bytes, want %d", ErrHeader, st.Size(), want.FileSize())
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(want.FileSize()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	flt := &Filter{
		path:   path,
		params: *want,
		file:   f,
		mem:    mem,
		words:  unsafe.Slice((*uint64)(unsafe.Pointer(&mem[headerSize])), want.Bits/64),
		blocks: want.Bits / blockBits,
		count:  (*uint64)(unsafe.Pointer(&mem[offCount])),
	}
	return flt, nil
}

// sameParams names the first field where the file differs from what the
// caller expects.
func sameParams(got, want *Params) error {
	switch {
	case got.Epoch != want.Epoch:
		return fmt.Errorf("%w: file is for epoch %d, want %d", ErrHeader, got.Epoch, want.Epoch)
	case got.Key != want.Key:
		return fmt.Errorf("%w: file is for another Sphinx key", ErrHeader)
	case got.Capacity != want.Capacity || got.FPRate != want.FPRate || got.Bits != want.Bits || got.Hashes != want.Hashes:
		return fmt.Errorf("%w: file has capacity %d, rate %g, %d bits, %d hashes; want %d, %g, %d, %d (a filter is never resized or reset)",
			ErrHeader, got.Capacity, got.FPRate, got.Bits, got.Hashes, want.Capacity, want.FPRate, want.Bits, want.Hashes)
	}
	return nil
}

// TestAndSet records tag and reports whether it was new. It is safe for
// concurrent use and allocates nothing. tag is a Sphinx replay tag (a
// pseudo-random 32-byte value); its bits choose two 512-bit blocks and k/2
// bit positions in each (docs/spec/replay.md §2), so a call touches two
// cache lines.
func (f *Filter) TestAndSet(tag *[32]byte) Result {
	t := tagWords(tag)
	a, b := blockOf(t[0]&fieldMask40, f.blocks), blockOf(t[0]>>40|(t[1]&0xffff)<<24, f.blocks)
	var ma, mb [blockWords]uint64 // the tag's bits in block a and in block b
	h := f.params.Hashes / blocksPerTag
	for j := range h {
		pa, pb := posField(&t, j), posField(&t, h+j)
		ma[pa/64] |= 1 << (pa % 64)
		mb[pb/64] |= 1 << (pb % 64)
	}
	wa := f.words[a*blockWords : (a+1)*blockWords : (a+1)*blockWords]
	wb := f.words[b*blockWords : (b+1)*blockWords : (b+1)*blockWords]

	lk := &f.locks[t[3]%stripes]
	lk.Lock()
	defer lk.Unlock()
	if allSet(wa, &ma) && allSet(wb, &mb) {
		return Replay
	}
	for {
		c := atomic.LoadUint64(f.count)
		if c >= f.params.Capacity {
			f.refused.Add(1)
			return Full
		}
		if atomic.CompareAndSwapUint64(f.count, c, c+1) {
			break
		}
	}
	setAll(wa, &ma)
	setAll(wb, &mb)
	return Fresh
}

// Stats are a filter's counters.
type Stats struct {
	Count    uint64 // tags held (persisted)
	Capacity uint64
	Refused  uint64 // TestAndSet calls answered Full since Open
	// Syncs and SyncErrors count the periodic msyncs since Open that
	// succeeded and that failed (a failure loses only power-loss
	// durability; the bits stay in the page cache).
	Syncs      uint64
	SyncErrors uint64
}

// Stats returns the counters.
func (f *Filter) Stats() Stats {
	return Stats{
		Count:      atomic.LoadUint64(f.count),
		Capacity:   f.params.Capacity,
		Refused:    f.refused.Load(),
		Syncs:      f.syncs.Load(),
		SyncErrors: f.syncErr.Load(),
	}
}

// SyncInterval returns the interval between periodic msyncs (the
// resolved Options.SyncInterval; negative: none).
func (f *Filter) SyncInterval() time.Duration { return f.interval }

// Params returns the filter's parameters.
func (f *Filter) Params() Params { return f.params }

// Path returns the file's path.
func (f *Filter) Path() string { return f.path }

// Sync writes the filter to disk (msync MS_SYNC).
func (f *Filter) Sync() error { return unix.Msync(f.mem, unix.MS_SYNC) }

func (f *Filter) syncLoop(interval time.Duration) {
	defer close(f.done)
	if interval < 0 {
		<-f.stop
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			// An msync failure (I/O error) loses only power-loss durability;
			// the bits stay in the page cache. Stats counts it; Close
			// reports a failure of the final sync.
			if f.Sync() != nil {
				f.syncErr.Add(1)
			} else {
				f.syncs.Add(1)
			}
		}
	}
}

// Close syncs and unmaps the filter and releases the file. Callers must
// stop calling TestAndSet before Close (the bits are unmapped) and must not
// use the Filter afterwards; Close is idempotent.
func (f *Filter) Close() error {
	f.closeOnce.Do(func() {
		close(f.stop)
		<-f.done
		err := f.Sync()
		if uerr := unix.Munmap(f.mem); err == nil {
			err = uerr
		}
		f.mem, f.words, f.count = nil, nil, nil
		if cerr := f.file.Close(); err == nil {
			err = cerr
		}
		f.closeErr = err
	})
	return f.closeErr
}

// Remove closes the filter and deletes its file: for a Sphinx key that has
// expired, whose packets can no longer be processed at all.
func (f *Filter) Remove() error {
	cerr := f.Close()
	if err := os.Remove(f.path); err != nil {
		return err
	}
	return cerr
}
