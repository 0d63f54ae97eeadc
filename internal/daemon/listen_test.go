package daemon

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestListenUnixFreshBind(t *testing.T) {
	dir := shortTempDir(t)
	path := filepath.Join(dir, "run", "keyd.sock") // the parent does not exist yet
	ln, err := ListenUnix(path, 0o660, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() != path {
		t.Errorf("Addr %q, want %q", ln.Addr(), path)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != os.ModeSocket || st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", st.Mode())
	}
	dst, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("created parent directory mode %v, want 0700", dst.Mode().Perm())
	}
	assertServes(t, ln, path)
	assertNoLeftovers(t, filepath.Dir(path), "keyd.sock")
}

// Whatever the umask, the socket ends with exactly the mode asked for and the temporary bind
// directory is gone.
func TestListenUnixIgnoresUmask(t *testing.T) {
	old := unix.Umask(0)
	defer unix.Umask(old)
	dir := shortTempDir(t)
	path := filepath.Join(dir, "s.sock")
	ln, err := ListenUnix(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v with umask 0, want 0600", st.Mode().Perm())
	}
	assertNoLeftovers(t, dir, "s.sock")
}

func TestListenUnixGroup(t *testing.T) {
	gid := os.Getgid()
	if os.Geteuid() == 0 {
		gid = 4242 // root may give the socket any group; prove the chown happened
	}
	path := filepath.Join(shortTempDir(t), "g.sock")
	ln, err := ListenUnix(path, 0o660, gid)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Gid) != gid {
		t.Errorf("socket group %d, want %d", st.Gid, gid)
	}
}

func TestListenUnixReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "stale.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // a crashed daemon leaves its socket file behind
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket file missing: %v", err)
	}
	ln, err := ListenUnix(path, 0o600, -1)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer ln.Close()
	assertServes(t, ln, path)
}

func TestListenUnixRefusesLiveSocket(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "live.sock")
	first, err := ListenUnix(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	go func() { // the first instance keeps accepting
		for {
			c, err := first.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, err = ListenUnix(path, 0o600, -1)
	if err == nil || !strings.Contains(err.Error(), "another instance is listening on "+path) {
		t.Fatalf("second ListenUnix on a live socket: %v", err)
	}
	// The first instance's socket is untouched and still reachable.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the live socket was disturbed: %v", err)
	}
	c.Close()
}

func TestListenUnixRefusesRegularFile(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "notasocket")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ListenUnix(path, 0o600, -1)
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("ListenUnix over a regular file: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "precious" {
		t.Fatalf("the regular file was changed: %q, %v", data, err)
	}
	assertNoLeftovers(t, filepath.Dir(path), "notasocket")
}

func TestListenUnixRefusesDirectory(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "dir")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(path, 0o600, -1); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("ListenUnix over a directory: %v", err)
	}
}

func TestListenUnixCloseUnlinks(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "c.sock")
	ln, err := ListenUnix(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file still there after Close: %v", err)
	}
	if err := ln.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A listener must not unlink a socket that a newer instance has put at the path since.
func TestListenUnixCloseSparesNewerSocket(t *testing.T) {
	dir := shortTempDir(t)
	path := filepath.Join(dir, "n.sock")
	ln, err := ListenUnix(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "newer"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer newer.Close()
	newer.SetUnlinkOnClose(false)
	if err := os.Rename(filepath.Join(dir, "newer"), path); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("Close removed the newer instance's socket: %v", err)
	}
	c.Close()
}

func TestListenUnixBadPaths(t *testing.T) {
	if _, err := ListenUnix("", 0o600, -1); err == nil {
		t.Error("empty path accepted")
	}
	long := "/tmp/" + strings.Repeat("x", 120)
	if _, err := ListenUnix(long, 0o600, -1); err == nil || !strings.Contains(err.Error(), "limit is 107") {
		t.Errorf("over-long path: %v", err)
	}
}

func assertServes(t *testing.T, ln net.Listener, path string) {
	t.Helper()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, err = c.Write([]byte("x"))
			c.Close()
		}
		accepted <- err
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err != nil || buf[0] != 'x' {
		t.Fatalf("read from the listener: %q, %v", buf, err)
	}
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
}

// assertNoLeftovers checks that dir holds nothing but the named entries (no temporary bind
// directory was left behind).
func assertNoLeftovers(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, n := range names {
		allowed[n] = true
	}
	for _, e := range entries {
		if !allowed[e.Name()] {
			t.Errorf("left behind in %s: %s", dir, e.Name())
		}
	}
}
