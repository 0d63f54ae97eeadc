package testnet

import (
	"os"
	"testing"

	"github.com/splitmix/splitmix/internal/proctest"
)

// testBinDir holds the programs, built once by TestMain.
var testBinDir string

func TestMain(m *testing.M) {
	os.Exit(proctest.MainWithBinaries(m, &testBinDir, Build))
}
