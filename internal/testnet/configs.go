package testnet

import (
	"fmt"
	"strconv"
	"strings"
)

// The configuration files are written in the TOML of the operator
// documentation (docs/spec/mix-server.md for nodes, docs/spec/dirauth.md §9
// for the authority) plus the [Privsep] section of internal/config: what an
// operator would write by hand for one machine and one Unix user.

// layout is what the configuration files are made from.
type layout struct {
	o            *Options
	shape        shape
	authorityKey string
	identities   map[string]string // node -> identity public key
}

func (l *layout) authAddress() string { return "127.0.0.1:" + strconv.Itoa(l.o.BasePort) }

// nodePort is the TCP port of the node at position i of shape.nodes().
func (l *layout) nodePort(node string) int {
	for i, n := range l.shape.nodes() {
		if n == node {
			return l.o.BasePort + 1 + i
		}
	}
	panic("testnet: unknown node " + node) // names come from the shape only
}

func (l *layout) isProvider(node string) bool {
	for _, p := range l.shape.Providers {
		if p == node {
			return true
		}
	}
	return false
}

// authorityConfig is the authority's file. With allowList false the node
// lists are left out: the file for `dirauth -g`, before the nodes' keys
// exist.
func (l *layout) authorityConfig(allowList bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by splitmix's testnet; rewritten at every start.
[Authority]
  Addresses = ["tcp://%s"]
  DataDir = %q
  KeyDir = %q
  Layers = %d
  MinNodesPerLayer = 1
  MinProviders = 1
  EpochPeriod = "%s"
  BootstrapGrace = "2s"
  HandshakeTimeout = "10s"

[Logging]
  Level = %q

[Parameters]
  SendRatePerMinute = %d
  Mu = %s
  MuMaxDelay = %d
`, l.authAddress(), authDataDir(l.o.Dir), authKeyDir(l.o.Dir), l.o.Layers, l.o.EpochPeriod,
		l.o.LogLevel, l.o.SendRatePerMinute, strconv.FormatFloat(l.o.Mu, 'g', -1, 64), l.o.MuMaxDelay.Milliseconds())
	if !allowList {
		return b.String()
	}
	for _, n := range l.shape.Mixes {
		fmt.Fprintf(&b, "\n[[Mixes]]\n  Identifier = %q\n  IdentityKey = %q\n", n, l.identities[n])
	}
	for _, n := range l.shape.Providers {
		fmt.Fprintf(&b, "\n[[Providers]]\n  Identifier = %q\n  IdentityKey = %q\n", n, l.identities[n])
	}
	return b.String()
}

// nodeConfig is the file every daemon of node reads. Before the
// authority's key exists (keyd -g needs none) authorityKey is a placeholder
// of the right form: the file is rewritten before any daemon runs.
func (l *layout) nodeConfig(node string) string {
	authKey := l.authorityKey
	if authKey == "" {
		authKey = strings.Repeat("00", 32)
	}
	provider := l.isProvider(node)
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by splitmix's testnet; rewritten at every start.
[Server]
  Identifier = %q
  Addresses = ["tcp://127.0.0.1:%d"]
  DataDir = %q
  IsProvider = %v

[PKI]
  [PKI.Nonvoting]
    Address = %q
    PublicKey = %q

[Logging]
  Level = %q

[Management]
  Enable = true

[Debug]
  NumSphinxWorkers = %d
  ConnectTimeout = 5000
  HandshakeTimeout = 10000
  ReauthInterval = 5000
  UnwrapDelay = 2000
  ProviderDelay = 3000
  KaetzchenDelay = 3000
  SchedulerSlack = 1000
  SendSlack = 1000
  SendDecoyTraffic = %v

[Privsep]
  EpochPeriod = "%s"
`, node, l.nodePort(node), nodeDir(l.o.Dir, node), provider, l.authAddress(), authKey,
		l.o.LogLevel, l.o.SphinxWorkers, provider && l.o.DecoyTraffic, l.o.EpochPeriod)
	if provider {
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
