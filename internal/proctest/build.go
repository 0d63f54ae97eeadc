package proctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// buildTimeout bounds the builds of MainWithBinaries.
const buildTimeout = 5 * time.Minute

// ModuleRoot finds the directory of the go.mod at or above the working
// directory (a test runs in its package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Build compiles the programs ./cmd/NAME of this module, one per name,
// into dir/NAME.
func Build(ctx context.Context, dir string, names ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	for _, name := range names {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", name, err, out)
		}
	}
	return nil
}

// MainWithBinaries is the body of a TestMain whose tests run programs:
// it makes a temporary directory, has build fill it (within five
// minutes), sets *binDir to it, runs the tests and removes the directory.
// It returns the exit status for os.Exit, 1 if the build failed:
//
//	func TestMain(m *testing.M) { os.Exit(proctest.MainWithBinaries(m, &binDir, build)) }
func MainWithBinaries(m *testing.M, binDir *string, build func(ctx context.Context, dir string) error) int {
	dir, err := os.MkdirTemp("", "smx-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if err := build(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*binDir = dir
	return m.Run()
}

// Output runs the program at path to completion and returns its standard
// output and error, interleaved. A failure's error holds that output.
func Output(path string, args ...string) (string, error) {
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %q: %v\n%s", filepath.Base(path), args, err, out)
	}
	return string(out), nil
}

// Run runs cmd (from exec.Command; its Stdout and Stderr are Run's) to
// completion, killing it if it runs longer than d, and returns its
// standard output and error and its exit status. The status is -1 if it
// could not start or was killed, the reason then ending stderr.
func Run(cmd *exec.Cmd, d time.Duration) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Start()
	if err == nil {
		timer := time.AfterFunc(d, func() { _ = cmd.Process.Kill() })
		err = cmd.Wait()
		timer.Stop()
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return o.String(), e.String(), 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return o.String(), e.String(), ee.ExitCode()
	default:
		return o.String(), e.String() + err.Error(), -1
	}
}
