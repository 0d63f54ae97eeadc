package dirauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/pki"
)

// DefaultDialTimeout bounds Dial when ctx has no deadline.
const DefaultDialTimeout = 30 * time.Second

// Limits are the link limits of every session with the authority
// (docs/spec/dirauth.md §3): no packets or messages, documents and
// descriptors up to their maximum sizes.
func Limits() link.Limits {
	return link.Limits{MaxConsensus: pki.MaxSignedDocumentSize, MaxDescriptor: pki.MaxSignedDescriptorSize}
}

// Errors of the client functions.
var (
	// ErrNotYet: the authority has no document for the epoch yet (NotFound);
	// ask again later.
	ErrNotYet = errors.New("dirauth: document not published yet")
	// ErrGone: the authority will never serve that epoch's document.
	ErrGone = errors.New("dirauth: document gone")
	// ErrUnexpected: the authority answered with the wrong command.
	ErrUnexpected = errors.New("dirauth: unexpected answer")
)

// Dial connects to the authority at address ("host:port"), checks its link
// certificate against the identity key authority (docs/spec/dirauth.md
// §2.3) and runs the link handshake expecting the certified link key. Nodes
// pass their NodeID as authBlob, clients an empty one (§3). The whole
// exchange is bounded by ctx's deadline, or DefaultDialTimeout.
func Dial(ctx context.Context, address string, authority keys.IdentityPublicKey, static keys.LinkPrivateKey, authBlob []byte) (*link.Session, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDialTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("dirauth: dial %s: %w", address, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, err
	}
	cert := make([]byte, LinkCertificateSize)
	if _, err := io.ReadFull(conn, cert); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dirauth: %s: reading the link certificate: %w", address, err)
	}
	peer, _, err := VerifyLinkCertificate(cert, authority, time.Now())
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", address, err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, err
	}
	left := time.Until(deadline)
	if left <= 0 {
		conn.Close()
		return nil, fmt.Errorf("dirauth: %s: %w", address, context.DeadlineExceeded)
	}
	s, err := link.Initiate(ctx, conn, &link.Config{
		Static:           static,
		AuthBlob:         authBlob,
		PeerStatic:       peer,
		Limits:           Limits(),
		HandshakeTimeout: left,
	})
	if err != nil {
		return nil, fmt.Errorf("dirauth: %s: %w", address, err)
	}
	return s, nil
}

// roundTrip sends cmd and returns the next command, bounded by ctx.
func roundTrip(ctx context.Context, s *link.Session, cmd link.Command) (link.Command, error) {
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetWriteDeadline(d)
		_ = s.SetReadDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() {
		_ = s.SetWriteDeadline(time.Now())
		_ = s.SetReadDeadline(time.Now())
	})
	defer stop()
	if err := s.Send(cmd); err != nil {
		return nil, fmt.Errorf("dirauth: sending %v: %w", cmd.ID(), err)
	}
	reply, err := s.Recv()
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return nil, fmt.Errorf("dirauth: awaiting the answer to %v: %w", cmd.ID(), err)
	}
	return reply, nil
}

// PostDescriptor posts an encoded pki.SignedDescriptor for epoch on an
// established session and returns the authority's status.
func PostDescriptor(ctx context.Context, s *link.Session, epoch uint64, signed []byte) (link.DescriptorCode, error) {
	reply, err := roundTrip(ctx, s, &link.PostDescriptor{Epoch: epoch, Payload: signed})
	if err != nil {
		return 0, err
	}
	st, ok := reply.(*link.PostDescriptorStatus)
	if !ok {
		return 0, fmt.Errorf("%w: %v to PostDescriptor", ErrUnexpected, reply.ID())
	}
	return st.ErrorCode, nil
}

// GetConsensus asks for the document of epoch on an established session.
// On ConsensusOk it returns a copy of the encoded pki.SignedDocument; the
// caller verifies it (pki.VerifyDocument).
func GetConsensus(ctx context.Context, s *link.Session, epoch uint64) (link.ConsensusCode, []byte, error) {
	reply, err := roundTrip(ctx, s, &link.GetConsensus{Epoch: epoch})
	if err != nil {
		return 0, nil, err
	}
	c, ok := reply.(*link.Consensus)
	if !ok {
		return 0, nil, fmt.Errorf("%w: %v to GetConsensus", ErrUnexpected, reply.ID())
	}
	return c.ErrorCode, append([]byte(nil), c.Payload...), nil
}

// Client makes one-shot requests to the authority: each call dials, asks,
// says Disconnect and closes. mixd and clients use it.
type Client struct {
	// Address is the authority's "host:port" (PKI.Nonvoting.Address).
	Address string
	// Authority is its identity key (PKI.Nonvoting.PublicKey).
	Authority keys.IdentityPublicKey
	// Static is our link key; AuthBlob our NodeID, or empty for a client.
	Static   keys.LinkPrivateKey
	AuthBlob []byte
}

func (c *Client) session(ctx context.Context, fn func(s *link.Session) error) error {
	s, err := Dial(ctx, c.Address, c.Authority, c.Static, c.AuthBlob)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := fn(s); err != nil {
		return err
	}
	_ = s.SetWriteDeadline(time.Now().Add(time.Second))
	_ = s.Send(&link.Disconnect{})
	return nil
}

// Post uploads an encoded pki.SignedDescriptor for epoch.
func (c *Client) Post(ctx context.Context, epoch uint64, signed []byte) (code link.DescriptorCode, err error) {
	err = c.session(ctx, func(s *link.Session) error {
		code, err = PostDescriptor(ctx, s, epoch, signed)
		return err
	})
	return code, err
}

// Document fetches and verifies the document for epoch. It returns the
// decoded document and the signed bytes; ErrNotYet (retry later) and
// ErrGone for the Consensus codes that carry no document.
func (c *Client) Document(ctx context.Context, epoch uint64) (*pki.Document, []byte, error) {
	var code link.ConsensusCode
	var signed []byte
	err := c.session(ctx, func(s *link.Session) (err error) {
		code, signed, err = GetConsensus(ctx, s, epoch)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	switch code {
	case link.ConsensusOk:
	case link.ConsensusNotFound:
		return nil, nil, fmt.Errorf("%w: epoch %d", ErrNotYet, epoch)
	case link.ConsensusGone:
		return nil, nil, fmt.Errorf("%w: epoch %d", ErrGone, epoch)
	default:
		return nil, nil, fmt.Errorf("%w: Consensus code %d", ErrUnexpected, code)
	}
	d, err := pki.VerifyDocument(signed, c.Authority)
	if err != nil {
		return nil, nil, err
	}
	if d.Epoch != epoch {
		return nil, nil, fmt.Errorf("dirauth: asked for epoch %d, got the document for %d", epoch, d.Epoch)
	}
	return d, signed, nil
}
