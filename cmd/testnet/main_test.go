package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/proctest"
	"github.com/splitmix/splitmix/internal/testnet"
)

// binDir holds testnet and the programs it runs, built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(proctest.MainWithBinaries(m, &binDir, func(ctx context.Context, dir string) error {
		if err := testnet.Build(ctx, dir); err != nil {
			return err
		}
		return proctest.Build(ctx, dir, "testnet")
	}))
}

// startTestnet runs the command on a small network in a fresh short
// directory.
func startTestnet(t *testing.T, extra ...string) (*exec.Cmd, *proctest.Buffer, string, chan error) {
	t.Helper()
	net := filepath.Join(proctest.ShortTempDir(t), "net")
	base, err := testnet.FreeBasePort(6)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-dir", net, "-bin", binDir, "-epoch", "15s", "-mixes-per-layer", "1", "-users", "1",
		"-summary", "1s", "-ping", "1s", "-rate", "4", "-base-port", strconv.Itoa(base)}, extra...)
	cmd := exec.Command(filepath.Join(binDir, "testnet"), args...)
	out := &proctest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("testnet's output:\n%s", out.String())
		}
	})
	return cmd, out, net, done
}

// daemonsIn returns the pids of the processes whose command line names a
// file under dir.
func daemonsIn(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(dir+"/")) && !bytes.HasPrefix(b, []byte(filepath.Join(binDir, "testnet"))) {
			out = append(out, pid)
		}
	}
	return out
}

func waitExit(t *testing.T, done chan error, d time.Duration) int {
	t.Helper()
	select {
	case err := <-done:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatal(err)
	case <-time.After(d):
		t.Fatalf("testnet did not exit within %v", d)
	}
	return -1
}

func waitOutput(t *testing.T, out *proctest.Buffer, done chan error, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-done:
			t.Fatalf("testnet exited (%v) before printing %q", err, want)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in testnet's output within %v", want, d)
		}
		time.Sleep(50 * time.Millisecond) // polling the output, not synchronising
	}
}

func TestSIGINTStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of processes")
	}
	cmd, out, dir, done := startTestnet(t, "-duration", "10m")
	waitOutput(t, out, done, "rtt p50", 90*time.Second)
	pids := daemonsIn(dir)
	if len(pids) != 1+5+2+5 {
		t.Fatalf("%d daemons running under %s, want 13", len(pids), dir)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, done, 60*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGINT, want 0", code)
	}
	for _, pid := range pids {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
			if b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); !bytes.Contains(b, []byte(") Z")) {
				t.Fatalf("daemon %d still runs after testnet exited", pid)
			}
		}
	}
	text := out.String()
	for _, want := range []string{"=== final summary", "everything is in " + dir, "messages: sent"} {
		if !strings.Contains(text, want) {
			t.Fatalf("output lacks %q", want)
		}
	}
	if _, err := testnet.LoadManifest(dir); err != nil {
		t.Fatalf("the manifest did not survive the stop: %v", err)
	}
}

func TestDurationEndsTheRunAndKeepFalseRemoves(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of processes")
	}
	_, out, dir, done := startTestnet(t, "-duration", "6s", "-keep=false")
	if code := waitExit(t, done, 2*time.Minute); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	text := out.String()
	for _, want := range []string{"node  layer  rx/s", "-duration 6s is over", "=== final summary", "removed " + dir} {
		if !strings.Contains(text, want) {
			t.Fatalf("output lacks %q", want)
		}
	}
	if left := daemonsIn(dir); len(left) != 0 {
		t.Fatalf("daemons %v left running", left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("-keep=false left %s: %v", dir, err)
	}
}

func TestBadCommandLine(t *testing.T) {
	for _, args := range [][]string{{"-users", "0"}, {"-summary", "0s"}, {"extra"}, {"-rate", "-1"}} {
		if code := run(args, io.Discard, io.Discard); code != 2 {
			t.Errorf("run(%v) = %d, want 2", args, code)
		}
	}
	if code := run([]string{"-h"}, io.Discard, io.Discard); code != 0 {
		t.Errorf("-h: %d, want 0", code)
	}
}

func TestStartFailureNamesTheProblem(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"-dir", dir, "-bin", binDir}, io.Discard, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "not a testnet's directory") {
		t.Fatalf("stderr %q does not say why", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "precious")); err != nil {
		t.Fatal("a foreign file was touched")
	}
}
