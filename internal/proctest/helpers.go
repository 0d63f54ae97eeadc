package proctest

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// pollInterval is how often WaitFor and Eventually test their condition.
const pollInterval = 50 * time.Millisecond

// Tail returns the last n lines of the file at path, or the error reading
// it in parentheses: it is meant for a failure message.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ShortTempDir is a temporary directory, removed when tb ends, with a short
// path: UNIX socket paths under it must stay below 108 bytes, which
// t.TempDir's (named after the test) does not promise.
func ShortTempDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "smx-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago: each is held by a listener until all n are chosen, then released
// for the program the test starts.
func FreePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// WriteFile writes text to the file at path (a program's configuration,
// say), readable by the user only; a failure fails tb.
func WriteFile(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// TestWriter is an io.Writer into the test log: each Write is one log
// entry, without its trailing newlines. Give it to code that reports
// progress.
type TestWriter struct{ TB testing.TB }

func (w TestWriter) Write(b []byte) (int, error) {
	w.TB.Helper()
	w.TB.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// WaitFor tests cond every 50 ms until it holds, returns an error, or d
// has passed; what names the condition in the time-out's error.
func WaitFor(d time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(pollInterval) // polling a condition with a deadline
	}
}

// Eventually is WaitFor for a test: it fails tb if cond does not hold
// within d. cond may itself call tb.Fatal.
func Eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	if err := WaitFor(d, what, func() (bool, error) { return cond(), nil }); err != nil {
		tb.Fatal(err)
	}
}
