package keyd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keyd/oracletest"
	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
	"github.com/splitmix/splitmix/ipc/keyproto"
)

// testConfig loads a config for a node whose DataDir
// is a fresh short directory (socket paths must stay under 108 bytes).
func testConfig(t testing.TB) *config.Config {
	t.Helper()
	dir, err := os.MkdirTemp("", "keyd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	text := fmt.Sprintf(`
[Server]
  Identifier = "mix1.example"
  Addresses = ["tcp://127.0.0.1:29483"]
  DataDir = %q
[PKI]
  [PKI.Nonvoting]
    Address = "127.0.0.1:2323"
    PublicKey = "kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="
[Logging]
  Level = "ERROR"
[Privsep]
  EpochPeriod = "1h"
`, dir)
	cfg, err := config.LoadBytes(filepath.Join(dir, "node.toml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startKeyd generates keys, runs keyd in process and returns a client.
func startKeyd(t testing.TB, cfg *config.Config) (*keyproto.Client, func()) {
	t.Helper()
	var out bytes.Buffer
	if err := Generate(cfg, &out); err != nil {
		t.Fatal(err)
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx, nil) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		select {
		case <-ctx.Done():
		default:
			stop()
		}
	})
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	c, err := keyproto.Dial(dctx, cfg.Privsep.KeydSocket, ipctest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, stop
}

func TestConformanceOverSocket(t *testing.T) {
	for _, provider := range []bool{false, true} {
		t.Run(fmt.Sprintf("provider=%v", provider), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Server.IsProvider = provider
			c, _ := startKeyd(t, cfg)
			clock, _ := epochtime.New(cfg.Privsep.EpochPeriod)
			oracletest.Run(t, oracletest.Harness{Oracle: c, Identifier: cfg.Server.Identifier, Provider: provider, Clock: clock})
		})
	}
}

func TestGenerateOutput(t *testing.T) {
	cfg := testConfig(t)
	var out bytes.Buffer
	if err := Generate(cfg, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "Server identifier is: 'mix1.example'" ||
		!strings.HasPrefix(lines[1], "Server identity public key is: ") ||
		!strings.HasPrefix(lines[2], "Server link public key is: ") {
		t.Fatalf("output:\n%s", out.String())
	}
	if err := Generate(cfg, &out); err == nil {
		t.Fatal("second Generate succeeded")
	}
}

func TestNoKeys(t *testing.T) {
	cfg := testConfig(t)
	_, err := New(cfg)
	want := fmt.Sprintf("no keys in %s: run `keyd -f %s -g` first", cfg.Privsep.KeyDir, cfg.File())
	if err == nil || err.Error() != want {
		t.Fatalf("New without keys: %v\nwant %s", err, want)
	}
	if _, err := os.Stat(cfg.Privsep.KeydSocket); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind after failed start: %v", err)
	}
}

func TestCloseRemovesSocketAndWipes(t *testing.T) {
	cfg := testConfig(t)
	c, stop := startKeyd(t, cfg)
	if _, err := c.PublicKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := os.Stat(cfg.Privsep.KeydSocket); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket still present after shutdown: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.PublicKeys(ctx); err == nil {
		t.Fatal("call succeeded after keyd stopped")
	}
}

func TestForeignUIDRefused(t *testing.T) {
	if os.Geteuid() == 65534 {
		t.Skip("running as the uid the test uses as foreign")
	}
	cfg := testConfig(t)
	cfg.Privsep.MixdUser = "65534"
	var out bytes.Buffer
	if err := Generate(cfg, &out); err != nil {
		t.Fatal(err)
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	fi, err := os.Stat(cfg.Privsep.KeydSocket) // bound by New
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %04o with a separate mixd user, want 0660", fi.Mode().Perm())
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	_, err = keyproto.Dial(dctx, cfg.Privsep.KeydSocket, nil)
	if ipc.CodeOf(err) != ipc.CodeDenied {
		t.Fatalf("Dial as a uid other than MixdUser: %v, want CodeDenied", err)
	}
}
