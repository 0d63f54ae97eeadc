package authority

import (
	"context"
	"errors"
	"fmt"
	"github.com/splitmix/splitmix/internal/dirauth"
	"io"
	"net"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
)

// Connection policy (docs/spec/dirauth.md §3).
const (
	// maxCommandsPerSession bounds what one session may ask.
	maxCommandsPerSession = 64
	// certLifetime is the validity of the link certificates the authority
	// hands out; it signs a fresh one when half of it has passed.
	certLifetime = 24 * time.Hour
)

// errAuthBlob refuses an initiator whose blob is neither empty (a client)
// nor a NodeID (a node).
var errAuthBlob = errors.New("authentication blob is neither empty nor a NodeID")

// authorize is the handshake policy of §3: anyone may connect as a client
// (empty blob) or claim to be a node (32-byte blob); what a node may do is
// decided per command, by the descriptor's signature.
func authorize(_ context.Context, _ *keys.LinkPublicKey, blob []byte) error {
	if len(blob) != 0 && len(blob) != keys.NodeIDSize {
		return errAuthBlob
	}
	return nil
}

// linkCert returns the current certificate frame, signing a new one when
// the cached one has less than half its lifetime left.
func (a *Authority) linkCert(now time.Time) []byte {
	a.certMu.Lock()
	defer a.certMu.Unlock()
	if a.cert == nil || a.certExpiry.Sub(now) < certLifetime/2 {
		a.certExpiry = now.Add(certLifetime).Truncate(time.Second)
		a.cert = dirauth.SignLinkCertificate(a.keys.Identity, a.keys.Link.Public(), a.certExpiry)
	}
	return a.cert
}

// serve accepts connections on ln until it is closed.
func (a *Authority) serve(ctx context.Context, ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			a.log.Warning("accept failed", "listener", ln.Addr().String(), "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond): // back off on EMFILE and friends
			}
			continue
		}
		select {
		case a.slots <- struct{}{}:
		default:
			a.log.Debug("connection refused: MaxConnections reached", "peer", conn.RemoteAddr().String())
			conn.Close()
			continue
		}
		a.conns.Add(1)
		go func() {
			defer a.conns.Done()
			defer func() { <-a.slots }()
			a.handle(ctx, conn)
		}()
	}
}

// handle runs one connection: certificate, handshake, commands (§3).
func (a *Authority) handle(ctx context.Context, conn net.Conn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	cfg := &a.linkConfig
	if err := conn.SetWriteDeadline(time.Now().Add(cfg.HandshakeTimeout)); err != nil {
		return
	}
	if _, err := conn.Write(a.linkCert(time.Now())); err != nil {
		a.log.Debug("writing the link certificate", "peer", conn.RemoteAddr().String(), "error", err)
		return
	}
	s, err := link.Accept(ctx, conn, cfg)
	if err != nil {
		a.log.Debug("handshake failed", "peer", conn.RemoteAddr().String(), "error", err)
		return
	}
	defer s.Close()
	if err := a.session(s); err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
		a.log.Debug("session ended", "peer", conn.RemoteAddr().String(), "error", err)
	}
}

// session answers the commands of one established link.
func (a *Authority) session(s *link.Session) error {
	blob := s.PeerAuthBlob()
	for range maxCommandsPerSession {
		if err := s.SetReadDeadline(time.Now().Add(a.cfg.Authority.IdleTimeout)); err != nil {
			return err
		}
		cmd, err := s.Recv()
		if err != nil {
			return err
		}
		var reply link.Command
		switch c := cmd.(type) {
		case *link.NoOp:
			continue
		case *link.Disconnect:
			return nil
		case *link.GetConsensus:
			code, payload := a.state.Consensus(time.Now(), c.Epoch)
			reply = &link.Consensus{ErrorCode: code, Payload: payload}
		case *link.PostDescriptor:
			code, err := a.state.Post(time.Now(), blob, c.Epoch, c.Payload)
			if err != nil {
				return err // not stored: no answer, the node retries
			}
			reply = &link.PostDescriptorStatus{ErrorCode: code}
		default:
			return fmt.Errorf("command %v is not for the directory authority", cmd.ID())
		}
		if err := s.SetWriteDeadline(time.Now().Add(a.cfg.Authority.IdleTimeout)); err != nil {
			return err
		}
		if err := s.Send(reply); err != nil {
			return err
		}
	}
	return fmt.Errorf("more than %d commands in one session", maxCommandsPerSession)
}

// newLinkConfig is the responder configuration of every session.
func newLinkConfig(k *Keys, handshakeTimeout time.Duration) link.Config {
	return link.Config{
		Static:           k.Link,
		Authorize:        authorize,
		Limits:           dirauth.Limits(),
		HandshakeTimeout: handshakeTimeout,
	}
}

// listeners are the bound sockets, closed once.
type listeners struct {
	once sync.Once
	list []net.Listener
}

func (l *listeners) close() {
	l.once.Do(func() {
		for _, ln := range l.list {
			ln.Close()
		}
	})
}
