package testnet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/splitmix/splitmix/internal/management"
)

// NodeStats is one STATS reply of a node's mixd (docs/management.md §4.11),
// parsed: the raw sections, plus the figures a summary needs.
type NodeStats struct {
	Node string
	// At is when the reply was read.
	At time.Time
	// Sections maps a section name to its key/value pairs, as sent.
	Sections map[string]map[string]string

	// Received, Forwarded and Delivered are the [drops] counters: packets
	// off links, sent on, and handed to the Provider.
	Received, Forwarded, Delivered uint64
	// Drops maps a reason to its non-zero count, from [drops] and, on a
	// Provider, [provider_drops] (prefixed "provider.").
	Drops map[string]uint64
	// Epoch, TillNext and Period are from [epoch].
	Epoch    uint64
	TillNext time.Duration
	Period   time.Duration
	// Routing reports that mixd holds a document and routes packets.
	Routing bool
}

// Value returns the raw value of key in section.
func (s *NodeStats) Value(section, key string) (string, bool) {
	v, ok := s.Sections[section][key]
	return v, ok
}

// Uint returns key in section as a number; 0 if absent or not a number.
func (s *NodeStats) Uint(section, key string) uint64 {
	v, _ := s.Value(section, key)
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

// TotalDrops is the sum of Drops.
func (s *NodeStats) TotalDrops() uint64 {
	var t uint64
	for _, n := range s.Drops {
		t += n
	}
	return t
}

// DropReasons returns the reasons of Drops in name order.
func (s *NodeStats) DropReasons() []string {
	out := make([]string, 0, len(s.Drops))
	for r := range s.Drops {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// ParseStats reads the lines of a STATS reply (without codes, as
// management.Reply.Lines holds them): "[section]" lines, then "key value"
// lines, optionally ending with "end of stats".
func ParseStats(node string, lines []string) (*NodeStats, error) {
	sections, err := management.ParseStats(lines)
	if err != nil {
		return nil, fmt.Errorf("testnet: %s: %w", node, err)
	}
	s := &NodeStats{Node: node, At: time.Now(), Sections: sections, Drops: map[string]uint64{}}
	for k, v := range s.Sections["drops"] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("testnet: %s: STATS [drops] %s = %q: not a count", node, k, v)
		}
		switch k {
		case "received":
			s.Received = n
		case "forwarded":
			s.Forwarded = n
		case "delivered":
			s.Delivered = n
		case "total_dropped":
		default:
			if n > 0 {
				s.Drops[k] = n
			}
		}
	}
	for k, v := range s.Sections["provider_drops"] {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > 0 {
			s.Drops["provider."+k] = n
		}
	}
	if ep := s.Sections["epoch"]; ep != nil {
		s.Epoch, _ = strconv.ParseUint(ep["current"], 10, 64)
		s.TillNext, _ = time.ParseDuration(ep["till_next"])
		s.Period, _ = time.ParseDuration(ep["period"])
		s.Routing = ep["routing"] == "true"
	}
	return s, nil
}

// readStats asks the management socket at path for STATS.
func readStats(ctx context.Context, node, path string) (*NodeStats, error) {
	c, err := management.Dial(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("testnet: %s: management socket: %w", node, err)
	}
	defer c.Close()
	r, err := c.Do(ctx, "STATS")
	if err != nil {
		return nil, fmt.Errorf("testnet: %s: STATS: %w", node, err)
	}
	if !r.OK() {
		return nil, fmt.Errorf("testnet: %s: STATS: %w", node, &management.ReplyError{Reply: r})
	}
	_, _ = c.Do(ctx, "QUIT")
	return ParseStats(node, r.Lines)
}

// managementDo sends one command on a fresh session and requires a 2xx.
func managementDo(ctx context.Context, node, path, line string) error {
	c, err := management.Dial(ctx, path)
	if err != nil {
		return fmt.Errorf("testnet: %s: management socket: %w", node, err)
	}
	defer c.Close()
	r, err := c.Do(ctx, line)
	if err != nil {
		return fmt.Errorf("testnet: %s: %w", node, err)
	}
	if !r.OK() {
		cmd, _, _ := strings.Cut(line, " ")
		return fmt.Errorf("testnet: %s: %s: %w", node, cmd, &management.ReplyError{Reply: r})
	}
	return nil
}

var errUnknownNode = errors.New("testnet: no such node")
