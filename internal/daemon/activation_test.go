package daemon

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startActivated starts a child as systemd would for a socket unit: fds 3 and 4 are listening
// sockets, LISTEN_FDS/LISTEN_FDNAMES describe them and LISTEN_PID is the child's own pid (the
// shell sets it to $$ and then execs the child, which keeps the pid).
func startActivated(t *testing.T, listenPID, names, want string, files ...*os.File) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=${PIDOVERRIDE:-$$} exec "$0" -test.run='^$'`, os.Args[0])
	env := []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=" + names, "SOCKPATH=" + want, "PIDOVERRIDE=" + listenPID}
	return runCmd(t, cmd, "activation", env, files...)
}

func greeting(t *testing.T, path string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", path, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLimit))
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestActivationByPath(t *testing.T) {
	dir := shortTempDir(t)
	a, b := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
	_, fa := listenerFile(t, a)
	_, fb := listenerFile(t, b)
	inoB := inode(t, b)

	// The child asks for the second socket: it must pick it by address, not take fd 3.
	cmd, lines := startActivated(t, "", "a.socket:b.socket", b, fa, fb)
	expectLine(t, lines, "addr="+b+` env=""`) // the variables are consumed
	// fd 4 was handed over (the listener holds a close-on-exec duplicate); fd 3 waits, close-on-exec,
	// until CloseUnusedActivation closes it.
	expectLine(t, lines, "fd3 open=true cloexec=true")
	expectLine(t, lines, "fd4 open=false cloexec=false")
	expectLine(t, lines, "unused=1")
	expectLine(t, lines, "fd3 open=false cloexec=false")
	expectLine(t, lines, "fd4 open=false cloexec=false")
	// Our own copy of socket b is still listening too, so the greeting may come from either; the
	// child is the only one that writes one.
	closeOurs(t, b)
	if got := greeting(t, b); got != "hello from the activated socket\n" {
		t.Fatalf("greeting %q", got)
	}
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("child exit code %d", code)
	}
	// The child did not bind, so its Close must leave systemd's socket file alone.
	if inode(t, b) != inoB {
		t.Fatal("the activated socket's file was replaced or removed")
	}
}

func TestActivationByName(t *testing.T) {
	dir := shortTempDir(t)
	bound := filepath.Join(dir, "x", "keyd.sock")
	if err := os.Mkdir(filepath.Dir(bound), 0o700); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.sock")
	_, fo := listenerFile(t, other)
	_, fk := listenerFile(t, bound)
	want := filepath.Join(dir, "y", "keyd.sock") // a different address, but the FDNAME matches its base name
	cmd, lines := startActivated(t, "", "other.sock:keyd.sock", want, fo, fk)
	expectLine(t, lines, "addr="+bound+` env=""`)
	// fd 4 was handed over (the listener holds a close-on-exec duplicate); fd 3 waits, close-on-exec,
	// until CloseUnusedActivation closes it.
	expectLine(t, lines, "fd3 open=true cloexec=true")
	expectLine(t, lines, "fd4 open=false cloexec=false")
	expectLine(t, lines, "unused=1")
	expectLine(t, lines, "fd3 open=false cloexec=false")
	expectLine(t, lines, "fd4 open=false cloexec=false")
	closeOurs(t, bound)
	if got := greeting(t, bound); got != "hello from the activated socket\n" {
		t.Fatalf("greeting %q", got)
	}
	waitExit(t, cmd)
	if _, err := os.Stat(want); err == nil {
		t.Error("the child bound the requested path although an activated socket matched by name")
	}
}

// Sockets meant for another process (LISTEN_PID not ours) are ignored: the child binds by itself
// and, since the parent's socket is live at that path, refuses.
func TestActivationWrongPID(t *testing.T) {
	dir := shortTempDir(t)
	a, b := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
	_, fa := listenerFile(t, a)
	_, fb := listenerFile(t, b)
	cmd, lines := startActivated(t, "1", "a.socket:b.socket", b, fa, fb)
	got := nextLine(t, lines)
	if !strings.Contains(got, "another instance is listening on "+b) {
		t.Fatalf("child said %q, want the live-socket refusal", got)
	}
	if code := waitExit(t, cmd); code != 1 {
		t.Fatalf("child exit code %d, want 1", code)
	}
}

// closeOurs closes the test's own listener for path (registered by listenerFile) without removing
// the file, so that only the child's inherited copy accepts.
func closeOurs(t *testing.T, path string) {
	t.Helper()
	lnsMu.Lock()
	defer lnsMu.Unlock()
	ln, ok := lns[path]
	if !ok {
		t.Fatalf("no listener for %s", path)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}
