package mixd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/mixd/clientlink"
	"github.com/splitmix/splitmix/internal/mixd/decoy"
	"github.com/splitmix/splitmix/internal/mixd/incoming"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/mixd/scheduler"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/provider"
	"github.com/splitmix/splitmix/internal/sphinx"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// Provider mode: the parts of mixd that exist only on a Provider
// (Server.IsProvider), wiring internal/provider into the pipeline. See the
// package documentation, "Provider mode".

const (
	// spooldDialTimeout bounds connecting to spoold at start-up.
	spooldDialTimeout = 10 * time.Second
	// providerCloseTimeout bounds how long shutdown waits for the
	// Provider's spoold calls in flight.
	providerCloseTimeout = 10 * time.Second
)

// clientLimits are the limits of a client link (docs/spec/client.md §2.4).
// A Provider's responder cannot know before the handshake whether a node
// or a client connects, so it uses them for every incoming link: limits
// are local to each end (docs/spec/link.md §5.4 bounds what one end
// accepts), a node's link carries only SendPacket, whose size is the same,
// and the read loop refuses any other command from a node.
func clientLimits(g sphinx.Geometry) link.Limits {
	return link.Limits{
		PacketLength:         g.PacketLength,
		MessagePayloadLength: g.UserForwardPayloadLength,
		AckPayloadLength:     g.PayloadLength,
		MaxConsensus:         pki.MaxSignedDocumentSize,
	}
}

// spoolStore is spoold as mixd holds it: *spoolproto.Client.
type spoolStore interface {
	spoolproto.Store
	Close() error
}

// dialSpoold connects a Provider to spoold (Privsep.SpooldSocket).
func (m *Mixd) dialSpoold() error {
	ctx, cancel := context.WithTimeout(context.Background(), spooldDialTimeout)
	defer cancel()
	store, err := spoolproto.Dial(ctx, m.cfg.Privsep.SpooldSocket, m.log.Named("spoold"))
	if err != nil {
		return fmt.Errorf("connecting to spoold at %s: %w", m.cfg.Privsep.SpooldSocket, err)
	}
	m.store = store
	return nil
}

// startProvider builds the Provider for the pipeline p (its Sphinx
// geometry, its scheduler for what the Provider sends).
func (m *Mixd) startProvider(p *pipeline, sph *sphinx.Sphinx) error {
	pc := provider.FromConfig(m.cfg)
	pc.Sphinx = sph
	pc.Store = m.store
	pc.Send = func(o provider.Outgoing) bool { return p.sendFromProvider(o, m.table) }
	pc.Log = m.log.Named("provider")
	if doc, ok := m.currentDocument(); ok {
		pc.SendRatePerMinute = doc.Parameters.SendRatePerMinute
	}
	prov, err := provider.New(pc)
	if err != nil {
		return err
	}
	p.provider = prov
	return nil
}

// sendFromProvider schedules a packet the Provider sends into the network
// (a SURB-ACK or a Kaetzchen reply) for its first hop, which must be a node
// this Provider forwards to (Layers[0]). The scheduler counts its own
// refusals; false makes the Provider count DropSendRefused.
func (p *pipeline) sendFromProvider(o provider.Outgoing, table *route.Table) bool {
	if len(o.Packet) != p.pool.PacketLength() || !table.MayForwardTo(o.NextHop) {
		return false
	}
	buf := p.pool.Get()
	copy(buf, o.Packet)
	p.pool.SetNextHop(buf, &o.NextHop)
	return p.sched.Push(scheduler.Item{DispatchAt: o.DispatchAt.UnixNano(), Payload: buf}) == nil
}

// newDecoys builds the Provider's decoy loops (Debug.SendDecoyTraffic,
// docs/spec/decoy.md). This Provider builds each loop itself, so it does
// not unwrap hop 0 (§3.2): the packet enters the scheduler for its mix of
// Layers[0], due after hop 0's delay, the way SURB-ACKs and Kaetzchen
// replies do.
func (m *Mixd) newDecoys(p *pipeline, sph *sphinx.Sphinx) (*decoy.Loops, error) {
	return decoy.New(decoy.Config{
		Sphinx:   sph,
		Self:     m.self,
		Document: m.currentDocument,
		Send: func(pkt []byte, firstHop keys.NodeID, at time.Time) bool {
			return p.sendFromProvider(provider.Outgoing{Packet: pkt, NextHop: firstHop, DispatchAt: at}, m.table)
		},
		Slack: m.cfg.Debug.DecoySlackDuration(),
		Log:   m.log.Named("decoy"),
	})
}

// deliverWithDecoys is the crypto workers' Deliver on a Provider that
// sends decoy loops: a loop's reply is consumed by loops (docs/spec/decoy.md
// §5) before the Provider could take it for a user's SURB reply;
// everything else goes to the Provider.
func deliverWithDecoys(loops *decoy.Loops, prov *provider.Provider) func(*sphinx.UnwrapResult, time.Time) bool {
	return func(res *sphinx.UnwrapResult, received time.Time) bool {
		if loops.Consume(res, received) {
			return true
		}
		return prov.Deliver(res, received)
	}
}

// authorizeLink is the responder's policy for incoming links (see
// docs/spec/client.md §2.3): a node of the previous layer first, by the
// NodeID blob and its descriptor's link key; failing that, on a Provider,
// a client by the user name blob.
func authorizeLink(table *route.Table, prov *provider.Provider) func(context.Context, *keys.LinkPublicKey, []byte) (incoming.Kind, error) {
	return func(ctx context.Context, peer *keys.LinkPublicKey, blob []byte) (incoming.Kind, error) {
		nodeErr := table.Authorize(peer, blob)
		if nodeErr == nil || prov == nil {
			return incoming.Node, nodeErr
		}
		err := prov.Authorize(ctx, blob, peer)
		if errors.Is(err, provider.ErrName) {
			return incoming.Node, nodeErr // neither a node we know nor a user name
		}
		return incoming.Client, err
	}
}

// recheckLink re-authorises an established link every ReauthInterval: a
// node against the current documents, a client against the user database.
// When spoold cannot answer the client's link is kept: an outage of spoold
// must not disconnect every client.
func (m *Mixd) recheckLink(ctx context.Context, kind incoming.Kind, peer *keys.LinkPublicKey, blob []byte) bool {
	if kind == incoming.Node {
		return m.table.Authorize(peer, blob) == nil
	}
	if m.store == nil {
		return false
	}
	ok, err := m.store.IsValid(ctx, blob, peer)
	if err != nil {
		n := m.recheckFailures.Add(1)
		now, last := time.Now().UnixNano(), m.recheckLogged.Load()
		if now-last >= int64(time.Minute) && m.recheckLogged.CompareAndSwap(last, now) {
			m.log.Warning("re-checking client links failed; links kept for now", "failures_so_far", n, "error", err)
		}
		return true
	}
	return ok
}

// clientLinkConfig is the configuration of every client session.
func (m *Mixd) clientLinkConfig(p *pipeline) *clientlink.Config {
	return &clientlink.Config{
		Open: func(user []byte) (clientlink.Session, error) {
			s, err := p.provider.NewSession(user)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Submit:    func(buf []byte, at time.Time) { p.workers.Submit(buf, at, route.FromClient) },
		Consensus: m.consensus,
		Pool:      p.pool,
		Drops:     &m.drops,
		Log:       m.log.Named("client"),
	}
}

// keepSigned records a signed document for relaying to clients.
func (m *Mixd) keepSigned(epoch uint64, signed []byte) {
	if len(signed) == 0 {
		return
	}
	m.docsMu.Lock()
	defer m.docsMu.Unlock()
	m.signed[epoch] = signed
}

// pruneSigned forgets the signed documents older than keepFrom.
func (m *Mixd) pruneSigned(keepFrom uint64) {
	m.docsMu.Lock()
	defer m.docsMu.Unlock()
	for e := range m.signed {
		if e < keepFrom {
			delete(m.signed, e)
		}
	}
}

// consensus answers a client's GetConsensus (docs/spec/client.md §3.2):
// the signed document as the authority served it, NotFound for a current
// or future epoch not held yet, Gone for an older one.
func (m *Mixd) consensus(epoch uint64) (link.ConsensusCode, []byte) {
	m.docsMu.Lock()
	signed, ok := m.signed[epoch]
	m.docsMu.Unlock()
	if ok {
		return link.ConsensusOk, signed
	}
	if cur, _, _ := m.clock.Current(); epoch >= cur {
		return link.ConsensusNotFound, nil
	}
	return link.ConsensusGone, nil
}

// currentDocument returns the document of the current epoch, if held.
func (m *Mixd) currentDocument() (*pki.Document, bool) {
	if m.pki == nil {
		return nil, false
	}
	cur, _, _ := m.clock.Current()
	return m.pki.Document(cur)
}

// followDocumentRate gives the Provider the current document's
// SendRatePerMinute once per epoch (and when that document arrives).
func (m *Mixd) followDocumentRate() {
	prov := m.provider()
	if prov == nil {
		return
	}
	cur, _, _ := m.clock.Current()
	if m.rateEpoch == cur+1 { // +1: zero means "never"
		return
	}
	doc, ok := m.currentDocument()
	if !ok {
		return
	}
	prov.SetDocumentRate(doc.Parameters.SendRatePerMinute)
	m.rateEpoch = cur + 1
}

// provider returns the running Provider: nil on a mix and before the
// first document.
func (m *Mixd) provider() *provider.Provider {
	if p := m.live.Load(); p != nil {
		return p.provider
	}
	return nil
}

// services is the descriptor's Kaetzchen field: the running services of
// the Provider, or before it runs, the services the configuration enables
// (they start running).
func (m *Mixd) services() map[string]map[string]string {
	if !m.cfg.Server.IsProvider {
		return nil
	}
	var out map[string]map[string]string
	if prov := m.provider(); prov != nil {
		out = prov.Services()
	} else {
		out = configServices(m.cfg.Provider)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// configServices lists the enabled built-in services of a [Provider]
// section as the descriptor advertises them.
func configServices(p *config.Provider) map[string]map[string]string {
	out := map[string]map[string]string{}
	if p == nil {
		return out
	}
	for _, k := range p.Kaetzchen {
		if !k.Disable {
			out[k.Capability] = map[string]string{pki.KaetzchenEndpoint: k.Endpoint}
		}
	}
	return out
}

// addAltAddresses adds a Provider's [Provider] AltAddresses (transport ->
// host:port) to the advertised addresses, skipping duplicates.
func addAltAddresses(advert map[string][]string, p *config.Provider) {
	if p == nil {
		return
	}
	for _, transport := range slices.Sorted(maps.Keys(p.AltAddresses)) {
		for _, a := range p.AltAddresses[transport] {
			if !slices.Contains(advert[transport], a) {
				advert[transport] = append(advert[transport], a)
			}
		}
	}
}
