package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/logging"
	"golang.org/x/sys/unix"
)

// Tests that need a process of their own (process-wide settings, signals, inherited fds,
// sd_notify) re-exec the test binary with childEnv naming what the child does.
const childEnv = "SPLITMIX_DAEMON_TEST_CHILD"

// waitLimit bounds every wait on a child.
const waitLimit = 20 * time.Second

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

var children = map[string]func() int{
	"harden":     childHarden,
	"signals":    childSignals,
	"hup-logger": childHUPLogger,
	"notify":     childNotify,
	"activation": childActivation,
}

func runChild(mode string) int {
	f, ok := children[mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
		return 2
	}
	return f()
}

// childHarden prints what Harden changed, as the kernel reports it.
func childHarden() int {
	if err := Harden(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	umask := "?"
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			umask = strings.TrimSpace(v)
		}
	}
	dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	var core unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &core); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Printf("umask=%s dumpable=%d core=%d/%d\n", umask, dumpable, core.Cur, core.Max)
	return 0
}

// childSignals reports each signal event on stdout; it expects to be killed by a second SIGTERM.
func childSignals() int {
	ctx, hup, stop := SignalContext(context.Background())
	defer stop()
	fmt.Println("ready")
	for {
		select {
		case <-hup:
			fmt.Println("hup")
		case <-ctx.Done():
			fmt.Println("canceled")
			// A graceful shutdown that hangs: only a second SIGTERM ends it.
			<-time.After(waitLimit)
			fmt.Println("not killed")
			return 3
		}
	}
}

// childHUPLogger logs to $LOGFILE and reopens it on SIGHUP, as a daemon does.
func childHUPLogger() int {
	backend, err := logging.New(logging.Options{File: os.Getenv("LOGFILE"), Level: "NOTICE"})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer backend.Close()
	log := backend.Logger("child")
	ctx, hup, stop := SignalContext(context.Background())
	defer stop()
	log.Notice("started")
	fmt.Println("ready")
	for n := 1; ; n++ {
		select {
		case <-hup:
			if err := backend.Reopen(); err != nil {
				log.Error("reopen failed", "err", err)
				continue
			}
			log.Notice("reopened", "n", n)
		case <-ctx.Done():
			log.Notice("stopping")
			return 0
		}
	}
}

// childNotify is a daemon's sd_notify life: READY, STATUS, watchdog pings, STOPPING on SIGTERM.
func childNotify() int {
	ctx, _, stop := SignalContext(context.Background())
	defer stop()
	NotifyReady()
	NotifyStatus("serving")
	Watchdog(ctx)
	<-ctx.Done()
	NotifyStopping()
	return 0
}

// childActivation takes the socket for $SOCKPATH (passed by the parent as an activated fd),
// reports what it sees, serves one greeting, and exits.
func childActivation() int {
	path := os.Getenv("SOCKPATH")
	ln, err := ListenUnix(path, 0o600, -1)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	env := os.Getenv("LISTEN_FDS") + os.Getenv("LISTEN_PID") + os.Getenv("LISTEN_FDNAMES")
	fmt.Printf("addr=%s env=%q\n", ln.Addr(), env)
	printFDs := func() {
		for fd := listenFDsStart; fd < listenFDsStart+2; fd++ {
			flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			fmt.Printf("fd%d open=%v cloexec=%v\n", fd, err == nil, err == nil && flags&unix.FD_CLOEXEC != 0)
		}
	}
	printFDs()
	fmt.Printf("unused=%d\n", CloseUnusedActivation())
	printFDs()
	c, err := ln.Accept()
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	io.WriteString(c, "hello from the activated socket\n")
	c.Close()
	ln.Close()
	return 0
}

// startChild runs the test binary in child mode with extra environment; its stdout lines arrive
// on the returned channel, which is closed when stdout ends.
func startChild(t *testing.T, mode string, env []string, extra ...*os.File) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	return runCmd(t, cmd, mode, env, extra...)
}

func runCmd(t *testing.T, cmd *exec.Cmd, mode string, env []string, extra ...*os.File) (*exec.Cmd, <-chan string) {
	t.Helper()
	// atexit_sleep_ms=0: a race-enabled child otherwise lingers a second at exit.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(cleanEnv(), append(env, childEnv+"="+mode, "GORACE="+gorace)...)
	cmd.ExtraFiles = extra
	cmd.Stderr = &testWriter{t: t}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// cleanEnv is the environment without anything a test child could mistake for systemd's.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "GORACE", childEnv:
			continue
		}
		env = append(env, kv)
	}
	return env
}

// nextLine returns the child's next stdout line, failing the test after waitLimit or at EOF.
func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("child closed stdout")
		}
		return l
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for the child")
	}
	return ""
}

func expectLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	if got := nextLine(t, lines); got != want {
		t.Fatalf("child said %q, want %q", got, want)
	}
}

// waitExit waits for the child to exit and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(waitLimit):
		t.Fatal("child did not exit")
	}
	return -1
}

// poll waits until cond holds, checking every few milliseconds, or fails after waitLimit.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("child stderr: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// shortTempDir returns a temporary directory with a short path: socket paths are limited to 107
// bytes and t.TempDir() paths grow with the test name.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

var (
	lnsMu sync.Mutex
	lns   = map[string]*net.UnixListener{}
)

// listenerFile makes a listening socket at path and returns it with a duplicate of its fd, to pass
// to a child as an activated socket.
func listenerFile(t *testing.T, path string) (*net.UnixListener, *os.File) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lnsMu.Lock()
	lns[path] = ln
	lnsMu.Unlock()
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return ln, f
}
