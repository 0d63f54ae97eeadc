package capacitybench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/proctest"
)

// The daemons, built once per test binary.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binaries builds dirauth, keyd, spoold and mixd from this module and
// returns the directory holding them.
func binaries(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "capbin"); buildErr != nil {
			return
		}
		buildErr = proctest.Build(context.Background(), buildDir, "dirauth", "keyd", "spoold", "mixd")
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return buildDir
}

// raiseFileLimit sets this process's soft RLIMIT_NOFILE to the hard limit
// and returns it. The daemons started afterwards inherit it: a program
// that calls Setrlimit itself is not subject to os/exec's restoring the
// limit the process started with.
func raiseFileLimit(tb testing.TB) uint64 {
	tb.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	return lim.Cur
}

// cpuTime is the user + system CPU time the process has used, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuTime(p *proctest.Proc) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// clockTick is USER_HZ: 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// parseStatCPU reads utime + stime from the text of /proc/PID/stat. The
// command name (field 2) is in parentheses and may hold spaces, so fields
// are counted from the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat without a command name: %.40q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat with %d fields after the name", len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %q is not a tick count", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// openFileLimit returns the soft "Max open files" of the process, from
// /proc/PID/limits.
func openFileLimit(p *proctest.Proc) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", p.Pid()))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(strings.TrimPrefix(line, "Max open files"))
			if len(f) >= 2 {
				return f[0], nil
			}
		}
	}
	return "", fmt.Errorf("no \"Max open files\" in /proc/%d/limits", p.Pid())
}

// runOnce runs bin to completion and returns its output.
func runOnce(tb testing.TB, bin string, args ...string) string {
	tb.Helper()
	out, err := proctest.Output(bin, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
