package proctest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as the program the tests start,
// chosen by the variable's value.
const helperEnv = "PROCTEST_HELPER"

// socketEnv is the path of the UNIX socket of the helper "listen".
const socketEnv = "PROCTEST_SOCKET"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helper is the started program: "term" exits 0 on SIGTERM, "stubborn"
// ignores SIGTERM, "exit3" prints three lines and exits 3, "listen"
// accepts connections on the UNIX socket $PROCTEST_SOCKET until SIGTERM.
func helper(mode string) int {
	switch mode {
	case "listen":
		ln, err := net.Listen("unix", os.Getenv(socketEnv))
		if err != nil {
			fmt.Println(err)
			return 1
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		<-ch
		ln.Close()
		return 0
	case "term":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		fmt.Println("ready")
		<-ch
		fmt.Println("got SIGTERM")
		return 0
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		select {}
	case "exit3":
		fmt.Println("one\ntwo\nthree")
		return 3
	}
	return 2
}

// launchHelper starts the test binary as the helper in mode.
func launchHelper(t *testing.T, mode string) (*Proc, string) {
	t.Helper()
	t.Setenv(helperEnv, mode)
	logPath := filepath.Join(t.TempDir(), mode+".log")
	p, err := Launch(mode, os.Args[0], logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p, logPath
}

func waitLog(t *testing.T, logPath, want string) {
	t.Helper()
	Eventually(t, 10*time.Second, fmt.Sprintf("%q in the log", want), func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), want)
	})
}

func TestStopEndsWithSIGTERM(t *testing.T) {
	p, logPath := launchHelper(t, "term")
	waitLog(t, logPath, "ready")
	if p.Exited() {
		t.Fatal("exited before being stopped")
	}
	p.Stop(time.Minute)
	if !p.Exited() {
		t.Fatal("Stop returned before the process ended")
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait = %v, want exit status 0", err)
	}
	if got := Tail(logPath, 1); got != "got SIGTERM" {
		t.Fatalf("last log line %q, want the helper's answer to SIGTERM", got)
	}
}

func TestStopKillsAfterTheDeadline(t *testing.T) {
	p, logPath := launchHelper(t, "stubborn")
	waitLog(t, logPath, "ready")
	start := time.Now()
	p.Stop(200 * time.Millisecond)
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("Stop took %v: it did not wait for SIGTERM to work", took)
	}
	var ee *exec.ExitError
	if err := p.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("Wait = %v, want death by SIGKILL", err)
	}
}

func TestExitedAndTail(t *testing.T) {
	p, logPath := launchHelper(t, "exit3")
	Eventually(t, 10*time.Second, "the helper's exit", p.Exited)
	var ee *exec.ExitError
	if err := p.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
	p.Stop(time.Second) // on an ended process: nothing, no hang
	p.Kill()
	if got := Tail(logPath, 2); got != "two\nthree" {
		t.Fatalf("Tail(2) = %q", got)
	}
	if got := Tail(logPath, 10); got != "one\ntwo\nthree" {
		t.Fatalf("Tail(10) = %q", got)
	}
	if got := Tail(filepath.Join(t.TempDir(), "none"), 3); !strings.HasPrefix(got, "(") {
		t.Fatalf("Tail of a missing file = %q, want the error in parentheses", got)
	}
}

func TestStartStopsAtCleanup(t *testing.T) {
	t.Setenv(helperEnv, "term")
	logPath := filepath.Join(t.TempDir(), "term.log")
	var p *Proc
	t.Run("inner", func(t *testing.T) {
		p = Start(t, "term", os.Args[0], logPath)
		waitLog(t, logPath, "ready")
	})
	if !p.Exited() {
		t.Fatal("the process outlived the test that started it")
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait = %v, want the SIGTERM of the cleanup and exit status 0", err)
	}
}

func TestLaunchMissingProgram(t *testing.T) {
	_, err := Launch("nothing", filepath.Join(t.TempDir(), "nothing"), filepath.Join(t.TempDir(), "log"))
	if err == nil || !strings.Contains(err.Error(), "starting nothing") {
		t.Fatalf("Launch = %v, want an error naming the program", err)
	}
	if _, err := Launch("x", os.Args[0], filepath.Join(t.TempDir(), "no", "dir", "log")); err == nil {
		t.Fatal("Launch with an impossible log path succeeded")
	}
}

func TestOutput(t *testing.T) {
	t.Setenv(helperEnv, "exit3")
	_, err := Output(os.Args[0])
	if err == nil || !strings.Contains(err.Error(), "three") {
		t.Fatalf("Output = %v, want a failure holding the output", err)
	}
	t.Setenv(helperEnv, "")
	out, err := Output("/bin/echo", "hello")
	if err != nil || out != "hello\n" {
		t.Fatalf("Output = %q, %v", out, err)
	}
}

func TestRun(t *testing.T) {
	t.Setenv(helperEnv, "exit3")
	out, errOut, code := Run(exec.Command(os.Args[0]), time.Minute)
	if code != 3 || out != "one\ntwo\nthree\n" || errOut != "" {
		t.Fatalf("Run = %q, %q, %d; want the helper's lines and exit status 3", out, errOut, code)
	}
	t.Setenv(helperEnv, "")
	out, errOut, code = Run(exec.Command("/bin/sh", "-c", "echo out; echo err >&2"), time.Minute)
	if code != 0 || out != "out\n" || errOut != "err\n" {
		t.Fatalf("Run = %q, %q, %d; want the output apart and status 0", out, errOut, code)
	}
	_, errOut, code = Run(exec.Command(filepath.Join(t.TempDir(), "nothing")), time.Minute)
	if code != -1 || !strings.Contains(errOut, "nothing") {
		t.Fatalf("Run of a missing program = %q, %d; want -1 and the reason", errOut, code)
	}
	t.Setenv(helperEnv, "stubborn")
	start := time.Now()
	out, errOut, code = Run(exec.Command(os.Args[0]), 200*time.Millisecond)
	if code != -1 || !strings.Contains(errOut, "killed") || out != "ready\n" {
		t.Fatalf("Run of a program outliving d = %q, %q, %d; want -1 and the kill", out, errOut, code)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("Run killed the program after %v, before d", took)
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	if err := WaitFor(10*time.Second, "three calls", func() (bool, error) { n++; return n == 3, nil }); err != nil || n != 3 {
		t.Fatalf("WaitFor = %v after %d calls", err, n)
	}
	err := WaitFor(100*time.Millisecond, "never", func() (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), "never") {
		t.Fatalf("WaitFor = %v, want a time-out naming the condition", err)
	}
	boom := errors.New("boom")
	if err := WaitFor(10*time.Second, "x", func() (bool, error) { return false, boom }); err != boom {
		t.Fatalf("WaitFor = %v, want the condition's error", err)
	}
}

func TestShortTempDir(t *testing.T) {
	var dir string
	t.Run("inner", func(t *testing.T) {
		dir = ShortTempDir(t)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			t.Fatalf("%s: %v", dir, err)
		}
		// Room for a socket name: 108 bytes, NUL included.
		if len(filepath.Join(dir, "node-name", "management_sock")) >= 80 {
			t.Fatalf("%s is not short", dir)
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s left behind: %v", dir, err)
	}
}

func TestBuildAndModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "proctest", "doc.go")); err != nil {
		t.Fatalf("ModuleRoot %s is not this module's root: %v", root, err)
	}
	err = Build(context.Background(), t.TempDir(), "no-such-program")
	if err == nil || !strings.Contains(err.Error(), "building no-such-program") {
		t.Fatalf("Build of a missing program = %v", err)
	}
	if testing.Short() {
		return
	}
	dir := t.TempDir()
	if err := Build(context.Background(), dir, "mixctl"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "mixctl")); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("no executable mixctl: %v", err)
	}
}

// recordingTB collects what TestWriter logs.
type recordingTB struct {
	testing.TB
	logged []string
}

func (r *recordingTB) Helper()             {}
func (r *recordingTB) Log(args ...any)     { r.logged = append(r.logged, fmt.Sprint(args...)) }
func (r *recordingTB) Logf(string, ...any) {}

func TestTestWriter(t *testing.T) {
	r := &recordingTB{TB: t}
	w := TestWriter{TB: r}
	if n, err := w.Write([]byte("progress line\n\n")); n != 15 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if len(r.logged) != 1 || r.logged[0] != "progress line" {
		t.Fatalf("logged %q", r.logged)
	}
}

// Buffer takes writes from one goroutine while another reads, under -race.
func TestBuffer(t *testing.T) {
	var b Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			fmt.Fprint(&b, "x")
		}
	}()
	for range 100 {
		_ = b.String()
	}
	<-done
	if got := b.String(); got != strings.Repeat("x", 100) {
		t.Fatalf("Buffer holds %q", got)
	}
}

// fatalTB records the first Fatal or Fatalf and ends the goroutine, as
// testing.T does, without failing the real test.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs fn with a fatalTB in a goroutine of its own and returns the
// message fn failed with, "" if it did not.
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.fatal
}

func TestWaitSocket(t *testing.T) {
	sock := filepath.Join(ShortTempDir(t), "s")
	t.Setenv(socketEnv, sock)
	p, logPath := launchHelper(t, "listen")
	if msg := fatalOf(t, func(tb testing.TB) { p.WaitSocket(tb, sock, 10*time.Second) }); msg != "" {
		t.Fatalf("WaitSocket on a listening helper failed: %s\n%s", msg, Tail(logPath, 10))
	}
	// A socket file nobody accepts on does not count.
	p.Stop(10 * time.Second)
	if err := p.Wait(); err != nil {
		t.Fatalf("listen helper: %v", err)
	}
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("no stale socket file: %v", err)
	}
	q, _ := launchHelper(t, "term")
	waitLog(t, q.LogPath, "ready")
	msg := fatalOf(t, func(tb testing.TB) { q.WaitSocket(tb, sock, 200*time.Millisecond) })
	if !strings.Contains(msg, "timed out") || !strings.Contains(msg, sock) {
		t.Fatalf("WaitSocket on a stale socket file: %q, want a time-out naming the socket", msg)
	}
	// A process that ends first fails the wait at once, with its log.
	r, _ := launchHelper(t, "exit3")
	start := time.Now()
	msg = fatalOf(t, func(tb testing.TB) { r.WaitSocket(tb, sock, time.Minute) })
	if !strings.Contains(msg, "exit3 exited: exit status 3") || !strings.Contains(msg, "three") {
		t.Fatalf("WaitSocket on an ended process: %q, want its exit and log", msg)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("WaitSocket took %v to see the process end", took)
	}
}

func TestFreePorts(t *testing.T) {
	ports := FreePorts(t, 3)
	if len(ports) != 3 {
		t.Fatalf("FreePorts(3) = %v", ports)
	}
	seen := map[int]bool{}
	for _, port := range ports {
		if port <= 0 || seen[port] {
			t.Fatalf("FreePorts(3) = %v: not three distinct ports", ports)
		}
		seen[port] = true
		// Released: the program under test can listen there.
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("port %d not released: %v", port, err)
		}
		ln.Close()
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.toml")
	WriteFile(t, path, "a = 1\n")
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "a = 1\n" {
		t.Fatalf("read back %q, %v", b, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("%s: mode %v, want no access for others", path, st.Mode())
	}
	bad := filepath.Join(t.TempDir(), "no", "dir", "x.toml")
	if msg := fatalOf(t, func(tb testing.TB) { WriteFile(tb, bad, "") }); msg == "" {
		t.Fatal("WriteFile to an impossible path did not fail the test")
	}
}
