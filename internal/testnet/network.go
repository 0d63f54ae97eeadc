package testnet

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/pki"
)

// stopGrace is how long Close waits for a daemon after SIGTERM before
// SIGKILL.
const stopGrace = 15 * time.Second

// Network is a running local network: its processes, its manifest and the
// users' keys. Start makes one; Close stops it.
type Network struct {
	opts    Options
	lay     layout
	man     *Manifest
	lock    *dirLock
	clock   epochtime.Clock
	authPub keys.IdentityPublicKey

	userKeys map[string]*memkey.LinkKey // user -> link key

	procMu sync.Mutex
	procs  []*proc // in start order

	failOnce sync.Once
	failed   chan struct{}
	failErr  error

	closeOnce sync.Once
	closeErr  error
}

// Start builds the programs (unless Options.BinDir is set), prepares the
// directory (reusing the keys of a network of the same shape, replacing
// one of another shape), generates keys and configuration files, starts
// the authority, every node's keyd, every Provider's spoold and every
// node's mixd, waits until the current epoch's document lists every node and
// every mixd routes, creates the users and writes DIR/network.json.
//
// On error everything started is stopped again. ctx bounds the start only:
// the network runs until Close.
func Start(ctx context.Context, o Options) (*Network, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Network{opts: o, failed: make(chan struct{}), userKeys: map[string]*memkey.LinkKey{}}
	n.lay = layout{o: &n.opts, shape: shapeOf(&n.opts), identities: map[string]string{}}
	if n.clock, err = epochtime.New(o.EpochPeriod); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	if err := n.checkPathLengths(); err != nil {
		return nil, err
	}
	if err := n.start(ctx); err != nil {
		n.stopAll()
		n.lock.release()
		return nil, err
	}
	return n, nil
}

func (n *Network) progress(format string, args ...any) {
	fmt.Fprintf(n.opts.Progress, "testnet: "+format+"\n", args...)
}

// checkPathLengths refuses a directory whose socket paths would be too
// long for a UNIX socket address.
func (n *Network) checkPathLengths() error {
	const maxSocketPath = 107
	for _, nd := range n.lay.shape.nodes() {
		for _, p := range []string{mgmtSocket(n.opts.Dir, nd), spooldSocket(n.opts.Dir, nd)} {
			if len(p) > maxSocketPath {
				return fmt.Errorf("testnet: directory %s is too long: the socket path %s would be %d bytes, UNIX sockets take at most %d; choose a shorter -dir", n.opts.Dir, p, len(p), maxSocketPath)
			}
		}
	}
	return nil
}

func (n *Network) start(ctx context.Context) error {
	o := &n.opts
	st, err := n.prepareDir()
	if err != nil {
		return err
	}
	binDir := o.BinDir
	if binDir == "" {
		binDir = filepath.Join(o.Dir, binDirName)
		n.progress("building %v into %s", Programs, binDir)
		if err := Build(ctx, binDir); err != nil {
			return err
		}
	} else if err := checkPrograms(binDir); err != nil {
		return err
	}
	n.opts.BinDir = binDir

	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()

	ports := map[int]string{o.BasePort: "dirauth"}
	for _, nd := range n.lay.shape.nodes() {
		ports[n.lay.nodePort(nd)] = nd
	}
	if err := checkPortsFree(ports); err != nil {
		return err
	}
	if err := n.generate(ctx, st); err != nil {
		return err
	}
	if n.authPub, err = keys.ParseIdentityPublicKey(n.lay.authorityKey); err != nil {
		return fmt.Errorf("testnet: the authority's key: %w", err)
	}
	if err := n.writeConfigs(); err != nil {
		return err
	}
	if err := n.startDaemons(ctx); err != nil {
		return err
	}
	doc, err := n.waitDocument(ctx)
	if err != nil {
		return err
	}
	if err := n.waitRouting(ctx); err != nil {
		return err
	}
	if err := n.addUsers(ctx); err != nil {
		return err
	}
	n.man = n.manifest(doc)
	if err := n.man.Save(); err != nil {
		return fmt.Errorf("testnet: writing the manifest: %w", err)
	}
	n.watch()
	n.progress("up: %d mixes in %d layers, %d Providers, %d users; manifest %s",
		len(n.lay.shape.Mixes), o.Layers, len(n.lay.shape.Providers), len(n.man.Users), filepath.Join(o.Dir, ManifestName))
	return nil
}

// waitDocument waits until the authority serves a document for the current
// epoch that lists every node, and returns it.
func (n *Network) waitDocument(ctx context.Context) (*pki.Document, error) {
	n.progress("waiting for the authority's document to list all %d nodes", len(n.lay.shape.nodes()))
	var doc *pki.Document
	err := waitFor(ctx, "a document listing every node", n.allProcs(), func(ctx context.Context) (bool, error) {
		e, _, _ := n.clock.Current()
		d, err := n.Document(ctx, e)
		if err != nil {
			return false, nil
		}
		count := len(d.Providers)
		for _, l := range d.Layers {
			count += len(l)
		}
		if count < len(n.lay.shape.nodes()) {
			return false, nil
		}
		doc = d
		return true, nil
	})
	return doc, err
}

// waitRouting waits until every mixd's management socket answers STATS
// with a document in hand.
func (n *Network) waitRouting(ctx context.Context) error {
	for _, nd := range n.lay.shape.nodes() {
		path := mgmtSocket(n.opts.Dir, nd)
		err := waitFor(ctx, nd+"'s mixd to route", n.allProcs(), func(ctx context.Context) (bool, error) {
			if !unixAnswers(path) {
				return false, nil
			}
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			s, err := readStats(sctx, nd, path)
			return err == nil && s.Routing, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// addUsers creates every user on its Provider with ADD_USER.
func (n *Network) addUsers(ctx context.Context) error {
	for _, p := range n.lay.shape.Providers {
		for _, u := range n.lay.shape.Users[p] {
			k := n.userKeys[u]
			line := fmt.Sprintf("ADD_USER %s %x", u, k.Public().Bytes())
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := managementDo(cctx, p, mgmtSocket(n.opts.Dir, p), line)
			cancel()
			if err != nil {
				return fmt.Errorf("%w (adding user %s)", err, u)
			}
		}
	}
	return nil
}

// manifest describes the running network; layers come from doc, since the
// authority assigns them.
func (n *Network) manifest(doc *pki.Document) *Manifest {
	m := &Manifest{
		Dir:         n.opts.Dir,
		EpochPeriod: Duration(n.opts.EpochPeriod),
		Authority: Authority{
			Address:   n.lay.authAddress(),
			PublicKey: n.lay.authorityKey,
			Config:    authConfigPath(n.opts.Dir),
			Log:       filepath.Join(n.opts.Dir, authDirName, "dirauth.log"),
		},
		BinDir: n.opts.BinDir,
	}
	var mixes, providers []Node
	for _, nd := range n.lay.shape.nodes() {
		node := Node{
			Name:             nd,
			Provider:         n.lay.isProvider(nd),
			Layer:            -1,
			Address:          fmt.Sprintf("127.0.0.1:%d", n.lay.nodePort(nd)),
			Config:           nodeConfigPath(n.opts.Dir, nd),
			ManagementSocket: mgmtSocket(n.opts.Dir, nd),
			Logs:             map[string]string{"keyd": daemonLog(n.opts.Dir, nd, "keyd"), "mixd": daemonLog(n.opts.Dir, nd, "mixd")},
		}
		if node.Provider {
			node.Logs["spoold"] = daemonLog(n.opts.Dir, nd, "spoold")
			providers = append(providers, node)
			continue
		}
		if pub, err := keys.ParseIdentityPublicKey(n.lay.identities[nd]); err == nil {
			if l, ok := doc.LayerOf(pub.NodeID()); ok {
				node.Layer = l
			}
		}
		mixes = append(mixes, node)
	}
	sort.SliceStable(mixes, func(i, j int) bool { return mixes[i].Layer < mixes[j].Layer })
	m.Nodes = append(mixes, providers...)
	for _, p := range n.lay.shape.Providers {
		for _, u := range n.lay.shape.Users[p] {
			m.Users = append(m.Users, User{Name: u, Provider: p, KeyFile: userKeyPath(n.opts.Dir, u), Spare: isSpareUser(p, u)})
		}
	}
	return m
}

// Manifest describes the running network (the contents of
// DIR/network.json).
func (n *Network) Manifest() *Manifest { return n.man }

// Options returns the options the network runs with, defaults filled in.
func (n *Network) Options() Options { return n.opts }

// Clock is the network's epoch clock.
func (n *Network) Clock() epochtime.Clock { return n.clock }

// AuthorityKey is the authority's identity public key.
func (n *Network) AuthorityKey() keys.IdentityPublicKey { return n.authPub }

// Stats reads STATS from node's management socket.
func (n *Network) Stats(ctx context.Context, node string) (*NodeStats, error) {
	if _, ok := n.man.Node(node); !ok {
		return nil, fmt.Errorf("%w: %q", errUnknownNode, node)
	}
	return readStats(ctx, node, mgmtSocket(n.opts.Dir, node))
}

// Document fetches and verifies the authority's document for epoch.
func (n *Network) Document(ctx context.Context, epoch uint64) (*pki.Document, error) {
	d, _, err := n.signedDocument(ctx, epoch)
	return d, err
}

func (n *Network) signedDocument(ctx context.Context, epoch uint64) (*pki.Document, []byte, error) {
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		return nil, nil, err
	}
	c := &dirauth.Client{Address: n.lay.authAddress(), Authority: n.authPub, Static: k}
	return c.Document(ctx, epoch)
}

// UserKey returns the link key of a user of the manifest.
func (n *Network) UserKey(user string) (keys.LinkPrivateKey, bool) {
	k, ok := n.userKeys[user]
	return k, ok
}

// NewClient returns a connected client for user (a user of the manifest),
// started from the current signed document. log may be nil.
func (n *Network) NewClient(ctx context.Context, user string, log *logging.Logger) (*client.Client, error) {
	var provider string
	for _, u := range n.man.Users {
		if u.Name == user {
			provider = u.Provider
		}
	}
	k, ok := n.userKeys[user]
	if !ok || provider == "" {
		return nil, fmt.Errorf("testnet: no user %q", user)
	}
	e, _, _ := n.clock.Current()
	_, signed, err := n.signedDocument(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("testnet: the document for epoch %d: %w", e, err)
	}
	c, err := client.New(client.Config{
		User: user, LinkKey: k, Provider: provider,
		AuthorityAddress: n.lay.authAddress(), AuthorityKey: n.authPub, Document: signed,
		EpochPeriod: n.opts.EpochPeriod, PollInterval: 200 * time.Millisecond,
		HandshakeTimeout: 10 * time.Second, SURBMargin: 30 * time.Second, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("testnet: client for %s: %w", user, err)
	}
	if err := c.Connect(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("testnet: client for %s: %w", user, err)
	}
	return c, nil
}

// Failed is closed when a daemon exits without Close asking it to; Err
// then says which, with the end of its log.
func (n *Network) Failed() <-chan struct{} { return n.failed }

// Err is nil while every daemon runs.
func (n *Network) Err() error {
	select {
	case <-n.failed:
		return n.failErr
	default:
		return nil
	}
}

// Pids returns the process ids of the running daemons, by name
// ("dirauth", "mix-1/keyd", ...).
func (n *Network) Pids() map[string]int {
	out := map[string]int{}
	for _, p := range n.allProcs() {
		if !p.exited() {
			out[p.name] = p.pid()
		}
	}
	return out
}

func (n *Network) allProcs() []*proc {
	n.procMu.Lock()
	defer n.procMu.Unlock()
	return append([]*proc(nil), n.procs...)
}

// watch reports the first daemon to exit unasked through Failed.
func (n *Network) watch() {
	for _, p := range n.allProcs() {
		go func() {
			<-p.done
			if p.unexpected() {
				n.failOnce.Do(func() {
					n.failErr = p.exitError()
					close(n.failed)
				})
			}
		}()
	}
}

// Close stops every daemon in the reverse order of their start: the mixds,
// the spoolds, the keyds, then the authority; each group with SIGTERM, then
// SIGKILL for those still running after 15 s. It releases the directory and
// is idempotent; the directory and its keys stay for the next run.
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		n.progress("stopping")
		n.closeErr = n.stopAll()
		n.lock.release()
	})
	return n.closeErr
}

// stopAll stops the processes group by group in reverse start order.
func (n *Network) stopAll() error {
	procs := n.allProcs()
	var groups [][]*proc
	for i := len(procs) - 1; i >= 0; i-- {
		kind := filepath.Base(procs[i].name)
		if len(groups) > 0 && filepath.Base(groups[len(groups)-1][0].name) == kind {
			groups[len(groups)-1] = append(groups[len(groups)-1], procs[i])
			continue
		}
		groups = append(groups, []*proc{procs[i]})
	}
	var errs []error
	var mu sync.Mutex
	for _, g := range groups {
		var wg sync.WaitGroup
		for _, p := range g {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if p.stop(stopGrace) {
					mu.Lock()
					errs = append(errs, fmt.Errorf("testnet: %s did not exit within %v of SIGTERM and was killed", p.name, stopGrace))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}

// Kill sends SIGKILL to every daemon at once and waits for them: for a
// second Ctrl-C. Close afterwards only releases the directory.
func (n *Network) Kill() {
	var wg sync.WaitGroup
	for _, p := range n.allProcs() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.kill()
		}()
	}
	wg.Wait()
}
