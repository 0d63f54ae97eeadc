package loadgen

import (
	"maps"
	"strings"
	"testing"
)

func statsLines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

func TestParseCounters(t *testing.T) {
	c, err := ParseCounters(statsLines(`[drops]
received 100
forwarded 90
delivered 5
replay 3
too_late 0
total_dropped 3
[queues]
scheduler 4
[provider]
running true
[provider_drops]
no_such_user 2
end of stats`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Received != 100 || c.Forwarded != 90 || c.Delivered != 5 {
		t.Fatalf("counters %+v", c)
	}
	want := map[string]uint64{"replay": 3, "too_late": 0, "provider.no_such_user": 2}
	if !maps.Equal(c.Drops, want) {
		t.Fatalf("drops %v, want %v", c.Drops, want)
	}
}

func TestParseCountersRejects(t *testing.T) {
	for name, text := range map[string]string{
		"no drops section": "[queues]\nscheduler 1",
		"before a section": "received 1\n[drops]",
		"not a count":      "[drops]\nreceived many",
		"no value":         "[drops]\nreceived",
		"provider drops":   "[drops]\nreceived 1\n[provider_drops]\nx -1",
	} {
		if _, err := ParseCounters(statsLines(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDelta(t *testing.T) {
	before := Counters{Received: 10, Forwarded: 8, Delivered: 1, Drops: map[string]uint64{"replay": 2, "too_late": 1}}
	after := Counters{Received: 25, Forwarded: 20, Delivered: 4, Drops: map[string]uint64{"replay": 2, "too_late": 4, "provider.no_such_user": 1}}
	d := Delta(before, after)
	if d.Received != 15 || d.Forwarded != 12 || d.Delivered != 3 {
		t.Fatalf("delta %+v", d)
	}
	if want := map[string]uint64{"too_late": 3, "provider.no_such_user": 1}; !maps.Equal(d.Drops, want) {
		t.Fatalf("drops %v, want %v (unchanged reasons left out)", d.Drops, want)
	}
	if d.TotalDrops() != 4 || strings.Join(d.DropReasons(), ",") != "provider.no_such_user,too_late" {
		t.Fatalf("total %d, reasons %v", d.TotalDrops(), d.DropReasons())
	}
	// A node that restarted counts from zero rather than wrapping around.
	r := Delta(after, Counters{Received: 3, Drops: map[string]uint64{"replay": 1}})
	if r.Received != 3 || r.Drops["replay"] != 1 {
		t.Fatalf("after a restart: %+v", r)
	}
}

// FuzzParseCounters: STATS text comes from another process; a malformed
// reply must be an error, never a panic, and an accepted one must hold
// every [drops] reason it listed.
func FuzzParseCounters(f *testing.F) {
	f.Add("[drops]\nreceived 1\nforwarded 1\ndelivered 0\nreplay 2\n[provider_drops]\nfull 1\nend of stats")
	f.Add("[queues]\nscheduler 3")
	f.Add("[drops]\n[drops]\nreceived 18446744073709551615")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		lines := strings.Split(text, "\n")
		c, err := ParseCounters(lines)
		if err != nil {
			return
		}
		if c.Drops == nil {
			t.Fatal("accepted without a drops map")
		}
		for k := range c.Drops {
			if k == "received" || k == "forwarded" || k == "delivered" || k == "total_dropped" {
				t.Fatalf("counter %q taken for a drop reason", k)
			}
		}
	})
}
