package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/proctest"
)

// binDir holds the daemons built by TestMain.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(proctest.MainWithBinaries(m, &binDir, func(ctx context.Context, dir string) error {
		return proctest.Build(ctx, dir, "dirauth", "keyd", "mixd")
	}))
}

// proc is a daemon started by a test: a proctest.Proc, with the waits on
// its log and exit that the tests share.
type proc struct{ *proctest.Proc }

// start runs binDir/bin with args, its output in the log file at logPath;
// the process is stopped at the end of the test if still running.
func start(t *testing.T, name, bin string, logPath string, args ...string) *proc {
	t.Helper()
	return &proc{proctest.Start(t, name, filepath.Join(binDir, bin), logPath, args...)}
}

// stop sends SIGTERM and waits up to d for the exit, which it returns.
func (p *proc) stop(t *testing.T, d time.Duration) error {
	t.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	return p.waitExit(t, d, "SIGTERM")
}

// waitExit waits up to d for the process to end after what made it end
// (named in the time-out's failure) and returns how it ended.
func (p *proc) waitExit(t *testing.T, d time.Duration, after string) error {
	t.Helper()
	proctest.Eventually(t, d, p.Name+" to exit after "+after, p.Exited)
	return p.Wait()
}

// logMatches returns the submatches of re in every line of the log after
// byte offset from.
func logMatches(path string, from int64, re *regexp.Regexp) [][]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(from, 0); err != nil {
		return nil
	}
	var out [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, m)
		}
	}
	return out
}

func logSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// waitLog waits until the log has a line matching re after offset from and
// returns its submatches.
func (p *proc) waitLog(t *testing.T, from int64, re *regexp.Regexp, d time.Duration) []string {
	t.Helper()
	var got []string
	proctest.Eventually(t, d, fmt.Sprintf("%s to log %q", p.Name, re), func() bool {
		m := logMatches(p.LogPath, from, re)
		if len(m) == 0 {
			return false
		}
		got = m[len(m)-1]
		return true
	})
	return got
}

// runOnce runs a command to completion and returns its standard output;
// the test fails unless it exits with status 0.
func runOnce(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, errOut, code := runTool(bin, args, nil)
	if code != 0 {
		t.Fatalf("%s %v: exit %d\n%s", bin, args, code, errOut)
	}
	return out
}
