package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Retry back-off for idempotent calls and redials. See ipc/PROTOCOL.md §8.
const (
	retryBackoffMin = 5 * time.Millisecond
	retryBackoffMax = 500 * time.Millisecond
	// defaultDialTimeout bounds connect plus hello when the call's ctx has
	// no earlier deadline.
	defaultDialTimeout = 5 * time.Second
	// defaultWriteTimeout bounds a request write when ctx has no deadline.
	defaultWriteTimeout = 10 * time.Second
)

// Client errors. Use errors.Is.
var (
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("ipc: client closed")
	// ErrOutcomeUnknown: a non-idempotent request was sent, then the
	// connection broke before its reply; the server may or may not have
	// acted on it. See ipc/PROTOCOL.md §8.
	ErrOutcomeUnknown = errors.New("connection lost after the request was sent; outcome unknown")
	// ErrProtocol: the server broke the protocol (a malformed frame, a
	// reply to an id never sent); the connection was reset.
	ErrProtocol = errors.New("ipc: protocol error")
)

// ClientConfig configures a Client. Protocol and Path are required.
type ClientConfig struct {
	Protocol Protocol
	Path     string // the server's socket
	Log      Logger // nil: discard
	// Idempotent says which message types may be sent again after the
	// connection broke with the call in flight. nil: none.
	// See ipc/PROTOCOL.md §8.
	Idempotent func(MsgType) bool
}

// Client calls one server over one connection at a time, multiplexing
// concurrent calls by request id and redialing when the connection breaks.
// It is safe for concurrent use. See ipc/PROTOCOL.md §5.3 and §8.
type Client struct {
	cfg      ClientConfig
	log      Logger
	maxFrame int
	nextID   atomic.Uint64
	done     chan struct{} // closed by Close

	mu      sync.Mutex
	cur     *clientConn
	dialing chan struct{} // non-nil while one goroutine dials; closed when it finishes
	closed  bool
	readers sync.WaitGroup
}

// Dial checks cfg, connects to the server and exchanges hellos. It makes
// one attempt: a server that is not running, that refuses the caller
// (CodeDenied) or that speaks another protocol or version
// (CodeUnsupported) is an error now. Later calls redial by themselves.
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	if modeErr != nil {
		return nil, modeErr
	}
	if err := cfg.Protocol.validate(); err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, fmt.Errorf("ipc: %s: no socket path", cfg.Protocol.Name)
	}
	c := &Client{cfg: cfg, log: cfg.Log, maxFrame: cfg.Protocol.maxFrame(), done: make(chan struct{})}
	if c.log == nil {
		c.log = nopLogger{}
	}
	if _, err := c.conn(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the connection and makes every call, pending or future,
// fail with ErrClosed. It waits for the connection's reader to stop.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	cc := c.cur
	c.cur = nil
	c.mu.Unlock()
	if cc != nil {
		cc.fail(ErrClosed)
	}
	c.readers.Wait()
	return nil
}

// Call sends req as message type t and decodes the reply into reply (nil:
// discard it). ctx bounds the whole call, retries included. Errors:
//   - the server's *Error (errors.As; CodeOf);
//   - ctx's error when it ends first (errors.Is(err, context.DeadlineExceeded));
//   - ErrOutcomeUnknown when a non-idempotent call was cut off;
//   - ErrClosed after Close.
//
// See ipc/PROTOCOL.md §5 and §8.
func (c *Client) Call(ctx context.Context, t MsgType, req, reply any) error {
	body, err := Marshal(req)
	if err != nil {
		return fmt.Errorf("ipc: %s: encode request type %d: %w", c.cfg.Protocol.Name, t, err)
	}
	idempotent := c.cfg.Idempotent != nil && c.cfg.Idempotent(t)
	backoff := retryBackoffMin
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := c.wait(ctx, backoff); err != nil {
				return c.callErr(t, err, lastErr)
			}
			backoff = min(2*backoff, retryBackoffMax)
		}
		if err := ctx.Err(); err != nil {
			return c.callErr(t, err, lastErr)
		}
		cc, err := c.conn(ctx)
		if err != nil {
			if errors.Is(err, ErrClosed) || CodeOf(err) != 0 || ctx.Err() != nil {
				return c.callErr(t, err, lastErr)
			}
			lastErr = err // not running (yet): nothing was sent, so any call may retry
			continue
		}
		env, sent, err := cc.roundTrip(ctx, t, body)
		if err == nil {
			if env.Err != nil {
				return env.Err
			}
			if reply == nil {
				return nil
			}
			if err := Unmarshal(env.Body, reply); err != nil {
				return fmt.Errorf("ipc: %s: decode reply to type %d: %w", c.cfg.Protocol.Name, t, err)
			}
			return nil
		}
		switch {
		case errors.Is(err, ErrFrameTooLarge):
			return Errorf(CodeInvalid, "%s request type %d: %w", c.cfg.Protocol.Name, t, err)
		case errors.Is(err, ErrClosed), ctx.Err() != nil:
			return c.callErr(t, err, lastErr)
		case sent && !idempotent:
			return fmt.Errorf("ipc: %s call type %d: %w: %w", c.cfg.Protocol.Name, t, ErrOutcomeUnknown, err)
		}
		c.log.Debug("IPC call interrupted; retrying", "protocol", c.cfg.Protocol.Name, "type", t, "error", err)
		lastErr = err
	}
}

// callErr wraps the error that ended a call, adding the last transient
// failure when the call ended by its deadline while retrying.
func (c *Client) callErr(t MsgType, err, last error) error {
	if last != nil && !errors.Is(err, last) {
		return fmt.Errorf("ipc: %s call type %d: %w (last failure: %v)", c.cfg.Protocol.Name, t, err, last)
	}
	return fmt.Errorf("ipc: %s call type %d: %w", c.cfg.Protocol.Name, t, err)
}

// wait sleeps for d unless ctx ends or the client closes.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrClosed
	}
}

// conn returns the live connection, dialing one if there is none. Only
// one goroutine dials at a time; the others wait for it (or their ctx).
func (c *Client) conn(ctx context.Context) (*clientConn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if c.cur != nil && !c.cur.isDead() {
			cc := c.cur
			c.mu.Unlock()
			return cc, nil
		}
		if c.dialing != nil {
			ch := c.dialing
			c.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		c.dialing = ch
		c.mu.Unlock()

		cc, err := c.dial(ctx)

		c.mu.Lock()
		c.dialing = nil
		close(ch)
		if err == nil && c.closed {
			err = ErrClosed
			cc.conn.Close()
		}
		if err == nil {
			c.cur = cc
			c.readers.Add(1)
			go func() {
				defer c.readers.Done()
				cc.readLoop()
			}()
		}
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return cc, nil
	}
}

// dial connects and exchanges hellos. See ipc/PROTOCOL.md §4.
func (c *Client) dial(ctx context.Context) (*clientConn, error) {
	name, version := c.cfg.Protocol.Name, c.cfg.Protocol.Version
	deadline := time.Now().Add(defaultDialTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "unix", c.cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("ipc: %s: dial: %w", name, err)
	}
	// Closing the socket is what interrupts a blocked hello when ctx ends.
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	h, err := c.hello(conn, deadline)
	if !stop() || err != nil {
		conn.Close()
		if err == nil || dctx.Err() != nil {
			err = fmt.Errorf("ipc: %s: hello: %w", name, context.Cause(dctx))
		}
		return nil, err
	}
	if h.Err != nil {
		conn.Close()
		return nil, h.Err
	}
	if h.Proto != name || h.Version != version {
		conn.Close()
		return nil, Errorf(CodeUnsupported, "client speaks %s version %d, server speaks %s version %d", name, version, h.Proto, h.Version)
	}
	c.log.Debug("IPC connection established", "protocol", name, "path", c.cfg.Path)
	return &clientConn{
		c:         c,
		conn:      conn,
		pending:   make(map[uint64]*pendingCall),
		abandoned: make(map[uint64]MsgType),
		dead:      make(chan struct{}),
	}, nil
}

// hello sends the client's hello and reads the server's.
func (c *Client) hello(conn net.Conn, deadline time.Time) (*Hello, error) {
	name := c.cfg.Protocol.Name
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("ipc: %s: hello: %w", name, err)
	}
	frame, err := encodeFrame(&Hello{Proto: name, Version: c.cfg.Protocol.Version}, MaxHelloFrame)
	if err != nil {
		return nil, fmt.Errorf("ipc: %s: hello: %w", name, err)
	}
	if _, err := conn.Write(frame); err != nil {
		return nil, fmt.Errorf("ipc: %s: hello: %w", name, err)
	}
	payload, err := ReadFrame(conn, MaxHelloFrame)
	if err != nil {
		return nil, fmt.Errorf("ipc: %s: hello: %w", name, err)
	}
	h, err := DecodeHello(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrProtocol, name, err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("ipc: %s: hello: %w", name, err)
	}
	return h, nil
}
