package spoold

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/spoold/boltstore"
	"github.com/splitmix/splitmix/internal/spoold/storetest"
	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// TestConformanceOverSocket runs the Store suite against the IPC client
// served by a real spoold process, with spoold's default limits.
func TestConformanceOverSocket(t *testing.T) {
	n := newNode(t, "")
	n.start(t)
	if fi, err := os.Stat(n.socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	c := dial(t, n.socket)
	// The suite fills spools to MaxMessages; with spoold's default
	// (4096) that is slow but exact.
	storetest.Run(t, storetest.Harness{Store: c, MaxMessages: boltstore.DefaultMaxMessages, MaxMessageSize: spoolproto.MaxMessageSize})
}

// TestRefusesMix: on a mix spoold exits with a clear message.
func TestRefusesMix(t *testing.T) {
	n := newNode(t, "")
	cfg, _ := os.ReadFile(n.file)
	if err := os.WriteFile(n.file, []byte(strings.Replace(string(cfg), "IsProvider = true", "IsProvider = false", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(spooldBin, "-f", n.file).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "a mix has no user database or spool") {
		t.Fatalf("spoold on a mix: %v: %s", err, out)
	}
}

// TestDurabilityAcrossSIGKILL: writers store messages through a real
// spoold; spoold is SIGKILLed mid-way and restarted; every store that was
// acknowledged is there exactly once, and the stores whose outcome was
// unknown, resent after the restart, are not duplicated.
func TestDurabilityAcrossSIGKILL(t *testing.T) {
	n := newNode(t, "")
	cmd := n.start(t)
	c := dial(t, n.socket)
	ctx := storetest.Ctx(t)
	const writers, perWriter = 8, 150
	users := make([][]byte, writers)
	for i := range users {
		users[i] = storetest.NewUser(t)
		if err := c.AddUser(ctx, users[i], storetest.NewLink(t)); err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		m     *spoolproto.Message
		acked bool
	}
	results := make([][]result, writers)
	var progress sync.WaitGroup
	progress.Add(writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				m := storetest.NewMessage(64, i%3 == 0)
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				err := c.StoreMessage(cctx, users[w], m)
				cancel()
				results[w] = append(results[w], result{m: m, acked: err == nil})
				if i == perWriter/3 {
					progress.Done() // a third written: time to kill
				}
				if err != nil && i > perWriter/3 {
					break // spoold is gone: stop, as mixd's worker would
				}
			}
		}()
	}
	progress.Wait()
	kill(t, cmd)
	wg.Wait()

	n.start(t)
	ctx = storetest.Ctx(t)
	acked, unknown := 0, 0
	for w := range writers {
		for _, r := range results[w] {
			if r.acked {
				acked++
				continue
			}
			unknown++
			// The writer resends what it could not confirm.
			if err := c.StoreMessage(ctx, users[w], r.m); err != nil {
				t.Fatalf("resend after restart: %v", err)
			}
		}
	}
	if unknown == 0 {
		t.Fatal("no store failed: spoold was not killed mid-way")
	}
	if acked < writers*(perWriter/3) {
		t.Fatalf("only %d stores acknowledged before the kill", acked)
	}
	// Resend every acknowledged store too: none may be stored twice.
	for w := range writers {
		for _, r := range results[w][:10] {
			if err := c.StoreMessage(ctx, users[w], r.m); err != nil {
				t.Fatal(err)
			}
		}
	}
	for w := range writers {
		seen := map[spoolproto.MessageID]int{}
		for {
			hd, err := c.GetHead(ctx, users[w])
			if err != nil {
				t.Fatal(err)
			}
			if hd.Message == nil {
				break
			}
			seen[hd.Message.ID]++
			if err := c.RemoveMessage(ctx, users[w], hd.Message.ID); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != len(results[w]) {
			t.Fatalf("writer %d: %d distinct messages, stored %d", w, len(seen), len(results[w]))
		}
		for _, r := range results[w] {
			if seen[r.m.ID] != 1 {
				t.Fatalf("writer %d: a message (acked %t) is present %d times", w, r.acked, seen[r.m.ID])
			}
		}
	}
	t.Logf("%d stores acknowledged before the kill, %d resent after it", acked, unknown)
}

// helperEnv makes the test binary a client of spoold (helperClient)
// instead of running tests: TestRefusedCaller runs it under another uid.
const helperEnv = "SPOOLD_TEST_HELPER_SOCKET"

// helperClient adds a user through the socket in helperEnv, checks it,
// and exits 0 on success.
func helperClient() int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := spoolproto.Dial(ctx, os.Getenv(helperEnv), nil)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	defer c.Close()
	u := []byte("helper")
	link := storetest.NewLink(&testing.T{})
	if _, _, err := c.AddUserIfAbsent(ctx, u, link); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	if ok, err := c.Exists(ctx, u); err != nil || !ok {
		os.Stderr.WriteString("helper user missing\n")
		return 1
	}
	return 0
}

// TestRefusedCaller: with MixdUser another uid, this process is refused
// with CodeDenied, and a process running as MixdUser keeps working.
func TestRefusedCaller(t *testing.T) {
	const mixdUID = 65534
	n := newNode(t, "65534")
	// Let the other uid reach the socket: the runtime directory and the
	// data directory are traversable, the socket is 0660 root group.
	if err := os.Chmod(n.dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(n.dir, "run"), 0o711); err != nil {
		t.Fatal(err)
	}
	n.start(t)
	if fi, err := os.Stat(n.socket); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode for another mixd user: %v %v", fi.Mode(), err)
	}
	ctx := storetest.Ctx(t)
	_, err := spoolproto.Dial(ctx, n.socket, nil)
	if ipc.CodeOf(err) != ipc.CodeDenied {
		t.Fatalf("dial from a uid not MixdUser: %v, want denied", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot run the allowed client under another uid")
	}
	// The test binary, copied where the other uid can execute it.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(n.dir, "helper")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(bin)
	helper.Env = append(os.Environ(), helperEnv+"="+n.socket)
	helper.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: mixdUID, Gid: 0}}
	helper.Dir = "/"
	if out, err := helper.CombinedOutput(); err != nil {
		t.Fatalf("allowed client as uid %d: %v: %s", mixdUID, err, out)
	}
	// And the refusal is still a refusal, logged without a user in sight.
	if _, err := spoolproto.Dial(ctx, n.socket, nil); ipc.CodeOf(err) != ipc.CodeDenied {
		t.Fatalf("second dial: %v", err)
	}
}

// TestEphemeralMarksAcrossSIGKILL: what AddEphemeralIfAbsent and PurgeUser
// acknowledged survives a SIGKILL of spoold, so the next mixd lists exactly
// the ephemeral users that remain (ipc/spoolproto/PROTOCOL.md §3.8); and a
// client survives the restart, resending the idempotent list.
func TestEphemeralMarksAcrossSIGKILL(t *testing.T) {
	n := newNode(t, "")
	cmd := n.start(t)
	c := dial(t, n.socket)
	ctx := storetest.Ctx(t)
	l := storetest.NewLink(t)
	want := map[string]bool{}
	var purged [][]byte
	for i := range 2*spoolproto.MaxListEphemeral/64 + 1 {
		u := storetest.NewUser(t)
		if added, _, err := c.AddEphemeralIfAbsent(ctx, u, l); err != nil || !added {
			t.Fatalf("AddEphemeralIfAbsent: %v", err)
		}
		if i%3 == 0 {
			purged = append(purged, u)
		} else {
			want[string(u)] = true
		}
	}
	ordinary := storetest.NewUser(t)
	if err := c.AddUser(ctx, ordinary, l); err != nil {
		t.Fatal(err)
	}
	for _, u := range purged {
		if err := c.PurgeUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	kill(t, cmd)
	n.start(t)
	got := storetest.ListAll(t, c, 4)
	if len(got) != len(want) {
		t.Fatalf("after SIGKILL and restart %d users listed, want %d", len(got), len(want))
	}
	for _, u := range got {
		if !want[string(u)] {
			t.Fatal("a purged or ordinary user is listed")
		}
	}
	if ok, err := c.Exists(ctx, ordinary); err != nil || !ok {
		t.Fatalf("ordinary user after restart: %t %v", ok, err)
	}
}
