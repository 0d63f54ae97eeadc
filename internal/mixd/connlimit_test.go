package mixd

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestIncomingConnLimit(t *testing.T) {
	if got := incomingConnLimit(12345); got != 12345 {
		t.Errorf("configured 12345: got %d", got)
	}
	for _, c := range []struct {
		nofile uint64
		want   int
	}{
		{0, minDerivedConns},
		{1024, 512},
		{20000, 20000 - fdReserve},
		{maxDerivedConns + fdReserve, maxDerivedConns},
		{1 << 20, maxDerivedConns},
		{unix.RLIM_INFINITY, maxDerivedConns},
	} {
		if got := derivedConnLimit(c.nofile); got != c.want {
			t.Errorf("open-file limit %d: got %d, want %d", c.nofile, got, c.want)
		}
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if got, want := incomingConnLimit(0), derivedConnLimit(rl.Cur); got != want {
		t.Errorf("derived from this process's limit %d: got %d, want %d", rl.Cur, got, want)
	}
}
