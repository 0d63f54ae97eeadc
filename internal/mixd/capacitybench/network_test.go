package capacitybench

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/proctest"
)

// The smallest network a Provider runs in: an authority, one mix layer of
// one mix, and the Provider. The mix only has to exist for the document to
// be complete (docs/spec/dirauth.md §6.4); the Provider is what is
// measured.

// queueHold is the delay the queued packets ask of the Provider (their
// hop 0): far longer than the benchmark, so every packet sent stays in
// the Provider's scheduler until the end.
const queueHold = 30 * time.Minute

// maxHopDelay is the document's MuMaxDelay (ms): above queueHold, so the
// Provider accepts the long hop-0 delay (route.View.MaxDelay).
const maxHopDelay = 2 * 60 * 60 * 1000

var (
	reIdentity = regexp.MustCompile(`Server identity public key is: ([0-9A-F]{64})`)
	reAuthKey  = regexp.MustCompile(`PublicKey = "([^"]+)"`)
)

// node is one node of the network and its processes.
type node struct {
	name     string
	provider bool
	dir      string
	cfgPath  string
	port     int
	identity string // identity public key, as keyd -g printed it
	keyd     *proctest.Proc
	spoold   *proctest.Proc // the Provider only
	mixd     *proctest.Proc
}

func (nd *node) mgmtSocket() string { return filepath.Join(nd.dir, "management_sock") }
func (nd *node) address() string    { return fmt.Sprintf("127.0.0.1:%d", nd.port) }

// netOptions vary the Provider's configuration.
type netOptions struct {
	// schedulerQueue is the Provider's SchedulerQueueSize.
	schedulerQueue int
	// diskQueue sets SchedulerExternalMemoryQueue on the Provider.
	diskQueue bool
}

// network is a running network.
type network struct {
	bin      string
	dir      string
	clock    epochtime.Clock
	authAddr string
	authPub  keys.IdentityPublicKey
	dirauth  *proctest.Proc
	mix      *node
	provider *node
	opts     netOptions
}

// startNetwork starts the authority, the mix and the Provider, and waits
// until the Provider's pipeline runs under the current epoch's document.
func startNetwork(tb testing.TB, opts netOptions) *network {
	tb.Helper()
	bin := binaries(tb)
	dir, err := os.MkdirTemp("", "cap") // short: UNIX socket paths are limited
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	n := &network{bin: bin, dir: dir, opts: opts}
	if n.clock, err = epochtime.New(epochtime.FreshPeriod(time.Now(), time.Hour)); err != nil {
		tb.Fatal(err)
	}
	ports := proctest.FreePorts(tb, 3)
	n.authAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	n.mix = &node{name: "mix", port: ports[1]}
	n.provider = &node{name: "provider", provider: true, port: ports[2]}

	authDir := filepath.Join(dir, "dirauth")
	if err := os.MkdirAll(authDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	authCfg := filepath.Join(authDir, "dirauth.toml")
	proctest.WriteFile(tb, authCfg, n.dirauthConfig(authDir))
	m := reAuthKey.FindStringSubmatch(runOnce(tb, filepath.Join(bin, "dirauth"), "-f", authCfg, "-g"))
	if m == nil {
		tb.Fatal("dirauth -g printed no PublicKey line")
	}
	if n.authPub, err = keys.ParseIdentityPublicKey(m[1]); err != nil {
		tb.Fatal(err)
	}
	for _, nd := range n.nodes() {
		nd.dir = filepath.Join(dir, nd.name)
		if err := os.MkdirAll(nd.dir, 0o700); err != nil {
			tb.Fatal(err)
		}
		nd.cfgPath = filepath.Join(nd.dir, "node.toml")
		proctest.WriteFile(tb, nd.cfgPath, n.nodeConfig(nd))
		out := runOnce(tb, filepath.Join(bin, "keyd"), "-f", nd.cfgPath, "-g")
		idm := reIdentity.FindStringSubmatch(out)
		if idm == nil {
			tb.Fatalf("keyd -g printed no identity key:\n%s", out)
		}
		nd.identity = idm[1]
	}
	proctest.WriteFile(tb, authCfg, n.dirauthConfig(authDir))
	n.dirauth = proctest.Start(tb, "dirauth", filepath.Join(bin, "dirauth"), filepath.Join(authDir, "dirauth.log"), "-f", authCfg)
	for _, nd := range n.nodes() {
		nd.keyd = proctest.Start(tb, nd.name+"/keyd", filepath.Join(bin, "keyd"), filepath.Join(nd.dir, "keyd.log"), "-f", nd.cfgPath)
		n.waitSocket(tb, nd.keyd, filepath.Join(nd.dir, "run", "keyd.sock"))
	}
	nd := n.provider
	nd.spoold = proctest.Start(tb, nd.name+"/spoold", filepath.Join(bin, "spoold"), filepath.Join(nd.dir, "spoold.log"), "-f", nd.cfgPath)
	n.waitSocket(tb, nd.spoold, filepath.Join(nd.dir, "run", "spoold.sock"))
	for _, nd := range n.nodes() {
		nd.mixd = proctest.Start(tb, nd.name+"/mixd", filepath.Join(bin, "mixd"), filepath.Join(nd.dir, "mixd.log"), "-f", nd.cfgPath)
	}
	proctest.Eventually(tb, 2*time.Minute, "the Provider's pipeline and its link to the mix", func() bool {
		n.checkAlive(tb)
		st, err := readStats(n.provider.mgmtSocket())
		if err != nil {
			return false
		}
		return st.get("epoch", "routing") == "true" && st.get("links", "outgoing_up") == "1"
	})
	return n
}

func (n *network) nodes() []*node { return []*node{n.mix, n.provider} }

// checkAlive fails the benchmark if a daemon exited unasked.
func (n *network) checkAlive(tb testing.TB) {
	tb.Helper()
	for _, p := range []*proctest.Proc{n.dirauth, n.mix.keyd, n.mix.mixd, n.provider.keyd, n.provider.spoold, n.provider.mixd} {
		if p != nil && p.Exited() {
			tb.Fatalf("%s exited: %v\n%s", p.Name, p.Wait(), proctest.Tail(p.LogPath, 30))
		}
	}
}

// waitSocket waits until something accepts connections on path.
func (n *network) waitSocket(tb testing.TB, p *proctest.Proc, path string) {
	tb.Helper()
	proctest.Eventually(tb, 30*time.Second, p.Name+"'s socket", func() bool {
		if p.Exited() {
			tb.Fatalf("%s exited: %v\n%s", p.Name, p.Wait(), proctest.Tail(p.LogPath, 20))
		}
		c, err := net.Dial("unix", path)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// document fetches the current epoch's document from the authority.
func (n *network) document(ctx context.Context) (*pki.Document, error) {
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		return nil, err
	}
	e, _, _ := n.clock.Current()
	c := &dirauth.Client{Address: n.authAddr, Authority: n.authPub, Static: k}
	doc, _, err := c.Document(ctx, e)
	return doc, err
}

func (n *network) dirauthConfig(dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[Authority]
  Addresses = ["tcp://%s"]
  DataDir = %q
  Layers = 1
  EpochPeriod = "%ds"
  BootstrapGrace = "1s"
  MinProviders = 1

[Logging]
  Level = "NOTICE"

[Parameters]
  SendRatePerMinute = 600
  Mu = 0.001
  MuMaxDelay = %d
`, n.authAddr, dir, int64(n.clock.Period/time.Second), maxHopDelay)
	for _, nd := range n.nodes() {
		section := "Mixes"
		if nd.provider {
			section = "Providers"
		}
		if nd.identity != "" {
			fmt.Fprintf(&b, "\n[[%s]]\n  Identifier = %q\n  IdentityKey = %q\n", section, nd.name, nd.identity)
		}
	}
	return b.String()
}

func (n *network) nodeConfig(nd *node) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[Server]
  Identifier = %q
  Addresses = ["tcp://%s"]
  DataDir = %q
  IsProvider = %v

[PKI]
  [PKI.Nonvoting]
    Address = %q
    PublicKey = %q

[Logging]
  Level = "NOTICE"

[Privsep]
  EpochPeriod = "%ds"
`, nd.name, nd.address(), nd.dir, nd.provider, n.authAddr, n.authPub.String(), int64(n.clock.Period/time.Second))
	if nd.provider {
		// The queued packets come from one sender link, faster than a
		// client may send: the rate limit would drop them.
		fmt.Fprintf(&b, `
[Debug]
  DisableRateLimit = true
  SchedulerQueueSize = %d
  SchedulerExternalMemoryQueue = %v

[Provider]
`, n.opts.schedulerQueue, n.opts.diskQueue)
	}
	return b.String()
}
