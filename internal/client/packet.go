package client

import (
	"fmt"
	"io"
	"time"

	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// builder makes the packets of one client for one document
// (docs/spec/client.md §4, §5).
type builder struct {
	sph  *sphinx.Sphinx
	doc  *pki.Document
	rng  io.Reader
	self sphinx.RecipientID // our account at src, for SURBs
	src  *pki.NodeEntry     // our Provider
}

// outgoing is a packet ready for SendPacket and what to remember about it.
type outgoing struct {
	packet []byte
	// hasSURB says the packet carries a SURB with these id and keys.
	hasSURB  bool
	surbID   sphinx.SURBID
	surbKeys sphinx.SURBKeys
	// roundTrip is the sum of the forward and reply path delays.
	roundTrip time.Duration
}

// build makes a forward packet for recipient at dst carrying userPayload
// (UserForwardPayloadLength bytes at most), with a SURB back to us if
// withSURB (§4.1, §4.3, §5.1, §5.3).
func (b *builder) build(dst *pki.NodeEntry, recipient sphinx.RecipientID, userPayload []byte, withSURB bool) (*outgoing, error) {
	out := &outgoing{}
	var surb []byte
	if withSURB {
		rpath, err := ReplyPath(b.rng, b.doc, b.src)
		if err != nil {
			return nil, err
		}
		surb, out.surbKeys, out.surbID, err = b.sph.NewSURB(b.rng, rpath, b.self)
		if err != nil {
			return nil, fmt.Errorf("client: building a SURB: %w", err)
		}
		out.hasSURB = true
		out.roundTrip += PathDelay(rpath)
	}
	fwd, err := ForwardPath(b.rng, b.doc, b.src, dst, withSURB)
	if err != nil {
		return nil, err
	}
	out.roundTrip += PathDelay(fwd)
	payload, err := b.sph.EncodeForwardPayload(surb, userPayload)
	if err != nil {
		return nil, fmt.Errorf("client: framing the payload: %w", err)
	}
	out.packet, err = b.sph.NewPacket(b.rng, fwd, recipient, payload)
	if err != nil {
		return nil, fmt.Errorf("client: building the packet: %w", err)
	}
	return out, nil
}

// findProvider returns the entry of the Provider named name.
func findProvider(doc *pki.Document, name string) (*pki.NodeEntry, error) {
	for i := range doc.Providers {
		if doc.Providers[i].Descriptor.Name == name {
			return &doc.Providers[i], nil
		}
	}
	return nil, fmt.Errorf("%w: no Provider %q in the document for epoch %d", ErrNoRoute, name, doc.Epoch)
}

// checkEndpoint verifies that the Provider advertises a Kaetzchen service at
// endpoint (§1.2).
func checkEndpoint(p *pki.NodeEntry, endpoint string) error {
	if err := ValidateEndpoint(endpoint); err != nil {
		return err
	}
	for _, params := range p.Descriptor.Kaetzchen {
		if params[pki.KaetzchenEndpoint] == endpoint {
			return nil
		}
	}
	return fmt.Errorf("%w: Provider %q advertises no service at %q", ErrNoRoute, p.Descriptor.Name, endpoint)
}
