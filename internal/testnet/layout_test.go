package testnet

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/dirauth/authority"
	"github.com/splitmix/splitmix/internal/proctest"
)

func testOptions(t *testing.T, dir string) Options {
	t.Helper()
	o, err := Options{Dir: dir, EpochPeriod: 30 * time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestShapeNamesNodesAndUsers(t *testing.T) {
	o := testOptions(t, t.TempDir())
	s := shapeOf(&o)
	if len(s.Mixes) != 6 || s.Mixes[0] != "mix-1" || len(s.Providers) != 2 || s.Providers[1] != "provider-b" {
		t.Fatalf("shape %+v", s)
	}
	if got := strings.Join(s.Users["provider-a"], ","); got != "alice,carol,you-a" {
		t.Fatalf("provider-a's users %q", got)
	}
	if got := strings.Join(s.Users["provider-b"], ","); got != "bob,dave,you-b" {
		t.Fatalf("provider-b's users %q", got)
	}
	o2 := o
	o2.MixesPerLayer = 1
	s2 := shapeOf(&o2)
	if s.equal(&s2) || !s.equal(&s) {
		t.Fatal("shape equality")
	}
	if userName(100) != "user100" {
		t.Fatal(userName(100))
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for _, o := range []Options{
		{},
		{Dir: "x", EpochPeriod: time.Second},
		{Dir: "x", Layers: 20},
		{Dir: "x", BasePort: 65530},
		{Dir: "x", LogLevel: "LOUD"},
		{Dir: "x", Mu: -1},
	} {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	o, err := Options{Dir: "x", ZeroDelays: true, Mu: 0.5}.withDefaults()
	if err != nil || o.Mu != 0 || o.MuMaxDelay != 0 || !filepath.IsAbs(o.Dir) {
		t.Fatalf("zero delays: %+v %v", o, err)
	}
}

// The files written load with the daemons' own parsers.
func TestConfigsLoad(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(t, dir)
	l := layout{o: &o, shape: shapeOf(&o), identities: map[string]string{}}
	l.authorityKey = strings.Repeat("11", 32)
	for i, n := range l.shape.nodes() {
		l.identities[n] = strings.Repeat("0", 62) + string("0123456789"[i%10]) + "1"
	}
	ac, err := authority.LoadBytes("dirauth.toml", []byte(l.authorityConfig(true)))
	if err != nil {
		t.Fatal(err)
	}
	if ac.Authority.EpochPeriod != 30*time.Second || len(ac.Mixes) != 6 || len(ac.Providers) != 2 || ac.Parameters.Mu != DefaultMu || ac.Parameters.MuMaxDelay != 1000 {
		t.Fatalf("authority config %+v", ac)
	}
	if _, err := authority.LoadBytes("dirauth.toml", []byte(l.authorityConfig(false))); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"mix-1", "provider-b"} {
		c, err := config.LoadBytes("node.toml", []byte(l.nodeConfig(n)))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if c.Server.IsProvider != (n == "provider-b") || c.Privsep.EpochPeriod != 30*time.Second || c.Server.DataDir != filepath.Join(dir, n) {
			t.Fatalf("%s: %+v", n, c.Server)
		}
	}
	if p := l.nodePort("provider-b"); p != o.BasePort+8 {
		t.Fatalf("provider-b's port %d", p)
	}
}

func TestDecideReuseOrReplace(t *testing.T) {
	root := t.TempDir()
	o := testOptions(t, root)
	want := shapeOf(&o)

	if d, _, _ := decide(filepath.Join(root, "none"), &want); d != decideFresh {
		t.Fatalf("missing dir: %v", d)
	}
	if d, _, _ := decide(root, &want); d != decideFresh {
		t.Fatalf("empty dir: %v", d)
	}
	foreign := filepath.Join(root, "foreign")
	mustWrite(t, filepath.Join(foreign, "notes.txt"), "mine")
	if d, _, why := decide(foreign, &want); d != decideRefuse || !strings.Contains(why, "not a testnet") {
		t.Fatalf("foreign dir: %v %q", d, why)
	}
	if err := RemoveDir(foreign); err == nil {
		t.Fatal("RemoveDir removed a foreign directory")
	}

	dir := filepath.Join(root, "net")
	st := &state{Version: stateVersion, Shape: want, AuthorityKey: "k", Identities: map[string]string{}}
	mustWrite(t, filepath.Join(dir, authDirName, "keys", "identity.private.pem"), "x")
	for _, n := range want.nodes() {
		st.Identities[n] = "id-" + n
		mustWrite(t, filepath.Join(nodeKeyDir(dir, n), "identity"), "x")
		mustWrite(t, filepath.Join(dir, n, "mixd.log"), "old log")
	}
	if err := os.MkdirAll(filepath.Join(dir, usersDir), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, us := range want.Users {
		for _, u := range us {
			if _, err := writeUserKey(userKeyPath(dir, u)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.save(dir); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "operator-notes.txt"), "keep me")

	if d, _, why := decide(dir, &want); d != decideReuse {
		t.Fatalf("same shape: %v (%s)", d, why)
	}
	if err := clearVolatile(dir, st); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "mix-1", "mixd.log")); !os.IsNotExist(err) {
		t.Fatal("clearVolatile kept the old log")
	}
	if !nonEmptyDir(nodeKeyDir(dir, "mix-1")) {
		t.Fatal("clearVolatile removed the keys")
	}

	// A missing user key makes it incomplete.
	if err := os.Remove(userKeyPath(dir, "bob")); err != nil {
		t.Fatal(err)
	}
	if d, _, why := decide(dir, &want); d != decideReplace || !strings.Contains(why, "bob") {
		t.Fatalf("missing key: %v (%s)", d, why)
	}
	// Another shape is replaced.
	o.Providers = 3
	other := shapeOf(&o)
	d, old, _ := decide(dir, &other)
	if d != decideReplace {
		t.Fatalf("other shape: %v", d)
	}
	if err := removeWritten(dir, old); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{markerName, authDirName, usersDir, "mix-1", "provider-b"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Fatalf("removeWritten left %s", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "operator-notes.txt")); err != nil {
		t.Fatal("removeWritten removed a file the testnet did not write")
	}
	// A broken marker is replaced, not trusted.
	mustWrite(t, filepath.Join(dir, markerName), "{")
	if d, _, _ := decide(dir, &want); d != decideReplace {
		t.Fatalf("broken marker: %v", d)
	}
}

func TestLockRefusesASecondTestnet(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDir(dir); err == nil || !strings.Contains(err.Error(), "another testnet") {
		t.Fatalf("second lock: %v", err)
	}
	l.release()
	l2, err := lockDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.release()
}

func TestFindStaleIgnoresForeignPids(t *testing.T) {
	dir := t.TempDir()
	// Our own pid: a live process whose command line does not name dir.
	mustWrite(t, filepath.Join(dir, "mix-1", "mixd.pid"), strings.TrimSpace(itoa(os.Getpid())))
	mustWrite(t, filepath.Join(dir, "mix-1", "keyd.pid"), "garbage")
	if s := findStale(dir); len(s) != 0 {
		t.Fatalf("stale %v", s)
	}
	if _, err := os.Stat(filepath.Join(dir, "mix-1", "mixd.pid")); !os.IsNotExist(err) {
		t.Fatal("a pid file of no testnet daemon was kept")
	}
}

func TestPortInUseIsNamed(t *testing.T) {
	base, err := FreeBasePort(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPortsFree(map[int]string{base: "dirauth", base + 1: "mix-1"}); err != nil {
		t.Fatal(err)
	}
	ln := listenOn(t, base+1)
	defer ln.Close()
	err = checkPortsFree(map[int]string{base: "dirauth", base + 1: "mix-1"})
	if err == nil || !strings.Contains(err.Error(), itoa(base+1)+" (mix-1)") {
		t.Fatalf("busy port: %v", err)
	}
}

func mustWrite(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestStaleDaemonIsStopped(t *testing.T) {
	dir := proctest.ShortTempDir(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep program")
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	// A "daemon" whose command line names a file under dir, as ours do.
	fake := filepath.Join(dir, "mix-1", "mixd")
	mustWrite(t, fake, "")
	if err := os.WriteFile(fake, b, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(fake, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fake, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() { _ = cmd.Process.Kill(); <-done }()
	mustWrite(t, pidPath(dir, "mix-1", "mixd"), itoa(cmd.Process.Pid))

	stale := findStale(dir)
	if len(stale) != 1 || stale[0].pid != cmd.Process.Pid {
		t.Fatalf("stale %v, want pid %d", stale, cmd.Process.Pid)
	}
	if err := stopStale(stale, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stale process still runs")
	}
	if _, err := os.Stat(pidPath(dir, "mix-1", "mixd")); !os.IsNotExist(err) {
		t.Fatal("its pid file is still there")
	}
}
