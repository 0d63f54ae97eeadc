package decoy

import (
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/mixd/mixtest"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// testEpoch is the epoch of the test documents.
const testEpoch = 7

// The integration network's delay parameters (internal/integration).
var testParams = pki.Parameters{Mu: 0.01, MuMaxDelay: 300}

// testNet is a network of in-memory nodes: three layers of two mixes, and
// Providers p0 (the sender, no echo) and p1 (echo at "+echo").
type testNet struct {
	sph   *sphinx.Sphinx
	doc   *pki.Document
	nodes map[keys.NodeID]*mixtest.Node
	p0    *mixtest.Node
	p1    *mixtest.Node
}

func newTestNet(t testing.TB, params pki.Parameters) *testNet {
	t.Helper()
	mk := func(name string, prov bool) *mixtest.Node {
		n, err := mixtest.NewNode(name, prov)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	layers := [][]*mixtest.Node{
		{mk("l0a", false), mk("l0b", false)},
		{mk("l1a", false), mk("l1b", false)},
		{mk("l2a", false), mk("l2b", false)},
	}
	n := &testNet{p0: mk("p0", true), p1: mk("p1", true), nodes: map[keys.NodeID]*mixtest.Node{}}
	doc, err := mixtest.Document(testEpoch, time.Minute, sphinx.DefaultGeometry(), params, layers, []*mixtest.Node{n.p0, n.p1})
	if err != nil {
		t.Fatal(err)
	}
	// mixtest's descriptors advertise no service: p1 runs echo.
	doc.Providers[1].Descriptor.Kaetzchen = map[string]map[string]string{"echo": {pki.KaetzchenEndpoint: "+echo"}}
	n.doc = doc
	for _, l := range layers {
		for _, m := range l {
			n.nodes[m.ID] = m
		}
	}
	n.nodes[n.p0.ID], n.nodes[n.p1.ID] = n.p0, n.p1
	if n.sph, err = sphinx.New(doc.Geometry); err != nil {
		t.Fatal(err)
	}
	return n
}

// layerOf is the layer of a mix, or -1.
func (n *testNet) layerOf(id keys.NodeID) int {
	for l, layer := range n.doc.Layers {
		for i := range layer {
			if layer[i].NodeID() == id {
				return l
			}
		}
	}
	return -1
}

// walk unwraps pkt hop by hop from first with the nodes' Sphinx keys and
// returns the terminal node and result, checking that it crosses every
// layer in order (docs/spec/client.md §4).
func (n *testNet) walk(t *testing.T, pkt []byte, first keys.NodeID) (*mixtest.Node, *sphinx.UnwrapResult) {
	t.Helper()
	pkt = append([]byte(nil), pkt...)
	id := first
	for hop := 0; ; hop++ {
		node := n.nodes[id]
		if node == nil {
			t.Fatalf("hop %d: unknown node", hop)
		}
		if hop < len(n.doc.Layers) && n.layerOf(id) != hop {
			t.Fatalf("hop %d is %s, in layer %d", hop, node.Name, n.layerOf(id))
		}
		k, err := node.SphinxKey(testEpoch)
		if err != nil {
			t.Fatal(err)
		}
		res := new(sphinx.UnwrapResult)
		if err := n.sph.Unwrap(&k.Private, pkt, res); err != nil {
			t.Fatalf("hop %d (%s): %v", hop, node.Name, err)
		}
		if res.Commands.Delay > uint32(testParams.MuMaxDelay) {
			t.Fatalf("hop %d: delay %d ms beyond MuMaxDelay", hop, res.Commands.Delay)
		}
		if res.Commands.IsTerminal() {
			if hop != len(n.doc.Layers) {
				t.Fatalf("terminal at hop %d, want %d", hop, len(n.doc.Layers))
			}
			return node, res
		}
		id = res.Commands.NextHop
	}
}

// echo answers a terminal echo request as a Provider's echo does
// (client.md §9.3), with change applied to the response, and returns the
// reply packet and its first hop.
func (n *testNet) echo(t *testing.T, res *sphinx.UnwrapResult, change func([]byte)) ([]byte, keys.NodeID) {
	t.Helper()
	surb, msg, err := n.sph.DecodeForwardPayload(res.Payload)
	if err != nil || surb == nil {
		t.Fatalf("echo request: surb %v, err %v", surb != nil, err)
	}
	resp := append([]byte(nil), msg...)
	if change != nil {
		change(resp)
	}
	pkt, next, err := n.sph.NewPacketFromSURB(surb, resp)
	if err != nil {
		t.Fatal(err)
	}
	return pkt, next
}

// sent is one packet Loops handed to Send.
type sent struct {
	packet     []byte
	firstHop   keys.NodeID
	dispatchAt time.Time
}

// harness is a Loops on p0 of a testNet, with a settable clock and a
// record of what it sent.
type harness struct {
	*testNet
	loops *Loops
	mu    sync.Mutex
	now   time.Time
	out   []sent
	// refuse makes Send refuse.
	refuse bool
	// noDoc hides the document.
	noDoc bool
}

func newHarness(t testing.TB, params pki.Parameters, max int) *harness {
	t.Helper()
	h := &harness{testNet: newTestNet(t, params), now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	l, err := New(Config{
		Sphinx: h.sph,
		Self:   h.p0.ID,
		Document: func() (*pki.Document, bool) {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.doc, !h.noDoc
		},
		Send: func(pkt []byte, first keys.NodeID, at time.Time) bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.refuse {
				return false
			}
			h.out = append(h.out, sent{append([]byte(nil), pkt...), first, at})
			return true
		},
		Slack:          15 * time.Second,
		MaxOutstanding: max,
		Now:            h.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	h.loops = l
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
	return h.now
}

func (h *harness) sent() []sent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sent(nil), h.out...)
}

// sendOne sends a loop and returns its packet.
func (h *harness) sendOne(t *testing.T) sent {
	t.Helper()
	if err := h.loops.SendOne(); err != nil {
		t.Fatal(err)
	}
	s := h.sent()
	return s[len(s)-1]
}

// roundTrip takes a sent loop through the layers to p1's echo (answered
// with change applied) and back, and returns the result at p0.
func (h *harness) roundTrip(t *testing.T, s sent, change func([]byte)) *sphinx.UnwrapResult {
	t.Helper()
	dst, req := h.walk(t, s.packet, s.firstHop)
	if dst != h.p1 {
		t.Fatalf("loop ended at %s, want p1", dst.Name)
	}
	reply, next := h.echo(t, req, change)
	back, res := h.walk(t, reply, next)
	if back != h.p0 {
		t.Fatalf("reply ended at %s, want p0", back.Name)
	}
	return res
}

// maxRoundTrip bounds a loop's deadline with testParams: 2L+2 sampled
// delays (hop 0, the mixes both ways, the echo's hold) and the slack.
func maxRoundTrip(n *testNet) time.Duration {
	hops := 2*len(n.doc.Layers) + 2
	return time.Duration(hops)*time.Duration(testParams.MuMaxDelay)*time.Millisecond + 15*time.Second
}
