package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/dirauth/authority"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/proctest"
)

// binary is cmd/dirauth, built once by TestMain for the real-process
// tests.
var binary string

func TestMain(m *testing.M) {
	var binDir string
	os.Exit(proctest.MainWithBinaries(m, &binDir, func(ctx context.Context, dir string) error {
		binary = filepath.Join(dir, "dirauth")
		return proctest.Build(ctx, dir, "dirauth")
	}))
}

// node is a test node with in-memory keys.
type node struct {
	name     string
	provider bool
	priv     ed25519.PrivateKey
	pub      keys.IdentityPublicKey
	link     *memkey.LinkKey
}

func newNode(t *testing.T, name string, provider bool) *node {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	return &node{name: name, provider: provider, priv: priv, pub: keys.IdentityPublicKey(pub), link: lk}
}

func (n *node) signed(t *testing.T, epoch uint64, port int) []byte {
	t.Helper()
	d := &pki.Descriptor{
		Version: pki.DescriptorVersion, Name: n.name, Epoch: epoch, IdentityKey: n.pub, LinkKey: n.link.Public(),
		MixKeys:   map[uint64][32]byte{epoch: {1, byte(epoch)}},
		Addresses: map[string][]string{"tcp4": {fmt.Sprintf("127.0.0.1:%d", port)}},
		Provider:  n.provider,
	}
	s, err := pki.SignWithKey(n.priv, d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (n *node) client(addr string, auth keys.IdentityPublicKey) *dirauth.Client {
	id := n.pub.NodeID()
	return &dirauth.Client{Address: addr, Authority: auth, Static: n.link, AuthBlob: id[:]}
}

func writeConfig(t *testing.T, dir string, port int, period time.Duration, mixes, providers []*node) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[Authority]\n  Addresses = [\"tcp://127.0.0.1:%d\"]\n  DataDir = %q\n  EpochPeriod = %q\n  BootstrapGrace = \"1s\"\n", port, dir, period.String())
	fmt.Fprintf(&b, "[Logging]\n  Level = \"DEBUG\"\n  File = %q\n", filepath.Join(dir, "dirauth.log"))
	for _, n := range mixes {
		fmt.Fprintf(&b, "[[Mixes]]\n  Identifier = %q\n  IdentityKey = %q\n", n.name, n.pub.String())
	}
	for _, n := range providers {
		fmt.Fprintf(&b, "[[Providers]]\n  Identifier = %q\n  IdentityKey = %q\n", n.name, n.pub.String())
	}
	path := filepath.Join(dir, "dirauth.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// generate runs `dirauth -f cfg -g` and returns the printed key.
func generate(t *testing.T, cfg string) keys.IdentityPublicKey {
	t.Helper()
	out, err := exec.Command(binary, "-f", cfg, "-g").Output()
	if err != nil {
		t.Fatalf("-g: %v", err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "PublicKey = "); ok {
			k, err := keys.ParseIdentityPublicKey(strings.Trim(v, `"`))
			if err != nil {
				t.Fatalf("printed key %s: %v", v, err)
			}
			return k
		}
	}
	t.Fatalf("-g printed no PublicKey line:\n%s", out)
	return keys.IdentityPublicKey{}
}

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, 1, 10*time.Second, nil, []*node{newNode(t, "p", true)})
	// Without keys, serving fails and says what to do.
	out, err := exec.Command(binary, "-f", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-g") {
		t.Fatalf("serving without keys: %v\n%s", err, out)
	}
	k := generate(t, cfg)
	fi, err := os.Stat(filepath.Join(dir, "keys"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("key dir: %v %v", fi, err)
	}
	out, err = exec.Command(binary, "-f", cfg, "-g").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(string(out), "refusing to overwrite") {
		t.Fatalf("second -g: %v\n%s", err, out)
	}
	if generate2 := loadKey(t, dir); !generate2.Equal(k) {
		t.Fatal("the key on disk changed")
	}
}

func loadKey(t *testing.T, dir string) keys.IdentityPublicKey {
	t.Helper()
	k, err := authority.LoadKeys(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return k.IdentityPublic
}

// process is a running dirauth.
type process struct {
	cmd  *exec.Cmd
	done chan error
}

func start(t *testing.T, cfg string, addr string, auth keys.IdentityPublicKey) *process {
	t.Helper()
	cmd := exec.Command(binary, "-f", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	// Ready when a client completes a handshake.
	lk, _ := memkey.GenerateLinkKey()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s, err := dirauth.Dial(ctx, addr, auth, lk, nil)
		cancel()
		if err == nil {
			s.Close()
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("dirauth exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dirauth not answering: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("dirauth exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Error("dirauth did not exit after SIGTERM")
	}
}

// post posts an encoded signed descriptor for epoch and returns the status.
func post(t *testing.T, ctx context.Context, c *dirauth.Client, epoch uint64, b []byte) link.DescriptorCode {
	t.Helper()
	code, err := c.Post(ctx, epoch, b)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// waitDocument polls GetConsensus for epoch until it is published.
func waitDocument(t *testing.T, addr string, auth keys.IdentityPublicKey, epoch uint64, within time.Duration) (*pki.Document, []byte) {
	t.Helper()
	lk, _ := memkey.GenerateLinkKey()
	c := &dirauth.Client{Address: addr, Authority: auth, Static: lk}
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d, b, err := c.Document(ctx, epoch)
		cancel()
		if err == nil {
			return d, b
		}
		if !errors.Is(err, dirauth.ErrNotYet) || time.Now().After(deadline) {
			t.Fatalf("document for epoch %d: %v", epoch, err)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

func TestServe(t *testing.T) {
	const period = 5 * time.Second
	dir := t.TempDir()
	port := proctest.FreePorts(t, 1)[0]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	mixes := []*node{newNode(t, "mix0", false), newNode(t, "mix1", false), newNode(t, "mix2", false)}
	providers := []*node{newNode(t, "provider0", true)}
	cfg := writeConfig(t, dir, port, period, mixes, providers)
	auth := generate(t, cfg)
	p := start(t, cfg, addr, auth)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The config leaves the delays at their defaults (46 s a hop), far
	// beyond the key grace of a 5 s epoch: dirauth warns as it starts,
	// before it listens (docs/spec/dirauth.md §5.2).
	if logText, err := os.ReadFile(filepath.Join(dir, "dirauth.log")); err != nil {
		t.Fatal(err)
	} else if i := bytes.Index(logText, []byte("Parameters.MuMaxDelay")); i < 0 ||
		!bytes.Contains(logText[bytes.LastIndexByte(logText[:i], '\n')+1:i], []byte("WARNING")) {
		t.Fatalf("no delay warning in the log:\n%s", logText)
	}

	clock := epochtime.Clock{Period: period}
	var cur uint64
	all := append(append([]*node{}, mixes...), providers...)
	// Post for the current epoch and the next two; start over if the epoch
	// rolls over meanwhile.
	for {
		cur, _, _ = clock.Current()
		ok := true
		for _, n := range all {
			for e := cur; e <= cur+2; e++ {
				if code := post(t, ctx, n.client(addr, auth), e, n.signed(t, e, 1000)); code != link.DescriptorOk {
					if now, _, _ := clock.Current(); now == cur {
						t.Fatalf("%s for epoch %d: status %d", n.name, e, code)
					}
					ok = false
				}
			}
		}
		if ok {
			break
		}
	}
	stranger := newNode(t, "stranger", false)
	if code := post(t, ctx, stranger.client(addr, auth), cur+1, stranger.signed(t, cur+1, 1000)); code != link.DescriptorForbidden {
		t.Fatalf("stranger: status %d", code)
	}
	if code := post(t, ctx, mixes[0].client(addr, auth), cur+2, mixes[0].signed(t, cur+2, 2000)); code != link.DescriptorConflict {
		t.Fatalf("changed descriptor: status %d", code)
	}

	d, first := waitDocument(t, addr, auth, cur, 10*time.Second)
	if len(d.Layers) != 3 || len(d.Providers) != 1 || d.Providers[0].Descriptor.Name != "provider0" {
		t.Fatalf("document: %d layers, %d Providers", len(d.Layers), len(d.Providers))
	}
	names := map[string]bool{}
	for _, layer := range d.Layers {
		if len(layer) != 1 {
			t.Fatalf("layer of %d mixes", len(layer))
		}
		names[layer[0].Descriptor.Name] = true
	}
	if len(names) != 3 {
		t.Fatalf("mixes in layers: %v", names)
	}
	next, _ := waitDocument(t, addr, auth, cur+1, 2*period)
	if e, elapsed, _ := clock.Current(); e == cur && elapsed < period*3/4 {
		t.Fatalf("the next epoch's document appeared %v into the epoch, before 3/4", elapsed)
	}
	for l := range d.Layers {
		if next.Layers[l][0].NodeID() != d.Layers[l][0].NodeID() {
			t.Fatalf("layer %d changed between epochs", l)
		}
	}

	// A restart serves the same bytes.
	p.stop(t)
	p = start(t, cfg, addr, auth)
	_, again := waitDocument(t, addr, auth, cur, time.Second)
	if !bytes.Equal(again, first) {
		t.Fatal("after a restart the document differs")
	}
	p.stop(t)
	log, err := os.ReadFile(filepath.Join(dir, "dirauth.log"))
	if err != nil || !strings.Contains(string(log), "document published") {
		t.Fatalf("log: %v\n%s", err, log)
	}
}
