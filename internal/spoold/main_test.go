package spoold

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/ipc/ipctest"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// spooldBin is cmd/spoold, built once by TestMain.
var spooldBin string

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperClient())
	}
	dir, err := os.MkdirTemp("", "spoold-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	spooldBin = filepath.Join(dir, "spoold")
	out, err := exec.Command("go", "build", "-race", "-o", spooldBin, "github.com/splitmix/splitmix/cmd/spoold").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building spoold: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// node is a Provider's data directory and configuration for spoold.
type node struct {
	dir, file, socket string
}

// newNode writes a Provider configuration under a fresh short directory
// (socket paths are limited to 107 bytes). mixdUser "" is spoold's own uid.
func newNode(t *testing.T, mixdUser string) *node {
	t.Helper()
	dir, err := os.MkdirTemp("", "spoold")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	n := &node{dir: dir, file: filepath.Join(dir, "katzenpost.toml"), socket: filepath.Join(dir, "run", "spoold.sock")}
	cfg := fmt.Sprintf(`[Server]
  Identifier = "provider.example"
  Addresses = ["tcp://127.0.0.1:29483"]
  DataDir = %q
  IsProvider = true

[PKI.Nonvoting]
  Address = "127.0.0.1:2323"
  PublicKey = "kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="

[Logging]
  File = %q
  Level = "INFO"

[Privsep]
  MixdUser = %q
`, dir, filepath.Join(dir, "spoold.log"), mixdUser)
	if err := os.WriteFile(n.file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// start runs spoold on n and waits until its socket answers a hello (or
// refuses this process, when refused is expected).
func (n *node) start(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(spooldBin, "-f", n.file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	ipctest.Eventually(t, 20*time.Second, "spoold listening", func() bool {
		select {
		case <-exited:
			t.Fatalf("spoold exited: %s\nlog: %s", stderr.String(), n.log())
		default:
		}
		_, err := os.Stat(n.socket)
		return err == nil
	})
	return cmd
}

func (n *node) log() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "spoold.log"))
	return string(b)
}

// kill SIGKILLs spoold and waits until it is gone.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	_ = cmd.Process.Kill()
	ipctest.Eventually(t, 10*time.Second, "spoold gone", func() bool {
		return cmd.Process.Signal(syscall.Signal(0)) != nil
	})
}

func dial(t testing.TB, path string) *spoolproto.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := spoolproto.Dial(ctx, path, ipctest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
