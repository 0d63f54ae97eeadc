package forwardbench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/mixd"
	"github.com/splitmix/splitmix/internal/mixd/mixtest"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/proctest"
	"github.com/splitmix/splitmix/internal/sphinx"
	"github.com/splitmix/splitmix/ipc/keyproto"
)

// The network: an authority (process), one mix layer holding the measured
// mix (keyd as a process, mixd in this process), and two Providers with
// in-memory keys whose descriptors this process posts: the sender (the
// mix's previous hop) and the sink (its next hop). Their link sessions run
// in the helper process (rig_test.go).

var (
	reIdentity = regexp.MustCompile(`Server identity public key is: ([0-9A-F]{64})`)
	reAuthKey  = regexp.MustCompile(`PublicKey = "([^"]+)"`)
)

// network is the running network and the helper process driving it.
type network struct {
	dir      string
	clock    epochtime.Clock
	epoch    uint64
	authAddr string
	authPub  keys.IdentityPublicKey
	mixPort  int
	mixDir   string
	mixID    keys.NodeID
	workers  int // the mix's NumSphinxWorkers
	window   int // the sender's window (-forward.window)
	sender   *mixtest.Node
	sink     *mixtest.Node
	senderLn net.Listener // advertised by the sender; never accepts
	sinkLn   net.Listener // handed to the helper process

	dirauth *proctest.Proc
	keyd    *proctest.Proc
	mix     *mixd.Mixd
	mixStop context.CancelFunc
	mixDone chan error
	rig     *rigProcess

	postStop context.CancelFunc
	postDone sync.WaitGroup
}

// startNetwork starts everything and waits until the mix routes and its
// link to the sink is up. opts are the helper's sending options.
func startNetwork(opts rigOptions) (n *network, err error) {
	dir, err := os.MkdirTemp("", "fwd") // short: UNIX socket paths are limited
	if err != nil {
		return nil, err
	}
	n = &network{dir: dir}
	defer func() {
		if err != nil {
			n.close()
			n = nil
		}
	}()
	bin := filepath.Join(dir, "bin")
	if err := proctest.Build(context.Background(), bin, "dirauth", "keyd"); err != nil {
		return n, err
	}
	if n.clock, err = epochtime.New(epochtime.FreshPeriod(time.Now(), time.Hour)); err != nil {
		return n, err
	}
	n.epoch, _, _ = n.clock.Current()
	authPort, err := freePort()
	if err != nil {
		return n, err
	}
	if n.mixPort, err = freePort(); err != nil {
		return n, err
	}
	n.authAddr = fmt.Sprintf("127.0.0.1:%d", authPort)
	if n.sender, err = newProvider("sender"); err != nil {
		return n, err
	}
	if n.sink, err = newProvider("sink"); err != nil {
		return n, err
	}
	if n.senderLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return n, err
	}
	if n.sinkLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return n, err
	}

	// Keys: the authority's, then the mix's (made by its keyd).
	authDir := filepath.Join(dir, "dirauth")
	n.mixDir = filepath.Join(dir, "mix")
	for _, d := range []string{authDir, n.mixDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return n, err
		}
	}
	authCfg := filepath.Join(authDir, "dirauth.toml")
	if err := os.WriteFile(authCfg, []byte(n.dirauthConfig(authDir, "")), 0o600); err != nil {
		return n, err
	}
	out, err := proctest.Output(filepath.Join(bin, "dirauth"), "-f", authCfg, "-g")
	if err != nil {
		return n, err
	}
	m := reAuthKey.FindStringSubmatch(out)
	if m == nil {
		return n, fmt.Errorf("dirauth -g printed no PublicKey line:\n%s", out)
	}
	if n.authPub, err = keys.ParseIdentityPublicKey(m[1]); err != nil {
		return n, err
	}
	mixCfg := filepath.Join(n.mixDir, "node.toml")
	if err := os.WriteFile(mixCfg, []byte(n.mixConfig()), 0o600); err != nil {
		return n, err
	}
	if out, err = proctest.Output(filepath.Join(bin, "keyd"), "-f", mixCfg, "-g"); err != nil {
		return n, err
	}
	idm := reIdentity.FindStringSubmatch(out)
	if idm == nil {
		return n, fmt.Errorf("keyd -g printed no identity key:\n%s", out)
	}
	mixIdentity, err := keys.ParseIdentityPublicKey(idm[1])
	if err != nil {
		return n, err
	}
	n.mixID = mixIdentity.NodeID()

	if err := os.WriteFile(authCfg, []byte(n.dirauthConfig(authDir, idm[1])), 0o600); err != nil {
		return n, err
	}
	if n.dirauth, err = proctest.Launch("dirauth", filepath.Join(bin, "dirauth"), filepath.Join(authDir, "dirauth.log"), "-f", authCfg); err != nil {
		return n, err
	}
	// The Providers post before the mix starts, so that the authority
	// never builds a document without them.
	posted := map[*mixtest.Node]map[uint64]bool{n.sender: {}, n.sink: {}}
	if err := proctest.WaitFor(30*time.Second, "the Providers' descriptors accepted", func() (bool, error) {
		if n.dirauth.Exited() {
			return false, fmt.Errorf("dirauth exited: %v\n%s", n.dirauth.Wait(), proctest.Tail(n.dirauth.LogPath, 20))
		}
		a := n.postAhead(context.Background(), n.sender, n.senderLn.Addr().String(), posted[n.sender])
		b := n.postAhead(context.Background(), n.sink, n.sinkLn.Addr().String(), posted[n.sink])
		return a && b, nil
	}); err != nil {
		return n, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.postStop = cancel
	n.postDone.Add(1)
	go n.postLoop(ctx, posted)

	if n.keyd, err = proctest.Launch("keyd", filepath.Join(bin, "keyd"), filepath.Join(n.mixDir, "keyd.log"), "-f", mixCfg); err != nil {
		return n, err
	}
	keydSock := filepath.Join(n.mixDir, "run", "keyd.sock")
	if err := proctest.WaitFor(30*time.Second, "keyd's socket", func() (bool, error) {
		if n.keyd.Exited() {
			return false, fmt.Errorf("keyd exited: %v\n%s", n.keyd.Wait(), proctest.Tail(n.keyd.LogPath, 20))
		}
		_, err := os.Stat(keydSock)
		return err == nil, nil
	}); err != nil {
		return n, err
	}
	rc, err := n.rigConfig(keydSock, opts)
	if err != nil {
		return n, err
	}
	if n.rig, err = startRig(rc, n.sinkLn, filepath.Join(dir, "rig.log")); err != nil {
		return n, err
	}

	cfg, err := config.Load(mixCfg)
	if err != nil {
		return n, err
	}
	n.workers = cfg.Debug.NumSphinxWorkers
	if n.mix, err = mixd.New(cfg); err != nil {
		return n, err
	}
	mctx, mstop := context.WithCancel(context.Background())
	n.mixStop, n.mixDone = mstop, make(chan error, 1)
	go func() { n.mixDone <- n.mix.Run(mctx, nil) }()

	if err := proctest.WaitFor(2*time.Minute, "the mix routing, with its link to the sink up", func() (bool, error) {
		select {
		case err := <-n.mixDone:
			n.mixDone <- err
			return false, fmt.Errorf("mixd stopped: %v\n%s", err, proctest.Tail(filepath.Join(n.mixDir, "mixd.log"), 20))
		default:
		}
		st, err := readStats(filepath.Join(n.mixDir, "management_sock"))
		if err != nil {
			return false, nil
		}
		return st["epoch"]["routing"] == "true" && st["links"]["outgoing_up"] == "1", nil
	}); err != nil {
		return n, err
	}
	return n, n.checkDocument()
}

// newProvider makes an in-memory Provider whose link key comes from a seed
// the helper process can be given.
func newProvider(name string) (*mixtest.Node, error) {
	nd, err := mixtest.NewNode(name, true)
	if err != nil {
		return nil, err
	}
	seed := make([]byte, memkey.LinkSeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if nd.Link, err = memkey.NewLinkKey(seed); err != nil {
		return nil, err
	}
	linkSeeds.Store(nd, seed)
	return nd, nil
}

// linkSeeds remembers each Provider's link key seed.
var linkSeeds sync.Map // *mixtest.Node -> []byte

// rigConfig is what the helper process needs: the Providers' link keys,
// the mix's address and keys. The mix's Sphinx key of the current epoch
// comes from its keyd, as mixd gets it, for the ceiling measurement.
func (n *network) rigConfig(keydSock string, opts rigOptions) (*rigConfig, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kc, err := keyproto.Dial(ctx, keydSock, nopLogger{})
	if err != nil {
		return nil, err
	}
	defer kc.Close()
	pub, err := kc.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	sk, err := kc.SphinxKeys(ctx, []uint64{n.epoch})
	if err != nil {
		return nil, err
	}
	sinkKey, err := n.sink.SphinxKey(n.epoch)
	if err != nil {
		return nil, err
	}
	senderSeed, _ := linkSeeds.Load(n.sender)
	sinkSeed, _ := linkSeeds.Load(n.sink)
	rc := &rigConfig{
		Geometry:         sphinx.DefaultGeometry(),
		MixAddress:       fmt.Sprintf("127.0.0.1:%d", n.mixPort),
		MixManagement:    filepath.Join(n.mixDir, "management_sock"),
		MixID:            n.mixID,
		MixLinkKey:       pub.Link.Bytes(),
		MixSphinxPublic:  sk[0].Public,
		MixSphinxPrivate: sk[0].Private,
		SenderID:         n.sender.ID,
		SenderLinkSeed:   senderSeed.([]byte),
		SinkID:           n.sink.ID,
		SinkLinkSeed:     sinkSeed.([]byte),
		SinkSphinxPublic: sinkKey.Public,
		Options:          opts,
	}
	sk[0].Wipe()
	return rc, nil
}

// checkDocument checks that the current document has the mix alone in its
// one layer and the geometry the helper builds packets for.
func (n *network) checkDocument() error {
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := &dirauth.Client{Address: n.authAddr, Authority: n.authPub, Static: k}
	doc, _, err := c.Document(ctx, n.epoch)
	if err != nil {
		return err
	}
	want := sphinx.DefaultGeometry()
	if doc.Geometry.Hash() != want.Hash() {
		return errors.New("the document's geometry is not the default one the helper uses")
	}
	if len(doc.Layers) != 1 || len(doc.Layers[0]) != 1 {
		return fmt.Errorf("the document has %d layers, want one layer of one mix", len(doc.Layers))
	}
	if l, ok := doc.LayerOf(n.mixID); !ok || l != 0 {
		return errors.New("the mix is not in layer 0 of the document")
	}
	return nil
}

// postAhead posts nd's descriptor for the current epoch and the next two
// where not yet done; it reports whether all are posted.
func (n *network) postAhead(ctx context.Context, nd *mixtest.Node, addr string, posted map[uint64]bool) bool {
	c := &dirauth.Client{Address: n.authAddr, Authority: n.authPub, Static: nd.Link, AuthBlob: nd.ID[:]}
	e, _, _ := n.clock.Current()
	all := true
	for _, target := range []uint64{e, e + 1, e + 2} {
		if posted[target] {
			continue
		}
		signed, err := nd.Descriptor(target, map[string][]string{pki.TransportTCP: {addr}})
		if err != nil {
			all = false
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		code, err := c.Post(rctx, target, signed)
		cancel()
		if err == nil && code == link.DescriptorOk {
			posted[target] = true
		} else {
			all = false
		}
	}
	return all
}

// postLoop keeps posting the Providers' descriptors ahead until ctx ends.
func (n *network) postLoop(ctx context.Context, posted map[*mixtest.Node]map[uint64]bool) {
	defer n.postDone.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.postAhead(ctx, n.sender, n.senderLn.Addr().String(), posted[n.sender])
			n.postAhead(ctx, n.sink, n.sinkLn.Addr().String(), posted[n.sink])
		}
	}
}

// close stops everything that was started, last first.
func (n *network) close() {
	if n.rig != nil {
		n.rig.close()
	}
	if n.mixStop != nil {
		n.mixStop()
		<-n.mixDone
	} else if n.mix != nil {
		_ = n.mix.Close()
	}
	if n.postStop != nil {
		n.postStop()
		n.postDone.Wait()
	}
	for _, p := range []*proctest.Proc{n.keyd, n.dirauth} {
		if p != nil {
			p.Stop(proctest.StopTimeout)
		}
	}
	for _, ln := range []net.Listener{n.senderLn, n.sinkLn} {
		if ln != nil {
			ln.Close()
		}
	}
	os.RemoveAll(n.dir)
}

func (n *network) dirauthConfig(dir, mixIdentity string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[Authority]
  Addresses = ["tcp://%s"]
  DataDir = %q
  Layers = 1
  EpochPeriod = "%ds"
  BootstrapGrace = "1s"
  MinProviders = 2

[Logging]
  Level = "NOTICE"
`, n.authAddr, dir, int64(n.clock.Period/time.Second))
	if mixIdentity != "" {
		fmt.Fprintf(&b, "\n[[Mixes]]\n  Identifier = \"mix\"\n  IdentityKey = %q\n", mixIdentity)
		for _, p := range []*mixtest.Node{n.sender, n.sink} {
			fmt.Fprintf(&b, "\n[[Providers]]\n  Identifier = %q\n  IdentityKey = %q\n", p.Name, p.Public.String())
		}
	}
	return b.String()
}

// mixConfig is the mix's configuration: the defaults but for what a
// network on loopback needs; NumSphinxWorkers is runtime.NumCPU().
func (n *network) mixConfig() string {
	return fmt.Sprintf(`[Server]
  Identifier = "mix"
  Addresses = ["tcp://127.0.0.1:%d"]
  DataDir = %q

[PKI]
  [PKI.Nonvoting]
    Address = %q
    PublicKey = %q

[Logging]
  File = "mixd.log"
  Level = "NOTICE"

[Debug]
  ConnectTimeout = 2000
  HandshakeTimeout = 5000

[Privsep]
  EpochPeriod = "%ds"
`, n.mixPort, n.mixDir, n.authAddr, n.authPub.String(), int64(n.clock.Period/time.Second))
}

// readStats asks mixd's management socket at path for STATS: section ->
// key -> value (docs/management.md).
func readStats(path string) (management.StatsReply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := management.Dial(ctx, path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Stats(ctx)
}

// nopLogger discards the keyd client's log.
type nopLogger struct{}

func (nopLogger) Warning(string, ...any) {}
func (nopLogger) Info(string, ...any)    {}
func (nopLogger) Debug(string, ...any)   {}

// freePort returns a TCP port free on 127.0.0.1 right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
