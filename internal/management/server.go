package management

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for ServerConfig's zero values.
const (
	DefaultMaxConns       = 8
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultCommandTimeout = 30 * time.Second
)

// writeTimeout bounds each reply write, so that a caller that stops
// reading cannot hold a connection slot forever.
const writeTimeout = 10 * time.Second

// Logger is what the server logs to; *logging.Logger satisfies it.
type Logger interface {
	Warning(msg string, kv ...any)
	Info(msg string, kv ...any)
	Debug(msg string, kv ...any)
}

type nopLogger struct{}

func (nopLogger) Warning(string, ...any) {}
func (nopLogger) Info(string, ...any)    {}
func (nopLogger) Debug(string, ...any)   {}

// ServerConfig configures a management Server.
type ServerConfig struct {
	// Identifier is the node's name (Server.Identifier), shown in the
	// banner.
	Identifier string
	// Backend carries out the commands. Required.
	Backend Backend
	// Log receives the server's messages; nil discards them.
	Log Logger
	// OwnerUID is the uid admitted besides the admin group: the daemon's
	// own effective uid, which owns the socket file.
	OwnerUID uint32
	// AdminGID is the gid whose members (by effective or supplementary
	// group) are also admitted; -1 for none. 0 is the root group, not
	// "unset": use LookupAdminGID to turn Privsep.AdminGroup into it.
	AdminGID int
	// MaxConns bounds concurrent sessions; more are answered 421 and
	// closed. Default DefaultMaxConns.
	MaxConns int
	// IdleTimeout closes a session that sends no complete line for this
	// long. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// CommandTimeout bounds each Backend call. Default
	// DefaultCommandTimeout.
	CommandTimeout time.Duration
}

// Server serves the management protocol of docs/management.md on UNIX
// stream sockets. It is safe for concurrent use; several listeners may be
// served at once.
type Server struct {
	identifier     string
	backend        Backend
	log            Logger
	policy         policy
	idleTimeout    time.Duration
	commandTimeout time.Duration

	table    []*command
	commands map[string]*command

	// slots holds one token per running session (MaxConns).
	slots    chan struct{}
	counters counters
	// shutdownRequested makes SHUTDOWN reach the Backend only once.
	shutdownRequested atomic.Bool

	// ctx is cancelled by Close; every Serve and session derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and wg.Add against Close's Wait
	closed bool
	wg     sync.WaitGroup
}

// NewServer checks cfg and returns a Server ready to Serve.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("management: ServerConfig.Backend is nil")
	}
	if cfg.AdminGID < -1 {
		return nil, fmt.Errorf("management: AdminGID %d: want a gid or -1", cfg.AdminGID)
	}
	if cfg.MaxConns < 0 || cfg.IdleTimeout < 0 || cfg.CommandTimeout < 0 {
		return nil, errors.New("management: MaxConns, IdleTimeout and CommandTimeout must not be negative")
	}
	s := &Server{
		identifier:     cfg.Identifier,
		backend:        cfg.Backend,
		log:            cfg.Log,
		policy:         policy{ownerUID: cfg.OwnerUID, adminGID: cfg.AdminGID},
		idleTimeout:    cfg.IdleTimeout,
		commandTimeout: cfg.CommandTimeout,
		table:          commandTable(),
		commands:       make(map[string]*command),
	}
	if s.log == nil {
		s.log = nopLogger{}
	}
	if s.idleTimeout == 0 {
		s.idleTimeout = DefaultIdleTimeout
	}
	if s.commandTimeout == 0 {
		s.commandTimeout = DefaultCommandTimeout
	}
	maxConns := cfg.MaxConns
	if maxConns == 0 {
		maxConns = DefaultMaxConns
	}
	s.slots = make(chan struct{}, maxConns)
	for _, c := range s.table {
		s.commands[c.name] = c
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Counters returns the server's counts so far.
func (s *Server) Counters() Counters { return s.counters.snapshot() }

// Serve accepts sessions on ln until ctx is done, Close is called or ln
// fails, then closes ln, ends the sessions it started and waits for them.
// It returns nil when stopped by ctx or Close.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopOnClose := context.AfterFunc(s.ctx, cancel)
	defer stopOnClose()
	stopListener := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopListener()

	var sessions sync.WaitGroup
	defer sessions.Wait()
	defer cancel() // runs first: ends the sessions before waiting for them
	s.log.Info("management: serving", "socket", ln.Addr().String())
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || isTransientAcceptError(err) {
				// Out of file descriptors and the like: wait a
				// little rather than spin, then go on serving.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warning("management: accept failed; retrying", "error", err, "backoff", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("management: accept: %w", err)
		}
		backoff = 0
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			s.serveConn(ctx, conn)
		}()
	}
}

// Close stops every Serve, ends every session and waits for them. It is
// idempotent. It does not call Backend.Shutdown.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// serveConn runs one session: credential check, slot, banner, then one
// reply per line until QUIT, SHUTDOWN, an over-long line, the idle timeout,
// the caller leaving or the server stopping.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	w := bufio.NewWriter(conn)

	p, err := peerOf(conn)
	if err == nil {
		err = s.policy.admit(p)
	}
	if err != nil {
		s.counters.refused.Add(1)
		s.log.Warning("management: refused caller", "pid", p.pid, "uid", p.uid, "gid", p.gid, "reason", err)
		s.send(conn, w, newReply(CodeDenied, "access denied: "+err.Error()))
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		s.counters.busy.Add(1)
		s.log.Warning("management: too many sessions; turning a caller away", "pid", p.pid, "uid", p.uid, "max", cap(s.slots))
		s.send(conn, w, newReply(CodeUnavailable, fmt.Sprintf("too many management sessions (%d); try again later", cap(s.slots))))
		return
	}
	s.counters.accepted.Add(1)
	s.log.Info("management: session opened", "pid", p.pid, "uid", p.uid)
	defer s.log.Info("management: session closed", "pid", p.pid, "uid", p.uid)

	if !s.send(conn, w, newReply(CodeReady, s.identifier+" splitmix management ready")) {
		return
	}
	r := bufio.NewReaderSize(conn, MaxLineSize+2)
	for {
		conn.SetReadDeadline(time.Now().Add(s.idleTimeout))
		line, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			s.counters.count(CodeUnknown)
			s.log.Warning("management: over-long line; closing session", "pid", p.pid, "uid", p.uid)
			s.send(conn, w, newReply(CodeUnknown, ErrLineTooLong.Error()+"; closing"))
			return
		case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil:
			s.counters.timedOut.Add(1)
			s.log.Info("management: idle session timed out", "pid", p.pid, "uid", p.uid)
			s.send(conn, w, newReply(CodeUnavailable, "idle timeout; closing"))
			return
		case err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)):
			// The caller left, or the server is stopping.
			return
		}
		// err is nil, or io.EOF after a last line without its newline.
		rep := s.answer(ctx, p, line)
		ok := s.send(conn, w, rep)
		if rep.after != nil {
			rep.after()
		}
		if !ok || rep.close || err != nil {
			return
		}
	}
}

// answer parses and runs one line.
func (s *Server) answer(ctx context.Context, p peer, line []byte) reply {
	rep, name := s.dispatch(ctx, line)
	s.counters.count(rep.code)
	if rep.code >= 400 {
		s.log.Info("management: command refused or failed", "command", name, "code", rep.code, "uid", p.uid)
	} else {
		s.log.Info("management: command", "command", name, "code", rep.code, "uid", p.uid)
	}
	return rep
}

// dispatch returns the reply to one line and the command's name for the
// log ("-" when the line names no known command: it might be anything the
// operator typed, a user name included).
func (s *Server) dispatch(ctx context.Context, line []byte) (reply, string) {
	cmd, err := ParseCommandLine(line)
	switch {
	case errors.Is(err, ErrLineTooLong):
		r := newReply(CodeUnknown, err.Error()+"; closing")
		r.close = true
		return r, "-"
	case err != nil:
		return newReply(CodeUnknown, err.Error()), "-"
	}
	c, ok := s.commands[cmd.Name]
	if !ok {
		return newReply(CodeUnknown, "unknown command; HELP lists the commands"), "-"
	}
	if lo, hi := c.arity(); len(cmd.Args) < lo || len(cmd.Args) > hi {
		return newReply(CodeBadArguments, fmt.Sprintf("%s takes %s; usage: %s", c.name, argCount(lo, hi), c.usage())), c.name
	}
	ctx, cancel := context.WithTimeout(ctx, s.commandTimeout)
	defer cancel()
	return c.run(s, ctx, cmd.Args), c.name
}

func argCount(lo, hi int) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case hi == 0:
		return "no arguments"
	case lo == hi:
		return plural(lo)
	default:
		return fmt.Sprintf("%d to %s", lo, plural(hi))
	}
}

// send writes and flushes a reply within writeTimeout. It reports whether
// the caller got it.
func (s *Server) send(conn net.Conn, w *bufio.Writer, r reply) bool {
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := r.write(w); err != nil {
		return false
	}
	if err := w.Flush(); err != nil {
		s.log.Debug("management: reply not delivered", "error", strings.TrimSpace(err.Error()))
		return false
	}
	return true
}
