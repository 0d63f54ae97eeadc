package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/link"
)

// ErrProtocol reports a Provider that broke docs/spec/client.md §2.5 or §8.3:
// a wrong command or sequence number. The session is closed.
var ErrProtocol = errors.New("client: Provider protocol violation")

// spoolEntry is one answer to RetrieveMessage, copied out of the session.
type spoolEntry struct {
	kind      link.CommandID // IDMessage, IDMessageACK or IDMessageEmpty
	sequence  uint32
	queueHint uint8
	surbID    [link.SURBIDLength]byte
	payload   []byte
}

// providerConn is the client's link session to its Provider
// (docs/spec/client.md §2). It dials on demand, serialises requests (one
// outstanding request at a time, §2.5) and keeps the retrieval sequence
// number of §8.3.
type providerConn struct {
	dial func(ctx context.Context) (*link.Session, error)

	mu   sync.Mutex
	sess *link.Session
	seq  uint32
}

// sessionLocked returns the session, dialling if there is none. A new
// session starts at sequence 0 (§8.3).
func (p *providerConn) sessionLocked(ctx context.Context) (*link.Session, bool, error) {
	if p.sess != nil {
		return p.sess, false, nil
	}
	s, err := p.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	p.sess, p.seq = s, 0
	return s, true, nil
}

// dropLocked closes the session after a failure; the next request redials.
func (p *providerConn) dropLocked() {
	if p.sess != nil {
		_ = p.sess.Close()
		p.sess = nil
	}
}

// connect makes sure a session is up.
func (p *providerConn) connect(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _, err := p.sessionLocked(ctx)
	return err
}

// reset closes the session (the link limits changed, or Close).
func (p *providerConn) reset(disconnect bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if disconnect && p.sess != nil {
		_ = p.sess.SetWriteDeadline(time.Now().Add(time.Second))
		_ = p.sess.Send(&link.Disconnect{})
	}
	p.dropLocked()
}

// exchange sends cmd on the session and, if wantReply, returns the next
// command that is not a NoOp. Any error leaves the session unusable.
func exchange(ctx context.Context, s *link.Session, cmd link.Command, wantReply bool) (link.Command, error) {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Time{}
	}
	_ = s.SetReadDeadline(d)
	_ = s.SetWriteDeadline(d)
	stop := context.AfterFunc(ctx, func() {
		_ = s.SetReadDeadline(time.Now())
		_ = s.SetWriteDeadline(time.Now())
	})
	defer stop()
	if err := s.Send(cmd); err != nil {
		return nil, withCtx(ctx, fmt.Errorf("client: sending %v: %w", cmd.ID(), err))
	}
	if !wantReply {
		return nil, nil
	}
	for {
		reply, err := s.Recv()
		if err != nil {
			return nil, withCtx(ctx, fmt.Errorf("client: awaiting the answer to %v: %w", cmd.ID(), err))
		}
		switch reply.(type) {
		case *link.NoOp:
			continue
		case *link.Disconnect:
			return nil, fmt.Errorf("client: the Provider disconnected: %w", net.ErrClosed)
		}
		return reply, nil
	}
}

// withCtx adds ctx's error to err if ctx ended, so callers see why.
func withCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// request runs one exchange, redialling once if an existing session turns
// out to be broken (§2.6). fn sees the session and the current sequence.
func (p *providerConn) request(ctx context.Context, fn func(s *link.Session) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for attempt := 0; ; attempt++ {
		s, fresh, err := p.sessionLocked(ctx)
		if err != nil {
			return err
		}
		err = fn(s)
		if err == nil {
			return nil
		}
		p.dropLocked()
		if fresh || attempt > 0 || ctx.Err() != nil || errors.Is(err, ErrProtocol) {
			return err
		}
	}
}

// sendPacket hands a Sphinx packet to the Provider (§5.2).
func (p *providerConn) sendPacket(ctx context.Context, pkt []byte) error {
	return p.request(ctx, func(s *link.Session) error {
		_, err := exchange(ctx, s, &link.SendPacket{Packet: pkt}, false)
		return err
	})
}

// retrieve asks for the spool head with the current sequence number and
// advances it after a Message or MessageACK (§8.3).
func (p *providerConn) retrieve(ctx context.Context) (*spoolEntry, error) {
	var e *spoolEntry
	err := p.request(ctx, func(s *link.Session) error {
		reply, err := exchange(ctx, s, &link.RetrieveMessage{Sequence: p.seq}, true)
		if err != nil {
			return err
		}
		switch r := reply.(type) {
		case *link.Message:
			e = &spoolEntry{kind: link.IDMessage, sequence: r.Sequence, queueHint: r.QueueHint, payload: append([]byte{}, r.Payload...)}
		case *link.MessageACK:
			e = &spoolEntry{kind: link.IDMessageACK, sequence: r.Sequence, queueHint: r.QueueHint, surbID: r.SURBID, payload: append([]byte{}, r.Payload...)}
		case *link.MessageEmpty:
			e = &spoolEntry{kind: link.IDMessageEmpty, sequence: r.Sequence}
		default:
			return fmt.Errorf("%w: %v in answer to RetrieveMessage", ErrProtocol, reply.ID())
		}
		if e.sequence != p.seq {
			return fmt.Errorf("%w: answer for sequence %d, asked for %d", ErrProtocol, e.sequence, p.seq)
		}
		if e.kind != link.IDMessageEmpty {
			p.seq++
		}
		return nil
	})
	return e, err
}

// getConsensus asks the Provider for the signed document of epoch (§3.2).
func (p *providerConn) getConsensus(ctx context.Context, epoch uint64) (link.ConsensusCode, []byte, error) {
	var code link.ConsensusCode
	var doc []byte
	err := p.request(ctx, func(s *link.Session) error {
		reply, err := exchange(ctx, s, &link.GetConsensus{Epoch: epoch}, true)
		if err != nil {
			return err
		}
		c, ok := reply.(*link.Consensus)
		if !ok {
			return fmt.Errorf("%w: %v in answer to GetConsensus", ErrProtocol, reply.ID())
		}
		code, doc = c.ErrorCode, append([]byte{}, c.Payload...)
		return nil
	})
	return code, doc, err
}
