package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// The smoke test runs a Provider as real processes (dirauth, keyd, spoold,
// mixd, all built here) and drives it with mixctl as an operator would.

var binDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mixd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	for _, name := range []string{"dirauth", "keyd", "spoold", "mixd", "mixctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", name, err, out)
			return 1
		}
	}
	return m.Run()
}

// daemonProc is a started daemon whose output goes to a log file.
type daemonProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startDaemon(t *testing.T, dir, name string, args ...string) *daemonProc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	p := &daemonProc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("---- %s ----\n%s", name, b)
		}
	})
	return p
}

func (p *daemonProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, not synchronising
	}
}

// waitSocket waits until p answers on the UNIX socket path.
func waitSocket(t *testing.T, p *daemonProc, path string) {
	t.Helper()
	waitFor(t, 20*time.Second, p.name+"'s socket", func() bool {
		if p.exited() {
			t.Fatalf("%s exited: %v", p.name, p.err)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// tool runs a tool to completion (bounded) and returns its output and exit
// status.
func tool(t *testing.T, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s: %v", name, err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var (
	reAuthKey  = regexp.MustCompile(`PublicKey = "([^"]+)"`)
	reIdentity = regexp.MustCompile(`Server identity public key is: ([0-9A-F]{64})`)
)

// TestProviderManagementSmoke: keyd + spoold + mixd as a Provider, with a
// directory authority; mixctl adds a user (twice: the second is refused),
// STATS shows every section, and SHUTDOWN stops mixd cleanly.
func TestProviderManagementSmoke(t *testing.T) {
	dir, err := os.MkdirTemp("", "pmx-") // short: socket paths are bounded
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	authAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	authDir := filepath.Join(dir, "auth")
	nodeDir := filepath.Join(dir, "node")
	for _, d := range []string{authDir, nodeDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	authCfg := filepath.Join(authDir, "dirauth.toml")
	authText := fmt.Sprintf(`[Authority]
  Addresses = ["tcp://%s"]
  DataDir = %q
  Layers = 1
  EpochPeriod = "20s"

[Logging]
  Level = "INFO"
`, authAddr, authDir)
	writeConfig(t, authCfg, authText)
	out, _, code := tool(t, "dirauth", "-f", authCfg, "-g")
	m := reAuthKey.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("dirauth -g: exit %d\n%s", code, out)
	}

	nodeCfg := filepath.Join(nodeDir, "node.toml")
	writeConfig(t, nodeCfg, fmt.Sprintf(`[Server]
  Identifier = "provider-smoke"
  Addresses = ["tcp://127.0.0.1:%d"]
  DataDir = %q
  IsProvider = true

[PKI]
  [PKI.Nonvoting]
    Address = %q
    PublicKey = %q

[Logging]
  Level = "DEBUG"

[Debug]
  ConnectTimeout = 2000
  HandshakeTimeout = 5000

[Privsep]
  EpochPeriod = "20s"

[Provider]
  [[Provider.Kaetzchen]]
    Capability = "echo"
    Endpoint = "+echo"
`, freePort(t), nodeDir, authAddr, m[1]))
	out, _, code = tool(t, "keyd", "-f", nodeCfg, "-g")
	id := reIdentity.FindStringSubmatch(out)
	if code != 0 || id == nil {
		t.Fatalf("keyd -g: exit %d\n%s", code, out)
	}
	writeConfig(t, authCfg, authText+fmt.Sprintf("\n[[Providers]]\n  Identifier = \"provider-smoke\"\n  IdentityKey = %q\n", id[1]))

	startDaemon(t, authDir, "dirauth", "-f", authCfg)
	keyd := startDaemon(t, nodeDir, "keyd", "-f", nodeCfg)
	waitSocket(t, keyd, filepath.Join(nodeDir, "run", "keyd.sock"))
	spoold := startDaemon(t, nodeDir, "spoold", "-f", nodeCfg)
	waitSocket(t, spoold, filepath.Join(nodeDir, "run", "spoold.sock"))
	mixd := startDaemon(t, nodeDir, "mixd", "-f", nodeCfg)
	waitSocket(t, mixd, filepath.Join(nodeDir, "management_sock"))

	key, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	keyHex := hex.EncodeToString(key.Public().Bytes())
	if out, errOut, code := tool(t, "mixctl", "-f", nodeCfg, "user", "add", "alice", keyHex); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := tool(t, "mixctl", "-f", nodeCfg, "user", "add", "alice", keyHex); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("user add twice: exit %d, %q", code, errOut)
	}
	// SEND_RATE reaches the Provider only once a document started it.
	if _, errOut, code := tool(t, "mixctl", "-f", nodeCfg, "rate", "send", "60"); code != 1 || !strings.Contains(errOut, "not running yet") {
		t.Fatalf("rate send before the Provider runs: exit %d, %q", code, errOut)
	}

	stats, errOut, code := tool(t, "mixctl", "-f", nodeCfg, "stats")
	if code != 0 {
		t.Fatalf("stats: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"[drops]", "[queues]", "[links]", "[epoch]", "[replay]", "[provider]", "[management]",
		"\nreceived 0\n", "\nclient_terminal 0\n", "\nrunning false\n"} {
		if !strings.Contains(stats, want) {
			t.Errorf("stats lacks %q:\n%s", want, stats)
		}
	}

	if out, errOut, code := tool(t, "mixctl", "-f", nodeCfg, "shutdown"); code != 0 {
		t.Fatalf("shutdown: exit %d\n%s%s", code, out, errOut)
	}
	select {
	case <-mixd.done:
		if mixd.err != nil {
			t.Fatalf("mixd after SHUTDOWN: %v", mixd.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("mixd did not exit after SHUTDOWN")
	}
	b, _ := os.ReadFile(mixd.log)
	if !strings.Contains(string(b), "SHUTDOWN on the management socket") || !strings.Contains(string(b), "stopped") {
		t.Fatalf("mixd's log does not show the shutdown:\n%s", b)
	}
}

func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
