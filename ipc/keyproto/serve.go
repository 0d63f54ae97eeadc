package keyproto

import (
	"context"
	"errors"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/ipc"
)

// server answers keyd's messages from any keys.Oracle.
type server struct {
	oracle keys.Oracle
}

// Routes returns keyd's dispatch table over o: every message, from mixd
// only. See PROTOCOL.md §3.
func Routes(o keys.Oracle) ipc.Routes {
	s := &server{oracle: o}
	mixd := []ipc.Role{RoleMixd}
	return ipc.Routes{
		TypeGetPublicKeys:   {From: mixd, Handle: ipc.Handle(s.answerGetPublicKeys)},
		TypeSignDescriptor:  {From: mixd, Handle: ipc.Handle(s.answerSignDescriptor)},
		TypeLinkECDH:        {From: mixd, Handle: ipc.Handle(s.answerLinkECDH)},
		TypeLinkDecapsulate: {From: mixd, Handle: ipc.Handle(s.answerLinkDecapsulate)},
		TypeSphinxKeys:      {From: mixd, Handle: ipc.Handle(s.answerSphinxKeys)},
	}
}

// NewServer returns an ipc server for keyd's protocol over o. authorize
// admits mixd's uid as RoleMixd (ipc.AllowUIDs(RoleMixd, uid)).
func NewServer(o keys.Oracle, authorize ipc.Authorizer, log ipc.Logger) (*ipc.Server, error) {
	return ipc.NewServer(ipc.ServerConfig{
		Protocol:  Protocol,
		Routes:    Routes(o),
		Authorize: authorize,
		Log:       log,
	})
}

// wireError turns an Oracle error into what the caller sees
// (PROTOCOL.md §5). Other errors stay local: ipc answers CodeInternal and
// logs them.
func wireError(err error) error {
	switch {
	case errors.Is(err, keys.ErrMalformed):
		return ipc.Errorf(ipc.CodeInvalid, "%v", err)
	case errors.Is(err, keys.ErrRefused):
		return ipc.Errorf(ipc.CodeDenied, "%v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ipc.Errorf(ipc.CodeUnavailable, "keyd is shutting down")
	}
	return err
}

func (s *server) answerGetPublicKeys(ctx context.Context, _ ipc.Peer, _ *GetPublicKeysRequest) (*GetPublicKeysReply, error) {
	pk, err := s.oracle.PublicKeys(ctx)
	if err != nil {
		return nil, wireError(err)
	}
	return &GetPublicKeysReply{Identifier: pk.Identifier, Identity: pk.Identity[:], Link: pk.Link.Bytes()}, nil
}

func (s *server) answerSignDescriptor(ctx context.Context, _ ipc.Peer, req *SignDescriptorRequest) (*SignDescriptorReply, error) {
	sig, err := s.oracle.SignDescriptor(ctx, req.Descriptor)
	if err != nil {
		return nil, wireError(err)
	}
	return &SignDescriptorReply{Signature: sig}, nil
}

func (s *server) answerLinkECDH(ctx context.Context, _ ipc.Peer, req *LinkECDHRequest) (*LinkECDHReply, error) {
	shared, err := s.oracle.LinkECDH(ctx, req.Peer)
	if err != nil {
		return nil, wireError(err)
	}
	return &LinkECDHReply{Shared: shared}, nil
}

func (s *server) answerLinkDecapsulate(ctx context.Context, _ ipc.Peer, req *LinkDecapsulateRequest) (*LinkDecapsulateReply, error) {
	k, err := s.oracle.LinkDecapsulate(ctx, req.Ciphertext)
	if err != nil {
		return nil, wireError(err)
	}
	return &LinkDecapsulateReply{SharedKey: k}, nil
}

func (s *server) answerSphinxKeys(ctx context.Context, _ ipc.Peer, req *SphinxKeysRequest) (*SphinxKeysReply, error) {
	if len(req.Epochs) == 0 || len(req.Epochs) > MaxSphinxEpochs {
		return nil, ipc.Errorf(ipc.CodeInvalid, "%d epochs requested, want 1 to %d", len(req.Epochs), MaxSphinxEpochs)
	}
	ks, err := s.oracle.SphinxKeys(ctx, req.Epochs)
	if err != nil {
		return nil, wireError(err)
	}
	rep := &SphinxKeysReply{Keys: make([]SphinxKeyPair, len(ks))}
	for i := range ks {
		// The private halves travel to mixd, which keeps them in locked
		// memory; the copies here live until ipc has encoded the reply.
		rep.Keys[i] = SphinxKeyPair{Epoch: ks[i].Epoch, Private: ks[i].Private[:], Public: ks[i].Public[:]}
	}
	return rep, nil
}
