package replay

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// tagN is a deterministic pseudo-random tag, like a Sphinx replay tag.
func tagN(seed string, i int) *[32]byte {
	t := sha256.Sum256(fmt.Appendf(nil, "%s/%d", seed, i))
	return &t
}

func small(t testing.TB, n uint64) Params {
	t.Helper()
	p := paramsForCapacity(n, 1e-6)
	p.Epoch = 42
	p.Key[0] = 0xab
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func open(t testing.TB, path string, p Params) *Filter {
	t.Helper()
	f, err := Open(path, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParamsFor(t *testing.T) {
	p := ParamsFor(2000, time.Hour, 1e-6)
	if p.Capacity != 7_200_000 {
		t.Fatalf("capacity %d, want 7.2e6", p.Capacity)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if fp := p.ExpectedFPRate(); fp > 1e-6 {
		t.Fatalf("expected FP rate %g above 1e-6", fp)
	}
	// The blocked layout needs more bits than a classic filter's optimum
	// (docs/spec/replay.md §2: about 31 bits a tag instead of 28.8).
	optimum := -float64(p.Capacity) * math.Log(1e-6) / (math.Ln2 * math.Ln2)
	if float64(p.Bits) < optimum || float64(p.Bits) > optimum*1.1 {
		t.Fatalf("%d bits, classic optimum %.0f", p.Bits, optimum)
	}
	if p.Bits != 223_032_320 || p.Hashes != 18 {
		t.Fatalf("m=%d k=%d, want docs/spec/replay.md §2's 223 032 320 and 18", p.Bits, p.Hashes)
	}
	// One block less must miss the rate: the size is the minimum.
	q := p
	q.Bits -= blockBits
	if q.ExpectedFPRate() <= 1e-6 {
		t.Fatalf("%d bits would do", q.Bits)
	}
	t.Logf("2000 pkt/s for 1 h at 1e-6: n=%d m=%d bits (%.1f MiB) k=%d fp=%.3g", p.Capacity, p.Bits, float64(p.FileSize())/(1<<20), p.Hashes, p.ExpectedFPRate())

	for _, bad := range []Params{
		{},
		{Capacity: 10, FPRate: 0, Bits: 512, Hashes: 1},
		{Capacity: 10, FPRate: 1e-6, Bits: 500, Hashes: 1},
		{Capacity: 10, FPRate: 1e-6, Bits: 512, Hashes: 0},
		{Capacity: 10, FPRate: 0.5, Bits: 512 * 64, Hashes: 3},   // odd: not k/2 per block
		{Capacity: 10, FPRate: 1e-6, Bits: 512 * 64, Hashes: 20}, // more than the tag has room for
		{Capacity: 1000, FPRate: 1e-6, Bits: 512, Hashes: 18},    // too small for the rate
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestTestAndSet(t *testing.T) {
	const n = 20000
	f := open(t, filepath.Join(t.TempDir(), "f"), small(t, n))
	falsePositives := 0
	for i := range n {
		if r := f.TestAndSet(tagN("a", i)); r == Replay {
			falsePositives++
		} else if r != Fresh {
			t.Fatalf("tag %d: %v", i, r)
		}
	}
	// Expected 0.02 at p = 1e-6; 2 would already be very unlikely.
	if falsePositives > 1 {
		t.Fatalf("%d false positives among %d tags", falsePositives, n)
	}
	for i := range n {
		if r := f.TestAndSet(tagN("a", i)); r != Replay {
			t.Fatalf("replay of tag %d: %v", i, r)
		}
	}
	if s := f.Stats(); s.Count != uint64(n-falsePositives) || s.Refused != 0 {
		t.Fatalf("stats %+v", s)
	}
	tag := tagN("alloc", 0)
	if a := testing.AllocsPerRun(100, func() { f.TestAndSet(tag) }); a != 0 {
		t.Fatalf("TestAndSet allocates %v", a)
	}
}

// TestFullRefuses: at capacity the filter answers Full for new tags (and
// counts them), still answers Replay for recorded ones, and stays full
// across a reopen.
func TestFullRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	p := small(t, 100)
	f := open(t, path, p)
	for i := range 100 {
		if r := f.TestAndSet(tagN("full", i)); r != Fresh {
			t.Fatalf("tag %d: %v", i, r)
		}
	}
	for i := range 5 {
		if r := f.TestAndSet(tagN("over", i)); r != Full {
			t.Fatalf("tag beyond capacity: %v, want Full", r)
		}
	}
	if r := f.TestAndSet(tagN("full", 7)); r != Replay {
		t.Fatalf("recorded tag on a full filter: %v, want Replay", r)
	}
	if s := f.Stats(); s.Count != 100 || s.Refused != 5 {
		t.Fatalf("stats %+v", s)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f = open(t, path, p)
	if r := f.TestAndSet(tagN("over", 99)); r != Full {
		t.Fatalf("after reopen: %v, want Full", r)
	}
	if s := f.Stats(); s.Count != 100 {
		t.Fatalf("count after reopen %d", s.Count)
	}
}

// TestConcurrentCopies: copies of one packet racing through many workers
// are accepted exactly once.
func TestConcurrentCopies(t *testing.T) {
	f := open(t, filepath.Join(t.TempDir(), "f"), small(t, 10000))
	const workers = 8
	for i := range 200 {
		tag := tagN("race", i)
		var fresh sync.WaitGroup
		results := make(chan Result, workers)
		start := make(chan struct{})
		for range workers {
			fresh.Go(func() {
				<-start
				results <- f.TestAndSet(tag)
			})
		}
		close(start)
		fresh.Wait()
		close(results)
		n := 0
		for r := range results {
			if r == Fresh {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("tag %d accepted %d times", i, n)
		}
	}
}

func TestOpenRefusesMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	p := small(t, 1000)
	f := open(t, path, p)
	f.TestAndSet(tagN("m", 0))
	if _, err := Open(path, p); err == nil {
		t.Fatal("second open of a locked filter succeeded")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	other := p
	other.Epoch++
	otherKey := p
	otherKey.Key[1] = 1
	bigger := small(t, 2000)
	bigger.Epoch, bigger.Key = p.Epoch, p.Key
	for name, q := range map[string]Params{"epoch": other, "key": otherKey, "size": bigger} {
		if _, err := Open(path, q); !errors.Is(err, ErrHeader) {
			t.Errorf("%s mismatch: %v, want ErrHeader", name, err)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("a refused open changed the file")
	}

	corrupt := bytes.Clone(before)
	corrupt[offCapacity] ^= 1
	os.WriteFile(path, corrupt, 0o600)
	if _, err := Open(path, p); !errors.Is(err, ErrHeader) {
		t.Errorf("corrupt header: %v", err)
	}
	os.WriteFile(path, before[:len(before)-8], 0o600)
	if _, err := Open(path, p); !errors.Is(err, ErrHeader) {
		t.Errorf("truncated file: %v", err)
	}
	os.WriteFile(path, before, 0o600)
	f = open(t, path, p)
	if r := f.TestAndSet(tagN("m", 0)); r != Replay {
		t.Fatalf("tag lost: %v", r)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Remove left the file: %v", err)
	}
}

// The SIGKILL test runs a child: the test binary itself, re-executed with
// these variables set.
const (
	childPathEnv  = "SPLITMIX_REPLAY_CHILD_PATH"
	childCountEnv = "SPLITMIX_REPLAY_CHILD_COUNT"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(childPathEnv); path != "" {
		os.Exit(replayChild(path))
	}
	os.Exit(m.Run())
}

// replayChild opens the filter with the periodic msync disabled, records
// tags, says "ready" and waits to be killed.
func replayChild(path string) int {
	n, _ := strconv.Atoi(os.Getenv(childCountEnv))
	f, err := OpenWith(path, small(nopTB{}, uint64(n)), Options{SyncInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := range n {
		if r := f.TestAndSet(tagN("kill", i)); r != Fresh {
			fmt.Fprintf(os.Stderr, "tag %d: %v\n", i, r)
			return 1
		}
	}
	fmt.Println("ready")
	select {}
}

// TestSurvivesSIGKILL: every tag a killed process recorded is a replay
// after restart, without any msync (the page cache holds the bits).
func TestSurvivesSIGKILL(t *testing.T) {
	const n = 5000
	path := filepath.Join(t.TempDir(), "epoch-42.replay")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childPathEnv+"="+path, childCountEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("child said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("child never became ready")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()

	f := open(t, path, small(t, n))
	if s := f.Stats(); s.Count != n {
		t.Fatalf("count after SIGKILL %d, want %d", s.Count, n)
	}
	for i := range n {
		if r := f.TestAndSet(tagN("kill", i)); r != Replay {
			t.Fatalf("tag %d after SIGKILL: %v, want Replay", i, r)
		}
	}
	if r := f.TestAndSet(tagN("other", 0)); r != Full {
		t.Fatalf("a new tag on the refilled filter: %v, want Full", r)
	}
}

// nopTB lets the child reuse small() outside a test.
type nopTB struct{ testing.TB }

func (nopTB) Helper()           {}
func (nopTB) Fatal(args ...any) { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }

func FuzzReplayHeader(f *testing.F) {
	p := small(f, 1000)
	h := encodeHeader(&p)
	f.Add(h)
	binary.LittleEndian.PutUint64(h[offCount:], 5)
	f.Add(h)
	f.Add([]byte(magic))
	f.Add(make([]byte, headerSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, count, err := decodeHeader(b)
		if err != nil {
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("error %v does not wrap ErrHeader", err)
			}
			return
		}
		again := encodeHeader(&got)
		binary.LittleEndian.PutUint64(again[offCount:], count)
		if !bytes.Equal(again, b[:headerSize]) {
			t.Fatal("accepted header does not re-encode to itself")
		}
	})
}
