package integration

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/mixtest"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/proctest"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// testPeriod is the epoch length of the test network: short enough that a
// test sees the epoch change, long enough for a 3-layer network to start.
const testPeriod = 10 * time.Second

// mixNode is one mix of the test network: a keyd and a mixd sharing a
// configuration file.
type mixNode struct {
	name string
	// diskQueue sets Debug.SchedulerExternalMemoryQueue.
	diskQueue bool
	dir       string
	cfgPath   string
	port      int
	id        keys.NodeID
	keyd      *proc
	mixd      *proc
}

func (m *mixNode) mixdLog() string { return filepath.Join(m.dir, "mixd.log") }

// network is a running test network.
type network struct {
	t        *testing.T // the running (sub)test: failures go here
	root     *testing.T // the test that owns the processes
	dir      string
	clock    epochtime.Clock
	authAddr string
	authPub  keys.IdentityPublicKey
	dirauth  *proc
	layers   [][]*mixNode
	sender   *provider
	receiver *provider
	stranger *mixtest.Node // a node the authority does not know
	geometry sphinx.Geometry
	sphinx   *sphinx.Sphinx

	allowed []allowedNode

	docMu sync.Mutex
	docs  map[uint64]*pki.Document
}

var (
	reIdentity = regexp.MustCompile(`Server identity public key is: ([0-9A-F]{64})`)
	reDirauth  = regexp.MustCompile(`PublicKey = "([^"]+)"`)
	reReady    = regexp.MustCompile(`ready: routing packets`)
	reCounters = regexp.MustCompile(`packet counters: counters="([^"]*)"`)
)

// startNetwork starts a directory authority and perLayer mixes in each of
// three layers, plus the two in-test Providers, and waits until every mix
// routes.
func startNetwork(t *testing.T, perLayer int) *network {
	t.Helper()
	n := &network{t: t, root: t, dir: proctest.ShortTempDir(t), docs: map[uint64]*pki.Document{}}
	n.clock, _ = epochtime.New(testPeriod)
	n.geometry = sphinx.DefaultGeometry()
	n.sphinx, _ = sphinx.New(n.geometry)
	ports := proctest.FreePorts(t, 1+3*perLayer)
	n.authAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])

	var err error
	if n.sender, err = newProvider(n, "sender"); err != nil {
		t.Fatal(err)
	}
	if n.receiver, err = newProvider(n, "receiver"); err != nil {
		t.Fatal(err)
	}
	if n.stranger, err = mixtest.NewNode("stranger", false); err != nil {
		t.Fatal(err)
	}

	// The authority's keys first: every node's configuration names them.
	authDir := filepath.Join(n.dir, "dirauth")
	if err := os.MkdirAll(authDir, 0o700); err != nil {
		t.Fatal(err)
	}
	authCfg := filepath.Join(authDir, "dirauth.toml")
	proctest.WriteFile(t, authCfg, n.dirauthConfig(authDir, nil))
	m := reDirauth.FindStringSubmatch(runOnce(t, "dirauth", "-f", authCfg, "-g"))
	if m == nil {
		t.Fatal("dirauth -g printed no PublicKey line")
	}
	if n.authPub, err = keys.ParseIdentityPublicKey(m[1]); err != nil {
		t.Fatal(err)
	}

	// Then each mix's keys, made by its keyd.
	var mixes []*mixNode
	for i := 0; i < 3*perLayer; i++ {
		// One mix in three holds its delayed packets in the disk queue.
		mn := &mixNode{name: fmt.Sprintf("mix-%c", 'a'+i), port: ports[1+i], diskQueue: i%3 == 1}
		mn.dir = filepath.Join(n.dir, mn.name)
		if err := os.MkdirAll(mn.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		mn.cfgPath = filepath.Join(mn.dir, "node.toml")
		proctest.WriteFile(t, mn.cfgPath, n.nodeConfig(mn))
		out := runOnce(t, "keyd", "-f", mn.cfgPath, "-g")
		idm := reIdentity.FindStringSubmatch(out)
		if idm == nil {
			t.Fatalf("keyd -g printed no identity key:\n%s", out)
		}
		pub, err := keys.ParseIdentityPublicKey(idm[1])
		if err != nil {
			t.Fatal(err)
		}
		mn.id = pub.NodeID()
		mixes = append(mixes, mn)
		n.allowed = append(n.allowed, allowedNode{name: mn.name, key: pub.String()})
	}
	proctest.WriteFile(t, authCfg, n.dirauthConfig(authDir, n.allowed))
	n.dirauth = start(t, "dirauth", "dirauth", filepath.Join(authDir, "dirauth.log"), "-f", authCfg)

	// The Providers post before any mix starts, so that the authority
	// never builds a document without them.
	for _, p := range []*provider{n.sender, n.receiver} {
		posted := map[uint64]bool{}
		proctest.Eventually(t, 20*time.Second, p.node.Name+"'s descriptors accepted", func() bool {
			return p.postAhead(context.Background(), posted)
		})
	}
	// The authority builds the next epoch's document at 3/4 of this one:
	// start the mixes early enough in an epoch that all of them post for
	// the next one in time.
	proctest.Eventually(t, testPeriod, "the first half of an epoch", func() bool {
		_, elapsed, _ := n.clock.Current()
		return elapsed < testPeriod/2
	})
	for _, mn := range mixes {
		n.startKeyd(mn)
	}
	for _, mn := range mixes {
		n.startMixd(mn)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, p := range []*provider{n.sender, n.receiver} {
		go p.postLoop(ctx)
		go p.serve(ctx)
	}
	go n.docLoop(ctx)

	for _, mn := range mixes {
		mn.mixd.waitLog(t, 0, reReady, 60*time.Second)
	}
	// The authority, not the test, assigns the layers.
	e, _, _ := n.clock.Current()
	doc := n.waitDocument(e)
	n.layers = make([][]*mixNode, len(doc.Layers))
	for _, mn := range mixes {
		l, ok := doc.LayerOf(mn.id)
		if !ok || l < 0 {
			t.Fatalf("%s is not a mix in the document for epoch %d", mn.name, e)
		}
		n.layers[l] = append(n.layers[l], mn)
	}
	for l, layer := range n.layers {
		if len(layer) == 0 {
			t.Fatalf("layer %d is empty", l)
		}
	}
	return n
}

type allowedNode struct{ name, key string }

func (n *network) dirauthConfig(dir string, mixes []allowedNode) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[Authority]
  Addresses = ["tcp://%s"]
  DataDir = %q
  Layers = 3
  EpochPeriod = "%s"
  BootstrapGrace = "1s"
  HandshakeTimeout = "5s"

[Logging]
  Level = "INFO"

[Parameters]
  MuMaxDelay = 5000
`, n.authAddr, dir, testPeriod)
	for _, m := range mixes {
		fmt.Fprintf(&b, "\n[[Mixes]]\n  Identifier = %q\n  IdentityKey = %q\n", m.name, m.key)
	}
	for _, p := range []*provider{n.sender, n.receiver} {
		if mixes == nil {
			break
		}
		fmt.Fprintf(&b, "\n[[Providers]]\n  Identifier = %q\n  IdentityKey = %q\n", p.node.Name, p.node.Public.String())
	}
	return b.String()
}

func (n *network) nodeConfig(m *mixNode) string {
	return fmt.Sprintf(`[Server]
  Identifier = %q
  Addresses = ["tcp://127.0.0.1:%d"]
  DataDir = %q

[PKI]
  [PKI.Nonvoting]
    Address = %q
    PublicKey = %q

[Logging]
  Level = "INFO"

[Debug]
  NumSphinxWorkers = 2
  ConnectTimeout = 2000
  HandshakeTimeout = 5000
  ReauthInterval = 1000
  UnwrapDelay = 1000
  SchedulerSlack = 500
  SendSlack = 500
  SchedulerExternalMemoryQueue = %v

[Privsep]
  EpochPeriod = "%s"
`, m.name, m.port, m.dir, n.authAddr, n.authPub.String(), m.diskQueue, testPeriod)
}

func (n *network) startKeyd(m *mixNode) {
	n.t.Helper()
	m.keyd = start(n.root, m.name+"/keyd", "keyd", filepath.Join(m.dir, "keyd.log"), "-f", m.cfgPath)
	sock := filepath.Join(m.dir, "run", "keyd.sock")
	proctest.Eventually(n.t, 20*time.Second, m.name+"'s keyd socket", func() bool {
		if m.keyd.Exited() {
			n.t.Fatalf("%s's keyd exited:\n%s", m.name, proctest.Tail(m.keyd.LogPath, 20))
		}
		_, err := os.Stat(sock)
		return err == nil
	})
}

func (n *network) startMixd(m *mixNode) {
	n.t.Helper()
	m.mixd = start(n.root, m.name+"/mixd", "mixd", m.mixdLog(), "-f", m.cfgPath)
}

// docLoop keeps the Providers' routing tables fed with the documents of the
// current and next epochs.
func (n *network) docLoop(ctx context.Context) {
	c := n.client()
	for ctx.Err() == nil {
		e, _, _ := n.clock.Current()
		for _, target := range []uint64{e, e + 1} {
			if _, ok := n.document(target); ok {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			doc, _, err := c.Document(rctx, target)
			cancel()
			if err != nil {
				continue
			}
			n.docMu.Lock()
			n.docs[target] = doc
			n.docMu.Unlock()
			for _, p := range []*provider{n.sender, n.receiver} {
				p.addDocument(doc)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// client is a PKI client with a throw-away link key and no identity.
func (n *network) client() *dirauth.Client {
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		n.t.Fatal(err)
	}
	return &dirauth.Client{Address: n.authAddr, Authority: n.authPub, Static: k}
}

func (n *network) document(e uint64) (*pki.Document, bool) {
	n.docMu.Lock()
	defer n.docMu.Unlock()
	d, ok := n.docs[e]
	return d, ok
}

// waitDocument waits for the document of epoch e.
func (n *network) waitDocument(e uint64) *pki.Document {
	n.t.Helper()
	var doc *pki.Document
	proctest.Eventually(n.t, 3*testPeriod, fmt.Sprintf("the document for epoch %d", e), func() bool {
		var ok bool
		doc, ok = n.document(e)
		return ok
	})
	return doc
}

// hop is one mix of a path and its delay.
type hop struct {
	mix   *mixNode
	delay time.Duration
}

// packet builds a packet from the sender through path to the receiver,
// under the keys of epoch e, carrying msg.
func (n *network) packet(e uint64, path []hop, msg string) []byte {
	n.t.Helper()
	doc := n.waitDocument(e)
	var hops []sphinx.PathHop
	for _, h := range path {
		entry, _, ok := doc.Node(h.mix.id)
		if !ok {
			n.t.Fatalf("%s is not in the document for epoch %d", h.mix.name, e)
		}
		hops = append(hops, sphinx.PathHop{ID: h.mix.id, PublicKey: entry.Descriptor.MixKeys[e], Delay: uint32(h.delay / time.Millisecond)})
	}
	rk, err := n.receiver.node.SphinxKey(e)
	if err != nil {
		n.t.Fatal(err)
	}
	hops = append(hops, sphinx.PathHop{ID: n.receiver.node.ID, PublicKey: rk.Public})
	rcpt, _ := sphinx.NewRecipientID("bob")
	payload, err := n.sphinx.EncodeForwardPayload(nil, []byte(msg))
	if err != nil {
		n.t.Fatal(err)
	}
	pkt, err := n.sphinx.NewPacket(rand.Reader, hops, rcpt, payload)
	if err != nil {
		n.t.Fatal(err)
	}
	return pkt
}

// path is the default route: the first mix of every layer with delays.
func (n *network) path(delays ...time.Duration) []hop {
	var p []hop
	for l, layer := range n.layers {
		p = append(p, hop{mix: layer[0], delay: delays[l]})
	}
	return p
}

// counters makes m's mixd log its packet counters (SIGUSR1) and returns
// them.
func (n *network) counters(m *mixNode) drops.Snapshot {
	n.t.Helper()
	from := logSize(m.mixdLog())
	if err := m.mixd.Cmd.Process.Signal(sigUSR1); err != nil {
		n.t.Fatal(err)
	}
	got := m.mixd.waitLog(n.t, from, reCounters, 10*time.Second)
	s, err := drops.Parse(got[1])
	if err != nil {
		n.t.Fatalf("parsing %q: %v", got[1], err)
	}
	return s
}

// waitCounter waits until m counts at least want drops for reason.
func (n *network) waitCounter(m *mixNode, reason drops.Reason, want uint64) drops.Snapshot {
	n.t.Helper()
	var s drops.Snapshot
	proctest.Eventually(n.t, 15*time.Second, fmt.Sprintf("%s to count %d %v", m.name, want, reason), func() bool {
		s = n.counters(m)
		return s.Dropped[reason] >= want
	})
	return s
}

// waitForwarded waits until m counts at least want packets forwarded.
func (n *network) waitForwarded(m *mixNode, want uint64) drops.Snapshot {
	n.t.Helper()
	var s drops.Snapshot
	proctest.Eventually(n.t, 15*time.Second, fmt.Sprintf("%s to count %d forwarded", m.name, want), func() bool {
		s = n.counters(m)
		return s.Forwarded >= want
	})
	return s
}

var sigUSR1 = syscall.SIGUSR1
