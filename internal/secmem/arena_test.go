package secmem

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

func TestAllocIsZeroedAndFreeWipes(t *testing.T) {
	a, err := New(4096)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := a.Alloc(100)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 100 || cap(b.Bytes()) != 100 {
		t.Fatalf("len %d cap %d, want 100 100", b.Len(), cap(b.Bytes()))
	}
	for i := range b.Bytes() {
		b.Bytes()[i] = 0xAA
	}
	raw := b.Bytes()[:100:100] // alias the arena memory to look after Free
	b.Free()
	if b.Bytes() != nil {
		t.Fatal("Bytes after Free is not nil")
	}
	for i, c := range raw {
		if c != 0 {
			t.Fatalf("byte %d = %#x after Free, want 0", i, c)
		}
	}
	b.Free() // idempotent
	c, err := a.Alloc(100)
	if err != nil {
		t.Fatal(err)
	}
	if &c.Bytes()[0] != &raw[0] {
		t.Error("freed chunks were not reused by the next allocation")
	}
}

func TestAllocFullAndClosed(t *testing.T) {
	a, err := New(1)
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	if a.Size() != page {
		t.Fatalf("size %d, want one page %d", a.Size(), page)
	}
	if _, err := a.Alloc(page + 1); !errors.Is(err, ErrFull) {
		t.Fatalf("oversize Alloc: %v, want ErrFull", err)
	}
	whole, err := a.Alloc(page)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Alloc(1); !errors.Is(err, ErrFull) {
		t.Fatalf("Alloc in full arena: %v, want ErrFull", err)
	}
	if _, err := a.Alloc(0); err == nil {
		t.Fatal("Alloc(0) succeeded")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if whole.Bytes() != nil {
		t.Fatal("buffer still usable after Close")
	}
	whole.Free() // after Close: no panic
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := a.Alloc(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Alloc after Close: %v, want ErrClosed", err)
	}
}

func TestNewRejectsBadSizes(t *testing.T) {
	for _, n := range []int{0, -1, MaxArenaSize + 1} {
		if _, err := New(n); err == nil {
			t.Errorf("New(%d) succeeded", n)
		}
	}
}

func TestBuffersDoNotOverlap(t *testing.T) {
	a, err := New(8192)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var bufs []*Buffer
	for i := range 20 {
		b, err := a.Alloc(1 + i*7)
		if err != nil {
			t.Fatal(err)
		}
		for j := range b.Bytes() {
			b.Bytes()[j] = byte(i + 1)
		}
		bufs = append(bufs, b)
	}
	for i, b := range bufs {
		for j, c := range b.Bytes() {
			if c != byte(i+1) {
				t.Fatalf("buffer %d byte %d = %d: overwritten by another buffer", i, j, c)
			}
		}
	}
}

// TestKernelFlags reads the arena's VmFlags in /proc/self/smaps: "lo"
// (mlocked), "dd" (MADV_DONTDUMP) and "wf" (MADV_WIPEONFORK) must be set
// when Protection reports success.
func TestKernelFlags(t *testing.T) {
	a, err := New(4096)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Protection(); err != nil {
		t.Skipf("protections unavailable here (a WARNING in the daemons): %v", err)
	}
	start := uintptr(unsafe.Pointer(&a.mem[0]))
	flags := vmFlags(t, start)
	for _, want := range []string{"lo", "dd", "wf"} {
		if !strings.Contains(" "+flags+" ", " "+want+" ") {
			t.Errorf("VmFlags %q lacks %q", flags, want)
		}
	}
}

func vmFlags(t *testing.T, start uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	header := fmt.Sprintf("%x-", start)
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, header) {
			in = true
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:"))
		}
	}
	t.Fatalf("mapping at %#x not found in smaps", start)
	return ""
}
