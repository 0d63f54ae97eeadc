package testnet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

var (
	reAuthorityKey = regexp.MustCompile(`PublicKey = "([^"]+)"`)
	reIdentityKey  = regexp.MustCompile(`Server identity public key is: ([0-9A-Fa-f]{64})`)
)

// prepareDir decides what to do with the directory, takes its lock, stops
// daemons a killed run left behind and clears or replaces what must go. It
// returns the state to reuse, or nil to generate everything.
func (n *Network) prepareDir() (*state, error) {
	dir := n.opts.Dir
	d, st, why := decide(dir, &n.lay.shape)
	if d == decideRefuse {
		return nil, fmt.Errorf("testnet: %s", why)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	n.lock = lock
	if stale := findStale(dir); len(stale) > 0 {
		n.progress("stopping %d daemon(s) left running by an earlier testnet in %s", len(stale), dir)
		if err := stopStale(stale, stopGrace); err != nil {
			return nil, err
		}
	}
	n.progress("directory %s: %s (%s)", dir, d, why)
	switch d {
	case decideReuse:
		if err := clearVolatile(dir, st); err != nil {
			return nil, fmt.Errorf("testnet: clearing the last run's state: %w", err)
		}
		return st, nil
	case decideReplace:
		if err := removeWritten(dir, st); err != nil {
			return nil, fmt.Errorf("testnet: removing the old network: %w", err)
		}
	}
	// The marker first: a run that fails or is killed before its keys are
	// complete leaves a directory the next run recognises as a testnet's
	// (and replaces).
	fresh := &state{Version: stateVersion, Shape: n.lay.shape, Note: stateNote, Identities: map[string]string{}}
	if err := fresh.save(dir); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	return nil, nil
}

// generate makes the keys: the authority's (dirauth -g), each node's (keyd
// -g) and each user's, recording the public halves in the state file as it
// goes. With a reusable state it only loads the users' keys.
func (n *Network) generate(ctx context.Context, st *state) error {
	dir := n.opts.Dir
	if st == nil {
		st = &state{Version: stateVersion, Shape: n.lay.shape, Note: stateNote, Identities: map[string]string{}}
		if err := n.generateKeys(ctx, st); err != nil {
			return err
		}
	} else {
		n.progress("reusing the keys in %s", dir)
	}
	n.lay.authorityKey = st.AuthorityKey
	for k, v := range st.Identities {
		n.lay.identities[k] = v
	}
	for _, us := range n.lay.shape.Users {
		for _, u := range us {
			k, err := readUserKey(userKeyPath(dir, u))
			if err != nil {
				return fmt.Errorf("testnet: user %s: %w", u, err)
			}
			n.userKeys[u] = k
		}
	}
	return nil
}

func (n *Network) generateKeys(ctx context.Context, st *state) error {
	dir := n.opts.Dir
	users := 0
	for _, us := range n.lay.shape.Users {
		users += len(us)
	}
	n.progress("generating keys for the authority, %d nodes and %d users", len(n.lay.shape.nodes()), users)
	if err := os.MkdirAll(filepath.Join(dir, authDirName), 0o700); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	cfg := authConfigPath(dir)
	if err := os.WriteFile(cfg, []byte(n.lay.authorityConfig(false)), 0o600); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	out, err := runTool(ctx, n.bin("dirauth"), "-f", cfg, "-g")
	if err != nil {
		return err
	}
	m := reAuthorityKey.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("testnet: dirauth -g printed no PublicKey line:\n%s", out)
	}
	st.AuthorityKey = m[1]
	if err := st.save(dir); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	for _, nd := range n.lay.shape.nodes() {
		if err := os.MkdirAll(nodeDir(dir, nd), 0o700); err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
		cfg := nodeConfigPath(dir, nd)
		if err := os.WriteFile(cfg, []byte(n.lay.nodeConfig(nd)), 0o600); err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
		out, err := runTool(ctx, n.bin("keyd"), "-f", cfg, "-g")
		if err != nil {
			return err
		}
		m := reIdentityKey.FindStringSubmatch(out)
		if m == nil {
			return fmt.Errorf("testnet: keyd -g for %s printed no identity key:\n%s", nd, out)
		}
		st.Identities[nd] = m[1]
		if err := st.save(dir); err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, usersDir), 0o700); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	for _, us := range n.lay.shape.Users {
		for _, u := range us {
			if _, err := writeUserKey(userKeyPath(dir, u)); err != nil {
				return fmt.Errorf("testnet: user %s: %w", u, err)
			}
		}
	}
	return nil
}

func (n *Network) bin(name string) string { return filepath.Join(n.opts.BinDir, name) }

// writeConfigs writes the authority's file with its allow-list and every
// node's file naming the authority's key.
func (n *Network) writeConfigs() error {
	dir := n.opts.Dir
	if err := os.WriteFile(authConfigPath(dir), []byte(n.lay.authorityConfig(true)), 0o600); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	for _, nd := range n.lay.shape.nodes() {
		if err := os.WriteFile(nodeConfigPath(dir, nd), []byte(n.lay.nodeConfig(nd)), 0o600); err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
	}
	return nil
}

// launch starts one daemon and records it for Close.
func (n *Network) launch(node, daemon, cfg string) (*proc, error) {
	name, logPath, pid := node+"/"+daemon, daemonLog(n.opts.Dir, node, daemon), pidPath(n.opts.Dir, node, daemon)
	if node == authDirName {
		name = daemon
	}
	p, err := startProc(name, n.bin(daemon), logPath, pid, "-f", cfg)
	if err != nil {
		return nil, err
	}
	n.procMu.Lock()
	n.procs = append(n.procs, p)
	n.procMu.Unlock()
	return p, nil
}

// startDaemons starts the authority, the keyds, the spoolds and the mixds,
// each group once the previous one answers.
func (n *Network) startDaemons(ctx context.Context) error {
	dir := n.opts.Dir
	n.progress("starting the authority on %s", n.lay.authAddress())
	auth, err := n.launch(authDirName, "dirauth", authConfigPath(dir))
	if err != nil {
		return err
	}
	if err := waitFor(ctx, "the authority to listen", []*proc{auth}, func(context.Context) (bool, error) {
		return tcpAnswers(n.lay.authAddress()), nil
	}); err != nil {
		return err
	}
	n.progress("starting keyd on %d nodes, spoold on %d Providers", len(n.lay.shape.nodes()), len(n.lay.shape.Providers))
	type sock struct {
		p    *proc
		path string
	}
	var socks []sock
	for _, nd := range n.lay.shape.nodes() {
		p, err := n.launch(nd, "keyd", nodeConfigPath(dir, nd))
		if err != nil {
			return err
		}
		socks = append(socks, sock{p, keydSocket(dir, nd)})
	}
	for _, nd := range n.lay.shape.Providers {
		p, err := n.launch(nd, "spoold", nodeConfigPath(dir, nd))
		if err != nil {
			return err
		}
		socks = append(socks, sock{p, spooldSocket(dir, nd)})
	}
	for _, s := range socks {
		if err := waitFor(ctx, s.p.name+"'s socket", []*proc{s.p}, func(context.Context) (bool, error) {
			return unixAnswers(s.path), nil
		}); err != nil {
			return err
		}
	}
	// The authority makes the next epoch's document at 3/4 of this one:
	// the mixds start early enough in an epoch that all of them post for
	// the next one in time.
	if _, elapsed, till := n.clock.Current(); elapsed >= n.opts.EpochPeriod/2 {
		n.progress("waiting %v for the next epoch, so that every node is in its document", till.Round(time.Second))
		select {
		case <-time.After(till):
		case <-ctx.Done():
			return fmt.Errorf("testnet: waiting for the next epoch: %w", ctx.Err())
		}
	}
	n.progress("starting mixd on %d nodes", len(n.lay.shape.nodes()))
	for _, nd := range n.lay.shape.nodes() {
		if _, err := n.launch(nd, "mixd", nodeConfigPath(dir, nd)); err != nil {
			return err
		}
	}
	for _, p := range n.allProcs() {
		if p.exited() {
			return p.exitError()
		}
	}
	return nil
}
