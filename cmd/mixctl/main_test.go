package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/management/mgmttest"
	"github.com/splitmix/splitmix/internal/proctest"
)

// mixctlBin is the binary under test, built once by TestMain.
var mixctlBin string

func TestMain(m *testing.M) {
	var binDir string
	os.Exit(proctest.MainWithBinaries(m, &binDir, func(ctx context.Context, dir string) error {
		mixctlBin = filepath.Join(dir, "mixctl")
		return proctest.Build(ctx, dir, "mixctl")
	}))
}

// node is an in-process management server on a real socket, with a
// configuration file naming it.
type node struct {
	dir, sock, config string
	backend           *mgmttest.Backend
	srv               *management.Server
}

func startNode(t *testing.T, cfg management.ServerConfig) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{dir: dir, sock: filepath.Join(dir, "management_sock"), config: filepath.Join(dir, "katzenpost.toml"), backend: &mgmttest.Backend{}}
	writeConfig(t, n.config, dir, "")
	cfg.Backend = n.backend
	cfg.Identifier = "mix1.example.net"
	srv, err := management.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.srv = srv
	ln, err := net.Listen("unix", n.sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return n
}

func ownNode(t *testing.T) *node {
	return startNode(t, management.ServerConfig{OwnerUID: uint32(os.Geteuid()), AdminGID: -1})
}

// writeConfig writes a minimal mix configuration with DataDir dir; the
// management socket is the default, DataDir/management_sock.
func writeConfig(t *testing.T, path, dir, management string) {
	t.Helper()
	text := fmt.Sprintf(`[Server]
  Identifier = "mix1.example.net"
  Addresses = ["tcp://127.0.0.1:29483"]
  DataDir = %q

[PKI.Nonvoting]
  Address = "127.0.0.1:2323"
  PublicKey = "kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="
%s`, dir, management)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	stdout, stderr string
	code           int
}

// mixctl runs the binary with args and stdin.
func mixctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mixctlBin, args...)
	cmd.Dir = t.TempDir() // no katzenpost.toml here
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("mixctl %q: %v", args, err)
	}
	return r
}

func linkKeyHex(t *testing.T) string {
	t.Helper()
	k, err := memkey.NewLinkKey(make([]byte, memkey.LinkSeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k.Public().String()
}

func TestSubcommands(t *testing.T) {
	n := ownNode(t)
	link := linkKeyHex(t)
	id := strings.Repeat("ab", 32)
	n.backend.SetIdentity(bytes.Repeat([]byte{0xab}, 32))
	keyFile := filepath.Join(t.TempDir(), "alice.key")
	if err := os.WriteFile(keyFile, []byte("\n"+link+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args   []string
		stdin  string
		stdout string
		call   string
	}{
		{[]string{"user", "add", "alice", link}, "", "user added\n", "AddUser(alice, " + link + ")"},
		{[]string{"user", "add", "alice", "@" + keyFile}, "", "user added\n", "AddUser(alice, " + link + ")"},
		{[]string{"user", "update", "alice", "@-"}, link + "\n", "user updated\n", "UpdateUser(alice, " + link + ")"},
		{[]string{"user", "remove", "alice"}, "", "user removed\n", "RemoveUser(alice)"},
		{[]string{"user", "identity", "set", "alice", id}, "", "identity key set\n", "SetUserIdentity(alice, " + id + ")"},
		{[]string{"user", "identity", "remove", "alice"}, "", "identity key removed\n", "RemoveUserIdentity(alice)"},
		{[]string{"user", "identity", "show", "alice"}, "", id + "\n", "UserIdentity(alice)"},
		{[]string{"rate", "send", "30"}, "", "send rate 30 packets per minute\n", "SetSendRate(30)"},
		{[]string{"rate", "burst", "4"}, "", "send burst 4 packets\n", "SetSendBurst(4)"},
		{[]string{"kaetzchen", "start", "echo"}, "", "kaetzchen echo started\n", "StartKaetzchen(echo)"},
		{[]string{"kaetzchen", "stop", "echo"}, "", "kaetzchen echo stopped\n", "StopKaetzchen(echo)"},
	}
	for _, tc := range tests {
		for _, how := range [][]string{{"-s", n.sock}, {"-f", n.config}} {
			t.Run(strings.Join(append(how[:1:1], tc.args...), " "), func(t *testing.T) {
				before := len(n.backend.Calls())
				r := mixctl(t, tc.stdin, append(how, tc.args...)...)
				if r.code != 0 || r.stdout != tc.stdout || r.stderr != "" {
					t.Fatalf("got exit %d, stdout %q, stderr %q; want 0, %q", r.code, r.stdout, r.stderr, tc.stdout)
				}
				calls := n.backend.Calls()[before:]
				if len(calls) != 1 || calls[0].String() != tc.call {
					t.Fatalf("Backend calls %v, want %s", calls, tc.call)
				}
			})
		}
	}
}

func TestStats(t *testing.T) {
	n := ownNode(t)
	var st management.Stats
	st.Add("epoch").Set("current", "77")
	st.Add("drops").Set("replay", "2")
	n.backend.SetStats(st)
	r := mixctl(t, "", "-s", n.sock, "stats")
	want := "[epoch]\ncurrent 77\n[drops]\nreplay 2\n[management]\naccepted 1\n"
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) || strings.Contains(r.stdout, "end of stats") || strings.Contains(r.stdout, "250") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestShutdown(t *testing.T) {
	n := ownNode(t)
	r := mixctl(t, "", "-s", n.sock, "shutdown")
	if r.code != 0 || r.stdout != "shutting down\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	select {
	case <-n.backend.ShutdownCalled():
	case <-time.After(10 * time.Second):
		t.Fatal("Backend.Shutdown not called")
	}
}

func TestCommandFailures(t *testing.T) {
	n := ownNode(t)
	n.backend.Fail("RemoveUser", errors.New("no such user"))
	n.backend.Fail("StartKaetzchen", fmt.Errorf("mix: %w", management.ErrNotAvailable))
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"user", "remove", "bob"}, "mixctl: user remove: 554 REMOVE_USER failed: no such user\n"},
		{[]string{"kaetzchen", "start", "echo"}, "mixctl: kaetzchen start: 502 START_KAETZCHEN is not available on this node\n"},
		{[]string{"user", "add", "bob", "00ff"}, "mixctl: user add: 501 LINK_KEY: key is neither hex nor base64"},
		{[]string{"rate", "send", "lots"}, `mixctl: rate send: 501 PER_MINUTE: "lots" is not a decimal number` + "\n"},
	}
	for _, tc := range tests {
		r := mixctl(t, "", append([]string{"-s", n.sock}, tc.args...)...)
		if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, tc.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 1 and %q", tc.args, r.code, r.stdout, r.stderr, tc.stderr)
		}
	}
}

func TestRaw(t *testing.T) {
	n := ownNode(t)
	r := mixctl(t, "", "-s", n.sock, "raw", "send_rate 12")
	if r.code != 0 || r.stdout != "250 send rate 12 packets per minute\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = mixctl(t, "", "-s", n.sock, "raw", "HELP")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "214-ADD_USER USER LINK_KEY") || !strings.Contains(r.stdout, "\n214 ") {
		t.Fatalf("HELP: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = mixctl(t, "", "-s", n.sock, "raw", "FROB")
	if r.code != 1 || r.stdout != "500 unknown command; HELP lists the commands\n" {
		t.Fatalf("FROB: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = mixctl(t, "", "-s", n.sock, "raw", "QUIT")
	if r.code != 0 || r.stdout != "221 bye\n" {
		t.Fatalf("QUIT: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, bad := range []string{"STATS\nSHUTDOWN", "  "} {
		r = mixctl(t, "", "-s", n.sock, "raw", bad)
		if r.code != 2 {
			t.Fatalf("%q: exit %d, stderr %q", bad, r.code, r.stderr)
		}
	}
	for _, c := range n.backend.Calls() {
		if c.Method == "Shutdown" {
			t.Fatal("a two-line raw command reached the server")
		}
	}
}

func TestHelp(t *testing.T) {
	helps := [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "user"}, {"user", "--help"}, {"user", "identity", "-h"}, {"rate", "--help"}, {"kaetzchen", "--help"}}
	for _, words := range []string{"user add", "user update", "user remove", "user identity set", "user identity remove",
		"user identity show", "rate send", "rate burst", "kaetzchen start", "kaetzchen stop", "stats", "shutdown", "raw"} {
		helps = append(helps, append(strings.Fields(words), "--help"), append([]string{"help"}, strings.Fields(words)...))
	}
	for _, args := range helps {
		r := mixctl(t, "", args...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "mixctl") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	r := mixctl(t, "", "user", "add", "--help")
	if !strings.HasPrefix(r.stdout, "usage: mixctl [-f FILE | -s SOCKET] user add USER KEY\n") || !strings.Contains(r.stdout, "@FILE") {
		t.Errorf("user add --help: %q", r.stdout)
	}
	r = mixctl(t, "", "help")
	for _, want := range []string{"user identity show USER", "raw LINE", "-s SOCKET", "exit status"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	n := ownNode(t)
	for _, args := range [][]string{
		{},
		{"-s", n.sock},
		{"-s", n.sock, "frobnicate"},
		{"-s", n.sock, "user"},
		{"-s", n.sock, "user", "identity"},
		{"-s", n.sock, "user", "add", "alice"},
		{"-s", n.sock, "user", "add", "alice", "k", "extra"},
		{"-s", n.sock, "user", "remove", "al ice"},
		{"-s", n.sock, "user", "add", "alice", "@"},
		{"-s", n.sock, "user", "add", "alice", "@/nonexistent/key"},
		{"-s", n.sock, "-f", n.config, "stats"},
		{"-x", "stats"},
		{"-t", "0s", "-s", n.sock, "stats"},
		{"help", "frobnicate"},
	} {
		r := mixctl(t, "", args...)
		if r.code != 2 || r.stdout != "" || !strings.HasPrefix(r.stderr, "mixctl: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2", args, r.code, r.stdout, r.stderr)
		}
	}
	if calls := n.backend.Calls(); len(calls) != 0 {
		t.Fatalf("usage errors reached the Backend: %v", calls)
	}
}

func TestCannotConnect(t *testing.T) {
	dir := t.TempDir()
	disabled := filepath.Join(dir, "disabled.toml")
	writeConfig(t, disabled, dir, "\n[Management]\n  Disable = true\n")
	refusing := startNode(t, management.ServerConfig{OwnerUID: uint32(os.Geteuid()) + 4321, AdminGID: -1})
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"-s", filepath.Join(dir, "none"), "stats"}, "mixctl: cannot connect to the management socket"},
		{[]string{"stats"}, "mixctl: cannot find the management socket: open katzenpost.toml"},
		{[]string{"-f", filepath.Join(dir, "missing.toml"), "stats"}, "mixctl: cannot find the management socket"},
		{[]string{"-f", disabled, "stats"}, "mixctl: the management socket is disabled in"},
		{[]string{"-s", refusing.sock, "stats"}, "refused the session: 530 access denied"},
		{[]string{"-f", refusing.config, "user", "remove", "x"}, "refused the session: 530 access denied"},
	}
	for _, tc := range tests {
		r := mixctl(t, "", tc.args...)
		if r.code != 3 || r.stdout != "" || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 3 and %q", tc.args, r.code, r.stdout, r.stderr, tc.stderr)
		}
	}
	if calls := refusing.backend.Calls(); len(calls) != 0 {
		t.Fatalf("a refused caller reached the Backend: %v", calls)
	}
}

func TestConfigManagementPath(t *testing.T) {
	n := ownNode(t)
	// A relative Management.Path is under DataDir. The Backend has no
	// identity key to show: a failure, through the socket found via -f.
	other := filepath.Join(t.TempDir(), "node.toml")
	writeConfig(t, other, n.dir, "\n[Management]\n  Path = \"management_sock\"\n  Enable = true\n")
	r := mixctl(t, "", "-f", other, "user", "identity", "show", "carol")
	if r.code != 1 || !strings.Contains(r.stderr, "554 USER_IDENTITY failed") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if calls := n.backend.Calls(); len(calls) != 1 || calls[0].String() != "UserIdentity(carol)" {
		t.Fatalf("calls %v", calls)
	}
}
