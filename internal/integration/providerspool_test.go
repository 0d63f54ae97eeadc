package integration

// A raw client link to a Provider, speaking docs/spec/client.md §2 and §8
// directly over internal/link: it sees every spool entry the Provider hands
// out, duplicates included, which the Go client library hides (§8.4).

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/pki"
)

// maxRawEntries bounds one raw drain.
const maxRawEntries = 512

func dialUnix(path string) (net.Conn, error) {
	return net.DialTimeout("unix", path, time.Second)
}

// rawSession opens a client link to Provider nd as user with key,
// per docs/spec/client.md §2 (blob = user name, limits of §2.4).
func (pn *pnet) rawSession(ctx context.Context, nd *pnNode, user string, key keys.LinkPrivateKey) (*link.Session, *pki.Document, error) {
	e, _, _ := pn.clock.Current()
	doc, err := pn.document(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	var entry *pki.NodeEntry
	for i := range doc.Providers {
		if doc.Providers[i].Descriptor.Name == nd.name {
			entry = &doc.Providers[i]
		}
	}
	if entry == nil {
		return nil, nil, fmt.Errorf("%s is not in the document for epoch %d", nd.name, e)
	}
	addrs := entry.Descriptor.Addresses[pki.TransportTCP]
	if len(addrs) == 0 {
		return nil, nil, fmt.Errorf("%s's descriptor has no tcp address", nd.name)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addrs[0])
	if err != nil {
		return nil, nil, err
	}
	g := doc.Geometry
	s, err := link.Initiate(ctx, conn, &link.Config{
		Static:     key,
		AuthBlob:   []byte(user),
		PeerStatic: entry.Descriptor.LinkKey,
		Limits: link.Limits{
			PacketLength:         g.PacketLength,
			MessagePayloadLength: g.UserForwardPayloadLength,
			AckPayloadLength:     g.PayloadLength,
			MaxConsensus:         pki.MaxSignedDocumentSize,
		},
		HandshakeTimeout: 5 * time.Second,
	})
	if err != nil {
		return nil, nil, err
	}
	return s, doc, nil
}

// rawSpool is what one raw drain saw.
type rawSpool struct {
	messages []client.MessageID // in order, duplicates kept
	bodies   map[client.MessageID]string
	acks     int // SURB replies
}

// rawDrain retrieves and acknowledges every entry of user's spool at nd
// with the stop-and-wait protocol of docs/spec/client.md §8.2, starting a
// fresh session at sequence 0.
func (pn *pnet) rawDrain(ctx context.Context, nd *pnNode, user string, key keys.LinkPrivateKey) (*rawSpool, error) {
	s, doc, err := pn.rawSession(ctx, nd, user, key)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetReadDeadline(d)
		_ = s.SetWriteDeadline(d)
	}
	out := &rawSpool{bodies: map[client.MessageID]string{}}
	var seq uint32
	for range maxRawEntries {
		if err := s.Send(&link.RetrieveMessage{Sequence: seq}); err != nil {
			return out, err
		}
		reply, err := recvSkippingNoOp(s)
		if err != nil {
			return out, err
		}
		switch r := reply.(type) {
		case *link.MessageEmpty:
			if r.Sequence != seq {
				return out, fmt.Errorf("MessageEmpty for sequence %d, asked %d", r.Sequence, seq)
			}
			_ = s.Send(&link.Disconnect{})
			return out, nil
		case *link.Message:
			if r.Sequence != seq {
				return out, fmt.Errorf("Message for sequence %d, asked %d", r.Sequence, seq)
			}
			id, body, err := client.DecodeMessage(doc.Geometry.UserForwardPayloadLength, r.Payload)
			if err != nil {
				return out, fmt.Errorf("spool entry %d: %w", len(out.messages), err)
			}
			out.messages = append(out.messages, id)
			out.bodies[id] = string(body)
		case *link.MessageACK:
			if r.Sequence != seq {
				return out, fmt.Errorf("MessageACK for sequence %d, asked %d", r.Sequence, seq)
			}
			out.acks++
		default:
			return out, fmt.Errorf("unexpected %v in answer to RetrieveMessage", reply.ID())
		}
		seq++
	}
	return out, fmt.Errorf("more than %d spool entries", maxRawEntries)
}

func recvSkippingNoOp(s *link.Session) (link.Command, error) {
	for {
		c, err := s.Recv()
		if err != nil {
			return nil, err
		}
		if _, ok := c.(*link.NoOp); !ok {
			return c, nil
		}
	}
}
