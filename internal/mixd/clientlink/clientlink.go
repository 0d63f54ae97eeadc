// Package clientlink is the Provider side of a client's link session: the
// command loop of docs/spec/client.md §2.5 that mixd runs on a link
// incoming.Server admitted as a Client.
//
//	SendPacket      -> rate limit (Session.AllowSend), then the crypto
//	                   workers as a packet from a client (this Provider is
//	                   hop 0, so it must go on to Layers[0]; route.Decide)
//	RetrieveMessage -> Session.RetrieveMessage: Message, MessageACK or
//	                   MessageEmpty (§8, stop-and-wait)
//	GetConsensus    -> Consensus with the signed document mixd holds for the
//	                   epoch (Ok), NotFound for a current or future epoch it
//	                   does not hold yet, Gone for an older one (§3.2)
//	NoOp            -> nothing
//	Disconnect      -> the session ends
//
// Anything else ends the session. The client sends one request at a time
// and waits for the answer (§2.5), so the loop answers in line.
//
// SECURITY: nothing here logs a user name or a packet above DEBUG. A
// rate-limited packet is dropped silently (§5.2) and counted by the
// Provider; every packet is copied into a bounded pool buffer before it
// leaves the loop.
package clientlink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/packet"
)

// DefaultRetrieveTimeout bounds one RetrieveMessage (spoold calls).
const DefaultRetrieveTimeout = 10 * time.Second

// Session is the Provider's state for one client session:
// *provider.Session.
type Session interface {
	AllowSend(now time.Time) bool
	RetrieveMessage(ctx context.Context, req *link.RetrieveMessage) (link.Command, error)
	Close()
}

// Config configures Serve. Every field but RetrieveTimeout and Log is
// required.
type Config struct {
	// Open starts the Provider's state for a session of user (the link's
	// authentication blob): provider.Provider.NewSession.
	Open func(user []byte) (Session, error)
	// Submit takes a client's packet (a pool buffer) and when it arrived:
	// the crypto workers' Submit with route.FromClient. It must not block
	// and owns the buffer afterwards.
	Submit func(buf []byte, received time.Time)
	// Consensus answers GetConsensus for epoch (docs/spec/client.md §3.2).
	Consensus func(epoch uint64) (link.ConsensusCode, []byte)
	Pool      *packet.Pool
	Drops     *drops.Counters
	// RetrieveTimeout bounds one RetrieveMessage; 0 means
	// DefaultRetrieveTimeout.
	RetrieveTimeout time.Duration
	Log             *logging.Logger
}

// ErrProtocol: the client sent a command a client link does not carry.
var ErrProtocol = errors.New("clientlink: command not allowed on a client link")

// Serve runs the client session sess until it ends and returns why: nil
// after Disconnect, otherwise the error that ended it. It does not close
// sess.
func Serve(cfg *Config, sess *link.Session) error {
	if cfg.Open == nil || cfg.Submit == nil || cfg.Consensus == nil || cfg.Pool == nil || cfg.Drops == nil {
		return errors.New("clientlink: incomplete configuration")
	}
	log := cfg.Log
	if log == nil {
		log = logging.Discard()
	}
	timeout := cfg.RetrieveTimeout
	if timeout <= 0 {
		timeout = DefaultRetrieveTimeout
	}
	ps, err := cfg.Open(sess.PeerAuthBlob())
	if err != nil {
		return fmt.Errorf("clientlink: opening the session: %w", err)
	}
	defer ps.Close()
	for {
		cmd, err := sess.Recv()
		if err != nil {
			return err
		}
		var reply link.Command
		switch c := cmd.(type) {
		case *link.SendPacket:
			now := time.Now()
			cfg.Drops.Received()
			if !ps.AllowSend(now) {
				continue // counted by the Provider; silent (§5.2)
			}
			buf := cfg.Pool.Get()
			copy(buf, c.Packet) // Recv's buffer is reused by the next call
			cfg.Submit(buf, now)
			continue
		case *link.RetrieveMessage:
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			reply, err = ps.RetrieveMessage(ctx, c)
			cancel()
			if err != nil {
				log.Debug("retrieval failed; session ended", "error", err)
				return fmt.Errorf("clientlink: retrieval: %w", err)
			}
		case *link.GetConsensus:
			code, signed := cfg.Consensus(c.Epoch)
			if code != link.ConsensusOk {
				signed = nil
			}
			reply = &link.Consensus{ErrorCode: code, Payload: signed}
		case *link.NoOp:
			continue
		case *link.Disconnect:
			return nil
		default:
			return fmt.Errorf("%w: %v", ErrProtocol, cmd.ID())
		}
		if err := sess.Send(reply); err != nil {
			return err
		}
	}
}
