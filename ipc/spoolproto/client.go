package spoolproto

import (
	"context"
	"errors"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/ipc"
)

// Client is mixd's handle on spoold: a Store whose every method is one
// call over spoold's socket, named after its message. It redials when
// spoold restarts and resends the idempotent calls (Idempotent). Safe for
// concurrent use.
type Client struct {
	c *ipc.Client
}

var _ Store = (*Client)(nil)

// Dial connects to spoold's socket at path. It fails at once if spoold is
// not running, refuses this process (ipc.CodeDenied) or speaks another
// version (ipc.CodeUnsupported).
func Dial(ctx context.Context, path string, log ipc.Logger) (*Client, error) {
	c, err := ipc.Dial(ctx, ipc.ClientConfig{Protocol: Protocol, Path: path, Log: log, Idempotent: Idempotent})
	if err != nil {
		return nil, fmt.Errorf("spoold: %w", err)
	}
	return &Client{c: c}, nil
}

// Close closes the connection; later calls fail with ipc.ErrClosed.
func (c *Client) Close() error { return c.c.Close() }

func (c *Client) call(ctx context.Context, op string, t ipc.MsgType, req, rep any) error {
	if err := c.c.Call(ctx, t, req, rep); err != nil {
		return fmt.Errorf("spoold %s: %w", op, localError(err))
	}
	return nil
}

// errReply marks a reply that breaks PROTOCOL.md: spoold is not behaving.
var errReply = errors.New("malformed reply from spoold")

func linkBytes(link *keys.LinkPublicKey) []byte {
	if link == nil {
		return nil // spoold answers ErrInvalidKey
	}
	return link.Bytes()
}

// IsValid calls IsValid (PROTOCOL.md §3.1).
func (c *Client) IsValid(ctx context.Context, user []byte, link *keys.LinkPublicKey) (bool, error) {
	var rep IsValidReply
	err := c.call(ctx, "IsValid", TypeIsValid, &UserKeyRequest{User: user, Link: linkBytes(link)}, &rep)
	return rep.Valid && err == nil, err
}

// Exists calls Exists (PROTOCOL.md §3.1).
func (c *Client) Exists(ctx context.Context, user []byte) (bool, error) {
	var rep ExistsReply
	err := c.call(ctx, "Exists", TypeExists, &UserRequest{User: user}, &rep)
	return rep.Exists && err == nil, err
}

// GetLink calls GetLink (PROTOCOL.md §3.1).
func (c *Client) GetLink(ctx context.Context, user []byte) (*keys.LinkPublicKey, error) {
	var rep GetLinkReply
	if err := c.call(ctx, "GetLink", TypeGetLink, &UserRequest{User: user}, &rep); err != nil {
		return nil, err
	}
	link, err := keys.ParseLinkPublicKey(rep.Link)
	if err != nil {
		return nil, fmt.Errorf("spoold GetLink: %w: %v", errReply, err)
	}
	return link, nil
}

// AddUser calls AddUser (PROTOCOL.md §3.2). It is not resent after a
// broken connection: the outcome is then ipc.ErrOutcomeUnknown.
func (c *Client) AddUser(ctx context.Context, user []byte, link *keys.LinkPublicKey) error {
	return c.call(ctx, "AddUser", TypeAddUser, &UserKeyRequest{User: user, Link: linkBytes(link)}, &EmptyReply{})
}

// AddUserIfAbsent calls AddUserIfAbsent (PROTOCOL.md §3.2).
func (c *Client) AddUserIfAbsent(ctx context.Context, user []byte, link *keys.LinkPublicKey) (added, valid bool, err error) {
	var rep AddUserIfAbsentReply
	if err := c.call(ctx, "AddUserIfAbsent", TypeAddUserIfAbsent, &UserKeyRequest{User: user, Link: linkBytes(link)}, &rep); err != nil {
		return false, false, err
	}
	if rep.Added && !rep.Valid {
		return false, false, fmt.Errorf("spoold AddUserIfAbsent: %w: added but not valid", errReply)
	}
	return rep.Added, rep.Valid, nil
}

// AddEphemeralIfAbsent calls AddEphemeralIfAbsent (PROTOCOL.md §3.8). Like
// AddUserIfAbsent it is resent after a broken connection: a repeat finds the
// user it added (added false, valid true).
func (c *Client) AddEphemeralIfAbsent(ctx context.Context, user []byte, link *keys.LinkPublicKey) (added, valid bool, err error) {
	var rep AddUserIfAbsentReply
	if err := c.call(ctx, "AddEphemeralIfAbsent", TypeAddEphemeralIfAbsent, &UserKeyRequest{User: user, Link: linkBytes(link)}, &rep); err != nil {
		return false, false, err
	}
	if rep.Added && !rep.Valid {
		return false, false, fmt.Errorf("spoold AddEphemeralIfAbsent: %w: added but not valid", errReply)
	}
	return rep.Added, rep.Valid, nil
}

// ListEphemeral calls ListEphemeral (PROTOCOL.md §3.8). spoold checks the
// arguments; the reply is checked against them (order, names, count), so
// the caller may page on from its last name.
func (c *Client) ListEphemeral(ctx context.Context, after []byte, limit int) ([][]byte, error) {
	// Out of range is refused by spoold with ErrInvalidLimit; clamping
	// here keeps a negative int from wrapping to a huge uint64 in the
	// error's detail.
	n := uint64(min(max(limit, 0), MaxListEphemeral+1))
	var rep ListEphemeralReply
	if err := c.call(ctx, "ListEphemeral", TypeListEphemeral, &ListEphemeralRequest{After: after, Limit: n}, &rep); err != nil {
		return nil, err
	}
	users, err := rep.users(after, int(n))
	if err != nil {
		return nil, fmt.Errorf("spoold ListEphemeral: %w", err)
	}
	return users, nil
}

// UpdateUser calls UpdateUser (PROTOCOL.md §3.2).
func (c *Client) UpdateUser(ctx context.Context, user []byte, link *keys.LinkPublicKey) error {
	return c.call(ctx, "UpdateUser", TypeUpdateUser, &UserKeyRequest{User: user, Link: linkBytes(link)}, &EmptyReply{})
}

// RemoveUser calls RemoveUser (PROTOCOL.md §3.3). It is not resent after a
// broken connection.
func (c *Client) RemoveUser(ctx context.Context, user []byte) error {
	return c.call(ctx, "RemoveUser", TypeRemoveUser, &UserRequest{User: user}, &EmptyReply{})
}

// PurgeUser calls PurgeUser (PROTOCOL.md §3.3).
func (c *Client) PurgeUser(ctx context.Context, user []byte) error {
	return c.call(ctx, "PurgeUser", TypePurgeUser, &UserRequest{User: user}, &EmptyReply{})
}

// SetIdentity calls SetIdentity (PROTOCOL.md §3.4).
func (c *Client) SetIdentity(ctx context.Context, user, identity []byte) error {
	return c.call(ctx, "SetIdentity", TypeSetIdentity, &SetIdentityRequest{User: user, Identity: identity}, &EmptyReply{})
}

// RemoveIdentity calls RemoveIdentity (PROTOCOL.md §3.4).
func (c *Client) RemoveIdentity(ctx context.Context, user []byte) error {
	return c.call(ctx, "RemoveIdentity", TypeRemoveIdentity, &UserRequest{User: user}, &EmptyReply{})
}

// GetIdentity calls GetIdentity (PROTOCOL.md §3.4).
func (c *Client) GetIdentity(ctx context.Context, user []byte) ([]byte, error) {
	var rep GetIdentityReply
	if err := c.call(ctx, "GetIdentity", TypeGetIdentity, &UserRequest{User: user}, &rep); err != nil {
		return nil, err
	}
	if len(rep.Identity) != IdentityKeySize {
		return nil, fmt.Errorf("spoold GetIdentity: %w: identity key of %d bytes", errReply, len(rep.Identity))
	}
	return rep.Identity, nil
}

// StoreMessage calls StoreMessage (PROTOCOL.md §3.5). It is resent after
// a broken connection; spoold stores a message id once.
func (c *Client) StoreMessage(ctx context.Context, user []byte, m *Message) error {
	return c.call(ctx, "StoreMessage", TypeStoreMessage, &StoreMessageRequest{User: user, Message: wireMessage(m)}, &EmptyReply{})
}

// GetHead calls GetHead (PROTOCOL.md §3.6).
func (c *Client) GetHead(ctx context.Context, user []byte) (*Head, error) {
	var rep GetHeadReply
	if err := c.call(ctx, "GetHead", TypeGetHead, &UserRequest{User: user}, &rep); err != nil {
		return nil, err
	}
	return rep.head()
}

func (rep *GetHeadReply) head() (*Head, error) {
	if (rep.Message == nil) != (rep.Count == 0) || rep.Count > MaxSpoolCount {
		return nil, fmt.Errorf("spoold GetHead: %w: count %d with message %t", errReply, rep.Count, rep.Message != nil)
	}
	h := &Head{Count: int(rep.Count)}
	if rep.Message != nil {
		m, err := rep.Message.message()
		if err != nil {
			return nil, fmt.Errorf("spoold GetHead: %w: %v", errReply, err)
		}
		h.Message = m
	}
	return h, nil
}

// RemoveMessage calls RemoveMessage (PROTOCOL.md §3.7).
func (c *Client) RemoveMessage(ctx context.Context, user []byte, id MessageID) error {
	return c.call(ctx, "RemoveMessage", TypeRemoveMessage, &RemoveMessageRequest{User: user, ID: id[:]}, &EmptyReply{})
}
