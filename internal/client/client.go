package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// Defaults of Config.
const (
	DefaultPollInterval = time.Second
	DefaultMaxSURBs     = 1024
	DefaultSURBMargin   = 10 * time.Minute
	DefaultInboxSize    = 64
	DefaultDialTimeout  = 30 * time.Second
)

// Config describes a client.
type Config struct {
	// User is our account name at our Provider (docs/spec/client.md §1.1).
	User string
	// LinkKey is our link key; its public half is registered with ADD_USER.
	LinkKey keys.LinkPrivateKey
	// Provider is our Provider's name in the PKI document.
	Provider string

	// AuthorityAddress ("host:port") and AuthorityKey (its identity key)
	// locate and authenticate the directory authority. AuthorityKey is
	// required: every document is verified with it (§3.3).
	AuthorityAddress string
	AuthorityKey     keys.IdentityPublicKey
	// Document optionally is a signed document to start from instead of
	// asking the authority (§3.1); it is verified like any other.
	Document []byte
	// EpochPeriod is the network's epoch length, used only to tell the
	// current epoch before the first document is held (every document
	// carries its own period after that). Zero means
	// epochtime.DefaultPeriod, the production length.
	EpochPeriod time.Duration

	// PollInterval is how long to wait between polls of an empty spool
	// while waiting for a reply (§8.5).
	PollInterval time.Duration
	// HandshakeTimeout bounds a link handshake (0: the link default).
	HandshakeTimeout time.Duration
	// MaxSURBs bounds the outstanding SURBs (§5.4).
	MaxSURBs int
	// SURBMargin is added to the path delays to make a SURB's deadline.
	SURBMargin time.Duration
	// InboxSize bounds the messages retrieved while waiting for replies
	// and not yet returned by Retrieve (§8.5).
	InboxSize int

	// Rand is the random source of paths, delays, SURBs and message ids;
	// nil means crypto/rand.
	Rand io.Reader
	// Log receives the client's log; nil discards it.
	Log *logging.Logger
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Message is a user message retrieved from the spool (§6).
type Message struct {
	ID   MessageID
	Body []byte
}

// Client is a mix network client: it holds a session with its Provider,
// sends messages and Kaetzchen requests through the network and retrieves
// what arrives for it. Its methods are safe for concurrent use.
type Client struct {
	cfg   Config
	log   *logging.Logger
	rng   io.Reader
	self  sphinx.RecipientID
	conn  *providerConn
	demux *demux

	fetchMu sync.Mutex // serialises document fetches
	cur     atomic.Pointer[network]

	inboxMu sync.Mutex
	inbox   []*Message
	seen    *idSet[MessageID] // message ids already returned (§8.4)

	rngMu sync.Mutex // the random source need not be concurrency-safe
}

// New checks cfg and returns a client; it does not connect (see Connect).
func New(cfg Config) (*Client, error) {
	if err := ValidateUserName(cfg.User); err != nil {
		return nil, err
	}
	if cfg.LinkKey == nil {
		return nil, errors.New("client: Config.LinkKey is required")
	}
	if cfg.Provider == "" {
		return nil, errors.New("client: Config.Provider is required")
	}
	if cfg.AuthorityKey == (keys.IdentityPublicKey{}) {
		return nil, errors.New("client: Config.AuthorityKey is required")
	}
	if cfg.AuthorityAddress == "" && cfg.Document == nil {
		return nil, errors.New("client: Config.AuthorityAddress or Config.Document is required")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxSURBs <= 0 {
		cfg.MaxSURBs = DefaultMaxSURBs
	}
	if cfg.SURBMargin <= 0 {
		cfg.SURBMargin = DefaultSURBMargin
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = DefaultInboxSize
	}
	self, err := sphinx.NewRecipientID(cfg.User)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:   cfg,
		log:   cfg.Log,
		rng:   cfg.Rand,
		self:  self,
		demux: newDemux(cfg.MaxSURBs),
		seen:  newIDSet[MessageID](4 * cfg.MaxSURBs),
	}
	if c.log == nil {
		c.log = logging.Discard()
	}
	if c.rng == nil {
		c.rng = rand.Reader
	}
	c.conn = &providerConn{dial: c.dialProvider}
	if cfg.Document != nil {
		n, err := c.newNetwork(cfg.Document, 0, true)
		if err != nil {
			return nil, fmt.Errorf("client: Config.Document: %w", err)
		}
		c.cur.Store(n)
	}
	return c, nil
}

// Read is the client's locked random source, for the sphinx package.
func (c *Client) Read(p []byte) (int, error) {
	c.rngMu.Lock()
	defer c.rngMu.Unlock()
	return io.ReadFull(c.rng, p)
}

// dialProvider connects to our Provider and runs the link handshake with
// the key and addresses of the current document (§2).
func (c *Client) dialProvider(ctx context.Context) (*link.Session, error) {
	n := c.cur.Load()
	if n == nil {
		return nil, ErrNoDocument
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDialTimeout)
		defer cancel()
	}
	d := n.src.Descriptor
	var errs []error
	for _, transport := range []string{pki.TransportTCP, pki.TransportTCP4, pki.TransportTCP6} {
		for _, addr := range d.Addresses[transport] {
			var dialer net.Dialer
			conn, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s, err := link.Initiate(ctx, conn, &link.Config{
				Static:           c.cfg.LinkKey,
				AuthBlob:         []byte(c.cfg.User),
				PeerStatic:       d.LinkKey,
				Limits:           n.limits,
				HandshakeTimeout: c.cfg.HandshakeTimeout,
			})
			if err != nil {
				errs = append(errs, err)
				if errors.Is(err, link.ErrPeerRejected) || ctx.Err() != nil {
					break
				}
				continue
			}
			c.log.Debug("connected to the Provider", "address", addr)
			return s, nil
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("client: Provider %q advertises no TCP address", d.Name)
	}
	return nil, fmt.Errorf("client: connecting to Provider %q: %w", d.Name, errors.Join(errs...))
}

// Connect obtains the current document and connects to the Provider.
func (c *Client) Connect(ctx context.Context) error {
	if _, err := c.network(ctx); err != nil {
		return err
	}
	return c.conn.connect(ctx)
}

// Close says Disconnect to the Provider and closes the session.
func (c *Client) Close() error {
	c.conn.reset(true)
	return nil
}

// SendOption modifies Send.
type SendOption func(*sendOptions)

type sendOptions struct{ ack bool }

// WithACK attaches a SURB for a SURB-ACK (docs/spec/client.md §7); follow
// it with AckState or WaitDelivered.
func WithACK() SendOption { return func(o *sendOptions) { o.ack = true } }

// Send sends body to "user@provider" (§4 to §6) and returns its message id.
func (c *Client) Send(ctx context.Context, to string, body []byte, opts ...SendOption) (MessageID, error) {
	var o sendOptions
	for _, f := range opts {
		f(&o)
	}
	var id MessageID
	addr, err := ParseAddress(to)
	if err != nil {
		return id, err
	}
	n, err := c.network(ctx)
	if err != nil {
		return id, err
	}
	dst, err := findProvider(n.doc, addr.Provider)
	if err != nil {
		return id, err
	}
	if _, err := c.Read(id[:]); err != nil {
		return id, fmt.Errorf("client: random source: %w", err)
	}
	payload, err := EncodeMessage(n.doc.Geometry.UserForwardPayloadLength, id, body)
	if err != nil {
		return id, err
	}
	rcpt, err := sphinx.NewRecipientID(addr.User)
	if err != nil {
		return id, err
	}
	out, err := c.builder(n).build(dst, rcpt, payload, o.ack)
	if err != nil {
		return id, err
	}
	if o.ack {
		now := c.now()
		e := &surbEntry{kind: surbACK, keys: out.surbKeys, msgID: id, sentAt: now, deadline: now.Add(out.roundTrip + c.cfg.SURBMargin)}
		if err := c.demux.add(out.surbID, e, now); err != nil {
			return id, err
		}
	}
	if err := c.conn.sendPacket(ctx, out.packet); err != nil {
		if o.ack {
			c.demux.cancel(out.surbID)
		}
		return id, err
	}
	c.log.Debug("message sent", "id", id, "ack", o.ack)
	return id, nil
}

func (c *Client) builder(n *network) *builder {
	return &builder{sph: n.sph, doc: n.doc, rng: c, self: c.self, src: n.src}
}

// AckState reports what is known about the SURB-ACK of a message sent
// WithACK.
func (c *Client) AckState(id MessageID) AckState { return c.demux.ackState(id, c.now()) }

// ErrNotAcknowledged: the SURB of a message expired without an ACK (§7.3).
var ErrNotAcknowledged = errors.New("client: message not acknowledged")

// WaitDelivered polls the Provider until the ACK of message id arrives
// (nil), its SURB expires (ErrNotAcknowledged) or ctx ends.
func (c *Client) WaitDelivered(ctx context.Context, id MessageID) error {
	return c.poll(ctx, func() (bool, error) {
		switch c.AckState(id) {
		case AckDelivered:
			return true, nil
		case AckPending:
			return false, nil
		case AckExpired:
			return true, ErrNotAcknowledged
		}
		return true, fmt.Errorf("client: message %v was not sent with an ACK", id)
	})
}

// Retrieve returns the next user message for us, or nil if the spool is
// empty (§8). SURB replies found on the way are matched to their SURBs.
// An entry that is not a valid message is acknowledged and reported as an
// error wrapping ErrMalformedMessage; the caller may go on calling Retrieve.
func (c *Client) Retrieve(ctx context.Context) (*Message, error) {
	if m := c.popInbox(); m != nil {
		return m, nil
	}
	for {
		m, empty, err := c.fetchOne(ctx)
		if err != nil || m != nil || empty {
			return m, err
		}
	}
}

func (c *Client) popInbox() *Message {
	c.inboxMu.Lock()
	defer c.inboxMu.Unlock()
	if len(c.inbox) == 0 {
		return nil
	}
	m := c.inbox[0]
	c.inbox[0] = nil
	c.inbox = c.inbox[1:]
	return m
}

// fetchOne retrieves one spool entry (§8.3): a new user message, or nothing
// (a SURB reply, handled, or a duplicate), or empty.
func (c *Client) fetchOne(ctx context.Context) (msg *Message, empty bool, err error) {
	n, err := c.network(ctx)
	if err != nil {
		return nil, false, err
	}
	e, err := c.conn.retrieve(ctx)
	if err != nil {
		return nil, false, err
	}
	switch e.kind {
	case link.IDMessageEmpty:
		return nil, true, nil
	case link.IDMessageACK:
		if err := c.demux.deliver(n.sph, e.surbID, e.payload, c.now()); err != nil {
			c.log.Debug("SURB reply discarded", "error", err)
		}
		return nil, false, nil
	}
	id, body, err := DecodeMessage(n.doc.Geometry.UserForwardPayloadLength, e.payload)
	if err != nil {
		return nil, false, err
	}
	c.inboxMu.Lock()
	dup := c.seen.has(id)
	c.seen.add(id)
	c.inboxMu.Unlock()
	if dup {
		c.log.Debug("duplicate message discarded", "id", id)
		return nil, false, nil
	}
	return &Message{ID: id, Body: body}, false, nil
}

// poll drains the spool, keeping user messages in the inbox, until done
// reports true, and waits PollInterval between rounds (§8.5). done is called
// repeatedly and must keep answering true once it has.
func (c *Client) poll(ctx context.Context, done func() (bool, error)) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		if ok, err := done(); ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := c.drain(ctx, done); err != nil && ctx.Err() == nil {
			c.log.Info("polling the Provider failed", "error", err)
		}
		t.Reset(c.cfg.PollInterval)
	}
}

// drain retrieves entries until the spool is empty, done reports true or
// the inbox is full.
func (c *Client) drain(ctx context.Context, done func() (bool, error)) error {
	for {
		if ok, _ := done(); ok {
			return nil
		}
		c.inboxMu.Lock()
		full := len(c.inbox) >= c.cfg.InboxSize
		c.inboxMu.Unlock()
		if full {
			return nil
		}
		m, empty, err := c.fetchOne(ctx)
		if errors.Is(err, ErrMalformedMessage) {
			c.log.Info("malformed message discarded", "error", err)
			continue
		}
		if err != nil || empty {
			return err
		}
		if m != nil {
			c.inboxMu.Lock()
			c.inbox = append(c.inbox, m)
			c.inboxMu.Unlock()
		}
	}
}

// Query sends a Kaetzchen request to the service at endpoint of provider
// and waits for its reply through a SURB (§9.1). request is the request's
// user payload (at most UserForwardPayloadLength bytes); check, if not nil,
// validates the reply. The wait ends with ctx or the SURB's deadline.
func (c *Client) Query(ctx context.Context, provider, endpoint string, request []byte, check func(reply []byte) error) (*Reply, error) {
	n, err := c.network(ctx)
	if err != nil {
		return nil, err
	}
	dst, err := findProvider(n.doc, provider)
	if err != nil {
		return nil, err
	}
	if err := checkEndpoint(dst, endpoint); err != nil {
		return nil, err
	}
	rcpt, err := sphinx.NewRecipientID(endpoint)
	if err != nil {
		return nil, err
	}
	out, err := c.builder(n).build(dst, rcpt, request, true)
	if err != nil {
		return nil, err
	}
	now := c.now()
	deadline := now.Add(out.roundTrip + c.cfg.SURBMargin)
	e := &surbEntry{kind: surbRequest, keys: out.surbKeys, sentAt: now, deadline: deadline, check: check, done: make(chan Reply, 1)}
	if err := c.demux.add(out.surbID, e, now); err != nil {
		return nil, err
	}
	defer c.demux.cancel(out.surbID)
	if err := c.conn.sendPacket(ctx, out.packet); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var reply Reply
	got := false
	err = c.poll(ctx, func() (bool, error) {
		if !got {
			select {
			case reply = <-e.done:
				got = true
			default:
			}
		}
		return got, nil
	})
	if err != nil {
		return nil, fmt.Errorf("client: no reply from %s at %s: %w", endpoint, provider, err)
	}
	return &reply, nil
}

// Ping sends an echo request (§9.3) to the service at endpoint of provider
// and returns the round-trip time.
func (c *Client) Ping(ctx context.Context, provider, endpoint string) (time.Duration, error) {
	n, err := c.network(ctx)
	if err != nil {
		return 0, err
	}
	req := make([]byte, n.doc.Geometry.UserForwardPayloadLength)
	if _, err := c.Read(req[:min(echoNonceSize, len(req))]); err != nil {
		return 0, err
	}
	r, err := c.Query(ctx, provider, endpoint, req, func(reply []byte) error { return checkEchoReply(req, reply) })
	if err != nil {
		return 0, err
	}
	return r.RTT, nil
}

// LookupIdentity asks the keyserver at endpoint of provider for user's
// identity key (§9.4).
func (c *Client) LookupIdentity(ctx context.Context, provider, endpoint, user string) (*KeyserverResponse, error) {
	n, err := c.network(ctx)
	if err != nil {
		return nil, err
	}
	req, err := EncodeKeyserverRequest(n.doc.Geometry.UserForwardPayloadLength, user)
	if err != nil {
		return nil, err
	}
	check := func(reply []byte) error {
		r, err := DecodeKeyserverResponse(reply)
		if err != nil {
			return err
		}
		if r.Status != KeyserverInvalid && r.User != user {
			return fmt.Errorf("%w: keyserver answered for another user", ErrMalformedReply)
		}
		return nil
	}
	r, err := c.Query(ctx, provider, endpoint, req, check)
	if err != nil {
		return nil, err
	}
	return DecodeKeyserverResponse(r.Payload)
}
