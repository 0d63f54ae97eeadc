package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/sphinx"
	"github.com/splitmix/splitmix/ipc/ipctest"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// The tests share one real spoold process (cmd/spoold, built once with
// -race), started on first use; each test uses its own random user names.
// The tests of ephemeral clients each run their own spoold (privateSpoold):
// a Provider with EnableEphemeralClients adopts every ephemeral user spoold
// recorded, other tests' included, so they need a database of their own.
var shared struct {
	once   sync.Once
	err    error
	proc   *spooldProc
	client *spoolproto.Client
}

// build is cmd/spoold, built once for all the spoolds of the package.
var build struct {
	once sync.Once
	err  error
	dir  string
	bin  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.proc != nil {
		_ = shared.client.Close()
		shared.proc.stop()
		_ = os.RemoveAll(shared.proc.dir)
	}
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

func spooldBinary() (string, error) {
	build.once.Do(func() {
		if build.dir, build.err = os.MkdirTemp("", "provbin"); build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "spoold")
		if out, err := exec.Command("go", "build", "-race", "-o", build.bin, "github.com/splitmix/splitmix/cmd/spoold").CombinedOutput(); err != nil {
			build.err = fmt.Errorf("building spoold: %v\n%s", err, out)
		}
	})
	return build.bin, build.err
}

// spooldProc is one spoold process over its own data directory; it can be
// stopped and started again over the same databases.
type spooldProc struct {
	dir, file, socket string
	cmd               *exec.Cmd
	exited            chan struct{}
	stderr            bytes.Buffer
}

// newSpoold writes a Provider configuration under a fresh short directory
// (socket paths are limited to 107 bytes) and starts spoold on it.
func newSpoold() (*spooldProc, error) {
	dir, err := os.MkdirTemp("", "prov")
	if err != nil {
		return nil, err
	}
	s := &spooldProc{dir: dir, file: filepath.Join(dir, "katzenpost.toml"), socket: filepath.Join(dir, "run", "spoold.sock")}
	cfg := fmt.Sprintf(`[Server]
  Identifier = "provider.example"
  Addresses = ["tcp://127.0.0.1:29483"]
  DataDir = %q
  IsProvider = true

[PKI.Nonvoting]
  Address = "127.0.0.1:2323"
  PublicKey = "kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="

[Logging]
  File = %q
  Level = "INFO"
`, dir, filepath.Join(dir, "spoold.log"))
	if err := os.WriteFile(s.file, []byte(cfg), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// start runs spoold and waits until its socket answers a hello.
func (s *spooldProc) start() error {
	bin, err := spooldBinary()
	if err != nil {
		return err
	}
	s.stderr.Reset()
	cmd := exec.Command(bin, "-f", s.file)
	cmd.Stderr = &s.stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("spoold exited: %s", s.stderr.String())
		default:
		}
		// A SIGKILLed spoold leaves its socket file: the hello, not the
		// file, says the new one is up.
		if _, err := os.Stat(s.socket); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c, err := spoolproto.Dial(ctx, s.socket, nil)
			cancel()
			if err == nil {
				_ = c.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("spoold did not come up: %s", s.stderr.String())
		}
		// Poll for the socket that the separate process creates; its
		// exit ends the wait at once.
		select {
		case <-exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop ends spoold with SIGTERM, or SIGKILL if it takes too long.
func (s *spooldProc) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.kill()
	}
}

// kill SIGKILLs spoold and waits until it is gone.
func (s *spooldProc) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

func (s *spooldProc) dial() (*spoolproto.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return spoolproto.Dial(ctx, s.socket, nil)
}

// store returns the shared real spoold's client.
func store(t testing.TB) *spoolproto.Client {
	t.Helper()
	shared.once.Do(func() {
		if shared.proc, shared.err = newSpoold(); shared.err == nil {
			shared.client, shared.err = shared.proc.dial()
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.client
}

// privateSpoold starts a spoold of the test's own, with its own databases,
// and returns it and a client of it; both end with the test.
func privateSpoold(t testing.TB) (*spooldProc, *spoolproto.Client) {
	t.Helper()
	proc, err := newSpoold()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proc.stop()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(proc.dir, "spoold.log"))
			t.Logf("spoold log:\n%s", b)
		}
		_ = os.RemoveAll(proc.dir)
	})
	c, err := proc.dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return proc, c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newUserName returns a fresh random user name (docs/spec/client.md §1.1).
func newUserName(t testing.TB) []byte {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Appendf(nil, "u-%x", b)
}

func newLinkKey(t testing.TB) *keys.LinkPublicKey {
	t.Helper()
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// addUser creates a fresh user in spoold and returns its name.
func addUser(t testing.TB, st spoolproto.Store) []byte {
	t.Helper()
	u := newUserName(t)
	if err := st.AddUser(ctxT(t), u, newLinkKey(t)); err != nil {
		t.Fatal(err)
	}
	return u
}

// node is a Sphinx node of the test network: its id and Sphinx key.
type node struct {
	id   keys.NodeID
	priv [32]byte
	pub  [32]byte
}

func newNode(t testing.TB) *node {
	t.Helper()
	n := &node{}
	if _, err := rand.Read(n.id[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(n.priv[:]); err != nil {
		t.Fatal(err)
	}
	n.pub = sphinx.PublicKey(&n.priv)
	return n
}

func (n *node) hop(delay uint32) sphinx.PathHop {
	return sphinx.PathHop{ID: n.id, PublicKey: n.pub, Delay: delay}
}

// fakeClock is a settable clock for the Provider.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is a Provider over the real spoold, with the test network's
// nodes: prov is this Provider, mix a mix of Layers[0] that SURB replies go
// to first.
type harness struct {
	t    *testing.T
	p    *Provider
	sph  *sphinx.Sphinx
	st   spoolproto.Store
	prov *node
	mix  *node
	out  chan Outgoing
}

// newHarness starts a Provider over the shared spoold; edit adjusts its
// configuration first.
func newHarness(t *testing.T, edit func(*Config)) *harness {
	t.Helper()
	return newHarnessOn(t, store(t), edit)
}

// newHarnessOn starts a Provider over st (h.st); edit may still replace
// Config.Store by a wrapper of st.
func newHarnessOn(t *testing.T, st spoolproto.Store, edit func(*Config)) *harness {
	t.Helper()
	sph, err := sphinx.New(sphinx.DefaultGeometry())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, sph: sph, st: st, prov: newNode(t), mix: newNode(t), out: make(chan Outgoing, 64)}
	cfg := Config{
		Sphinx: sph,
		Store:  h.st,
		Send: func(o Outgoing) bool {
			select {
			case h.out <- o:
				return true
			default:
				return false
			}
		},
		ProviderWorkers:  2,
		ProviderDelay:    time.Minute,
		KaetzchenWorkers: 2,
		KaetzchenDelay:   time.Minute,
	}
	if edit != nil {
		edit(&cfg)
	}
	h.p, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.p.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return h
}

// surb makes a SURB whose reply goes mix -> prov and ends at recipient.
func (h *harness) surb(recipient []byte) ([]byte, sphinx.SURBKeys, sphinx.SURBID) {
	h.t.Helper()
	rid, err := sphinx.NewRecipientID(string(recipient))
	if err != nil {
		h.t.Fatal(err)
	}
	surb, k, id, err := h.sph.NewSURB(rand.Reader, []sphinx.PathHop{h.mix.hop(7), h.prov.hop(0)}, rid)
	if err != nil {
		h.t.Fatal(err)
	}
	return surb, k, id
}

// forward builds a 1-hop packet to recipient at this Provider, with an
// optional SURB and the terminal delay, unwraps it with the Provider's key
// and returns the terminal result, as mixd's crypto worker would have it.
func (h *harness) forward(recipient, surb, userPayload []byte, delay uint32) *sphinx.UnwrapResult {
	h.t.Helper()
	rid, err := sphinx.NewRecipientID(string(recipient))
	if err != nil {
		h.t.Fatal(err)
	}
	fp, err := h.sph.EncodeForwardPayload(surb, userPayload)
	if err != nil {
		h.t.Fatal(err)
	}
	pkt, err := h.sph.NewPacket(rand.Reader, []sphinx.PathHop{h.prov.hop(delay)}, rid, fp)
	if err != nil {
		h.t.Fatal(err)
	}
	res := new(sphinx.UnwrapResult)
	if err := h.sph.Unwrap(&h.prov.priv, pkt, res); err != nil {
		h.t.Fatal(err)
	}
	if !res.Commands.IsTerminal() {
		h.t.Fatal("1-hop packet is not terminal")
	}
	return res
}

// travel takes a packet the Provider sent through a SURB and carries it
// along the reply path (mix, then prov), returning prov's terminal result.
func (h *harness) travel(o Outgoing) *sphinx.UnwrapResult {
	h.t.Helper()
	if o.NextHop != h.mix.id {
		h.t.Fatalf("reply sent to %v, want the SURB's first hop %v", o.NextHop, h.mix.id)
	}
	pkt := o.Packet
	res := new(sphinx.UnwrapResult)
	if err := h.sph.Unwrap(&h.mix.priv, pkt, res); err != nil {
		h.t.Fatal(err)
	}
	if res.Commands.IsTerminal() || res.Commands.NextHop != h.prov.id || res.Commands.Delay != 7 {
		h.t.Fatalf("mix hop commands: %+v", res.Commands)
	}
	if err := h.sph.Unwrap(&h.prov.priv, pkt, res); err != nil {
		h.t.Fatal(err)
	}
	if !res.Commands.IsTerminal() || !res.Commands.HasSURBReply {
		h.t.Fatalf("reply terminal commands: %+v", res.Commands)
	}
	return res
}

// next waits for the next packet the Provider sends.
func (h *harness) next() Outgoing {
	h.t.Helper()
	select {
	case o := <-h.out:
		return o
	case <-time.After(20 * time.Second):
		h.t.Fatal("no packet sent")
	}
	return Outgoing{}
}

// noPacket checks that nothing was sent, once the Provider's queues are
// idle (checked by the caller through a counter).
func (h *harness) noPacket() {
	h.t.Helper()
	select {
	case o := <-h.out:
		h.t.Fatalf("unexpected packet to %v", o.NextHop)
	default:
	}
}

// waitStat waits until f(stats) holds.
func (h *harness) waitStat(what string, f func(*Stats) bool) {
	h.t.Helper()
	ipctest.Eventually(h.t, 20*time.Second, what, func() bool {
		s := h.p.Stats()
		return f(&s)
	})
}

// userPayload is a U-byte payload starting with b.
func (h *harness) userPayload(b []byte) []byte {
	p := make([]byte, h.sph.Geometry().UserForwardPayloadLength)
	copy(p, b)
	return p
}
