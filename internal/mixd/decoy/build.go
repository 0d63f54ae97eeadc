package decoy

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/provider"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// RecipientName is the recipient of every loop's SURB (docs/spec/decoy.md
// §3.4): an endpoint name, so that a loop reply the table does not consume
// is dropped by the Provider's delivery instead of reaching a spool.
const RecipientName = "+decoy"

// built is a loop packet ready to send, and what the table keeps for it.
type built struct {
	packet   []byte
	firstHop keys.NodeID
	// dispatchAt is when the packet leaves: built + hop 0's delay (§3.2).
	dispatchAt time.Time
	id         sphinx.SURBID
	loop       *loop
}

// buildError says why no loop was built; its counter goes with it.
type buildError struct {
	err error
	// reason is ErrNoDocument, ErrNoEcho, ErrNoRoute or ErrBuild.
	reason error
}

func (e *buildError) Error() string { return e.err.Error() }
func (e *buildError) Unwrap() error { return e.reason }

func fail(reason error, format string, a ...any) error {
	return &buildError{err: fmt.Errorf("%w: "+format, append([]any{reason}, a...)...), reason: reason}
}

// build makes one loop from this Provider (self) through doc, at now
// (docs/spec/decoy.md §3).
func build(rng io.Reader, sph *sphinx.Sphinx, doc *pki.Document, self keys.NodeID, slack time.Duration, now time.Time) (*built, error) {
	src := providerEntry(doc, self)
	if src == nil {
		return nil, fail(ErrNoRoute, "this Provider is not in the document of epoch %d", doc.Epoch)
	}
	echoes := echoProviders(doc)
	if len(echoes) == 0 {
		return nil, fail(ErrNoEcho, "no Provider of epoch %d advertises %q", doc.Epoch, provider.CapabilityEcho)
	}
	i, err := rand.Int(rng, big.NewInt(int64(len(echoes))))
	if err != nil {
		return nil, fail(ErrBuild, "random source: %v", err)
	}
	dst := echoes[i.Int64()]

	// §3.2: the client path from S; S is hop 0, whose delay S holds the
	// packet for, and the Sphinx packet starts at the mix of Layers[0].
	fwd, err := client.ForwardPath(rng, doc, src, dst.entry, true)
	if err != nil {
		return nil, fail(ErrNoRoute, "forward path: %v", err)
	}
	reply, err := client.ReplyPath(rng, doc, src)
	if err != nil {
		return nil, fail(ErrNoRoute, "reply path: %v", err)
	}
	self0, rest := fwd[0], fwd[1:]

	recipient, err := sphinx.NewRecipientID(RecipientName)
	if err != nil {
		return nil, fail(ErrBuild, "%v", err)
	}
	surb, surbKeys, id, err := sph.NewSURB(rng, reply, recipient)
	if err != nil {
		return nil, fail(ErrBuild, "SURB: %v", err)
	}
	l := &loop{keys: surbKeys, sent: now}
	if _, err := io.ReadFull(rng, l.token[:]); err != nil {
		l.forget()
		return nil, fail(ErrBuild, "random source: %v", err)
	}
	payload, err := sph.EncodeForwardPayload(surb, l.token[:]) // zero-padded (§3.5)
	if err != nil {
		l.forget()
		return nil, fail(ErrBuild, "payload: %v", err)
	}
	pkt, err := sph.NewPacket(rng, rest, dst.recipient, payload)
	if err != nil {
		l.forget()
		return nil, fail(ErrBuild, "packet: %v", err)
	}
	hold := time.Duration(self0.Delay) * time.Millisecond
	// §4.2: every delay of both paths, plus the slack.
	l.deadline = now.Add(hold + client.PathDelay(rest) + client.PathDelay(reply) + slack)
	return &built{packet: pkt, firstHop: rest[0].ID, dispatchAt: now.Add(hold), id: id, loop: l}, nil
}

// providerEntry is the document's entry of the Provider id, or nil.
func providerEntry(doc *pki.Document, id keys.NodeID) *pki.NodeEntry {
	for i := range doc.Providers {
		if doc.Providers[i].NodeID() == id {
			return &doc.Providers[i]
		}
	}
	return nil
}

// echoTarget is a Provider running the echo service.
type echoTarget struct {
	entry     *pki.NodeEntry
	recipient sphinx.RecipientID
}

// echoProviders lists the Providers that advertise echo with a valid
// endpoint (docs/spec/decoy.md §3.1), in document order.
func echoProviders(doc *pki.Document) []echoTarget {
	var out []echoTarget
	for i := range doc.Providers {
		e := &doc.Providers[i]
		ep := e.Descriptor.Kaetzchen[provider.CapabilityEcho][pki.KaetzchenEndpoint]
		if !isEndpoint(ep) {
			continue
		}
		r, err := sphinx.NewRecipientID(ep)
		if err != nil {
			continue
		}
		out = append(out, echoTarget{entry: e, recipient: r})
	}
	return out
}

// isEndpoint reports whether s is a Kaetzchen endpoint (docs/spec/client.md
// §1.2): "+" and 1 to 31 bytes of a-z 0-9 . _ -.
func isEndpoint(s string) bool {
	if len(s) < 2 || len(s) > sphinx.RecipientIDSize || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
