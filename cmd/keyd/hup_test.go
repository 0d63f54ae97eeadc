package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/ipc/ipctest"
)

// TestSIGHUPReopensLog: after the log file is renamed, SIGHUP makes keyd
// write to a new file at the configured path (log rotation).
func TestSIGHUPReopensLog(t *testing.T) {
	n := newNode(t, "1h", "", "")
	logPath := filepath.Join(n.dir, "keyd.log")
	text, err := os.ReadFile(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	text = []byte(strings.Replace(string(text), `Level = "DEBUG"`, "Level = \"DEBUG\"\n  File = \""+logPath+"\"", 1))
	if err := os.WriteFile(n.cfg, text, 0o600); err != nil {
		t.Fatal(err)
	}
	n.generate(t)
	p := n.start(t)
	rotated := logPath + ".1"
	if err := os.Rename(logPath, rotated); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ipctest.Eventually(t, 10*time.Second, "new log file with the reopen notice", func() bool {
		b, err := os.ReadFile(logPath)
		return err == nil && strings.Contains(string(b), "log file reopened")
	})
	old, err := os.ReadFile(rotated)
	if err != nil || !strings.Contains(string(old), "serving") {
		t.Fatalf("rotated file lost the earlier lines: %v", err)
	}
	if !p.running() {
		t.Fatal("keyd exited on SIGHUP")
	}
	p.stop(t)
}
