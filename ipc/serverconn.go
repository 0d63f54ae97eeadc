package ipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// serverConn is one established connection: a reader that dispatches
// requests, at most MaxInFlight handler goroutines, and a write lock that
// keeps their replies whole.
type serverConn struct {
	s      *Server
	conn   net.Conn
	peer   Peer
	ctx    context.Context // handlers' ctx: ends when the connection does
	cancel context.CancelFunc
	slots  chan struct{} // bounds requests in flight
	wmu    sync.Mutex    // serialises reply frames
}

// serveConn runs the hello and then the request loop of one connection.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	// Close the socket when the server or Serve stops: that ends the
	// blocked read below.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	peer, ok := s.handshake(conn)
	if !ok {
		return
	}
	s.stats.active.Add(1)
	defer s.stats.active.Add(-1)

	c := &serverConn{s: s, conn: conn, peer: peer, slots: make(chan struct{}, s.cfg.MaxInFlight)}
	c.ctx, c.cancel = context.WithCancel(ctx)
	var handlers sync.WaitGroup
	defer handlers.Wait() // WARNING: runs after cancel and Close below, so handlers see ctx end and replies fail fast
	defer conn.Close()
	defer c.cancel()
	c.readLoop(&handlers)
}

// handshake authorises the caller and exchanges hellos. It answers a
// refused or mismatched caller with an error hello and reports false.
// See ipc/PROTOCOL.md §4 and §9.
func (s *Server) handshake(conn net.Conn) (Peer, bool) {
	name, version := s.cfg.Protocol.Name, s.cfg.Protocol.Version
	if err := conn.SetDeadline(time.Now().Add(s.cfg.HelloTimeout)); err != nil {
		return Peer{}, false
	}
	cred, credErr := PeerCred(conn)
	var (
		role    Role
		authErr = credErr
	)
	if credErr == nil {
		role, authErr = s.cfg.Authorize(cred)
	}

	// Read the caller's hello even when refusing it, so that it receives
	// the denied hello rather than a reset.
	frame, err := ReadFrame(conn, MaxHelloFrame)
	var hello *Hello
	if err == nil {
		hello, err = DecodeHello(frame)
	}
	if authErr != nil {
		s.stats.refused.Add(1)
		s.log.Warning("refused IPC caller", "protocol", name, "uid", cred.UID, "gid", cred.GID, "pid", cred.PID, "reason", authErr)
		if err == nil {
			s.sendHello(conn, Errorf(CodeDenied, "not authorised to use %s", name))
		}
		return Peer{}, false
	}
	if err != nil {
		s.stats.badHellos.Add(1)
		if !isClosedConn(err) {
			s.log.Warning("bad hello from IPC caller", "protocol", name, "uid", cred.UID, "pid", cred.PID, "error", err)
		}
		return Peer{}, false
	}
	if hello.Err != nil || hello.Proto != name || hello.Version != version {
		s.stats.badHellos.Add(1)
		herr := Errorf(CodeUnsupported, "server speaks %s version %d, caller speaks %s version %d", name, version, hello.Proto, hello.Version)
		s.log.Warning("IPC caller speaks another protocol or version", "protocol", name, "version", version,
			"caller_protocol", hello.Proto, "caller_version", hello.Version, "uid", cred.UID, "pid", cred.PID)
		s.sendHello(conn, herr)
		return Peer{}, false
	}
	if !s.sendHello(conn, nil) {
		return Peer{}, false
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return Peer{}, false
	}
	s.log.Debug("IPC caller connected", "protocol", name, "role", role, "uid", cred.UID, "pid", cred.PID)
	return Peer{Cred: cred, Role: role}, true
}

// sendHello writes the server's hello, with herr when refusing.
func (s *Server) sendHello(conn net.Conn, herr *Error) bool {
	h := Hello{Proto: s.cfg.Protocol.Name, Version: s.cfg.Protocol.Version}
	if herr != nil {
		h.Err = herr.wire(maxHelloErrorMsg)
	}
	frame, err := encodeFrame(&h, MaxHelloFrame)
	if err != nil {
		s.log.Warning("cannot encode hello", "protocol", s.cfg.Protocol.Name, "error", err)
		return false
	}
	_, err = conn.Write(frame)
	return err == nil
}

// readLoop reads requests until the connection ends or breaks a rule of
// ipc/PROTOCOL.md §7; each fault that closes the connection is counted.
func (c *serverConn) readLoop(handlers *sync.WaitGroup) {
	s := c.s
	for {
		frame, err := ReadFrame(c.conn, s.maxFrame)
		if err != nil {
			if !isClosedConn(err) {
				s.stats.badFrames.Add(1)
				c.warn("bad frame from IPC caller; closing", "error", err)
			}
			return
		}
		env, err := DecodeEnvelope(frame)
		if err == nil {
			err = env.checkRequest()
		}
		if err != nil {
			s.stats.badFrames.Add(1)
			c.warn("bad envelope from IPC caller; closing", "error", err)
			return
		}
		route, ok := s.cfg.Routes[env.Type]
		if !ok {
			s.stats.unknownTypes.Add(1)
			c.warn("unknown message type from IPC caller; closing", "type", env.Type)
			c.reply(env, nil, Errorf(CodeUnsupported, "message type %d is not part of %s", env.Type, s.cfg.Protocol))
			return
		}
		if !route.allows(c.peer.Role) {
			s.stats.wrongRole.Add(1)
			c.warn("message type not allowed for caller's role; closing", "type", env.Type)
			c.reply(env, nil, Errorf(CodeDenied, "message type %d is not allowed for role %q", env.Type, c.peer.Role))
			return
		}
		select {
		case c.slots <- struct{}{}:
		case <-c.ctx.Done():
			return
		}
		s.stats.requests.Add(1)
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			defer func() { <-c.slots }()
			c.handle(env, route)
		}()
	}
}

// handle runs one handler and sends its reply. A panic is a bug in the
// handler: it is logged with its stack at ERROR and the connection is
// closed, so the caller sees a broken connection rather than a reply
// computed from corrupt state; other connections are unaffected.
func (c *serverConn) handle(env *Envelope, route Route) {
	s := c.s
	defer func() {
		if r := recover(); r != nil {
			s.stats.panics.Add(1)
			logError(s.log, "IPC handler panicked; closing the connection", "protocol", s.cfg.Protocol.Name,
				"type", env.Type, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c.cancel()
			c.conn.Close()
		}
	}()
	reply, err := route.Handle(c.ctx, c.peer, env.Body)
	if err != nil {
		s.stats.handlerErrors.Add(1)
		var ierr *Error
		switch {
		case errors.As(err, &ierr):
			if errors.Is(err, errBadBody) {
				s.stats.badMessages.Add(1)
				c.debug("undecodable request body", "type", env.Type, "error", err)
			}
		case c.ctx.Err() != nil:
			return // the connection is gone; nobody to answer
		default:
			s.log.Warning("IPC handler failed", "protocol", s.cfg.Protocol.Name, "type", env.Type, "error", err)
			ierr = Errorf(CodeInternal, "internal error handling message type %d", env.Type)
		}
		c.reply(env, nil, ierr)
		return
	}
	body, err := Marshal(reply)
	if err != nil {
		s.log.Warning("cannot encode IPC reply", "protocol", s.cfg.Protocol.Name, "type", env.Type, "error", err)
		c.reply(env, nil, Errorf(CodeInternal, "internal error encoding reply to message type %d", env.Type))
		return
	}
	c.reply(env, body, nil)
}

// reply sends a reply to env; a reply too large for a frame becomes
// CodeInternal. A failed write closes the connection.
func (c *serverConn) reply(env *Envelope, body []byte, rerr *Error) {
	s := c.s
	out := Envelope{Type: env.Type, ID: env.ID, Body: body}
	if rerr != nil {
		out.Body = nil
		out.Err = rerr.wire(maxErrorMsg)
	}
	frame, err := encodeFrame(&out, s.maxFrame)
	if errors.Is(err, ErrFrameTooLarge) {
		s.log.Warning("IPC reply exceeds the frame limit", "protocol", s.cfg.Protocol.Name, "type", env.Type, "bytes", len(body))
		out = Envelope{Type: env.Type, ID: env.ID, Err: Errorf(CodeInternal, "reply to message type %d exceeds the frame limit", env.Type)}
		frame, err = encodeFrame(&out, s.maxFrame)
	}
	if err != nil {
		s.log.Warning("cannot encode IPC reply envelope", "protocol", s.cfg.Protocol.Name, "type", env.Type, "error", err)
		c.conn.Close()
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	err = c.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if err == nil {
		_, err = c.conn.Write(frame)
	}
	if err != nil {
		c.debug("cannot write IPC reply; closing", "error", err)
		c.cancel()
		c.conn.Close()
	}
}

func (c *serverConn) warn(msg string, kv ...any) {
	c.s.log.Warning(msg, append([]any{"protocol", c.s.cfg.Protocol.Name, "role", c.peer.Role,
		"uid", c.peer.Cred.UID, "pid", c.peer.Cred.PID}, kv...)...)
}

func (c *serverConn) debug(msg string, kv ...any) {
	c.s.log.Debug(msg, append([]any{"protocol", c.s.cfg.Protocol.Name, "uid", c.peer.Cred.UID, "pid", c.peer.Cred.PID}, kv...)...)
}

// isClosedConn reports the ordinary ends of a connection: the peer went
// away between frames (ECONNRESET when it left replies unread), or we
// closed it ourselves.
func isClosedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
