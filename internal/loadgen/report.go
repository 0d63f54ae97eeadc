package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
func seconds(d time.Duration) float64     { return d.Seconds() }
func perSecond(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Report is the outcome of a run: what was asked, what happened to the
// messages, how fast and how late they were, what delays they were meant
// to have, and what every node counted meanwhile. Durations are
// milliseconds in JSON.
type Report struct {
	Clients        int     `json:"clients"`
	Rate           float64 `json:"rate"` // 0: as fast as ACKs allow
	Window         int     `json:"window,omitempty"`
	DurationS      float64 `json:"duration_s"`
	WarmupS        float64 `json:"warmup_s"`
	DrainS         float64 `json:"drain_s"`
	Size           int     `json:"size"`
	PollIntervalMS float64 `json:"poll_interval_ms"`

	// The network's delay parameters and shape.
	Layers     int     `json:"layers"`
	Mu         float64 `json:"mu"`
	MaxDelayMS uint64  `json:"max_delay_ms"`

	Tally
	// DeliveredRatio is Delivered / Sent.
	DeliveredRatio float64 `json:"delivered_ratio"`
	// SendRate is Sent per second of the measurement; Throughput is
	// Delivered per second; PacketRate counts every message and every ACK
	// that came back as one packet each.
	SendRate   float64 `json:"send_rate"`
	Throughput float64 `json:"throughput"`
	PacketRate float64 `json:"packet_rate"`

	Latency Dist `json:"latency"`
	AckRTT  Dist `json:"ack_rtt"`
	// Delay and AckDelay are the chosen delays (DelayModel): the document's
	// distribution over MessageHops and AckHops hops.
	Delay       Dist `json:"delay"`
	AckDelay    Dist `json:"ack_delay"`
	MessageHops int  `json:"message_hops"`
	AckHops     int  `json:"ack_hops"`
	// ExpectedDelayMS and ExpectedAckDelayMS are the exact means of the
	// chosen delays (DelayModel.MeanPerHop times the hops).
	ExpectedDelayMS    float64 `json:"expected_delay_ms"`
	ExpectedAckDelayMS float64 `json:"expected_ack_delay_ms"`
	// Overhead is mean latency minus expected delay: what the suite (and
	// the retrieval polling) adds; AckOverhead the same for the ACK round
	// trip. OverheadPerHop divides it, less
	// half the poll interval (a message's mean wait in the spool), by the
	// nodes that process a message: two Providers and one mix per layer.
	OverheadMS       float64 `json:"overhead_ms"`
	AckOverheadMS    float64 `json:"ack_overhead_ms"`
	OverheadPerHopMS float64 `json:"overhead_per_hop_ms"`
	ProcessingNodes  int     `json:"processing_nodes"`

	// Errors counts the run's errors by kind (send, retrieve, malformed,
	// foreign), with the first of each kind.
	Errors     map[string]uint64 `json:"errors,omitempty"`
	FirstError map[string]string `json:"first_error,omitempty"`
	// Nodes is each node's counters over the run.
	Nodes []NodeDelta `json:"nodes"`
	// CleanupError is set when the users could not all be removed.
	CleanupError string `json:"cleanup_error,omitempty"`
}

// report assembles the report from the ledger and the node deltas.
func (r *run) report(nodes []NodeDelta) *Report {
	cfg := r.cfg
	t := r.ledger.Tally()
	rep := &Report{
		Clients: cfg.Clients, Rate: cfg.Rate,
		DurationS: seconds(cfg.Duration), WarmupS: seconds(cfg.Warmup), DrainS: seconds(cfg.Drain),
		Size: cfg.Size, PollIntervalMS: ms(cfg.PollInterval),
		Layers: r.model.Layers, Mu: r.model.Mu, MaxDelayMS: r.model.MaxDelayMS,
		Tally:       t,
		SendRate:    perSecond(t.Sent, cfg.Duration),
		Throughput:  perSecond(t.Delivered, cfg.Duration),
		PacketRate:  perSecond(t.Sent+t.Acked, cfg.Duration),
		Latency:     Summarize(t.Latency),
		AckRTT:      Summarize(t.AckRTT),
		Delay:       Summarize(t.Delay),
		AckDelay:    Summarize(t.AckDelay),
		MessageHops: r.model.MessageHops(), AckHops: r.model.AckHops(),
		ProcessingNodes: r.model.Layers + 2,
		Nodes:           nodes,
	}
	if cfg.Rate == 0 {
		rep.Window = cfg.Window
	}
	if t.Sent > 0 {
		rep.DeliveredRatio = float64(t.Delivered) / float64(t.Sent)
	}
	hop := r.model.MeanPerHop()
	rep.ExpectedDelayMS = ms(hop) * float64(rep.MessageHops)
	rep.ExpectedAckDelayMS = ms(hop) * float64(rep.AckHops)
	if rep.Latency.N > 0 {
		rep.OverheadMS = ms(rep.Latency.Mean) - rep.ExpectedDelayMS
		rep.OverheadPerHopMS = (rep.OverheadMS - ms(cfg.PollInterval)/2) / float64(rep.ProcessingNodes)
	}
	if rep.AckRTT.N > 0 {
		rep.AckOverheadMS = ms(rep.AckRTT.Mean) - rep.ExpectedAckDelayMS
	}
	r.errs.mu.Lock()
	if len(r.errs.counts) > 0 {
		rep.Errors, rep.FirstError = r.errs.counts, r.errs.first
	}
	r.errs.mu.Unlock()
	return rep
}

// WriteJSON writes the report as one indented JSON object.
func (rep *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// fmtMS writes a duration in milliseconds with a precision that suits it.
func fmtMS(d time.Duration) string {
	v := ms(d)
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fms", v)
}

func fmtDist(d Dist) string {
	if d.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  mean %s  (n=%d)",
		fmtMS(d.P50), fmtMS(d.P90), fmtMS(d.P99), fmtMS(d.Max), fmtMS(d.Mean), d.N)
}

// WriteText writes the report for a human.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	mode := "as fast as ACKs allow"
	if rep.Rate > 0 {
		mode = fmt.Sprintf("%g messages/s", rep.Rate)
	} else {
		mode += fmt.Sprintf(" (window %d per client)", rep.Window)
	}
	fmt.Fprintf(&b, "load:        %d clients, %s, %gs measured after %gs warmup, %d-byte bodies\n",
		rep.Clients, mode, rep.DurationS, rep.WarmupS, rep.Size)
	meanHop := "no delay"
	if rep.Mu > 0 {
		meanHop = fmt.Sprintf("mean %.0fms per hop, capped at %dms", 1/rep.Mu, rep.MaxDelayMS)
	}
	fmt.Fprintf(&b, "network:     %d mix layers, %d nodes; Mu %g/ms (%s)\n", rep.Layers, len(rep.Nodes), rep.Mu, meanHop)
	fmt.Fprintf(&b, "messages:    sent %d  acked %d  delivered %d (%.2f%%)  duplicates %d  missing %d  ack expired %d  unacked %d  unknown %d  (warmup %d not counted)\n",
		rep.Sent, rep.Acked, rep.Delivered, 100*rep.DeliveredRatio, rep.Duplicates, rep.Missing, rep.AckExpired, rep.Unacked, rep.Unknown, rep.Warmup)
	if rep.Truncated {
		fmt.Fprintf(&b, "truncated:   the run reached %d messages and stopped sending early: the rates count the whole duration\n", MaxMessages)
	}
	fmt.Fprintf(&b, "throughput:  %.1f msg/s delivered, %.1f packets/s (messages + ACKs), %.1f msg/s sent\n",
		rep.Throughput, rep.PacketRate, rep.SendRate)
	fmt.Fprintf(&b, "latency:     %s\n", fmtDist(rep.Latency))
	fmt.Fprintf(&b, "ack rtt:     %s\n", fmtDist(rep.AckRTT))
	fmt.Fprintf(&b, "delay:       %s  (chosen over %d hops; expected mean %.1fms)\n", fmtDist(rep.Delay), rep.MessageHops, rep.ExpectedDelayMS)
	fmt.Fprintf(&b, "ack delay:   %s  (chosen over %d hops; expected mean %.1fms)\n", fmtDist(rep.AckDelay), rep.AckHops, rep.ExpectedAckDelayMS)
	if rep.Latency.N > 0 {
		fmt.Fprintf(&b, "overhead:    mean latency - expected delay = %.2fms (ACK round trip: %.2fms); per node (%d nodes, less half the poll interval) %.2fms\n",
			rep.OverheadMS, rep.AckOverheadMS, rep.ProcessingNodes, rep.OverheadPerHopMS)
	}
	fmt.Fprintf(&b, "resolution:  receivers poll an empty spool every %gms: latencies are late by up to that much (half on average)\n", rep.PollIntervalMS)
	if len(rep.Errors) > 0 {
		kinds := make([]string, 0, len(rep.Errors))
		for k := range rep.Errors {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(&b, "errors:      %s %d (first: %s)\n", k, rep.Errors[k], rep.FirstError[k])
		}
	}
	fmt.Fprintf(&b, "\n%-16s %-8s %10s %10s %10s  %s\n", "node", "role", "received", "forwarded", "delivered", "drops during the run")
	for _, n := range rep.Nodes {
		drops := "none"
		if n.Error != "" {
			drops = "counters unreadable: " + n.Error
		} else if len(n.Drops) > 0 {
			var parts []string
			for _, k := range n.DropReasons() {
				parts = append(parts, fmt.Sprintf("%s=%d", k, n.Drops[k]))
			}
			drops = strings.Join(parts, " ")
		}
		role := "provider"
		if !n.Provider {
			role = fmt.Sprintf("layer %d", n.Layer)
		}
		fmt.Fprintf(&b, "%-16s %-8s %10d %10d %10d  %s\n", n.Node, role, n.Received, n.Forwarded, n.Delivered, drops)
	}
	if rep.CleanupError != "" {
		fmt.Fprintf(&b, "\ncleanup: %s\n", rep.CleanupError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
