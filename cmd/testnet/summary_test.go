package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/testnet"
)

func TestRatesFromTwoReadings(t *testing.T) {
	at := time.Now()
	prev := &testnet.NodeStats{At: at, Received: 100, Forwarded: 90}
	cur := &testnet.NodeStats{At: at.Add(2 * time.Second), Received: 110, Forwarded: 94, Delivered: 7, Drops: map[string]uint64{"replay": 2, "link_down": 1}}
	r := rates(testnet.Node{Name: "mix-1", Layer: 2}, prev, cur)
	if r.RxPerSec != 5 || r.FwdPerSec != 2 || r.Drops != 3 || r.Delivered != 7 || r.Layer != 2 {
		t.Fatalf("rates = %+v", r)
	}
	// A restarted daemon's counters go back: no negative rate.
	if r := rates(testnet.Node{Name: "p", Provider: true}, cur, prev); r.RxPerSec != 0 || r.Layer != -1 {
		t.Fatalf("rates after a restart = %+v", r)
	}
	if r := rates(testnet.Node{Name: "x"}, nil, nil); r.Error == "" {
		t.Fatal("no stats: no error shown")
	}
}

func TestPercentiles(t *testing.T) {
	ms := time.Millisecond
	if p, m := percentiles([]time.Duration{1 * ms, 2 * ms, 9 * ms}); p != 2*ms || m != 9*ms {
		t.Fatalf("p50 %v max %v", p, m)
	}
	if p, m := percentiles(nil); p != 0 || m != 0 {
		t.Fatal("empty")
	}
}

func TestSummaryText(t *testing.T) {
	s := &summary{
		At: time.Now(), Uptime: time.Minute, Epoch: 42, TillNext: 10 * time.Second, NewEpoch: true,
		Traffic:  testnet.TrafficCounts{Sent: 10, Acked: 9, Received: 8, PingsOK: 3},
		Interval: 5 * time.Second, RTTs: []time.Duration{time.Second}, RTTP50: time.Second, RTTMax: time.Second,
		Nodes: []nodeRate{{Name: "mix-1", Layer: 0, RxPerSec: 1.5}, {Name: "provider-a", Layer: -1}},
		Drops: map[string]uint64{"replay": 2},
	}
	var b bytes.Buffer
	writeText(&b, s)
	text := b.String()
	for _, want := range []string{"epoch changed: now 42", "sent 10  acked 9  received 8", "rtt p50 1s", "mix-1", "prov", "1.5", "replay 2"} {
		if !strings.Contains(text, want) {
			t.Fatalf("summary lacks %q:\n%s", want, text)
		}
	}
	b.Reset()
	if err := writeJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["epoch"] != float64(42) {
		t.Fatalf("JSON summary %s: %v", b.String(), err)
	}
}
