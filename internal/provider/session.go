package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/link"
)

// Session is the Provider's state for one client link session: the user's
// rate limiter and the session's retrieval state. mixd opens one after a
// client handshake that Authorize accepted and closes it with the link.
//
// mixd's client-link loop then maps commands (docs/spec/client.md §2.5) to it:
// SendPacket -> AllowSend, and if allowed the packet goes to the crypto
// workers like any other (this Provider is hop 0); RetrieveMessage ->
// RetrieveMessage, whose answer it sends back. GetConsensus, NoOp and
// Disconnect are mixd's own.
type Session struct {
	p     *Provider
	c     *client
	name  string
	r     *Retriever
	close sync.Once
}

// ErrBadUser: NewSession was given a blob that is not a user name.
var ErrBadUser = errors.New("provider: not a user name")

// NewSession opens the state of a client session of user (the link's
// authentication blob, already accepted by Authorize).
func (p *Provider) NewSession(user []byte) (*Session, error) {
	if !isUserName(user) {
		return nil, ErrBadUser
	}
	p.mu.RLock()
	closed := p.closed
	p.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	name := string(user)
	t := p.clients
	t.mu.Lock()
	c := t.byUser[name]
	if c != nil && c.purging {
		t.mu.Unlock()
		return nil, ErrPurging
	}
	if c == nil {
		c = &client{limiter: p.newLimiter()}
		t.byUser[name] = c
	}
	c.sessions++
	c.lastSeen = p.now()
	t.mu.Unlock()
	r := NewRetriever(p.cfg.Store, user, p.geo)
	r.onBad = func() { p.count.drop(DropBadSpoolEntry) }
	return &Session{p: p, c: c, name: name, r: r}, nil
}

// AllowSend reports whether the client may send one more packet at now
// (SendPacket). A refused packet is counted as DropRateLimited; mixd drops it
// silently (docs/spec/client.md §5.2).
func (s *Session) AllowSend(now time.Time) bool {
	return s.p.allowSend(s.c, now)
}

// RetrieveMessage answers the client's RetrieveMessage with Message,
// MessageACK or MessageEmpty (docs/spec/client.md §8.2). An error means
// spoold failed; mixd ends the session.
func (s *Session) RetrieveMessage(ctx context.Context, req *link.RetrieveMessage) (link.Command, error) {
	if req == nil {
		return nil, fmt.Errorf("provider: nil RetrieveMessage")
	}
	cmd, err := s.r.Retrieve(ctx, req.Sequence)
	if err == nil {
		if _, empty := cmd.(*link.MessageEmpty); !empty {
			s.p.count.retrieved.Add(1)
		}
	}
	return cmd, err
}

// Close ends the session's state. An entry delivered but not acknowledged
// stays in the spool for the next session (§8.4). Idempotent.
func (s *Session) Close() {
	s.close.Do(func() {
		t := s.p.clients
		t.mu.Lock()
		defer t.mu.Unlock()
		s.c.sessions--
		s.c.lastSeen = s.p.now()
		if s.c.sessions == 0 && !s.c.ephemeral {
			delete(t.byUser, s.name)
		}
	})
}
