package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/splitmix/splitmix/internal/testnet"
)

// nodeRate is one node's line of a summary.
type nodeRate struct {
	Name      string  `json:"name"`
	Layer     int     `json:"layer"` // -1: Provider
	RxPerSec  float64 `json:"rx_per_sec"`
	FwdPerSec float64 `json:"fwd_per_sec"`
	Delivered uint64  `json:"delivered"`
	Drops     uint64  `json:"drops"`
	Error     string  `json:"error,omitempty"`
}

// summary is what one interval shows.
type summary struct {
	At       time.Time             `json:"at"`
	Uptime   time.Duration         `json:"uptime_ns"`
	Epoch    uint64                `json:"epoch"`
	TillNext time.Duration         `json:"till_next_ns"`
	NewEpoch bool                  `json:"new_epoch"` // the epoch changed since the last summary
	Traffic  testnet.TrafficCounts `json:"traffic"`
	Interval time.Duration         `json:"interval_ns"`
	RTTs     []time.Duration       `json:"-"`
	RTTP50   time.Duration         `json:"rtt_p50_ns"`
	RTTMax   time.Duration         `json:"rtt_max_ns"`
	Nodes    []nodeRate            `json:"nodes"`
	Drops    map[string]uint64     `json:"drops"` // reason -> total over the nodes, non-zero
	LastErr  string                `json:"last_client_error,omitempty"`
}

// rates computes the per-node figures of an interval from two STATS
// readings (prev may be nil: no rate yet).
func rates(node testnet.Node, prev, cur *testnet.NodeStats) nodeRate {
	r := nodeRate{Name: node.Name, Layer: node.Layer}
	if node.Provider {
		r.Layer = -1
	}
	if cur == nil {
		r.Error = "no stats"
		return r
	}
	r.Delivered, r.Drops = cur.Delivered, cur.TotalDrops()
	if prev != nil {
		if dt := cur.At.Sub(prev.At).Seconds(); dt > 0 {
			r.RxPerSec = float64(sub(cur.Received, prev.Received)) / dt
			r.FwdPerSec = float64(sub(cur.Forwarded, prev.Forwarded)) / dt
		}
	}
	return r
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0 // the daemon restarted: its counters began again
	}
	return a - b
}

// percentiles returns the median and maximum of sorted durations.
func percentiles(sorted []time.Duration) (p50, maxD time.Duration) {
	if len(sorted) == 0 {
		return 0, 0
	}
	return sorted[(len(sorted)-1)/2], sorted[len(sorted)-1]
}

// writeText prints s as a compact table.
func writeText(w io.Writer, s *summary) {
	if s.NewEpoch {
		fmt.Fprintf(w, "*** epoch changed: now %d\n", s.Epoch)
	}
	fmt.Fprintf(w, "--- %s  up %v  epoch %d (next in %v)\n", s.At.Format("15:04:05"), s.Uptime.Round(time.Second), s.Epoch, s.TillNext.Round(time.Second))
	t := s.Traffic
	fmt.Fprintf(w, "messages: sent %d  acked %d  received %d  send-failed %d  ack-expired %d  skipped %d\n",
		t.Sent, t.Acked, t.Received, t.SendFailed, t.AckExpired, t.Skipped)
	if len(s.RTTs) > 0 {
		fmt.Fprintf(w, "pings:    %d ok  %d failed  rtt p50 %v  max %v  (%d in the last %v)\n",
			t.PingsOK, t.PingFailed, s.RTTP50.Round(time.Millisecond), s.RTTMax.Round(time.Millisecond), len(s.RTTs), s.Interval.Round(time.Second))
	} else {
		fmt.Fprintf(w, "pings:    %d ok  %d failed  (none returned in the last %v)\n", t.PingsOK, t.PingFailed, s.Interval.Round(time.Second))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "node\tlayer\trx/s\tfwd/s\tdelivered\tdrops\t")
	for _, n := range s.Nodes {
		layer := fmt.Sprint(n.Layer)
		if n.Layer < 0 {
			layer = "prov"
		}
		if n.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t%s\t\n", n.Name, layer, n.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%d\t%d\t\n", n.Name, layer, n.RxPerSec, n.FwdPerSec, n.Delivered, n.Drops)
	}
	tw.Flush()
	writeDrops(w, s.Drops)
	if s.LastErr != "" {
		fmt.Fprintf(w, "last client error: %s\n", s.LastErr)
	}
}

// writeJSON prints s as one line of JSON.
func writeJSON(w io.Writer, s *summary) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeFinal prints the totals of a run.
func writeFinal(w io.Writer, s *summary) {
	t := s.Traffic
	fmt.Fprintf(w, "=== final summary after %v (epoch %d)\n", s.Uptime.Round(time.Second), s.Epoch)
	fmt.Fprintf(w, "messages: sent %d  acked %d  received %d  send-failed %d  ack-expired %d  skipped %d\n",
		t.Sent, t.Acked, t.Received, t.SendFailed, t.AckExpired, t.Skipped)
	fmt.Fprintf(w, "pings:    %d sent  %d ok  %d failed\n", t.Pings, t.PingsOK, t.PingFailed)
	writeDrops(w, s.Drops)
}

// writeDrops prints the non-zero drop counters by reason.
func writeDrops(w io.Writer, drops map[string]uint64) {
	if len(drops) == 0 {
		fmt.Fprintln(w, "drops by reason (since start): none")
		return
	}
	reasons := make([]string, 0, len(drops))
	for r := range drops {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%s %d", r, drops[r])
	}
	fmt.Fprintf(w, "drops by reason (since start): %s\n", strings.Join(parts, ", "))
}
