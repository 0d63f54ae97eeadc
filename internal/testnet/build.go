package testnet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Programs are what Build makes and Start runs, by their cmd/ names.
var Programs = []string{"dirauth", "keyd", "spoold", "mixd", "mixctl", "mixclient"}

// Build compiles Programs from the module this package belongs to (found
// with `go env GOMOD` from the current directory) into binDir, creating it.
// It needs the go command; the build cache makes a second call quick.
func Build(ctx context.Context, binDir string) error {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	args := []string{"build", "-o", abs + string(filepath.Separator)}
	for _, p := range Programs {
		args = append(args, "./cmd/"+p)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testnet: go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// ModuleRoot is the directory of the go.mod that `go env GOMOD` reports from
// the current directory.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("testnet: go env GOMOD: %w (is the go command installed?)", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("testnet: not inside the splitmix module: run from the repository (go env GOMOD is empty)")
	}
	return filepath.Dir(mod), nil
}

// checkPrograms reports a missing program in binDir.
func checkPrograms(binDir string) error {
	for _, p := range Programs {
		if st, err := os.Stat(filepath.Join(binDir, p)); err != nil || st.IsDir() {
			return fmt.Errorf("testnet: %s has no program %s: run Build first (or leave BinDir empty)", binDir, p)
		}
	}
	return nil
}
