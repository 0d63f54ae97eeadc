package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/ipc/ipctest"
	"github.com/splitmix/splitmix/ipc/keyproto"

	"github.com/splitmix/splitmix/internal/proctest"
)

// keydBin is the keyd binary under test, built once by TestMain.
var keydBin string

// childDialEnv makes the test binary a keyd client (see childDial) instead
// of running tests: the refused-caller test runs it under another uid.
const childDialEnv = "KEYD_TEST_CHILD_DIAL"

func TestMain(m *testing.M) {
	if path := os.Getenv(childDialEnv); path != "" {
		os.Exit(childDial(path))
	}
	dir, err := os.MkdirTemp("", "keydbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	keydBin = filepath.Join(dir, "keyd")
	args := []string{"build", "-o", keydBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building keyd: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// childDial calls GetPublicKeys on keyd's socket and prints the identity
// key: the allowed caller of TestRefusedCaller.
func childDial(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := keyproto.Dial(ctx, path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	pk, err := c.PublicKeys(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(pk.Identity)
	return 0
}

// node is one node's configuration in a fresh directory.
type node struct {
	dir    string // DataDir
	cfg    string // config file
	keyDir string
	socket string
	period time.Duration
}

// newNode writes a config; extra is appended to the [Privsep] section
// ("MixdUser = ...") and debug becomes the [Debug] section.
func newNode(t *testing.T, period string, privsep, debug string) *node {
	t.Helper()
	dir, err := os.MkdirTemp("", "keyd") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d, err := time.ParseDuration(period)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{dir: dir, cfg: filepath.Join(dir, "node.toml"), keyDir: filepath.Join(dir, "keyd"),
		socket: filepath.Join(dir, "run", "keyd.sock"), period: d}
	text := fmt.Sprintf(`[Server]
  Identifier = "example.com"
  Addresses = ["tcp://127.0.0.1:29483"]
  DataDir = %q
[PKI]
  [PKI.Nonvoting]
    Address = "127.0.0.1:2323"
    PublicKey = "kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="
[Logging]
  Level = "DEBUG"
[Privsep]
  EpochPeriod = %q
%s
[Debug]
%s
`, dir, period, privsep, debug)
	if err := os.WriteFile(n.cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *node) clock() epochtime.Clock { return epochtime.Clock{Period: n.period} }

// result is a finished keyd run.
type result struct {
	stdout, stderr string
	code           int
}

// run runs keyd to completion (for -g and failing starts).
func (n *node) run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, keydBin, append([]string{"-f", n.cfg}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running keyd: %v", err)
	}
	return r
}

// generate runs `keyd -g` and requires it to succeed.
func (n *node) generate(t *testing.T) result {
	t.Helper()
	r := n.run(t, "-g")
	if r.code != 0 {
		t.Fatalf("keyd -g: status %d\n%s", r.code, r.stderr)
	}
	return r
}

// proc is a keyd serving in the background.
type proc struct {
	cmd    *exec.Cmd
	stderr *proctest.Buffer
	done   chan struct{}
	err    error
}

// start starts keyd and waits until it answers on its socket.
func (n *node) start(t *testing.T) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(keydBin, "-f", n.cfg), stderr: &proctest.Buffer{}, done: make(chan struct{})}
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	ipctest.Eventually(t, 30*time.Second, "keyd serving "+n.socket, func() bool {
		select {
		case <-p.done:
			t.Fatalf("keyd exited during start-up: %v\n%s", p.err, p.stderr)
		default:
		}
		// ListenUnix renames the socket into place only once it has its
		// final mode, and keyd binds it after loading its keys.
		fi, err := os.Stat(n.socket)
		return err == nil && fi.Mode()&os.ModeSocket != 0
	})
	return p
}

// stop sends SIGTERM and requires a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("keyd did not stop on SIGTERM\n%s", p.stderr)
	}
	if p.err != nil {
		t.Fatalf("keyd exited with %v\n%s", p.err, p.stderr)
	}
}

func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func dial(t *testing.T, socket string) *keyproto.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := keyproto.Dial(ctx, socket, ipctest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
