package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// ErrNoDocument reports that no verified document for the current epoch
// could be obtained and none is held.
var ErrNoDocument = errors.New("client: no PKI document")

// network is one verified document and what the client derives from it.
type network struct {
	doc    *pki.Document
	signed []byte
	sph    *sphinx.Sphinx
	src    *pki.NodeEntry // our Provider
	limits link.Limits    // of the client link (§2.4)
}

// linkLimits are the client link limits of docs/spec/client.md §2.4.
func linkLimits(g sphinx.Geometry) link.Limits {
	return link.Limits{
		PacketLength:         g.PacketLength,
		MessagePayloadLength: g.UserForwardPayloadLength,
		AckPayloadLength:     g.PayloadLength,
		MaxConsensus:         pki.MaxSignedDocumentSize,
	}
}

// newNetwork verifies a signed document (§3.3) and prepares to use it.
func (c *Client) newNetwork(signed []byte, epoch uint64, anyEpoch bool) (*network, error) {
	doc, err := pki.VerifyDocument(signed, c.cfg.AuthorityKey)
	if err != nil {
		return nil, err
	}
	if !anyEpoch && doc.Epoch != epoch {
		return nil, fmt.Errorf("client: asked for the document of epoch %d, got epoch %d", epoch, doc.Epoch)
	}
	sph, err := sphinx.New(doc.Geometry)
	if err != nil {
		return nil, err
	}
	src, err := findProvider(doc, c.cfg.Provider)
	if err != nil {
		return nil, err
	}
	return &network{doc: doc, signed: signed, sph: sph, src: src, limits: linkLimits(doc.Geometry)}, nil
}

// currentEpoch is the epoch now, by the period of the document held (or,
// before the first one, Config.EpochPeriod or the default period).
func (c *Client) currentEpoch(n *network) uint64 {
	period := epochtime.DefaultPeriod
	if c.cfg.EpochPeriod > 0 {
		period = c.cfg.EpochPeriod
	}
	if n != nil {
		period = n.doc.EpochPeriod
	}
	e, _, _ := epochtime.Clock{Period: period, Now: c.now}.Current()
	return e
}

// network returns the document for the current epoch, fetching it if the
// one held is older (§3.1, §3.4): from the Provider first, then from the
// authority. If neither has it yet, the document held is kept.
func (c *Client) network(ctx context.Context) (*network, error) {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	cur := c.cur.Load()
	epoch := c.currentEpoch(cur)
	if cur != nil && cur.doc.Epoch >= epoch {
		return cur, nil
	}
	var errs []error
	if cur != nil {
		n, err := c.fetchFromProvider(ctx, epoch)
		if err == nil {
			c.install(n)
			return n, nil
		}
		errs = append(errs, err)
	}
	if c.cfg.AuthorityAddress != "" {
		n, err := c.fetchFromAuthority(ctx, epoch)
		if err == nil {
			c.install(n)
			return n, nil
		}
		errs = append(errs, err)
	}
	if cur != nil && ctx.Err() == nil {
		c.log.Info("keeping the previous PKI document", "epoch", cur.doc.Epoch, "want", epoch, "error", errors.Join(errs...))
		return cur, nil
	}
	return nil, fmt.Errorf("%w for epoch %d: %w", ErrNoDocument, epoch, errors.Join(errs...))
}

// install makes n the current network; a geometry change closes the link
// (its limits change, §3.4).
func (c *Client) install(n *network) {
	old := c.cur.Swap(n)
	if old != nil && (old.limits != n.limits || !old.src.Descriptor.LinkKey.Equal(n.src.Descriptor.LinkKey)) {
		c.conn.reset(true)
	}
	c.log.Debug("PKI document installed", "epoch", n.doc.Epoch)
}

func (c *Client) fetchFromProvider(ctx context.Context, epoch uint64) (*network, error) {
	code, signed, err := c.conn.getConsensus(ctx, epoch)
	if err != nil {
		return nil, err
	}
	if code != link.ConsensusOk {
		return nil, fmt.Errorf("client: the Provider has no document for epoch %d (code %d)", epoch, code)
	}
	return c.newNetwork(signed, epoch, false)
}

func (c *Client) fetchFromAuthority(ctx context.Context, epoch uint64) (*network, error) {
	cl := dirauth.Client{Address: c.cfg.AuthorityAddress, Authority: c.cfg.AuthorityKey, Static: c.cfg.LinkKey}
	_, signed, err := cl.Document(ctx, epoch)
	if err != nil {
		return nil, err
	}
	return c.newNetwork(signed, epoch, false)
}

// Document returns the PKI document in use, or nil before Connect.
func (c *Client) Document() *pki.Document {
	if n := c.cur.Load(); n != nil {
		return n.doc
	}
	return nil
}

// now is the client's clock.
func (c *Client) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}
