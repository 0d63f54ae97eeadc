package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/proctest"
)

// The smoke test runs a Provider as real processes (dirauth, keyd, spoold,
// mixd, all built here) and drives it with mixctl as an operator would.

var binDir string

func TestMain(m *testing.M) {
	os.Exit(proctest.MainWithBinaries(m, &binDir, func(ctx context.Context, dir string) error {
		return proctest.Build(ctx, dir, "dirauth", "keyd", "spoold", "mixd", "mixctl")
	}))
}

// startDaemon starts binDir/name with args, its output in dir/name.log.
func startDaemon(t *testing.T, dir, name string, args ...string) *proctest.Proc {
	t.Helper()
	return proctest.Start(t, name, filepath.Join(binDir, name), filepath.Join(dir, name+".log"), args...)
}

// tool runs a tool to completion (within 30 s) and returns its output and
// exit status.
func tool(t *testing.T, name string, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code := proctest.Run(exec.Command(filepath.Join(binDir, name), args...), 30*time.Second)
	if code == -1 {
		t.Fatalf("%s: %s", name, errOut)
	}
	return out, errOut, code
}

var (
	reAuthKey  = regexp.MustCompile(`PublicKey = "([^"]+)"`)
	reIdentity = regexp.MustCompile(`Server identity public key is: ([0-9A-F]{64})`)
)

// TestProviderManagementSmoke: keyd + spoold + mixd as a Provider, with a
// directory authority; mixctl adds a user (twice: the second is refused),
// STATS shows every section, and SHUTDOWN stops mixd cleanly.
func TestProviderManagementSmoke(t *testing.T) {
	dir := proctest.ShortTempDir(t) // socket paths are bounded
	ports := proctest.FreePorts(t, 2)
	authAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
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
	proctest.WriteFile(t, authCfg, authText)
	out, _, code := tool(t, "dirauth", "-f", authCfg, "-g")
	m := reAuthKey.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("dirauth -g: exit %d\n%s", code, out)
	}

	nodeCfg := filepath.Join(nodeDir, "node.toml")
	proctest.WriteFile(t, nodeCfg, fmt.Sprintf(`[Server]
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
`, ports[1], nodeDir, authAddr, m[1]))
	out, _, code = tool(t, "keyd", "-f", nodeCfg, "-g")
	id := reIdentity.FindStringSubmatch(out)
	if code != 0 || id == nil {
		t.Fatalf("keyd -g: exit %d\n%s", code, out)
	}
	proctest.WriteFile(t, authCfg, authText+fmt.Sprintf("\n[[Providers]]\n  Identifier = \"provider-smoke\"\n  IdentityKey = %q\n", id[1]))

	startDaemon(t, authDir, "dirauth", "-f", authCfg)
	keyd := startDaemon(t, nodeDir, "keyd", "-f", nodeCfg)
	keyd.WaitSocket(t, filepath.Join(nodeDir, "run", "keyd.sock"), 20*time.Second)
	spoold := startDaemon(t, nodeDir, "spoold", "-f", nodeCfg)
	spoold.WaitSocket(t, filepath.Join(nodeDir, "run", "spoold.sock"), 20*time.Second)
	mixd := startDaemon(t, nodeDir, "mixd", "-f", nodeCfg)
	mixd.WaitSocket(t, filepath.Join(nodeDir, "management_sock"), 20*time.Second)

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
	proctest.Eventually(t, 30*time.Second, "mixd to exit after SHUTDOWN", mixd.Exited)
	if err := mixd.Wait(); err != nil {
		t.Fatalf("mixd after SHUTDOWN: %v", err)
	}
	b, _ := os.ReadFile(mixd.LogPath)
	if !strings.Contains(string(b), "SHUTDOWN on the management socket") || !strings.Contains(string(b), "stopped") {
		t.Fatalf("mixd's log does not show the shutdown:\n%s", b)
	}
}
