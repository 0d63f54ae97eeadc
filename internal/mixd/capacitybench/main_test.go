package capacitybench

import (
	"os"
	"testing"
)

// TestMain removes the daemons built for the benchmark, if any were.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}
