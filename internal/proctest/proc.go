package proctest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// StopTimeout is how long the cleanup of Start gives a process between
// SIGTERM and SIGKILL.
const StopTimeout = 10 * time.Second

// tailOnExit is how many lines of a process's log WaitSocket shows when
// the process ended before its socket answered.
const tailOnExit = 20

// tailOnFailure is how many lines of a process's log the cleanup of Start
// shows when the test failed.
const tailOnFailure = 40

// Proc is one running program, started by Start or Launch.
type Proc struct {
	Name    string    // for messages: "keyd", "provider/mixd"
	LogPath string    // the file holding its standard output and error
	Cmd     *exec.Cmd // Cmd.Process is set
	done    chan struct{}
	err     error // cmd.Wait's, once done is closed
}

// Launch starts the program at path with args, its standard output and
// error appended to logPath. The program gets SIGKILL if the test binary
// dies, so that a crash leaves no daemon behind; otherwise the caller
// stops it (Stop or Kill). Start is Launch with the stop as a test's
// cleanup.
func Launch(name, path, logPath string, args ...string) (*Proc, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Start is Launch for one test: a failure to start fails tb, and when tb
// ends the process is stopped (Stop(StopTimeout)) and, if tb failed, the
// end of its log is logged.
func Start(tb testing.TB, name, path, logPath string, args ...string) *Proc {
	tb.Helper()
	p, err := Launch(name, path, logPath, args...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.Stop(StopTimeout)
		if tb.Failed() {
			tb.Logf("---- end of the log of %s ----\n%s", name, Tail(logPath, tailOnFailure))
		}
	})
	return p
}

// Pid is the process's id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to end and returns how it ended (nil for
// exit status 0, an *exec.ExitError otherwise).
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Stop ends the process: SIGTERM, then SIGKILL if it is still there after
// d. It returns once the process has ended; on an ended one it does
// nothing.
func (p *Proc) Stop(d time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.Kill()
	}
}

// Kill sends SIGKILL and waits for the process to end.
func (p *Proc) Kill() {
	if !p.Exited() {
		_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// WaitSocket waits up to d until something accepts connections on the UNIX
// socket at path (a stale file left by a killed process does not count),
// as the process's readiness; it fails tb if d passes first, and at once,
// with the end of the log, if the process ends.
func (p *Proc) WaitSocket(tb testing.TB, path string, d time.Duration) {
	tb.Helper()
	Eventually(tb, d, p.Name+"'s socket "+path, func() bool {
		if p.Exited() {
			tb.Fatalf("%s exited: %v\n%s", p.Name, p.Wait(), Tail(p.LogPath, tailOnExit))
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}
