package client

import (
	"errors"
	"math"
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

func TestSampleDelayDistribution(t *testing.T) {
	rng := seeded(1)
	const mu = 0.01 // mean 100 ms
	const n = 20000
	var sum float64
	var overMean int
	for range n {
		d, err := SampleDelay(rng, mu, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		sum += float64(d)
		if float64(d) > 1/mu {
			overMean++
		}
	}
	mean := sum / n
	if math.Abs(mean-100) > 5 { // floor() lowers the mean by about 0.5
		t.Errorf("mean delay %.2f ms, want about 100", mean)
	}
	// P(X > mean) = 1/e for an exponential.
	if frac := float64(overMean) / n; math.Abs(frac-math.Exp(-1)) > 0.02 {
		t.Errorf("fraction above the mean %.3f, want about %.3f", frac, math.Exp(-1))
	}
}

func TestSampleDelayCapAndZero(t *testing.T) {
	rng := seeded(2)
	for range 1000 {
		d, err := SampleDelay(rng, 0.0001, 50) // mean 10 s, cap 50 ms
		if err != nil {
			t.Fatal(err)
		}
		if d > 50 {
			t.Fatalf("delay %d above the cap", d)
		}
	}
	if d, err := SampleDelay(rng, 0, 50); err != nil || d != 0 {
		t.Fatalf("Mu = 0: %d, %v", d, err)
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := SampleDelay(rng, bad, 50); err == nil {
			t.Errorf("Mu = %v accepted", bad)
		}
	}
}

func TestRandIntNUniform(t *testing.T) {
	rng := seeded(3)
	counts := make([]int, 7)
	for range 70000 {
		i, err := randIntN(rng, 7)
		if err != nil {
			t.Fatal(err)
		}
		counts[i]++
	}
	for i, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("value %d drawn %d times of 70000", i, c)
		}
	}
}

func TestForwardPath(t *testing.T) {
	params := pki.Parameters{Mu: 0.01, MuMaxDelay: 1000}
	n := newTestNet(t, 3, 4, []string{"alpha", "beta"}, nil, params)
	src, dst := &n.doc.Providers[0], &n.doc.Providers[1]
	rng := seeded(4)
	used := map[keys.NodeID]int{}
	for i := range 400 {
		withSURB := i%2 == 0
		path, err := ForwardPath(rng, n.doc, src, dst, withSURB)
		if err != nil {
			t.Fatal(err)
		}
		if len(path) != 5 {
			t.Fatalf("path of %d hops", len(path))
		}
		if path[0].ID != src.NodeID() || path[4].ID != dst.NodeID() {
			t.Fatal("the path does not start at the source and end at the destination Provider")
		}
		for l := range 3 {
			layer, ok := n.doc.LayerOf(path[l+1].ID)
			if !ok || layer != l {
				t.Fatalf("hop %d is in layer %d (%v), want %d", l+1, layer, ok, l)
			}
			used[path[l+1].ID]++
		}
		if !withSURB && path[4].Delay != 0 {
			t.Fatal("terminal hop without SURB has a delay")
		}
		for _, h := range path {
			if h.Delay > 1000 {
				t.Fatalf("delay %d above MuMaxDelay", h.Delay)
			}
			if h.PublicKey != n.nodes[h.ID].entry.Descriptor.MixKeys[n.doc.Epoch] {
				t.Fatal("hop carries the wrong Sphinx key")
			}
		}
	}
	if len(used) != 12 {
		t.Fatalf("%d of 12 mixes used", len(used))
	}
	for id, c := range used {
		if c < 60 || c > 140 { // 100 expected
			t.Errorf("mix %v used %d times of 400", id, c)
		}
	}
}

func TestForwardPathTerminalDelayWithSURB(t *testing.T) {
	n := newTestNet(t, 3, 1, []string{"alpha"}, nil, pki.Parameters{Mu: 0.001, MuMaxDelay: 100000})
	rng := seeded(5)
	nonZero := 0
	for range 50 {
		path, err := ForwardPath(rng, n.doc, &n.doc.Providers[0], &n.doc.Providers[0], true)
		if err != nil {
			t.Fatal(err)
		}
		if path[4].Delay != 0 {
			nonZero++
		}
	}
	if nonZero < 45 {
		t.Fatalf("only %d of 50 terminal hops with a SURB got a sampled delay", nonZero)
	}
}

func TestReplyPath(t *testing.T) {
	n := newTestNet(t, 3, 2, []string{"alpha"}, nil, pki.Parameters{Mu: 0.01, MuMaxDelay: 1000})
	src := &n.doc.Providers[0]
	path, err := ReplyPath(seeded(6), n.doc, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(path) != 4 || path[3].ID != src.NodeID() || path[3].Delay != 0 {
		t.Fatalf("reply path %+v", path)
	}
	if l, _ := n.doc.LayerOf(path[0].ID); l != 0 {
		t.Fatalf("reply path starts in layer %d", l)
	}
}

func TestPathErrors(t *testing.T) {
	n := newTestNet(t, 3, 1, []string{"alpha"}, nil, pki.Parameters{})
	src := &n.doc.Providers[0]

	noKey := *n.doc
	noKey.Epoch++
	if _, err := ForwardPath(seeded(7), &noKey, src, src, false); !errors.Is(err, ErrNoRoute) {
		t.Errorf("missing Sphinx key: %v", err)
	}
	short := *n.doc
	short.Geometry, _ = sphinx.NewGeometry(4, 100)
	if _, err := ForwardPath(seeded(7), &short, src, src, false); !errors.Is(err, ErrNoRoute) {
		t.Errorf("path longer than the geometry: %v", err)
	}
	empty := *n.doc
	empty.Layers = [][]pki.NodeEntry{n.doc.Layers[0], nil, n.doc.Layers[2]}
	if _, err := ReplyPath(seeded(7), &empty, src); !errors.Is(err, ErrNoRoute) {
		t.Errorf("empty layer: %v", err)
	}
	if _, err := ForwardPath(&failingReader{}, n.doc, src, src, false); err == nil {
		t.Error("a failing random source was not reported")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }
