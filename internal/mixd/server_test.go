package mixd

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitmix/splitmix/internal/config"
)

func testConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf(`[Server]
  Identifier = "mix.example"
  Addresses = ["tcp://127.0.0.1:29483"]
  DataDir = %q
%s
[PKI]
  [PKI.Nonvoting]
    Address = "127.0.0.1:1"
    PublicKey = "kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="

[Logging]
  Disable = true
`, dir, extra)
	cfg, err := config.LoadBytes(filepath.Join(dir, "node.toml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestNewAsProviderWithoutKeydFailsClearly(t *testing.T) {
	cfg := testConfig(t, "  IsProvider = true\n")
	_, err := New(cfg)
	if err == nil || !strings.Contains(err.Error(), "connecting to keyd at "+cfg.Privsep.KeydSocket) {
		t.Fatalf("New as a Provider without keyd: %v", err)
	}
}

func TestNewWithoutKeydFailsClearly(t *testing.T) {
	cfg := testConfig(t, "")
	_, err := New(cfg)
	if err == nil || !strings.Contains(err.Error(), "connecting to keyd at "+cfg.Privsep.KeydSocket) {
		t.Fatalf("New without keyd: %v", err)
	}
}
