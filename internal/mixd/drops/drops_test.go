package drops

import (
	"sync"
	"testing"
)

func TestEveryReasonHasAUniqueName(t *testing.T) {
	seen := map[string]Reason{}
	for r := Reason(0); r < NumReasons; r++ {
		n := r.String()
		if n == "" {
			t.Fatalf("reason %d has no name", r)
		}
		if o, dup := seen[n]; dup {
			t.Fatalf("reasons %d and %d share the name %q", o, r, n)
		}
		seen[n] = r
		if back, ok := ParseReason(n); !ok || back != r {
			t.Fatalf("ParseReason(%q) = %v, %v", n, back, ok)
		}
	}
	if got := Reason(200).String(); got != "reason_200" {
		t.Fatalf("out of range reason renders as %q", got)
	}
}

func TestConcurrentCountsAreExact(t *testing.T) {
	var c Counters
	const workers, per = 8, 1000
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				c.Drop(Reason(i % int(NumReasons)))
				c.Received()
				if i%2 == 0 {
					c.Forwarded()
				}
			}
		}(w)
	}
	wg.Wait()
	s := c.Snapshot()
	if s.Received != workers*per || s.Forwarded != workers*per/2 {
		t.Fatalf("received %d forwarded %d", s.Received, s.Forwarded)
	}
	if s.TotalDropped() != workers*per {
		t.Fatalf("total dropped %d, want %d", s.TotalDropped(), workers*per)
	}
	c.Drop(NumReasons) // ignored, not a panic
	if c.Snapshot().TotalDropped() != workers*per {
		t.Fatal("an out-of-range reason was counted")
	}
}

func TestStringRoundTrip(t *testing.T) {
	var c Counters
	c.Received()
	c.Received()
	c.Forwarded()
	c.Drop(Replay)
	c.Drop(Replay)
	c.Drop(LinkDown)
	s := c.Snapshot()
	text := s.String()
	if want := "received=2 forwarded=1 replay=2 link_down=1"; text != want {
		t.Fatalf("String = %q, want %q", text, want)
	}
	back, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if back != s {
		t.Fatalf("Parse(String) = %+v, want %+v", back, s)
	}
	c.Delivered()
	c.Drop(ClientTerminal)
	s = c.Snapshot()
	if want := "received=2 forwarded=1 delivered=1 replay=2 link_down=1 client_terminal=1"; s.String() != want {
		t.Fatalf("String with deliveries = %q, want %q", s.String(), want)
	}
	if back, err := Parse(s.String()); err != nil || back != s {
		t.Fatalf("Parse(String) with deliveries = %+v, %v; want %+v", back, err, s)
	}
	for _, bad := range []string{"replay", "replay=x", "nosuch=1", "received=-1"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestDropDoesNotAllocate(t *testing.T) {
	var c Counters
	if n := testing.AllocsPerRun(100, func() { c.Drop(Replay) }); n != 0 {
		t.Fatalf("Drop allocates %v times", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("received=2 forwarded=1 replay=2 link_down=1")
	f.Add("")
	f.Add("x=1")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text)
		if err != nil {
			return
		}
		back, err := Parse(s.String())
		if err != nil || back != s {
			t.Fatalf("re-parse of %q: %+v %v", s.String(), back, err)
		}
	})
}
