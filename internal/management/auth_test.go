package management_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/management"
)

// childDialEnv makes the test binary act as a management client process:
// it dials the socket named by the variable and prints "admitted" or the
// refusal's code, so that a test can connect as another uid.
const childDialEnv = "MANAGEMENT_TEST_CHILD_DIAL"

func TestMain(m *testing.M) {
	if path := os.Getenv(childDialEnv); path != "" {
		os.Exit(childDial(path))
	}
	os.Exit(m.Run())
}

func childDial(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := management.Dial(ctx, path)
	var re *management.ReplyError
	switch {
	case errors.As(err, &re):
		fmt.Println(re.Reply.Code)
		return 0
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	fmt.Println("admitted")
	return 0
}

// warnings records WARNING lines.
type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) Warning(msg string, kv ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprint(append([]any{msg}, kv...)...))
}
func (w *warnings) Info(string, ...any)  {}
func (w *warnings) Debug(string, ...any) {}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

// foreignIDs returns a uid and a gid this process does not have.
func foreignIDs(t *testing.T) (uid uint32, gid int) {
	t.Helper()
	groups, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	gid = 54321
	for os.Getegid() == gid || contains(groups, gid) {
		gid++
	}
	return uint32(os.Geteuid()) + 12345, gid
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestRefusedCaller(t *testing.T) {
	uid, gid := foreignIDs(t)
	log := &warnings{}
	refusing := startServer(t, management.ServerConfig{OwnerUID: uid, AdminGID: gid, Log: log})
	serving := ownServer(t)

	c := dialRaw(t, refusing.path)
	got := c.line()
	want := fmt.Sprintf("530 access denied: uid %d is not the owner (uid %d) and not in the admin group (gid %d)", os.Geteuid(), uid, gid)
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	c.expectClosed()
	if n := refusing.srv.Counters().Refused; n != 1 {
		t.Fatalf("refused counter %d", n)
	}
	if n := refusing.srv.Counters().Accepted; n != 0 {
		t.Fatalf("accepted counter %d", n)
	}
	w := log.all()
	if len(w) != 1 || !strings.Contains(w[0], "refused caller") {
		t.Fatalf("warnings %q", w)
	}
	if refusing.backend.Calls() != nil {
		t.Fatalf("Backend called: %v", refusing.backend.Calls())
	}

	// The client reports the refusal as a ReplyError.
	_, err := management.Dial(context.Background(), refusing.path)
	var re *management.ReplyError
	if !errors.As(err, &re) || re.Reply.Code != management.CodeDenied {
		t.Fatalf("Dial: %v", err)
	}

	// Without an admin group the reason says so.
	noGroup := startServer(t, management.ServerConfig{OwnerUID: uid, AdminGID: -1})
	c = dialRaw(t, noGroup.path)
	if got := c.line(); !strings.HasSuffix(got, "no admin group is configured") {
		t.Fatalf("no group: %q", got)
	}

	// Meanwhile an allowing server serves.
	s := session(t, serving.path)
	if rep := do(t, s, "SEND_RATE 3"); rep.Code != 250 {
		t.Fatalf("allowed server: %v", rep)
	}
	// And the refusing one keeps serving others (here: refusing them).
	c = dialRaw(t, refusing.path)
	if got := c.line(); !strings.HasPrefix(got, "530 ") {
		t.Fatalf("second caller: %q", got)
	}
	if n := refusing.srv.Counters().Refused; n != 3 {
		t.Fatalf("refused counter %d, want 3", n)
	}
}

func TestAdminGroupByEffectiveGID(t *testing.T) {
	uid, _ := foreignIDs(t)
	ts := startServer(t, management.ServerConfig{OwnerUID: uid, AdminGID: os.Getegid()})
	s := session(t, ts.path)
	if rep := do(t, s, "STATS"); rep.Code != 250 {
		t.Fatalf("got %v", rep)
	}
}

// TestAdminGroupBySupplementaryGroup connects from a child process whose
// only tie to the admin group is a supplementary group, which only
// SO_PEERGROUPS reports; and from one without it.
func TestAdminGroupBySupplementaryGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a child process under another uid and groups")
	}
	const nobody, adminGID = 65534, 4242
	// The child must reach the socket and its own binary: a world-
	// readable directory holding both, and a socket everyone may
	// connect to, so that only the credential check decides.
	dir, err := os.MkdirTemp("", "mgmt-peergroups-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "child.test")
	copyFile(t, os.Args[0], bin)

	ts := startServer(t, management.ServerConfig{OwnerUID: 0, AdminGID: adminGID})
	sock := filepath.Join(dir, "management_sock")
	if err := os.Symlink(ts.path, sock); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(ts.path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(filepath.Dir(ts.path)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ts.path, 0o666); err != nil {
		t.Fatal(err)
	}

	run := func(groups []uint32) string {
		t.Helper()
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), childDialEnv+"="+sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: groups}}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("child %v: %v; stderr: %s", groups, err, errb.String())
		}
		return strings.TrimSpace(out.String())
	}
	if got := run([]uint32{100, adminGID}); got != "admitted" {
		t.Fatalf("with the admin group as a supplementary group: %q", got)
	}
	if got := run([]uint32{100}); got != "530" {
		t.Fatalf("without the admin group: %q", got)
	}
	if got := ts.srv.Counters(); got.Accepted != 1 || got.Refused != 1 {
		t.Fatalf("counters %+v", got)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
