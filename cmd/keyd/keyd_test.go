package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keyd/oracletest"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

// generated is what `keyd -g` printed.
type generated struct {
	identifier string
	identity   keys.IdentityPublicKey
	link       *keys.LinkPublicKey
}

func parseGenerated(t *testing.T, out string) generated {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("-g printed %d lines, want 3:\n%s", len(lines), out)
	}
	var g generated
	var ok bool
	if g.identifier, ok = strings.CutPrefix(lines[0], "Server identifier is: "); !ok {
		t.Fatalf("line 1: %q", lines[0])
	}
	idHex, ok := strings.CutPrefix(lines[1], "Server identity public key is: ")
	if !ok || len(idHex) != 64 || strings.ToUpper(idHex) != idHex {
		t.Fatalf("line 2: %q", lines[1])
	}
	linkHex, ok := strings.CutPrefix(lines[2], "Server link public key is: ")
	if !ok || len(linkHex) != 2432 || strings.ToUpper(linkHex) != linkHex {
		t.Fatalf("line 3: %d characters", len(lines[2]))
	}
	var err error
	if g.identity, err = keys.ParseIdentityPublicKey(idHex); err != nil {
		t.Fatal(err)
	}
	if g.link, err = keys.ParseLinkPublicKeyText(linkHex); err != nil {
		t.Fatal(err)
	}
	return g
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestGenerate(t *testing.T) {
	n := newNode(t, "1h", "", "")
	r := n.generate(t)
	g := parseGenerated(t, r.stdout)
	if g.identifier != "'example.com'" {
		t.Errorf("identifier line shows %s", g.identifier)
	}
	if !strings.Contains(r.stderr, "generated keys") {
		t.Errorf("no log line on stderr:\n%s", r.stderr)
	}
	if m := mode(t, n.keyDir); m != 0o700 {
		t.Errorf("key dir mode %04o, want 0700", m)
	}
	for _, f := range []string{"identity.key", "link.key"} {
		if m := mode(t, filepath.Join(n.keyDir, f)); m != 0o600 {
			t.Errorf("%s mode %04o, want 0600", f, m)
		}
	}
	// What keyd then serves is what -g printed.
	n.start(t)
	pk, err := dial(t, n.socket).PublicKeys(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if pk.Identifier != "example.com" || !pk.Identity.Equal(g.identity) || !pk.Link.Equal(g.link) {
		t.Fatal("served public keys differ from the -g output")
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, _ := e.Info()
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s %v %v %x\n", e.Name(), fi.Mode(), fi.ModTime().UnixNano(), data)
	}
	return b.String()
}

func TestGenerateRefusesToOverwrite(t *testing.T) {
	n := newNode(t, "1h", "", "")
	n.generate(t)
	before := snapshot(t, n.keyDir)
	r := n.run(t, "-g")
	if r.code == 0 {
		t.Fatal("second -g succeeded")
	}
	if !strings.Contains(r.stderr, "refusing to overwrite") || r.stdout != "" {
		t.Errorf("stdout %q stderr:\n%s", r.stdout, r.stderr)
	}
	if after := snapshot(t, n.keyDir); after != before {
		t.Fatalf("key directory changed:\n%s\nthen\n%s", before, after)
	}
}

func TestGenerateOnly(t *testing.T) {
	n := newNode(t, "1h", "", "GenerateOnly = true")
	r := n.run(t) // no -g
	if r.code != 0 {
		t.Fatalf("status %d\n%s", r.code, r.stderr)
	}
	parseGenerated(t, r.stdout)
	if _, err := os.Stat(filepath.Join(n.keyDir, "link.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(n.socket); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("GenerateOnly served a socket: %v", err)
	}
}

func TestIdentityKeyFromConfig(t *testing.T) {
	seed := bytes.Repeat([]byte{0x42}, ed25519.SeedSize)
	var want keys.IdentityPublicKey
	copy(want[:], ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	n := newNode(t, "1h", "", fmt.Sprintf("IdentityKey = %q", hex.EncodeToString(seed)))
	g := parseGenerated(t, n.generate(t).stdout)
	if !g.identity.Equal(want) {
		t.Fatal("-g printed another identity than Debug.IdentityKey's")
	}
	if _, err := os.Stat(filepath.Join(n.keyDir, "identity.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("identity.key written although Debug.IdentityKey is set: %v", err)
	}
	n.start(t)
	c := dial(t, n.socket)
	pk, err := c.PublicKeys(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !pk.Identity.Equal(want) {
		t.Fatal("keyd serves another identity than Debug.IdentityKey's")
	}
	// And signs with it.
	d := descriptor(t, c, n, pk, 0)
	s, err := pki.Sign(tctx(t), c, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(want); err != nil {
		t.Fatal(err)
	}
}

func TestStartWithoutKeys(t *testing.T) {
	n := newNode(t, "1h", "", "")
	r := n.run(t)
	want := fmt.Sprintf("no keys in %s: run `keyd -f %s -g` first", n.keyDir, n.cfg)
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("status %d, stderr:\n%s\nwant %q", r.code, r.stderr, want)
	}
}

func TestConformance(t *testing.T) {
	for _, provider := range []bool{false, true} {
		t.Run(fmt.Sprintf("provider=%v", provider), func(t *testing.T) {
			n := newNode(t, "1h", "", "")
			if provider {
				text, _ := os.ReadFile(n.cfg)
				text = bytes.Replace(text, []byte(`Identifier = "example.com"`), []byte("Identifier = \"example.com\"\n  IsProvider = true"), 1)
				if err := os.WriteFile(n.cfg, text, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			n.generate(t)
			n.start(t)
			oracletest.Run(t, oracletest.Harness{Oracle: dial(t, n.socket), Identifier: "example.com", Provider: provider, Clock: n.clock()})
		})
	}
}

// descriptor builds a descriptor keyd must sign: its keys, its Sphinx keys,
// epoch current+offset.
func descriptor(t *testing.T, o keys.Oracle, n *node, pk *keys.PublicKeys, offset uint64) *pki.Descriptor {
	t.Helper()
	cur, _, _ := n.clock().Current()
	e := cur + offset
	sk, err := o.SphinxKeys(tctx(t), []uint64{e, e + 1})
	if err != nil {
		t.Fatal(err)
	}
	return &pki.Descriptor{
		Version: pki.DescriptorVersion, Name: pk.Identifier, Epoch: e,
		IdentityKey: pk.Identity, LinkKey: &pk.Link,
		MixKeys:   map[uint64][32]byte{e: sk[0].Public, e + 1: sk[1].Public},
		Addresses: map[string][]string{pki.TransportTCP4: {"127.0.0.1:29483"}},
	}
}

// TestOperationsAgainstGeneratedKeys checks each operation through the
// socket against the public keys `keyd -g` printed.
func TestOperationsAgainstGeneratedKeys(t *testing.T) {
	n := newNode(t, "1h", "", "")
	g := parseGenerated(t, n.generate(t).stdout)
	n.start(t)
	c := dial(t, n.socket)

	pk := &keys.PublicKeys{Identifier: "example.com", Identity: g.identity, Link: *g.link}
	s, err := pki.Sign(tctx(t), c, descriptor(t, c, n, pk, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(g.identity); err != nil {
		t.Fatalf("signature does not verify with the printed identity key: %v", err)
	}

	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := c.LinkECDH(tctx(t), peer.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	x, _ := g.link.ECDHPublicKey()
	if want, _ := peer.ECDH(x); !bytes.Equal(shared, want) {
		t.Fatal("LinkECDH differs from X25519(peer, printed link key)")
	}

	ek, _ := g.link.EncapsulationKey()
	key, ct := ek.Encapsulate()
	got, err := c.LinkDecapsulate(tctx(t), ct)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("LinkDecapsulate: %v", err)
	}

	// Refusals: each a typed error, and the connection keeps working.
	bad := descriptor(t, c, n, pk, 1)
	bad.MixKeys[bad.Epoch+1] = [32]byte{1, 2, 3}
	b, _ := bad.Marshal()
	if _, err := c.SignDescriptor(tctx(t), b); ipc.CodeOf(err) != ipc.CodeDenied || !errors.Is(err, keys.ErrRefused) {
		t.Errorf("foreign Sphinx key: %v, want CodeDenied", err)
	}
	if _, err := c.SignDescriptor(tctx(t), []byte("\xa1garbage")); ipc.CodeOf(err) != ipc.CodeInvalid {
		t.Errorf("garbage: %v, want CodeInvalid", err)
	}
	cur, _, _ := n.clock().Current()
	if _, err := c.SphinxKeys(tctx(t), []uint64{cur + 4}); ipc.CodeOf(err) != ipc.CodeDenied {
		t.Errorf("SphinxKeys(current+4): %v, want CodeDenied", err)
	}
	if _, err := c.PublicKeys(tctx(t)); err != nil {
		t.Fatalf("connection broken by refusals: %v", err)
	}
}

// TestRestartWhileConnected restarts keyd under a connected client: the
// client's next calls succeed by redialing, and Sphinx keys are the same.
func TestRestartWhileConnected(t *testing.T) {
	n := newNode(t, "1h", "", "")
	n.generate(t)
	p := n.start(t)
	c := dial(t, n.socket)
	cur, _, _ := n.clock().Current()
	epochs := []uint64{cur, cur + 1, cur + 2}
	before, err := c.SphinxKeys(tctx(t), epochs)
	if err != nil {
		t.Fatal(err)
	}
	p.stop(t)
	n.start(t)
	after, err := c.SphinxKeys(tctx(t), epochs)
	if err != nil {
		t.Fatalf("call after restart: %v", err)
	}
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("Sphinx key for epoch %d changed across a keyd restart", epochs[i])
		}
	}
	if _, err := c.PublicKeys(tctx(t)); err != nil {
		t.Fatal(err)
	}
}

// TestExpiredSphinxKeysErased uses one-second epochs: a key left from long
// ago is erased at start, and a key keyd made is erased once its epoch is
// two epochs old.
func TestExpiredSphinxKeysErased(t *testing.T) {
	n := newNode(t, "1s", "", "")
	n.generate(t)
	sphinxDir := filepath.Join(n.keyDir, "sphinx")
	if err := os.Mkdir(sphinxDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cur, _, _ := n.clock().Current()
	stale := filepath.Join(sphinxDir, strconv.FormatUint(cur-10, 10)+".key")
	if err := os.WriteFile(stale, bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	p := n.start(t)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale Sphinx key survived start: %v", err)
	}
	c := dial(t, n.socket)
	cur, _, _ = n.clock().Current()
	if _, err := c.SphinxKeys(tctx(t), []uint64{cur + 1}); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(sphinxDir, strconv.FormatUint(cur+1, 10)+".key")
	if _, err := os.Stat(mine); err != nil {
		t.Fatal(err)
	}
	ipctest.Eventually(t, 15*time.Second, "epoch "+strconv.FormatUint(cur+1, 10)+" key erased", func() bool {
		_, err := os.Stat(mine)
		return errors.Is(err, os.ErrNotExist)
	})
	now, _, _ := n.clock().Current()
	if now < cur+3 {
		t.Fatalf("key erased in epoch %d, before it expired (epoch %d)", now, cur+3)
	}
	if _, err := c.SphinxKeys(tctx(t), []uint64{cur + 1}); ipc.CodeOf(err) != ipc.CodeDenied {
		t.Fatalf("expired epoch served again: %v", err)
	}
	if !p.running() {
		t.Fatal("keyd died")
	}
}

// TestRefusedCaller configures mixd as uid 65534: the test process (another
// uid) is refused with CodeDenied, keyd keeps running, and a client that
// does run as 65534 is served.
func TestRefusedCaller(t *testing.T) {
	if os.Geteuid() == 65534 {
		t.Skip("the test runs as the uid it configures for mixd")
	}
	n := newNode(t, "1h", `MixdUser = "65534"`, "")
	g := parseGenerated(t, n.generate(t).stdout)
	p := n.start(t)
	_, err := dial2(n.socket)
	if ipc.CodeOf(err) != ipc.CodeDenied {
		t.Fatalf("Dial as uid %d: %v, want CodeDenied", os.Geteuid(), err)
	}
	if !p.running() {
		t.Fatal("keyd exited after refusing a caller")
	}
	ipctest.Eventually(t, 10*time.Second, "refusal logged", func() bool {
		return strings.Contains(p.stderr.String(), "WARN")
	})
	if os.Geteuid() != 0 {
		t.Skip("serving the allowed caller needs root to run a client as uid 65534")
	}
	// Let uid 65534 reach the socket through the file system (in production
	// the group and socket unit do that) and run this test binary as it.
	for _, d := range []string{n.dir, filepath.Dir(n.socket)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(n.socket, 0o666); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir, err := os.MkdirTemp("", "keydchild")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(binDir)
	_ = os.Chmod(binDir, 0o755)
	child := filepath.Join(binDir, "client")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(child, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(child)
	cmd.Env = append(os.Environ(), childDialEnv+"="+n.socket)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("client as uid 65534: %v\n%s\nkeyd:\n%s", err, stderr, p.stderr)
	}
	if strings.TrimSpace(string(out)) != g.identity.String() {
		t.Fatalf("allowed caller got identity %q, want %s", out, g.identity)
	}
}

// TestNoNetworkSockets checks from outside that a serving keyd has only
// UNIX-domain sockets open.
func TestNoNetworkSockets(t *testing.T) {
	n := newNode(t, "1h", "", "")
	n.generate(t)
	p := n.start(t)
	c := dial(t, n.socket)
	if _, err := c.PublicKeys(tctx(t)); err != nil {
		t.Fatal(err)
	}
	unixInodes := map[string]bool{}
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Skipf("no /proc/net/unix: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		if f := strings.Fields(line); len(f) >= 7 {
			unixInodes[f[6]] = true
		}
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	sockets := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue
		}
		inode, ok := strings.CutPrefix(target, "socket:[")
		if !ok {
			continue
		}
		sockets++
		if !unixInodes[strings.TrimSuffix(inode, "]")] {
			t.Errorf("keyd fd %s is a non-UNIX socket %s", fd.Name(), target)
		}
	}
	if sockets < 2 {
		t.Errorf("saw %d sockets, want at least the listener and one connection", sockets)
	}
}
