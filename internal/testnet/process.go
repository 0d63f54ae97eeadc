package testnet

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one daemon the network started. Its standard output and error go
// to its log file; its pid to a pid file, so that a later run can find it
// if this one is killed before it could stop it.
type proc struct {
	name    string // "mix-1/mixd", "dirauth"
	cmd     *exec.Cmd
	logPath string
	pidPath string
	done    chan struct{}
	err     error // valid after done

	mu       sync.Mutex
	stopping bool // we asked it to exit
}

// startProc runs bin with args, its output appended to logPath.
func startProc(name, bin, logPath, pidFile string, args ...string) (*proc, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("testnet: %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: a Ctrl-C in the terminal reaches the
		// testnet only, which stops the daemons in order.
		Setpgid: true,
		// If the testnet dies without stopping it, the daemon is told.
		Pdeathsig: syscall.SIGTERM,
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("testnet: starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, pidPath: pidFile, done: make(chan struct{})}
	_ = os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600)
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// unexpected reports whether it exited without being asked.
func (p *proc) unexpected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.stopping && p.exited()
}

// exitError describes an exit with the end of the log.
func (p *proc) exitError() error {
	return fmt.Errorf("testnet: %s exited (%v); last lines of %s:\n%s", p.name, p.err, p.logPath, tailFile(p.logPath, 20))
}

// stop sends SIGTERM and waits up to grace, then SIGKILLs. It reports
// whether the process had to be killed.
func (p *proc) stop(grace time.Duration) (killed bool) {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			killed = true
		}
	}
	_ = os.Remove(p.pidPath)
	return killed
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// runTool runs bin to completion (bounded by ctx) and returns its standard
// output; an error carries its standard error.
func runTool(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("testnet: %s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// waitFor polls cond every 50 ms until it returns true or an error, a
// watched process exits, or ctx ends.
func waitFor(ctx context.Context, what string, watch []*proc, cond func(context.Context) (bool, error)) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, p := range watch {
			if p != nil && p.exited() {
				return p.exitError()
			}
		}
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: timed out waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// unixAnswers reports whether something accepts connections at path (a
// stale socket file left by a killed process does not).
func unixAnswers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// tcpAnswers reports whether something accepts TCP connections at addr.
func tcpAnswers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// checkPortsFree tries to listen on every port and names those in use.
func checkPortsFree(ports map[int]string) error {
	var busy []string
	for port, owner := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			busy = append(busy, fmt.Sprintf("%d (%s)", port, owner))
			continue
		}
		ln.Close()
	}
	if len(busy) > 0 {
		return fmt.Errorf("testnet: TCP port(s) in use on 127.0.0.1: %s; stop what uses them or choose another -base-port", strings.Join(busy, ", "))
	}
	return nil
}

// staleProcess is a daemon left running by a testnet that was killed.
type staleProcess struct {
	pid     int
	pidFile string
}

// findStale reads the pid files under dir and returns the processes that
// still run one of our programs on one of dir's configuration files: a pid
// reused by something else is left alone.
func findStale(dir string) []staleProcess {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.pid"))
	var out []staleProcess
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			_ = os.Remove(f)
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir+string(filepath.Separator))) {
			_ = os.Remove(f)
			continue
		}
		out = append(out, staleProcess{pid: pid, pidFile: f})
	}
	return out
}

// stopStale sends SIGTERM to every stale process, waits up to grace for
// them to go, and SIGKILLs the rest.
func stopStale(stale []staleProcess, grace time.Duration) error {
	for _, s := range stale {
		_ = syscall.Kill(s.pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	killed := false
	for _, s := range stale {
		for alive(s.pid) {
			if time.Now().After(deadline) {
				if !killed {
					for _, k := range stale {
						_ = syscall.Kill(k.pid, syscall.SIGKILL)
					}
					killed = true
					deadline = time.Now().Add(5 * time.Second)
					continue
				}
				return fmt.Errorf("testnet: process %d (from %s) survives SIGKILL", s.pid, s.pidFile)
			}
			time.Sleep(20 * time.Millisecond) // polling another process's exit
		}
		_ = os.Remove(s.pidFile)
	}
	return nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] != 'Z'
}

// kill sends SIGKILL and waits for the exit.
func (p *proc) kill() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
	_ = os.Remove(p.pidPath)
}

// FreeBasePort finds count consecutive free TCP ports on 127.0.0.1 below
// the usual ephemeral range (20000 to 32000) and returns the first: a
// -base-port for tests and benchmarks that run beside other networks.
// Something may still take a port before the network binds it.
func FreeBasePort(count int) (int, error) {
	for range 200 {
		base := 20000 + rand.IntN(12000-count)
		var lns []net.Listener
		ok := true
		for p := base; p < base+count; p++ {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, ln)
		}
		for _, ln := range lns {
			ln.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("testnet: no %d consecutive free ports between 20000 and 32000", count)
}
