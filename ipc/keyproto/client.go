package keyproto

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/ipc"
)

// Client is mixd's handle on keyd: a keys.Oracle whose every method is one
// call over keyd's socket. It redials and resends (all keyd calls are
// idempotent) when keyd restarts. Safe for concurrent use.
type Client struct {
	c *ipc.Client
}

var _ keys.Oracle = (*Client)(nil)

// Dial connects to keyd's socket at path. It fails at once if keyd is not
// running, refuses this process (ipc.CodeDenied) or speaks another version
// (ipc.CodeUnsupported).
func Dial(ctx context.Context, path string, log ipc.Logger) (*Client, error) {
	c, err := ipc.Dial(ctx, ipc.ClientConfig{Protocol: Protocol, Path: path, Log: log, Idempotent: Idempotent})
	if err != nil {
		return nil, fmt.Errorf("keyd: %w", localError(err))
	}
	return &Client{c: c}, nil
}

// Close closes the connection; later calls fail with ipc.ErrClosed.
func (c *Client) Close() error { return c.c.Close() }

// localError wraps the typed wire errors of PROTOCOL.md §5 so that callers
// can use the same errors.Is checks as on the in-process key store, while
// errors.As still finds the *ipc.Error.
func localError(err error) error {
	switch ipc.CodeOf(err) {
	case ipc.CodeInvalid:
		return fmt.Errorf("%w: %w", keys.ErrMalformed, err)
	case ipc.CodeDenied:
		return fmt.Errorf("%w: %w", keys.ErrRefused, err)
	}
	return err
}

func (c *Client) call(ctx context.Context, op string, t ipc.MsgType, req, rep any) error {
	if err := c.c.Call(ctx, t, req, rep); err != nil {
		return fmt.Errorf("keyd %s: %w", op, localError(err))
	}
	return nil
}

// errReply marks a reply that breaks PROTOCOL.md: keyd is not behaving.
var errReply = errors.New("malformed reply from keyd")

// PublicKeys calls GetPublicKeys (PROTOCOL.md §3.1).
func (c *Client) PublicKeys(ctx context.Context) (*keys.PublicKeys, error) {
	var rep GetPublicKeysReply
	if err := c.call(ctx, "GetPublicKeys", TypeGetPublicKeys, &GetPublicKeysRequest{}, &rep); err != nil {
		return nil, err
	}
	return rep.publicKeys()
}

func (rep *GetPublicKeysReply) publicKeys() (*keys.PublicKeys, error) {
	if len(rep.Identity) != keys.IdentityPublicKeySize {
		return nil, fmt.Errorf("keyd GetPublicKeys: %w: identity key of %d bytes", errReply, len(rep.Identity))
	}
	link, err := keys.ParseLinkPublicKey(rep.Link)
	if err != nil {
		return nil, fmt.Errorf("keyd GetPublicKeys: %w: %v", errReply, err)
	}
	pk := &keys.PublicKeys{Identifier: rep.Identifier, Link: *link}
	copy(pk.Identity[:], rep.Identity)
	return pk, nil
}

// SignDescriptor calls SignDescriptor (PROTOCOL.md §3.2). pki.Sign wraps
// it for a *pki.Descriptor and checks the signature.
func (c *Client) SignDescriptor(ctx context.Context, encoded []byte) ([]byte, error) {
	var rep SignDescriptorReply
	if err := c.call(ctx, "SignDescriptor", TypeSignDescriptor, &SignDescriptorRequest{Descriptor: encoded}, &rep); err != nil {
		return nil, err
	}
	if len(rep.Signature) != keys.IdentitySignatureSize {
		return nil, fmt.Errorf("keyd SignDescriptor: %w: signature of %d bytes", errReply, len(rep.Signature))
	}
	return rep.Signature, nil
}

// LinkECDH calls LinkECDH (PROTOCOL.md §3.3).
func (c *Client) LinkECDH(ctx context.Context, peer []byte) ([]byte, error) {
	var rep LinkECDHReply
	if err := c.call(ctx, "LinkECDH", TypeLinkECDH, &LinkECDHRequest{Peer: peer}, &rep); err != nil {
		return nil, err
	}
	if len(rep.Shared) != 32 {
		return nil, fmt.Errorf("keyd LinkECDH: %w: shared secret of %d bytes", errReply, len(rep.Shared))
	}
	return rep.Shared, nil
}

// LinkDecapsulate calls LinkDecapsulate (PROTOCOL.md §3.4).
func (c *Client) LinkDecapsulate(ctx context.Context, ciphertext []byte) ([]byte, error) {
	var rep LinkDecapsulateReply
	if err := c.call(ctx, "LinkDecapsulate", TypeLinkDecapsulate, &LinkDecapsulateRequest{Ciphertext: ciphertext}, &rep); err != nil {
		return nil, err
	}
	if len(rep.SharedKey) != 32 {
		return nil, fmt.Errorf("keyd LinkDecapsulate: %w: shared key of %d bytes", errReply, len(rep.SharedKey))
	}
	return rep.SharedKey, nil
}

// SphinxKeys calls SphinxKeys (PROTOCOL.md §3.5). The private halves are
// in the returned values; the caller moves them to locked memory and wipes
// them (keys.SphinxKey.Wipe).
func (c *Client) SphinxKeys(ctx context.Context, epochs []uint64) ([]keys.SphinxKey, error) {
	var rep SphinxKeysReply
	if err := c.call(ctx, "SphinxKeys", TypeSphinxKeys, &SphinxKeysRequest{Epochs: epochs}, &rep); err != nil {
		return nil, err
	}
	defer func() {
		for i := range rep.Keys {
			clear(rep.Keys[i].Private)
		}
	}()
	return rep.sphinxKeys(epochs)
}

func (rep *SphinxKeysReply) sphinxKeys(epochs []uint64) ([]keys.SphinxKey, error) {
	if len(rep.Keys) != len(epochs) {
		return nil, fmt.Errorf("keyd SphinxKeys: %w: %d keys for %d epochs", errReply, len(rep.Keys), len(epochs))
	}
	out := make([]keys.SphinxKey, len(rep.Keys))
	for i, k := range rep.Keys {
		if k.Epoch != epochs[i] || len(k.Private) != keys.SphinxKeySize || len(k.Public) != keys.SphinxKeySize {
			for j := range out {
				out[j].Wipe()
			}
			return nil, fmt.Errorf("keyd SphinxKeys: %w: key %d is not a %d-byte pair for epoch %d", errReply, i, keys.SphinxKeySize, epochs[i])
		}
		out[i] = keys.SphinxKey{Epoch: k.Epoch}
		copy(out[i].Private[:], k.Private)
		copy(out[i].Public[:], k.Public)
	}
	return out, nil
}

// LinkKey returns the link key as a keys.LinkPrivateKey whose private
// operations are calls to keyd, each bounded by timeout
// (keys.DefaultOracleTimeout if zero). The link layer uses it unchanged.
func (c *Client) LinkKey(ctx context.Context, timeout time.Duration) (*keys.OracleLinkKey, error) {
	return keys.NewOracleLinkKey(ctx, c, timeout)
}
