package capacitybench

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/management"
)

// stats is one STATS reply of mixd's management socket
// (docs/management.md): section -> key -> value.
type stats management.StatsReply

// readStats asks mixd's management socket at path for STATS.
func readStats(path string) (stats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := management.Dial(ctx, path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	s, err := c.Stats(ctx)
	return stats(s), err
}

// parseStats reads a STATS reply's lines (management.ParseStats).
func parseStats(lines []string) (stats, error) {
	s, err := management.ParseStats(lines)
	return stats(s), err
}

// get returns the value of key in section, "" if absent.
func (s stats) get(section, key string) string { return s[section][key] }

// number returns the value of key in section as a number.
func (s stats) number(section, key string) (int64, error) {
	v, ok := s[section][key]
	if !ok {
		return 0, fmt.Errorf("STATS has no [%s] %s", section, key)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("STATS [%s] %s = %q: not a number", section, key, v)
	}
	return n, nil
}

// usage is what the Provider's mixd holds at one moment: the STATS
// runtime section.
type usage struct {
	goroutines  int64
	heapAlloc   int64
	heapObjects int64
	rss         int64
}

func usageOf(s stats) (usage, error) {
	var u usage
	for _, f := range []struct {
		key string
		dst *int64
	}{{"goroutines", &u.goroutines}, {"heap_alloc_bytes", &u.heapAlloc}, {"heap_objects", &u.heapObjects}, {"rss_bytes", &u.rss}} {
		n, err := s.number("runtime", f.key)
		if err != nil {
			return u, err
		}
		*f.dst = n
	}
	return u, nil
}

func TestParseStats(t *testing.T) {
	s, err := parseStats([]string{"[queues]", "scheduler 12", "[runtime]", "goroutines 40", "heap_alloc_bytes 1000", "heap_objects 7", "rss_bytes 99", "end of stats"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.number("queues", "scheduler"); err != nil || n != 12 {
		t.Fatalf("scheduler = %d, %v; want 12", n, err)
	}
	u, err := usageOf(s)
	if err != nil || u != (usage{goroutines: 40, heapAlloc: 1000, heapObjects: 7, rss: 99}) {
		t.Fatalf("usage %+v, %v", u, err)
	}
	if _, err := s.number("runtime", "sys_bytes"); err == nil {
		t.Fatal("a missing key read as a number")
	}
	for _, bad := range [][]string{{"goroutines 4"}, {"[runtime]", "novalue"}, {}} {
		if _, err := parseStats(bad); err == nil {
			t.Fatalf("parseStats(%q) accepted", bad)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses; utime 250, stime 50.
	line := "1234 (mix d (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0"
	d, err := parseStatCPU(line)
	if err != nil || d != 3*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 3s", d, err)
	}
	if _, err := parseStatCPU("1234 (x) S 1"); err == nil {
		t.Fatal("a short stat line was accepted")
	}
}
