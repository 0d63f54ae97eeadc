package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/splitmix/splitmix/internal/sphinx"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// delivery is a packet for a local user, waiting for a delivery worker.
type delivery struct {
	user     []byte
	received time.Time
	// delay is the terminal hop's delay: how long to hold the SURB-ACK.
	delay time.Duration
	// surbID is set for a SURB reply: the entry is spooled as an ACK entry
	// (docs/spec/client.md §8.1) and payload is the whole Sphinx payload.
	surbID *spoolproto.SURBID
	// payload is the user payload of a forward packet, or the SURB reply.
	payload []byte
	// surb is the forward packet's SURB, for the SURB-ACK; nil if none.
	surb []byte
}

// Deliver takes the terminal unwrap result of a packet that ends at this
// Provider (received at received) and queues it: a user message or SURB reply
// for the spool of a local user, or a request for a Kaetzchen service. It
// copies what it keeps: res and its payload may be reused as soon as it
// returns. It never blocks; a packet it cannot queue is counted by reason and
// false is returned. mixd's crypto worker calls it after the replay check.
//
// See docs/spec/client.md §4.5 (terminal commands), §7 (SURB-ACKs), §8.1
// (what the spool holds) and §9 (Kaetzchen).
func (p *Provider) Deliver(res *sphinx.UnwrapResult, received time.Time) bool {
	cmds := &res.Commands
	if !cmds.IsTerminal() || res.Payload == nil {
		p.count.drop(DropNotTerminal)
		return false
	}
	name, kind := parseRecipient(&cmds.Recipient)
	delay := time.Duration(cmds.Delay) * time.Millisecond
	switch {
	case kind == recipientInvalid:
		p.count.drop(DropBadRecipient)
		return false
	case cmds.HasSURBReply && kind == recipientEndpoint:
		p.count.drop(DropReplyToEndpoint)
		return false
	case cmds.HasSURBReply:
		if len(res.Payload) != p.geo.PayloadLength {
			p.count.drop(DropBadPayload)
			return false
		}
		id := spoolproto.SURBID(cmds.SURBID)
		return p.queueDelivery(&delivery{
			user: clone(name), received: received, delay: delay,
			surbID: &id, payload: clone(res.Payload),
		})
	}
	surb, msg, err := p.cfg.Sphinx.DecodeForwardPayload(res.Payload)
	if err != nil {
		p.count.drop(DropBadPayload)
		return false
	}
	if kind == recipientEndpoint {
		return p.queueRequest(name, surb, msg, received, delay)
	}
	return p.queueDelivery(&delivery{
		user: clone(name), received: received, delay: delay,
		payload: clone(msg), surb: clone(surb),
	})
}

// queueDelivery hands d to the delivery workers without blocking.
func (p *Provider) queueDelivery(d *delivery) bool {
	return enqueue(p, p.deliveries, d, DropQueueFull)
}

// deliveryWorker is one of Debug.NumProviderWorkers: it spools what Deliver
// queued until Close.
func (p *Provider) deliveryWorker() {
	for d := range p.deliveries {
		p.deliver(d)
	}
}

// deliver stores d in its user's spool and, once spoold has confirmed the
// store, sends the SURB-ACK if d carried a SURB (docs/spec/client.md §7.1).
func (p *Provider) deliver(d *delivery) {
	if p.work.Err() != nil {
		p.count.drop(DropShuttingDown)
		return
	}
	if p.cfg.ProviderDelay > 0 && p.now().Sub(d.received) > p.cfg.ProviderDelay {
		p.count.drop(DropTooLate)
		return
	}
	m := &spoolproto.Message{SURBID: d.surbID, Body: d.payload}
	// A fresh id per delivery; spoolproto's client resends the same id if
	// spoold restarts mid-call, so a retried store is stored once.
	_, _ = rand.Read(m.ID[:])
	ctx, cancel := context.WithTimeout(p.work, p.cfg.StoreTimeout)
	err := p.cfg.Store.StoreMessage(ctx, d.user, m)
	cancel()
	if err != nil {
		p.count.drop(storeDropReason(err, p.work))
		p.log.Debug("spool store failed", "user", string(d.user), "err", err)
		return
	}
	if d.surbID != nil {
		p.count.repliesStored.Add(1)
		return
	}
	p.count.stored.Add(1)
	if d.surb != nil {
		// The ACK's reply payload is all zero (§7.1).
		if p.reply(d.surb, nil, d.received.Add(d.delay)) {
			p.count.acksSent.Add(1)
		}
	}
}

// storeDropReason classifies a failed StoreMessage.
func storeDropReason(err error, work context.Context) Reason {
	switch {
	case errors.Is(err, spoolproto.ErrUnknownUser), errors.Is(err, spoolproto.ErrInvalidUser):
		return DropUnknownUser
	case errors.Is(err, spoolproto.ErrSpoolFull):
		return DropSpoolFull
	case errors.Is(err, spoolproto.ErrMessageTooLarge), errors.Is(err, spoolproto.ErrInvalidMessage):
		return DropStoreRefused
	case work.Err() != nil:
		return DropShuttingDown
	}
	return DropStoreFailed
}

// reply sends payload (at most ForwardPayloadLength bytes; nil for the
// all-zero SURB-ACK) back through surb (sphinx §9.3), due at dispatchAt.
// It counts its own failures.
func (p *Provider) reply(surb, payload []byte, dispatchAt time.Time) bool {
	pkt, next, err := p.cfg.Sphinx.NewPacketFromSURB(surb, payload)
	if err != nil {
		p.count.drop(DropBadSURB)
		return false
	}
	if !p.cfg.Send(Outgoing{Packet: pkt, NextHop: next, DispatchAt: dispatchAt}) {
		p.count.drop(DropSendRefused)
		return false
	}
	return true
}

// clone copies b; nil stays nil.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
