package main

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds mixclient once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mixclient-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mixclient")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func runBin(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestGenkey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "alice.key")
	out, errOut, code := runBin(t, "genkey", file)
	if code != 0 {
		t.Fatalf("genkey: exit %d: %s", code, errOut)
	}
	if _, err := keys.ParseLinkPublicKeyText(strings.TrimSpace(out)); err != nil {
		t.Fatalf("printed key %q does not parse: %v", out, err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	lk, err := loadKey(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); !strings.EqualFold(got, strings.TrimSpace(hex.EncodeToString(lk.Public().Bytes()))) {
		t.Fatal("printed key is not the public half of the saved seed")
	}
	before, _ := os.ReadFile(file)
	if _, _, code := runBin(t, "genkey", file); code == 0 {
		t.Fatal("genkey overwrote an existing file")
	}
	after, _ := os.ReadFile(file)
	if string(before) != string(after) {
		t.Fatal("key file changed")
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadKey(file); err == nil {
		t.Fatal("world-readable key file accepted")
	}
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "no command"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"send", "-h"}, 0, "user@provider TEXT"},
		{[]string{"ping", "-h"}, 0, "+endpoint"},
		{[]string{"recv", "-h"}, 0, "acknowledges"},
		{[]string{"send", "bob@alpha", "hi"}, 2, "missing -authority"},
		{[]string{"send", "Bob@alpha", "hi"}, 2, "invalid name"},
		{[]string{"ping", "alpha", "echo"}, 2, "endpoint"},
		{[]string{"-authority", "127.0.0.1:1", "-authority-key", "zz", "-provider", "p", "-user", "u", "-key", "/nonexistent", "recv"}, 2, "-authority-key"},
	} {
		_, errOut, code := runBin(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

func TestUnreachableAuthority(t *testing.T) {
	file := filepath.Join(t.TempDir(), "k")
	if _, e, code := runBin(t, "genkey", file); code != 0 {
		t.Fatal(e)
	}
	key := strings.Repeat("ab", 32)
	_, errOut, code := runBin(t, "-authority", "127.0.0.1:1", "-authority-key", key, "-provider", "p", "-user", "u", "-key", file, "-timeout", "5s", "recv")
	if code != 1 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
