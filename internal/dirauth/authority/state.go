package authority

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// Timing of the authority (docs/spec/dirauth.md §6).
const (
	// PostAhead: descriptors are accepted for the current epoch and the
	// next PostAhead epochs.
	PostAhead = 2
	// KeepDocuments: documents of the current epoch and the KeepDocuments
	// before it are served; older ones are Gone.
	KeepDocuments = 2
	// publishNum/publishDen: the document for epoch e+1 is made once this
	// fraction of epoch e has elapsed.
	publishNum, publishDen = 3, 4
)

// Policy is what the state machine needs from the configuration.
type Policy struct {
	Layers           int
	MinNodesPerLayer int
	MinProviders     int
	EpochPeriod      time.Duration
	BootstrapGrace   time.Duration
	Geometry         sphinx.Geometry
	Parameters       pki.Parameters
	Mixes            []AllowedNode
	Providers        []AllowedNode
}

// PolicyFrom extracts the Policy of a configuration.
func PolicyFrom(c *Config) Policy {
	return Policy{
		Layers:           c.Authority.Layers,
		MinNodesPerLayer: c.Authority.MinNodesPerLayer,
		MinProviders:     c.Authority.MinProviders,
		EpochPeriod:      c.Authority.EpochPeriod,
		BootstrapGrace:   c.Authority.BootstrapGrace,
		Geometry:         c.Geometry,
		Parameters:       c.Parameters,
		Mixes:            c.Mixes,
		Providers:        c.Providers,
	}
}

// allowedNode is an allow-list entry with its role.
type allowedNode struct {
	AllowedNode
	provider bool
}

// published is a signed document and its decoded form.
type published struct {
	signed []byte
	doc    *pki.Document
}

// State is the authority's state machine: which descriptors it holds for
// which epoch and which documents it has signed (docs/spec/dirauth.md §4,
// §6). It does no I/O but through its Store and reads no clock: every
// method takes the time, so tests drive it through epochs directly.
type State struct {
	policy  Policy
	clock   epochtime.Clock
	signer  ed25519.PrivateKey
	store   *Store
	log     *logging.Logger
	allowed map[keys.NodeID]allowedNode

	mu         sync.Mutex
	descs      map[uint64]map[keys.NodeID]pki.NodeEntry
	docs       map[uint64]*published
	readySince map[uint64]time.Time // first time an epoch had enough nodes
	warned     map[uint64]bool      // "not enough nodes" logged for this epoch
}

// NewState loads the store's descriptors and documents and returns the
// state machine. Stored descriptors of nodes no longer allowed, and
// documents that no longer verify under signer's key, are ignored (and
// logged).
func NewState(p Policy, signer ed25519.PrivateKey, store *Store, log *logging.Logger) (*State, error) {
	if p.Layers < 1 || p.Layers > pki.MaxLayers || p.MinNodesPerLayer < 1 || p.MinProviders < 1 {
		return nil, fmt.Errorf("dirauth: policy out of range: %d layers, minimums %d/%d", p.Layers, p.MinNodesPerLayer, p.MinProviders)
	}
	clock, err := epochtime.New(p.EpochPeriod)
	if err != nil {
		return nil, err
	}
	s := &State{
		policy:     p,
		clock:      clock,
		signer:     signer,
		store:      store,
		log:        log,
		allowed:    map[keys.NodeID]allowedNode{},
		descs:      map[uint64]map[keys.NodeID]pki.NodeEntry{},
		docs:       map[uint64]*published{},
		readySince: map[uint64]time.Time{},
		warned:     map[uint64]bool{},
	}
	for _, n := range p.Mixes {
		s.allowed[n.IdentityKey.NodeID()] = allowedNode{AllowedNode: n}
	}
	for _, n := range p.Providers {
		s.allowed[n.IdentityKey.NodeID()] = allowedNode{AllowedNode: n, provider: true}
	}
	descs, docs, err := store.Load()
	if err != nil {
		return nil, fmt.Errorf("dirauth: loading the database: %w", err)
	}
	for epoch, nodes := range descs {
		for id, signed := range nodes {
			e, err := pki.NewNodeEntry(signed)
			if err == nil {
				err = s.mayPost(id, e.Descriptor)
			}
			if err != nil {
				log.Warning("ignoring a stored descriptor", "epoch", epoch, "node", id, "reason", err)
				continue
			}
			s.putDesc(epoch, id, e)
		}
	}
	pub := keys.IdentityPublicKey(signer.Public().(ed25519.PublicKey))
	for epoch, signed := range docs {
		d, err := pki.VerifyDocument(signed, pub)
		if err == nil && d.Epoch != epoch {
			err = fmt.Errorf("document for epoch %d stored as %d", d.Epoch, epoch)
		}
		if err != nil {
			log.Warning("ignoring a stored document", "epoch", epoch, "reason", err)
			continue
		}
		s.docs[epoch] = &published{signed: signed, doc: d}
	}
	return s, nil
}

// Clock is the state's epoch clock.
func (s *State) Clock() epochtime.Clock { return s.clock }

func (s *State) putDesc(epoch uint64, id keys.NodeID, e pki.NodeEntry) {
	if s.descs[epoch] == nil {
		s.descs[epoch] = map[keys.NodeID]pki.NodeEntry{}
	}
	s.descs[epoch][id] = e
}

// mayPost checks that the descriptor is the allowed node's, in its role
// and under its name: the Forbidden rules of docs/spec/dirauth.md §4.
func (s *State) mayPost(id keys.NodeID, d *pki.Descriptor) error {
	a, ok := s.allowed[id]
	switch {
	case !ok:
		return fmt.Errorf("node %s is not on the allow-list", id)
	case !d.IdentityKey.Equal(a.IdentityKey):
		return fmt.Errorf("descriptor carries identity key %s, node %s is %s", d.IdentityKey, id, a.IdentityKey)
	case d.Name != a.Identifier:
		return fmt.Errorf("descriptor names %q, the allow-list %q", d.Name, a.Identifier)
	case d.Provider != a.provider:
		return fmt.Errorf("descriptor says Provider=%v, the allow-list lists %q as %s", d.Provider, a.Identifier, role(a.provider))
	}
	return nil
}

func role(provider bool) string {
	if provider {
		return "a Provider"
	}
	return "a mix"
}

// Post handles a PostDescriptor from a peer that authenticated with
// authBlob (docs/spec/dirauth.md §4). A non-nil error means the descriptor
// could not be stored: the caller closes the link without an answer, and
// the node retries.
func (s *State) Post(now time.Time, authBlob []byte, epoch uint64, payload []byte) (link.DescriptorCode, error) {
	if len(authBlob) != keys.NodeIDSize {
		return link.DescriptorForbidden, nil
	}
	id := keys.NodeID(authBlob)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.allowed[id]; !ok {
		s.log.Info("descriptor refused: node not on the allow-list", "node", id)
		return link.DescriptorForbidden, nil
	}
	entry, err := pki.NewNodeEntry(payload)
	if err != nil {
		s.log.Info("descriptor refused: invalid", "node", id, "reason", err)
		return link.DescriptorInvalid, nil
	}
	if err := s.mayPost(id, entry.Descriptor); err != nil {
		s.log.Info("descriptor refused: forbidden", "node", id, "reason", err)
		return link.DescriptorForbidden, nil
	}
	cur, _, _ := s.clock.At(now)
	switch {
	case entry.Descriptor.Epoch != epoch:
		s.log.Info("descriptor refused: posted for another epoch", "node", id, "posted", epoch, "descriptor", entry.Descriptor.Epoch)
		return link.DescriptorInvalid, nil
	case epoch < cur || epoch > cur+PostAhead:
		s.log.Info("descriptor refused: epoch out of range", "node", id, "epoch", epoch, "current", cur)
		return link.DescriptorInvalid, nil
	}
	if p := s.docs[epoch]; p != nil {
		// Too late for this epoch: only what the document holds is Ok.
		if e, _, ok := p.doc.Node(id); ok && bytes.Equal(e.Signed, payload) {
			return link.DescriptorOk, nil
		}
		s.log.Info("descriptor refused: the document for its epoch is already published", "node", id, "epoch", epoch)
		return link.DescriptorConflict, nil
	}
	if old, ok := s.descs[epoch][id]; ok {
		if bytes.Equal(old.Signed, payload) {
			return link.DescriptorOk, nil
		}
		s.log.Info("descriptor refused: a different one is held for the epoch", "node", id, "epoch", epoch)
		return link.DescriptorConflict, nil
	}
	if err := s.store.PutDescriptor(epoch, id, payload); err != nil {
		s.log.Error("storing a descriptor", "error", err)
		return 0, fmt.Errorf("storing descriptor: %w", err)
	}
	s.putDesc(epoch, id, entry)
	s.log.Info("descriptor accepted", "node", entry.Descriptor.Name, "epoch", epoch)
	s.publishDue(now)
	return link.DescriptorOk, nil
}

// Consensus answers GetConsensus (docs/spec/dirauth.md §6.3).
func (s *State) Consensus(now time.Time, epoch uint64) (link.ConsensusCode, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.docs[epoch]; p != nil {
		return link.ConsensusOk, p.signed
	}
	cur, _, _ := s.clock.At(now)
	if epoch < cur {
		return link.ConsensusGone, nil
	}
	return link.ConsensusNotFound, nil
}

// Document returns the signed document of an epoch, if published.
func (s *State) Document(epoch uint64) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.docs[epoch]; p != nil {
		return p.signed, true
	}
	return nil, false
}

// Tick publishes what is due and forgets what is old. The authority calls
// it periodically; Post calls the publishing part itself.
func (s *State) Tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishDue(now)
	s.prune(now)
}

// publishDue makes the documents §6.1 and §6.2 call for at this time.
func (s *State) publishDue(now time.Time) {
	cur, elapsed, _ := s.clock.At(now)
	if s.docs[cur] == nil {
		s.tryPublish(now, cur, true)
	}
	if s.docs[cur+1] == nil && elapsed >= s.policy.EpochPeriod*publishNum/publishDen {
		s.tryPublish(now, cur+1, false)
	}
}

// tryPublish signs and stores the document for epoch if the nodes that
// posted for it suffice. bootstrap (no document for the current epoch)
// publishes as soon as every allowed node has posted, or BootstrapGrace
// after the minimums were first met.
func (s *State) tryPublish(now time.Time, epoch uint64, bootstrap bool) {
	var mixes []keys.NodeID
	var providers []pki.NodeEntry
	for id, e := range s.descs[epoch] {
		if e.Descriptor.Provider {
			providers = append(providers, e)
		} else {
			mixes = append(mixes, id)
		}
	}
	if len(mixes) < s.policy.Layers*s.policy.MinNodesPerLayer || len(providers) < s.policy.MinProviders {
		if !s.warned[epoch] && (!bootstrap || len(s.descs[epoch]) > 0) {
			s.warned[epoch] = true
			s.log.Warning("not enough nodes to publish a document yet; will retry",
				"epoch", epoch, "mixes", len(mixes), "need_mixes", s.policy.Layers*s.policy.MinNodesPerLayer,
				"providers", len(providers), "need_providers", s.policy.MinProviders)
		}
		return
	}
	if bootstrap && len(s.descs[epoch]) < len(s.allowed) {
		since := s.readySince[epoch]
		if since.IsZero() {
			s.readySince[epoch] = now
			since = now
		}
		if now.Sub(since) < s.policy.BootstrapGrace {
			return
		}
	}
	doc := s.buildDocument(epoch, mixes, providers)
	signed, err := pki.SignDocument(s.signer, doc)
	if err != nil {
		s.log.Error("building the document", "epoch", epoch, "error", err)
		return
	}
	b, err := signed.Marshal()
	if err != nil {
		s.log.Error("encoding the document", "epoch", epoch, "error", err)
		return
	}
	if err := s.store.PutDocument(epoch, b); err != nil {
		s.log.Error("storing the document", "epoch", epoch, "error", err)
		return
	}
	s.docs[epoch] = &published{signed: b, doc: doc}
	s.log.Notice("document published", "epoch", epoch, "mixes", len(mixes), "layers", len(doc.Layers),
		"providers", len(providers), "bytes", len(b))
}

// buildDocument lays out the document for epoch (docs/spec/dirauth.md §5,
// §7).
func (s *State) buildDocument(epoch uint64, mixes []keys.NodeID, providers []pki.NodeEntry) *pki.Document {
	prev := map[keys.NodeID]int{}
	if p := s.previousDocument(epoch); p != nil && len(p.doc.Layers) == s.policy.Layers {
		for l, layer := range p.doc.Layers {
			for i := range layer {
				prev[layer[i].NodeID()] = l
			}
		}
	}
	doc := &pki.Document{
		Version:     pki.DocumentVersion,
		Epoch:       epoch,
		EpochPeriod: s.policy.EpochPeriod,
		Geometry:    s.policy.Geometry,
		Parameters:  s.policy.Parameters,
	}
	for _, layer := range assignLayers(prev, mixes, s.policy.Layers) {
		entries := make([]pki.NodeEntry, len(layer))
		for i, id := range layer {
			entries[i] = s.descs[epoch][id]
		}
		doc.Layers = append(doc.Layers, entries)
	}
	sort.Slice(providers, func(i, j int) bool {
		a, b := providers[i].NodeID(), providers[j].NodeID()
		return bytes.Compare(a[:], b[:]) < 0
	})
	doc.Providers = providers
	return doc
}

// previousDocument is the latest document before epoch.
func (s *State) previousDocument(epoch uint64) *published {
	var best *published
	for e, p := range s.docs {
		if e < epoch && (best == nil || e > best.doc.Epoch) {
			best = p
		}
	}
	return best
}

// prune forgets descriptors of past epochs and documents older than
// KeepDocuments epochs, in the store too.
func (s *State) prune(now time.Time) {
	cur, _, _ := s.clock.At(now)
	docBefore := uint64(0)
	if cur > KeepDocuments {
		docBefore = cur - KeepDocuments
	}
	changed := false
	for e := range s.descs {
		if e < cur {
			delete(s.descs, e)
			changed = true
		}
	}
	for e := range s.docs {
		if e < docBefore {
			delete(s.docs, e)
			changed = true
		}
	}
	for e := range s.readySince {
		if e < cur {
			delete(s.readySince, e)
		}
	}
	for e := range s.warned {
		if e < cur {
			delete(s.warned, e)
		}
	}
	if changed {
		if err := s.store.Prune(cur, docBefore); err != nil {
			s.log.Error("pruning the database", "error", err)
		}
	}
}
