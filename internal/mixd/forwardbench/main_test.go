package forwardbench

import (
	"os"
	"testing"
)

// TestMain runs the helper process when rigEnv is set, and otherwise the
// tests and benchmarks, then stops the network the benchmark started.
func TestMain(m *testing.M) {
	if os.Getenv(rigEnv) != "" {
		os.Exit(rigMain(os.Stdin, os.Stdout))
	}
	code := m.Run()
	shared.mu.Lock()
	if shared.n != nil {
		shared.n.close()
	}
	shared.mu.Unlock()
	os.Exit(code)
}
