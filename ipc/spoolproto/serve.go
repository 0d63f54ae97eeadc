package spoolproto

import (
	"context"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/ipc"
)

// server answers spoold's messages from any Store.
type server struct {
	store Store
}

// Routes returns spoold's dispatch table over st: every message, from mixd
// only. See PROTOCOL.md §3.
func Routes(st Store) ipc.Routes {
	s := &server{store: st}
	mixd := []ipc.Role{RoleMixd}
	return ipc.Routes{
		TypeIsValid:         {From: mixd, Handle: ipc.Handle(s.answerIsValid)},
		TypeExists:          {From: mixd, Handle: ipc.Handle(s.answerExists)},
		TypeAddUser:         {From: mixd, Handle: ipc.Handle(s.answerAddUser)},
		TypeAddUserIfAbsent: {From: mixd, Handle: ipc.Handle(s.answerAddUserIfAbsent)},
		TypeUpdateUser:      {From: mixd, Handle: ipc.Handle(s.answerUpdateUser)},
		TypeRemoveUser:      {From: mixd, Handle: ipc.Handle(s.answerRemoveUser)},
		TypeGetLink:         {From: mixd, Handle: ipc.Handle(s.answerGetLink)},
		TypeSetIdentity:     {From: mixd, Handle: ipc.Handle(s.answerSetIdentity)},
		TypeRemoveIdentity:  {From: mixd, Handle: ipc.Handle(s.answerRemoveIdentity)},
		TypeGetIdentity:     {From: mixd, Handle: ipc.Handle(s.answerGetIdentity)},
		TypeStoreMessage:    {From: mixd, Handle: ipc.Handle(s.answerStoreMessage)},
		TypeGetHead:         {From: mixd, Handle: ipc.Handle(s.answerGetHead)},
		TypeRemoveMessage:   {From: mixd, Handle: ipc.Handle(s.answerRemoveMessage)},
		TypePurgeUser:       {From: mixd, Handle: ipc.Handle(s.answerPurgeUser)},

		TypeAddEphemeralIfAbsent: {From: mixd, Handle: ipc.Handle(s.answerAddEphemeralIfAbsent)},
		TypeListEphemeral:        {From: mixd, Handle: ipc.Handle(s.answerListEphemeral)},
	}
}

// NewServer returns an ipc server for spoold's protocol over st. authorize
// admits mixd's uid as RoleMixd (ipc.AllowUIDs(RoleMixd, uid)).
func NewServer(st Store, authorize ipc.Authorizer, log ipc.Logger) (*ipc.Server, error) {
	return ipc.NewServer(ipc.ServerConfig{
		Protocol:  Protocol,
		Routes:    Routes(st),
		Authorize: authorize,
		Log:       log,
	})
}

// parseLink checks a link key from the wire (1216 bytes).
func parseLink(b []byte) (*keys.LinkPublicKey, error) {
	link, err := keys.ParseLinkPublicKey(b)
	if err != nil {
		return nil, wireError(Errorf(ErrInvalidKey, "link key of %d bytes, want %d", len(b), keys.LinkPublicKeySize))
	}
	return link, nil
}

var empty = &EmptyReply{}

// done answers the messages whose reply is empty.
func done(err error) (*EmptyReply, error) {
	if err != nil {
		return nil, wireError(err)
	}
	return empty, nil
}

func (s *server) answerIsValid(ctx context.Context, _ ipc.Peer, req *UserKeyRequest) (*IsValidReply, error) {
	link, err := parseLink(req.Link)
	if err != nil {
		return nil, err
	}
	ok, err := s.store.IsValid(ctx, req.User, link)
	if err != nil {
		return nil, wireError(err)
	}
	return &IsValidReply{Valid: ok}, nil
}

func (s *server) answerExists(ctx context.Context, _ ipc.Peer, req *UserRequest) (*ExistsReply, error) {
	ok, err := s.store.Exists(ctx, req.User)
	if err != nil {
		return nil, wireError(err)
	}
	return &ExistsReply{Exists: ok}, nil
}

func (s *server) answerGetLink(ctx context.Context, _ ipc.Peer, req *UserRequest) (*GetLinkReply, error) {
	link, err := s.store.GetLink(ctx, req.User)
	if err != nil {
		return nil, wireError(err)
	}
	return &GetLinkReply{Link: link.Bytes()}, nil
}

func (s *server) answerAddUser(ctx context.Context, _ ipc.Peer, req *UserKeyRequest) (*EmptyReply, error) {
	link, err := parseLink(req.Link)
	if err != nil {
		return nil, err
	}
	return done(s.store.AddUser(ctx, req.User, link))
}

func (s *server) answerAddUserIfAbsent(ctx context.Context, _ ipc.Peer, req *UserKeyRequest) (*AddUserIfAbsentReply, error) {
	link, err := parseLink(req.Link)
	if err != nil {
		return nil, err
	}
	added, valid, err := s.store.AddUserIfAbsent(ctx, req.User, link)
	if err != nil {
		return nil, wireError(err)
	}
	return &AddUserIfAbsentReply{Added: added, Valid: valid}, nil
}

func (s *server) answerAddEphemeralIfAbsent(ctx context.Context, _ ipc.Peer, req *UserKeyRequest) (*AddUserIfAbsentReply, error) {
	link, err := parseLink(req.Link)
	if err != nil {
		return nil, err
	}
	added, valid, err := s.store.AddEphemeralIfAbsent(ctx, req.User, link)
	if err != nil {
		return nil, wireError(err)
	}
	return &AddUserIfAbsentReply{Added: added, Valid: valid}, nil
}

func (s *server) answerListEphemeral(ctx context.Context, _ ipc.Peer, req *ListEphemeralRequest) (*ListEphemeralReply, error) {
	// Checked here, before the conversion to int, and again by the store.
	limit := int(min(req.Limit, MaxListEphemeral+1))
	if err := CheckListEphemeral(req.After, limit); err != nil {
		return nil, wireError(err)
	}
	users, err := s.store.ListEphemeral(ctx, req.After, limit)
	if err != nil {
		return nil, wireError(err)
	}
	if len(users) > limit {
		// A store bug must not turn into a reply over MaxFrame.
		return nil, fmt.Errorf("store listed %d ephemeral users for a limit of %d", len(users), limit)
	}
	if users == nil {
		users = [][]byte{} // [] on the wire, as PROTOCOL.md §3.8 writes it
	}
	return &ListEphemeralReply{Users: users}, nil
}

func (s *server) answerUpdateUser(ctx context.Context, _ ipc.Peer, req *UserKeyRequest) (*EmptyReply, error) {
	link, err := parseLink(req.Link)
	if err != nil {
		return nil, err
	}
	return done(s.store.UpdateUser(ctx, req.User, link))
}

func (s *server) answerRemoveUser(ctx context.Context, _ ipc.Peer, req *UserRequest) (*EmptyReply, error) {
	return done(s.store.RemoveUser(ctx, req.User))
}

func (s *server) answerPurgeUser(ctx context.Context, _ ipc.Peer, req *UserRequest) (*EmptyReply, error) {
	return done(s.store.PurgeUser(ctx, req.User))
}

func (s *server) answerSetIdentity(ctx context.Context, _ ipc.Peer, req *SetIdentityRequest) (*EmptyReply, error) {
	return done(s.store.SetIdentity(ctx, req.User, req.Identity))
}

func (s *server) answerRemoveIdentity(ctx context.Context, _ ipc.Peer, req *UserRequest) (*EmptyReply, error) {
	return done(s.store.RemoveIdentity(ctx, req.User))
}

func (s *server) answerGetIdentity(ctx context.Context, _ ipc.Peer, req *UserRequest) (*GetIdentityReply, error) {
	id, err := s.store.GetIdentity(ctx, req.User)
	if err != nil {
		return nil, wireError(err)
	}
	return &GetIdentityReply{Identity: id}, nil
}

func (s *server) answerStoreMessage(ctx context.Context, _ ipc.Peer, req *StoreMessageRequest) (*EmptyReply, error) {
	m, err := req.Message.message()
	if err != nil {
		return nil, wireError(err)
	}
	return done(s.store.StoreMessage(ctx, req.User, m))
}

func (s *server) answerGetHead(ctx context.Context, _ ipc.Peer, req *UserRequest) (*GetHeadReply, error) {
	h, err := s.store.GetHead(ctx, req.User)
	if err != nil {
		return nil, wireError(err)
	}
	rep := &GetHeadReply{Count: uint64(h.Count)}
	if h.Message != nil {
		w := wireMessage(h.Message)
		rep.Message = &w
	}
	return rep, nil
}

func (s *server) answerRemoveMessage(ctx context.Context, _ ipc.Peer, req *RemoveMessageRequest) (*EmptyReply, error) {
	if len(req.ID) != MessageIDSize {
		return nil, wireError(Errorf(ErrInvalidMessage, "id of %d bytes, want %d", len(req.ID), MessageIDSize))
	}
	return done(s.store.RemoveMessage(ctx, req.User, MessageID(req.ID)))
}
