package link

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// A responder that closes its end as soon as its handshake completes must
// not make the initiator's completed handshake fail: the initiator gets
// its session, and the hang-up shows on the first Recv.
func TestPeerHangsUpRightAfterHandshake(t *testing.T) {
	ik, _ := memkey.GenerateLinkKey()
	rk, _ := memkey.GenerateLinkKey()
	limits := Limits{PacketLength: 512, MessagePayloadLength: 256, AckPayloadLength: 300, MaxConsensus: 1024, MaxDescriptor: 1024}
	rc := &Config{Static: rk, Limits: limits, Authorize: func(context.Context, *keys.LinkPublicKey, []byte) error { return nil }}
	ic := &Config{Static: ik, AuthBlob: []byte("u"), PeerStatic: rk.Public(), Limits: limits}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 20; i++ { // the interleaving varies; try it several times
		a, b := net.Pipe()
		go func() {
			if s, err := Accept(ctx, b, rc); err == nil {
				s.Close()
			}
		}()
		s, err := Initiate(ctx, a, ic)
		if err != nil {
			t.Fatalf("round %d: initiator's completed handshake failed: %v", i, err)
		}
		if _, err := s.Recv(); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: Recv after the peer hung up: %v", i, err)
		}
		s.Close()
	}
}
