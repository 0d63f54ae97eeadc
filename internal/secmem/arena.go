package secmem

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// ChunkSize is the allocation granule: every Buffer occupies a whole number
// of chunks, so freeing never fragments below this size.
const ChunkSize = 64

// MaxArenaSize bounds New; an arena is for keys, not bulk data.
const MaxArenaSize = 16 << 20

// ErrFull is returned (wrapped) by Alloc when no run of free chunks is long
// enough.
var ErrFull = errors.New("secmem: arena full")

// ErrClosed is returned by Alloc after Close.
var ErrClosed = errors.New("secmem: arena closed")

// Arena is a locked, undumpable, wipe-on-fork memory region from which
// Buffers are allocated. It is safe for concurrent use.
type Arena struct {
	mu      sync.Mutex
	mem     []byte // the whole mapping; nil after Close
	used    []bool // one entry per chunk
	live    map[*Buffer]struct{}
	protErr error // nil when every protection was applied
	locked  bool  // mlock succeeded, so Close must munlock
}

// New maps an arena of at least size bytes (rounded up to whole pages) and
// applies mlock, MADV_DONTDUMP and MADV_WIPEONFORK. Only a failure to map
// memory is an error; failures of the protections are reported by
// Protection.
func New(size int) (*Arena, error) {
	if size <= 0 || size > MaxArenaSize {
		return nil, fmt.Errorf("secmem: arena size %d out of range (1..%d)", size, MaxArenaSize)
	}
	page := os.Getpagesize()
	size = (size + page - 1) / page * page
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("secmem: mmap %d bytes: %w", size, err)
	}
	a := &Arena{mem: mem, used: make([]bool, size/ChunkSize), live: make(map[*Buffer]struct{})}
	var problems []error
	if err := unix.Mlock(mem); err != nil {
		problems = append(problems, fmt.Errorf("mlock %d bytes (raise RLIMIT_MEMLOCK, e.g. LimitMEMLOCK= in the unit): %w", size, err))
	} else {
		a.locked = true
	}
	if err := unix.Madvise(mem, unix.MADV_DONTDUMP); err != nil {
		problems = append(problems, fmt.Errorf("madvise(MADV_DONTDUMP): %w", err))
	}
	if err := unix.Madvise(mem, unix.MADV_WIPEONFORK); err != nil {
		problems = append(problems, fmt.Errorf("madvise(MADV_WIPEONFORK): %w", err))
	}
	if len(problems) > 0 {
		a.protErr = fmt.Errorf("secmem: secret memory is not fully protected: %w", errors.Join(problems...))
	}
	return a, nil
}

// Protection returns nil when the arena is locked in RAM, excluded from core
// dumps and wiped on fork, and otherwise an error saying which protection
// failed and why. Callers log it as a WARNING and carry on.
func (a *Arena) Protection() error { return a.protErr }

// Size returns the arena's capacity in bytes (0 after Close).
func (a *Arena) Size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.mem)
}

// Alloc returns a zeroed Buffer of exactly n bytes.
func (a *Arena) Alloc(n int) (*Buffer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("secmem: allocation of %d bytes", n)
	}
	need := (n + ChunkSize - 1) / ChunkSize
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mem == nil {
		return nil, ErrClosed
	}
	// First fit over the chunk map: arenas hold a few dozen keys, so a
	// linear scan is both simple and fast enough.
	run := 0
	for i := range a.used {
		if a.used[i] {
			run = 0
			continue
		}
		run++
		if run == need {
			first := i - need + 1
			for j := first; j <= i; j++ {
				a.used[j] = true
			}
			off := first * ChunkSize
			b := &Buffer{arena: a, first: first, chunks: need, b: a.mem[off : off+n : off+n]}
			a.live[b] = struct{}{}
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: no room for %d bytes", ErrFull, n)
}

// Close wipes every byte of the arena, unlocks and unmaps it. Buffers still
// allocated become empty (Bytes returns nil); slices obtained from them
// earlier must not be used afterwards, which is why owners free their
// buffers before closing the arena. Close is idempotent.
func (a *Arena) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mem == nil {
		return nil
	}
	clear(a.mem)
	for b := range a.live {
		b.b = nil
	}
	a.live = nil
	var errs []error
	if a.locked {
		if err := unix.Munlock(a.mem); err != nil {
			errs = append(errs, fmt.Errorf("secmem: munlock: %w", err))
		}
	}
	if err := unix.Munmap(a.mem); err != nil {
		errs = append(errs, fmt.Errorf("secmem: munmap: %w", err))
	}
	a.mem = nil
	return errors.Join(errs...)
}

// free wipes b's chunks and returns them to the arena.
func (a *Arena) free(b *Buffer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b.b == nil || a.mem == nil {
		b.b = nil
		return
	}
	clear(a.mem[b.first*ChunkSize : (b.first+b.chunks)*ChunkSize])
	for j := b.first; j < b.first+b.chunks; j++ {
		a.used[j] = false
	}
	delete(a.live, b)
	b.b = nil
}
