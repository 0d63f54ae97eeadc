package loadgen

import (
	"bytes"
	"crypto/rand"
	"math"
	"testing"
	"time"
)

func TestDelayModelZero(t *testing.T) {
	m := DelayModel{Mu: 0, MaxDelayMS: 0, Layers: 3}
	for range 100 {
		msg, ack, err := m.Sample()
		if err != nil || msg != 0 || ack != 0 {
			t.Fatalf("Mu 0 gave %v, %v, %v", msg, ack, err)
		}
	}
	if m.MessageHops() != 4 || m.AckHops() != 8 {
		t.Fatalf("hops %d, %d", m.MessageHops(), m.AckHops())
	}
}

func TestDelayModelCapped(t *testing.T) {
	// A source of zeros gives U = 2^-53, far in the tail: every draw hits
	// the cap.
	m := DelayModel{Mu: 0.01, MaxDelayMS: 7, Layers: 3, rng: bytes.NewReader(make([]byte, 8*8))}
	msg, ack, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	// All-zero bits give U = 2^-53: -ln(U)/mu is far above the cap.
	if msg != 4*7*time.Millisecond || ack != 8*7*time.Millisecond {
		t.Fatalf("capped draws gave %v, %v", msg, ack)
	}
}

func TestDelayModelMean(t *testing.T) {
	m := DelayModel{Mu: 0.01, MaxDelayMS: 100000, Layers: 3, rng: rand.Reader}
	const n = 4000
	var sum time.Duration
	for range n {
		msg, ack, err := m.Sample()
		if err != nil {
			t.Fatal(err)
		}
		if ack < msg {
			t.Fatalf("ACK delay %v below the message's %v: the message's hops are part of the round trip", ack, msg)
		}
		sum += msg
	}
	// 4 hops of mean 1/Mu = 100 ms less the floor's half millisecond.
	mean := float64(sum/n) / float64(time.Millisecond)
	if math.Abs(mean-398) > 20 {
		t.Fatalf("mean message delay %.1fms, want about 398ms", mean)
	}
}

func TestMeanPerHop(t *testing.T) {
	if d := (DelayModel{}).MeanPerHop(); d != 0 {
		t.Fatalf("Mu 0: %v", d)
	}
	// A cap of 1 ms: the delay is 1 exactly when X >= 1, P = e^-Mu.
	if d, want := (DelayModel{Mu: 0.5, MaxDelayMS: 1}).MeanPerHop(), time.Duration(math.Exp(-0.5)*1e6); d-want > 1 || want-d > 1 {
		t.Fatalf("cap 1: %v, want %v", d, want)
	}
	// Compare with a large sample of SampleDelay.
	for _, m := range []DelayModel{{Mu: 0.01, MaxDelayMS: 1000, Layers: 3}, {Mu: 0.05, MaxDelayMS: 20, Layers: 3}} {
		m.rng = rand.Reader
		const n = 20000
		var sum time.Duration
		for range n {
			msg, _, err := m.Sample()
			if err != nil {
				t.Fatal(err)
			}
			sum += msg
		}
		got := float64(sum/n) / float64(m.MessageHops())
		want := float64(m.MeanPerHop())
		if math.Abs(got-want) > 0.03*want {
			t.Errorf("Mu %v cap %d: sampled mean %.3fms per hop, MeanPerHop %.3fms", m.Mu, m.MaxDelayMS, got/1e6, want/1e6)
		}
	}
}
