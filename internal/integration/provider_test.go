package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/mixd/mixtest"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// arrival is a packet a test Provider received and unwrapped.
type arrival struct {
	msg string
	at  time.Time
}

// provider is an in-test Provider: in-memory keys (mixtest.Node), its
// descriptor posted to the authority like a node's, a listener that accepts
// the last layer's links, and a sender that injects packets at layer 0.
type provider struct {
	n     *network
	node  *mixtest.Node
	ln    net.Listener
	table *route.Table
	got   chan arrival
	clock epochtime.Clock

	mu   sync.Mutex
	sess map[keys.NodeID]*link.Session // outgoing links to layer 0, by mix
}

func newProvider(n *network, name string) (*provider, error) {
	node, err := mixtest.NewNode(name, true)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n.t.Cleanup(func() { ln.Close() })
	p := &provider{n: n, node: node, ln: ln, table: route.NewTable(), got: make(chan arrival, 256),
		clock: n.clock, sess: map[keys.NodeID]*link.Session{}}
	n.t.Cleanup(p.closeSessions)
	return p, nil
}

func (p *provider) addr() map[string][]string {
	return map[string][]string{pki.TransportTCP: {p.ln.Addr().String()}}
}

// postLoop posts the Provider's descriptor for the current epoch and the
// next two, every epoch, until ctx ends. Posting two epochs ahead (which the
// authority allows) keeps the test Providers in every document however the
// test's start falls in an epoch.
func (p *provider) postLoop(ctx context.Context) {
	posted := map[uint64]bool{}
	for ctx.Err() == nil {
		p.postAhead(ctx, posted)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// postAhead posts what is not yet posted; it reports whether everything is.
func (p *provider) postAhead(ctx context.Context, posted map[uint64]bool) bool {
	c := &dirauth.Client{Address: p.n.authAddr, Authority: p.n.authPub, Static: p.node.Link, AuthBlob: p.node.ID[:]}
	all := true
	{
		e, _, _ := p.clock.Current()
		for _, target := range []uint64{e, e + 1, e + 2} {
			if posted[target] {
				continue
			}
			signed, err := p.node.Descriptor(target, p.addr())
			if err != nil {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			code, err := c.Post(rctx, target, signed)
			cancel()
			if err == nil && code == link.DescriptorOk {
				posted[target] = true
			} else {
				all = false
			}
		}
	}
	return all
}

// addDocument lets the Provider accept the last layer of doc.
func (p *provider) addDocument(doc *pki.Document) {
	v, err := route.NewView(doc, p.node.ID)
	if err != nil {
		return
	}
	e, _, _ := p.clock.Current()
	p.table.Set(v, e-1)
}

// serve accepts the last layer's links and unwraps what arrives.
func (p *provider) serve(ctx context.Context) {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			s, err := link.Accept(ctx, conn, &link.Config{
				Static:           p.node.Link,
				Authorize:        func(_ context.Context, k *keys.LinkPublicKey, blob []byte) error { return p.table.Authorize(k, blob) },
				Limits:           route.PeerLimits(p.n.geometry),
				HandshakeTimeout: 5 * time.Second,
			})
			if err != nil {
				return
			}
			defer s.Close()
			stop := context.AfterFunc(ctx, func() { s.Close() })
			defer stop()
			for {
				cmd, err := s.Recv()
				if err != nil {
					return
				}
				if sp, ok := cmd.(*link.SendPacket); ok {
					p.receive(bytes.Clone(sp.Packet))
				}
			}
		}()
	}
}

// receive unwraps the final hop under the epoch's key or its neighbours'.
func (p *provider) receive(pkt []byte) {
	at := time.Now()
	e, _, _ := p.clock.Current()
	var res sphinx.UnwrapResult
	for _, epoch := range []uint64{e, e - 1, e + 1} {
		k, err := p.node.SphinxKey(epoch)
		if err != nil {
			return
		}
		work := bytes.Clone(pkt)
		if err := p.n.sphinx.Unwrap(&k.Private, work, &res); err != nil {
			continue
		}
		if !res.Commands.IsTerminal() {
			return
		}
		_, msg, err := p.n.sphinx.DecodeForwardPayload(res.Payload)
		if err != nil {
			return
		}
		p.got <- arrival{msg: string(bytes.TrimRight(msg, "\x00")), at: at}
		return
	}
}

// session returns a link to the layer-0 mix m, dialling it if needed.
func (p *provider) session(m *mixNode) (*link.Session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sess[m.id]; ok {
		return s, nil
	}
	s, err := dialAs(p.n, m, p.node.Link, p.node.ID[:])
	if err != nil {
		return nil, err
	}
	p.sess[m.id] = s
	return s, nil
}

// send injects pkt at layer-0 mix m, redialling once if the link broke.
func (p *provider) send(m *mixNode, pkt []byte) error {
	for attempt := 0; attempt < 2; attempt++ {
		s, err := p.session(m)
		if err != nil {
			return err
		}
		if err = s.Send(&link.SendPacket{Packet: pkt}); err == nil {
			return nil
		}
		p.mu.Lock()
		delete(p.sess, m.id)
		p.mu.Unlock()
		s.Close()
	}
	return errors.New("sending failed twice")
}

func (p *provider) closeSessions() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, s := range p.sess {
		s.Close()
		delete(p.sess, id)
	}
}

// dialAs opens a link to mix m with the given static key and auth blob,
// expecting m's link key from the current document.
func dialAs(n *network, m *mixNode, static keys.LinkPrivateKey, blob []byte) (*link.Session, error) {
	e, _, _ := n.clock.Current()
	doc, ok := n.document(e)
	if !ok {
		return nil, fmt.Errorf("no document for epoch %d", e)
	}
	entry, _, ok := doc.Node(m.id)
	if !ok {
		return nil, fmt.Errorf("%s not in the document", m.name)
	}
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.port), 5*time.Second)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return link.Initiate(ctx, conn, &link.Config{
		Static:           static,
		AuthBlob:         blob,
		PeerStatic:       entry.Descriptor.LinkKey,
		Limits:           route.PeerLimits(n.geometry),
		HandshakeTimeout: 5 * time.Second,
	})
}

// expect waits for the messages want (in any order) and returns their
// arrivals by message.
func (p *provider) expect(want []string, d time.Duration) (map[string]arrival, error) {
	got := map[string]arrival{}
	need := map[string]bool{}
	for _, w := range want {
		need[w] = true
	}
	deadline := time.After(d)
	for len(need) > 0 {
		select {
		case a := <-p.got:
			if need[a.msg] {
				delete(need, a.msg)
				got[a.msg] = a
			}
		case <-deadline:
			return got, fmt.Errorf("%d of %d packets never arrived: %v", len(need), len(want), keysOf(need))
		}
	}
	return got, nil
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
