package loadgen

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleRun() *run {
	r := &run{
		cfg:    Config{Clients: 2, Duration: 10 * time.Second, Warmup: time.Second, Drain: time.Second, Size: 64, PollInterval: 10 * time.Millisecond, Window: 1},
		ledger: NewLedger(2),
		model:  DelayModel{Mu: 0, Layers: 3},
	}
	ms := time.Millisecond
	for i := range 10 {
		at := time.Duration(i) * 100 * ms
		seq, _ := r.ledger.Sent(i%2, at, false, 300*ms, 700*ms)
		r.ledger.Received(Body{Sender: uint32(i % 2), Sequence: seq, Sent: at}, at+330*ms)
		r.ledger.Acked(i%2, seq, at+800*ms)
	}
	r.errs.add("retrieve", errTest("connection reset"))
	return r
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestReportFigures(t *testing.T) {
	nodes := []NodeDelta{
		{Node: "mix-1", Layer: 0, Received: 20, Forwarded: 20, Drops: map[string]uint64{}},
		{Node: "provider-a", Provider: true, Layer: -1, Received: 30, Forwarded: 20, Delivered: 10, Drops: map[string]uint64{"provider.too_late": 2}},
	}
	rep := sampleRun().report(nodes)
	if rep.Sent != 10 || rep.Delivered != 10 || rep.Acked != 10 || rep.DeliveredRatio != 1 {
		t.Fatalf("counts %+v", rep.Tally)
	}
	if rep.Throughput != 1 || rep.PacketRate != 2 || rep.SendRate != 1 {
		t.Fatalf("rates %v %v %v", rep.Throughput, rep.PacketRate, rep.SendRate)
	}
	// 330 ms latency against an expected delay of 0 (Mu 0; the recorded
	// samples are only shown): 330 ms overhead, less 5 ms (half the poll
	// interval), over 5 nodes.
	if rep.OverheadMS != 330 || rep.OverheadPerHopMS != 65 || rep.ProcessingNodes != 5 || rep.AckOverheadMS != 800 {
		t.Fatalf("overhead %v, per hop %v over %d nodes", rep.OverheadMS, rep.OverheadPerHopMS, rep.ProcessingNodes)
	}
	if rep.MessageHops != 4 || rep.AckHops != 8 || rep.Window != 1 {
		t.Fatalf("hops %d %d", rep.MessageHops, rep.AckHops)
	}

	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nmix-1 ", "layer 0", "\nprovider-a ", "provider.too_late=2", "p50 330.0ms", "window 1 per client", "retrieve 1 (first: connection reset)", "every 10ms"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Sent != 10 || back.Latency.P50 != 330*time.Millisecond || len(back.Nodes) != 2 || back.Nodes[1].Drops["provider.too_late"] != 2 || back.Errors["retrieve"] != 1 {
		t.Fatalf("JSON round trip lost figures: %s", js.String())
	}
}
