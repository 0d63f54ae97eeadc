package loadgen

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/splitmix/splitmix/internal/management"
)

// Counters are the packet counters of one node's STATS reply
// (docs/management.md §4.11): the [drops] section's received, forwarded
// and delivered, and every drop reason of [drops] and, on a Provider,
// [provider_drops] (prefixed "provider.").
type Counters struct {
	Received  uint64
	Forwarded uint64
	Delivered uint64
	Drops     map[string]uint64
}

// ParseCounters reads the counters from the lines of a STATS reply (as
// management.Reply.Lines holds them). Sections other than drops and
// provider_drops are skipped; a malformed line is an error.
func ParseCounters(lines []string) (Counters, error) {
	c := Counters{Drops: map[string]uint64{}}
	section, seen := "", false
	for _, line := range lines {
		switch {
		case line == "end of stats":
			continue
		case len(line) > 2 && strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			seen = seen || section == "drops"
			continue
		case section == "":
			return c, fmt.Errorf("loadgen: STATS line %q before any section", line)
		case section != "drops" && section != "provider_drops":
			continue
		}
		k, v, ok := strings.Cut(line, " ")
		if !ok || k == "" {
			return c, fmt.Errorf("loadgen: STATS line %q is not \"key value\"", line)
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("loadgen: STATS [%s] %s = %q is not a count", section, k, v)
		}
		switch {
		case section == "provider_drops":
			c.Drops["provider."+k] = n
		case k == "received":
			c.Received = n
		case k == "forwarded":
			c.Forwarded = n
		case k == "delivered":
			c.Delivered = n
		case k == "total_dropped":
		default:
			c.Drops[k] = n
		}
	}
	if !seen {
		return c, fmt.Errorf("loadgen: STATS without a [drops] section")
	}
	return c, nil
}

// NodeDelta is what one node counted during the run.
type NodeDelta struct {
	Node      string `json:"node"`
	Provider  bool   `json:"provider"`
	Layer     int    `json:"layer"` // -1 for a Provider
	Received  uint64 `json:"received"`
	Forwarded uint64 `json:"forwarded"`
	Delivered uint64 `json:"delivered"`
	// Drops holds the reasons whose count grew, with the growth.
	Drops map[string]uint64 `json:"drops"`
	// Error is set when the node's counters could not be read at the end.
	Error string `json:"error,omitempty"`
}

// Delta is after minus before, keeping the drop reasons that grew. A
// counter that went down (the node restarted) counts from zero.
func Delta(before, after Counters) NodeDelta {
	sub := func(a, b uint64) uint64 {
		if a < b {
			return a
		}
		return a - b
	}
	d := NodeDelta{
		Received:  sub(after.Received, before.Received),
		Forwarded: sub(after.Forwarded, before.Forwarded),
		Delivered: sub(after.Delivered, before.Delivered),
		Drops:     map[string]uint64{},
	}
	for k, v := range after.Drops {
		if n := sub(v, before.Drops[k]); n > 0 {
			d.Drops[k] = n
		}
	}
	return d
}

// TotalDrops is the sum of the drops.
func (d *NodeDelta) TotalDrops() uint64 {
	var t uint64
	for _, n := range d.Drops {
		t += n
	}
	return t
}

// DropReasons returns the reasons in name order.
func (d *NodeDelta) DropReasons() []string {
	out := make([]string, 0, len(d.Drops))
	for r := range d.Drops {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// readCounters asks a node's management socket for STATS.
func readCounters(ctx context.Context, socket string) (Counters, error) {
	r, err := manage(ctx, socket, "STATS")
	if err != nil {
		return Counters{}, err
	}
	return ParseCounters(r.Lines)
}

// manage sends one command on a fresh management session and requires a
// 2xx reply.
func manage(ctx context.Context, socket, line string) (management.Reply, error) {
	c, err := management.Dial(ctx, socket)
	if err != nil {
		return management.Reply{}, fmt.Errorf("management socket %s: %w", socket, err)
	}
	defer c.Close()
	r, err := c.Do(ctx, line)
	if err != nil {
		return r, fmt.Errorf("management socket %s: %w", socket, err)
	}
	_, _ = c.Do(ctx, "QUIT")
	if !r.OK() {
		cmd, _, _ := strings.Cut(line, " ")
		return r, fmt.Errorf("%s: %w", cmd, &management.ReplyError{Reply: r})
	}
	return r, nil
}
