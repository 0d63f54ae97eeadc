package management_test

import (
	"strings"
	"testing"

	"github.com/splitmix/splitmix/internal/management"
)

// ParseStats reads back what the server's STATS writes, and refuses what
// it never writes.
func TestParseStats(t *testing.T) {
	ts := ownServer(t)
	r := do(t, session(t, ts.path), "STATS")
	s, err := management.ParseStats(r.Lines)
	if err != nil {
		t.Fatal(err)
	}
	if s["management"]["accepted"] == "" {
		t.Fatalf("no [management] accepted in %v", s)
	}
	for name, lines := range map[string][]string{
		"empty":            nil,
		"only the end":     {"end of stats"},
		"before a section": {"a 1", "[x]"},
		"not key value":    {"[x]", "novalue"},
		"empty key":        {"[x]", " 1"},
		"section twice":    {"[x]", "a 1", "[x]"},
		"after the end":    {"[x]", "a 1", "end of stats", "b 2"},
	} {
		if _, err := management.ParseStats(lines); err == nil || !strings.HasPrefix(err.Error(), "STATS: ") {
			t.Errorf("%s: %v, want a STATS error", name, err)
		}
	}
}

// FuzzParseStats: never panics; what it accepts has sections, and each
// section's keys are non-empty and free of spaces.
func FuzzParseStats(f *testing.F) {
	f.Add("[drops]\nreceived 10\nforwarded 9\n[epoch]\ncurrent 42\nend of stats")
	f.Add("[x]\n\n[]\nend of stats\n")
	f.Add("a b\n[x]")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := management.ParseStats(strings.Split(text, "\n"))
		if err != nil {
			return
		}
		if len(s) == 0 {
			t.Fatal("accepted without sections")
		}
		for _, sec := range s {
			for k := range sec {
				if k == "" || strings.Contains(k, " ") {
					t.Fatalf("key %q", k)
				}
			}
		}
	})
}
