package management

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// StatsReply is a STATS reply read back: section -> key -> value
// (docs/management.md §4.11).
type StatsReply map[string]map[string]string

// statsEnd is the last line of a STATS reply.
const statsEnd = "end of stats"

// ParseStats reads the lines of a STATS reply, without their codes (as
// Reply.Lines holds them): "[section]" lines, each followed by "key value"
// lines, and optionally "end of stats" as the last line. A line before any
// section, a section named twice, a line that is not "key value" and a line
// after the end are errors, as is a reply without sections: the reader is
// a tool or a test that must not act on a misread.
func ParseStats(lines []string) (StatsReply, error) {
	s := StatsReply{}
	var cur map[string]string
	for i, line := range lines {
		switch {
		case line == statsEnd:
			if i != len(lines)-1 {
				return nil, errors.New("STATS: a line after the end")
			}
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") && len(line) > 2:
			name := line[1 : len(line)-1]
			if _, dup := s[name]; dup {
				return nil, fmt.Errorf("STATS: section [%s] twice", name)
			}
			cur = map[string]string{}
			s[name] = cur
		case cur == nil:
			return nil, fmt.Errorf("STATS: line %q before any section", line)
		default:
			k, v, ok := strings.Cut(line, " ")
			if !ok || k == "" {
				return nil, fmt.Errorf("STATS: line %q is not \"key value\"", line)
			}
			cur[k] = v
		}
	}
	if len(s) == 0 {
		return nil, errors.New("STATS: no sections")
	}
	return s, nil
}

// Stats sends STATS and reads the reply back (ParseStats); a reply other
// than 250 is an error holding it.
func (c *Client) Stats(ctx context.Context) (StatsReply, error) {
	r, err := c.Do(ctx, "STATS")
	if err != nil {
		return nil, err
	}
	if !r.OK() {
		return nil, fmt.Errorf("STATS: %s", r.String())
	}
	return ParseStats(r.Lines)
}
