package integration

// The Provider test network: a directory authority, one mix per layer and
// two Providers, every node a set of real processes (keyd + mixd on a mix,
// keyd + spoold + mixd on a Provider), driven from outside as an operator
// and users would: mixctl and the management socket, mixclient and the Go
// client library. The acceptance tests are in provideraccept_test.go.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/proctest"
)

// pnPeriod is the epoch of the Provider network: long enough that the
// three-layer network with two Providers starts within one or two epochs,
// short enough that the test crosses epoch boundaries.
const pnPeriod = 20 * time.Second

// pnSendRate is the document's SendRatePerMinute: high enough that no test
// but the rate-limit one meets it.
const pnSendRate = 60000

// Tools the Provider network needs beyond TestMain's dirauth, keyd and mixd;
// built once per test binary into binDir.
var (
	pnToolsOnce sync.Once
	pnToolsErr  error
)

func buildProviderTools(t *testing.T) {
	t.Helper()
	pnToolsOnce.Do(func() {
		// mixclient makes bob's key (genkey); its network commands cannot
		// join a network whose epoch is not the default 20 minutes: it has
		// no way to be given a first document (see the report).
		pnToolsErr = proctest.Build(context.Background(), binDir, "spoold", "mixctl", "mixclient")
	})
	if pnToolsErr != nil {
		t.Fatal(pnToolsErr)
	}
}

// pnNode is one node of the Provider network and its processes.
type pnNode struct {
	name     string
	provider bool
	dir      string
	cfgPath  string
	port     int
	id       keys.NodeID
	identity string // identity public key, as keyd -g printed it
	keyd     *proc
	spoold   *proc // Providers only
	mixd     *proc
}

func (nd *pnNode) mgmtSocket() string { return filepath.Join(nd.dir, "management_sock") }
func (nd *pnNode) spooldSocket() string {
	return filepath.Join(nd.dir, "run", "spoold.sock")
}

// pnOptions vary the Provider network.
type pnOptions struct {
	// decoys sets Debug.SendDecoyTraffic on both Providers.
	decoys bool
}

// pnet is a running Provider network.
type pnet struct {
	// root is the test that owns the processes: one restarted in a
	// subtest must outlive the subtest.
	root      *testing.T
	dir       string
	clock     epochtime.Clock
	authAddr  string
	authPub   keys.IdentityPublicKey
	dirauth   *proc
	mixes     []*pnNode
	providers []*pnNode // providers[0] = "provider-a", providers[1] = "provider-b"
	opts      pnOptions
}

// startProviderNet starts the authority, three mixes and two Providers and
// waits until the document of the current epoch lists all of them and both
// Providers' management sockets answer.
func startProviderNet(t *testing.T) *pnet {
	t.Helper()
	return startProviderNetWith(t, pnOptions{})
}

// startProviderNetWith is startProviderNet with options.
func startProviderNetWith(t *testing.T, opts pnOptions) *pnet {
	t.Helper()
	buildProviderTools(t)
	pn := &pnet{root: t, dir: proctest.ShortTempDir(t), opts: opts}
	var err error
	if pn.clock, err = epochtime.New(pnPeriod); err != nil {
		t.Fatal(err)
	}
	ports := proctest.FreePorts(t, 6)
	pn.authAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])

	authDir := filepath.Join(pn.dir, "dirauth")
	if err := os.MkdirAll(authDir, 0o700); err != nil {
		t.Fatal(err)
	}
	authCfg := filepath.Join(authDir, "dirauth.toml")
	proctest.WriteFile(t, authCfg, pn.dirauthConfig(authDir))
	m := reDirauth.FindStringSubmatch(runOnce(t, "dirauth", "-f", authCfg, "-g"))
	if m == nil {
		t.Fatal("dirauth -g printed no PublicKey line")
	}
	if pn.authPub, err = keys.ParseIdentityPublicKey(m[1]); err != nil {
		t.Fatal(err)
	}

	names := []string{"mix-a", "mix-b", "mix-c", "provider-a", "provider-b"}
	for i, name := range names {
		nd := &pnNode{name: name, provider: strings.HasPrefix(name, "provider-"), port: ports[1+i]}
		nd.dir = filepath.Join(pn.dir, name)
		if err := os.MkdirAll(nd.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		nd.cfgPath = filepath.Join(nd.dir, "node.toml")
		proctest.WriteFile(t, nd.cfgPath, pn.nodeConfig(nd))
		out := runOnce(t, "keyd", "-f", nd.cfgPath, "-g")
		idm := reIdentity.FindStringSubmatch(out)
		if idm == nil {
			t.Fatalf("keyd -g printed no identity key:\n%s", out)
		}
		pub, err := keys.ParseIdentityPublicKey(idm[1])
		if err != nil {
			t.Fatal(err)
		}
		nd.id, nd.identity = pub.NodeID(), pub.String()
		if nd.provider {
			pn.providers = append(pn.providers, nd)
		} else {
			pn.mixes = append(pn.mixes, nd)
		}
	}
	proctest.WriteFile(t, authCfg, pn.dirauthConfig(authDir))
	pn.dirauth = start(t, "dirauth", "dirauth", filepath.Join(authDir, "dirauth.log"), "-f", authCfg)

	// The authority makes the next epoch's document at 3/4 of this one:
	// start early enough in an epoch that every node posts in time.
	proctest.Eventually(t, pnPeriod, "the first half of an epoch", func() bool {
		_, elapsed, _ := pn.clock.Current()
		return elapsed < pnPeriod/2
	})
	all := pn.nodes()
	for _, nd := range all {
		pn.startKeyd(t, nd)
	}
	for _, nd := range pn.providers {
		pn.startSpoold(t, nd)
	}
	for _, nd := range all {
		pn.startMixd(t, nd)
	}

	e, _, _ := pn.clock.Current()
	doc := pn.waitDocument(t, e, 3*pnPeriod)
	if len(doc.Providers) != 2 || len(doc.Layers) != 3 {
		t.Fatalf("document for epoch %d: %d Providers, %d layers; want 2 and 3", e, len(doc.Providers), len(doc.Layers))
	}
	for _, nd := range pn.providers {
		proctest.Eventually(t, 30*time.Second, nd.name+"'s management socket", func() bool {
			pn.checkAlive(t)
			_, _, code := pn.mixctl(nd, "stats")
			return code == 0
		})
	}
	return pn
}

func (pn *pnet) nodes() []*pnNode {
	return append(append([]*pnNode(nil), pn.mixes...), pn.providers...)
}

// checkAlive fails the test if a daemon of the network exited unasked.
func (pn *pnet) checkAlive(t *testing.T) {
	t.Helper()
	for _, nd := range pn.nodes() {
		for _, p := range []*proc{nd.keyd, nd.spoold, nd.mixd} {
			if p != nil && p.Exited() {
				t.Fatalf("%s exited: %v\n%s", p.Name, p.Wait(), proctest.Tail(p.LogPath, 30))
			}
		}
	}
}

func (pn *pnet) dirauthConfig(dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[Authority]
  Addresses = ["tcp://%s"]
  DataDir = %q
  Layers = 3
  EpochPeriod = "%s"
  BootstrapGrace = "1s"
  HandshakeTimeout = "5s"
  MinProviders = 2

[Logging]
  Level = "INFO"

[Parameters]
  SendRatePerMinute = %d
  Mu = 0.01
  MuMaxDelay = 300
`, pn.authAddr, dir, pnPeriod, pnSendRate)
	for _, nd := range pn.mixes {
		fmt.Fprintf(&b, "\n[[Mixes]]\n  Identifier = %q\n  IdentityKey = %q\n", nd.name, nd.identity)
	}
	for _, nd := range pn.providers {
		fmt.Fprintf(&b, "\n[[Providers]]\n  Identifier = %q\n  IdentityKey = %q\n", nd.name, nd.identity)
	}
	return b.String()
}

func (pn *pnet) nodeConfig(nd *pnNode) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[Server]
  Identifier = %q
  Addresses = ["tcp://127.0.0.1:%d"]
  DataDir = %q
  IsProvider = %v

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
  ProviderDelay = 2000
  KaetzchenDelay = 2000
  SchedulerSlack = 500
  SendSlack = 500
  SendDecoyTraffic = %v

[Privsep]
  EpochPeriod = "%s"
`, nd.name, nd.port, nd.dir, nd.provider, pn.authAddr, pn.authPub.String(), nd.provider && pn.opts.decoys, pnPeriod)
	if nd.provider {
		b.WriteString(`
[Provider]
  [[Provider.Kaetzchen]]
    Capability = "echo"
    Endpoint = "+echo"
  [[Provider.Kaetzchen]]
    Capability = "keyserver"
    Endpoint = "+keyserver"
`)
	}
	return b.String()
}

func (pn *pnet) startKeyd(t *testing.T, nd *pnNode) {
	t.Helper()
	nd.keyd = start(pn.root, nd.name+"/keyd", "keyd", filepath.Join(nd.dir, "keyd.log"), "-f", nd.cfgPath)
	nd.keyd.WaitSocket(t, filepath.Join(nd.dir, "run", "keyd.sock"), 20*time.Second)
}

// startSpoold starts (or restarts) a Provider's spoold and waits for its
// socket to answer.
func (pn *pnet) startSpoold(t *testing.T, nd *pnNode) {
	t.Helper()
	nd.spoold = start(pn.root, nd.name+"/spoold", "spoold", filepath.Join(nd.dir, "spoold.log"), "-f", nd.cfgPath)
	nd.spoold.WaitSocket(t, nd.spooldSocket(), 20*time.Second)
}

func (pn *pnet) startMixd(t *testing.T, nd *pnNode) {
	t.Helper()
	nd.mixd = start(pn.root, nd.name+"/mixd", "mixd", filepath.Join(nd.dir, "mixd.log"), "-f", nd.cfgPath)
}

// document fetches the verified document of epoch e from the authority.
func (pn *pnet) document(ctx context.Context, e uint64) (*pki.Document, error) {
	doc, _, err := pn.signedDocument(ctx, e)
	return doc, err
}

// signedDocument fetches the document of epoch e and its signed bytes.
func (pn *pnet) signedDocument(ctx context.Context, e uint64) (*pki.Document, []byte, error) {
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		return nil, nil, err
	}
	c := &dirauth.Client{Address: pn.authAddr, Authority: pn.authPub, Static: k}
	return c.Document(ctx, e)
}

// waitDocument waits for the document of epoch e.
func (pn *pnet) waitDocument(t *testing.T, e uint64, d time.Duration) *pki.Document {
	t.Helper()
	var doc *pki.Document
	proctest.Eventually(t, d, fmt.Sprintf("the document for epoch %d", e), func() bool {
		pn.checkAlive(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		doc, err = pn.document(ctx, e)
		return err == nil
	})
	return doc
}

// mixctl runs mixctl against nd's management socket (found through nd's
// configuration file) and returns its output and exit status.
func (pn *pnet) mixctl(nd *pnNode, args ...string) (stdout, stderr string, code int) {
	return runTool("mixctl", append([]string{"-f", nd.cfgPath, "-t", "20s"}, args...), nil)
}

// mixctlOK runs mixctl and fails the test unless it exits 0.
func (pn *pnet) mixctlOK(t *testing.T, nd *pnNode, args ...string) string {
	t.Helper()
	out, errOut, code := pn.mixctl(nd, args...)
	if code != 0 {
		t.Fatalf("mixctl %v on %s: exit %d\nstdout: %s\nstderr: %s", args, nd.name, code, out, errOut)
	}
	return out
}

// runTool runs binDir/bin to completion (at most a minute) and returns
// its output and exit status; -1 if it could not run or was killed.
func runTool(bin string, args []string, attr func(*exec.Cmd)) (stdout, stderr string, code int) {
	return runToolAt(filepath.Join(binDir, bin), args, attr)
}

// runToolAt is runTool for the program at path.
func runToolAt(path string, args []string, attr func(*exec.Cmd)) (stdout, stderr string, code int) {
	cmd := exec.Command(path, args...)
	if attr != nil {
		attr(cmd)
	}
	return proctest.Run(cmd, time.Minute)
}

// pnStats is a parsed STATS reply: section -> key -> value.
type pnStats map[string]map[string]string

// parseStats reads the text of a STATS reply: "[section]" lines, then
// "key value" lines; the server's last line "end of stats", which mixctl
// leaves out, is required only if requireEnd.
func parseStats(text string, requireEnd bool) (pnStats, error) {
	s := pnStats{}
	var cur map[string]string
	ended := false
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch {
		case ended:
			return nil, fmt.Errorf("stats line %q after the end", line)
		case line == "end of stats":
			ended = true
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			cur = map[string]string{}
			s[line[1:len(line)-1]] = cur
		case cur != nil:
			k, v, ok := strings.Cut(line, " ")
			if !ok || k == "" {
				return nil, fmt.Errorf("stats line %q is not \"key value\"", line)
			}
			cur[k] = v
		default:
			return nil, fmt.Errorf("stats line %q before any section", line)
		}
	}
	if requireEnd && !ended {
		return nil, errors.New("stats without \"end of stats\"")
	}
	if len(s) == 0 {
		return nil, errors.New("stats without sections")
	}
	return s, nil
}

// find returns the value of key in the first section (in name order of
// the candidates: sections whose name contains hint first) that has it.
func (s pnStats) find(key, hint string) (section, value string, ok bool) {
	for _, pass := range []bool{true, false} {
		for name, sec := range s {
			if strings.Contains(name, hint) != pass {
				continue
			}
			if v, ok := sec[key]; ok {
				return name, v, true
			}
		}
	}
	return "", "", false
}

// count returns the numeric value of key: the largest over the sections
// that have it, so that a counter kept in one section and shown as zero in
// another (mixd's and the Provider's drops) reads right. hint only orders
// the error message. It fails the test if no section has the key.
func (s pnStats) count(t *testing.T, key, hint string) uint64 {
	t.Helper()
	var best uint64
	found := false
	for name, sec := range s {
		v, ok := sec[key]
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("STATS [%s] %s = %q: not a count", name, key, v)
		}
		best, found = max(best, n), true
	}
	if !found {
		t.Fatalf("no %q in any STATS section (expected near %q): %v", key, hint, s)
	}
	return best
}

// stats runs `mixctl stats` on nd and parses it.
func (pn *pnet) stats(t *testing.T, nd *pnNode) pnStats {
	t.Helper()
	s, err := parseStats(pn.mixctlOK(t, nd, "stats"), false)
	if err != nil {
		t.Fatalf("%s: %v", nd.name, err)
	}
	return s
}

// newClient makes a Go client for user at provider nd (not yet connected).
// It starts from the signed document of the current epoch: before it holds
// a document the client computes the epoch with the default 20-minute
// period, which is not this network's.
func (pn *pnet) newClient(t *testing.T, nd *pnNode, user string, key keys.LinkPrivateKey) *client.Client {
	t.Helper()
	return pn.newClientLog(t, nd, user, key, nil)
}

// newClientLog is newClient with the client's log going to log (nil
// discards it).
func (pn *pnet) newClientLog(t *testing.T, nd *pnNode, user string, key keys.LinkPrivateKey, log *logging.Logger) *client.Client {
	t.Helper()
	var signed []byte
	proctest.Eventually(t, 2*pnPeriod, "the current document", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e, _, _ := pn.clock.Current()
		var err error
		_, signed, err = pn.signedDocument(ctx, e)
		return err == nil
	})
	c, err := client.New(client.Config{
		User: user, LinkKey: key, Provider: nd.name,
		AuthorityAddress: pn.authAddr, AuthorityKey: pn.authPub, Document: signed,
		PollInterval: 200 * time.Millisecond, HandshakeTimeout: 5 * time.Second,
		SURBMargin: 30 * time.Second, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mgmtSession opens a management socket session to nd.
func mgmtSession(t *testing.T, nd *pnNode) *management.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := management.Dial(ctx, nd.mgmtSocket())
	if err != nil {
		t.Fatalf("management session with %s: %v", nd.name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// do sends one line on a management session and checks the reply's code.
func do(t *testing.T, c *management.Client, line string, wantCode int) management.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := c.Do(ctx, line)
	if err != nil {
		t.Fatalf("%.40s: %v", line, err)
	}
	if r.Code != wantCode {
		t.Fatalf("%.40s: reply %q, want code %d", line, r.String(), wantCode)
	}
	return r
}

// worldRunnable copies binDir/bin into a fresh directory that every user may
// enter (0755), as a program other users can run, and returns its path.
func worldRunnable(t *testing.T, bin string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "smx-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(binDir, bin))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, bin)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is subject to the umask.
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
