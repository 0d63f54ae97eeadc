package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestHarden(t *testing.T) {
	cmd, lines := startChild(t, "harden", nil)
	expectLine(t, lines, "umask=0077 dumpable=0 core=0/0")
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("child exit code %d", code)
	}
}

func TestSignalContext(t *testing.T) {
	cmd, lines := startChild(t, "signals", nil)
	expectLine(t, lines, "ready")

	// HUPs are reported and do not end the process.
	for i := 0; i < 3; i++ {
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		expectLine(t, lines, "hup")
	}
	// The first SIGTERM cancels the context; the process keeps running (its shutdown "hangs").
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expectLine(t, lines, "canceled")
	// The second one ends it at once with status 1.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 1 {
		t.Fatalf("after a second SIGTERM the exit code is %d, want 1", code)
	}
}

func TestSignalContextSIGINT(t *testing.T) {
	cmd, lines := startChild(t, "signals", nil)
	expectLine(t, lines, "ready")
	cmd.Process.Signal(syscall.SIGINT)
	expectLine(t, lines, "canceled")
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code != 1 {
		t.Fatalf("after a second SIGINT the exit code is %d, want 1", code)
	}
}

func TestSignalContextStopIsIdempotent(t *testing.T) {
	ctx, _, stop := SignalContext(t.Context())
	stop()
	stop()
	if ctx.Err() == nil {
		t.Fatal("stop did not cancel the context")
	}
}

// TestHUPReopensLog is the spec's log rotation against a real process: rename the log file, send
// SIGHUP, and new lines appear in a new file at the configured path while the old lines stay in
// the renamed one.
func TestHUPReopensLog(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "daemon.log")
	cmd, lines := startChild(t, "hup-logger", []string{"LOGFILE=" + logFile})
	expectLine(t, lines, "ready")

	rotated := logFile + ".1"
	if err := os.Rename(logFile, rotated); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	poll(t, "a line in the reopened log file", func() bool {
		data, err := os.ReadFile(logFile)
		return err == nil && strings.Contains(string(data), "child: reopened: n=1")
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("child exit code %d", code)
	}

	old, err := os.ReadFile(rotated)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(old), "[NOTICE] child: started") || strings.Contains(string(old), "reopened") {
		t.Errorf("rotated file:\n%s", old)
	}
	if strings.Contains(string(cur), "started") || !strings.Contains(string(cur), "child: stopping") {
		t.Errorf("new file:\n%s", cur)
	}
}
