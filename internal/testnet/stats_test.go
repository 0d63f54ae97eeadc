package testnet

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

func listenOn(t *testing.T, port int) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

const sampleStats = `[drops]
received 120
forwarded 100
delivered 15
replay 3
link_down 0
total_dropped 3
[epoch]
current 1234
elapsed 5s
till_next 15s
period 20s
routing true
[provider_drops]
no_such_user 2
rate_limited 0
end of stats`

func TestParseStats(t *testing.T) {
	s, err := ParseStats("provider-a", strings.Split(sampleStats, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Received != 120 || s.Forwarded != 100 || s.Delivered != 15 || s.Epoch != 1234 || s.TillNext != 15*time.Second || s.Period != 20*time.Second || !s.Routing {
		t.Fatalf("%+v", s)
	}
	if len(s.Drops) != 2 || s.Drops["replay"] != 3 || s.Drops["provider.no_such_user"] != 2 || s.TotalDrops() != 5 {
		t.Fatalf("drops %v", s.Drops)
	}
	if got := strings.Join(s.DropReasons(), ","); got != "provider.no_such_user,replay" {
		t.Fatal(got)
	}
	if s.Uint("epoch", "current") != 1234 || s.Uint("epoch", "nope") != 0 {
		t.Fatal("Uint")
	}
	for _, bad := range []string{"", "key before section", "[drops]\nreceived many", "[a]\nx 1\n[a]\ny 2", "[a]\nnovalue", "[a]\nx 1\nend of stats\nmore"} {
		if _, err := ParseStats("n", strings.Split(bad, "\n")); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseStats(f *testing.F) {
	f.Add(sampleStats)
	f.Add("[drops]\nreceived 18446744073709551615\n[epoch]\ntill_next -5s")
	f.Add("[]\n[x]\n k v")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseStats("n", strings.Split(text, "\n"))
		if err != nil {
			return
		}
		if len(s.Sections) == 0 {
			t.Fatal("accepted stats without sections")
		}
		for _, c := range s.Drops {
			if c == 0 {
				t.Fatal("a zero drop count kept")
			}
		}
	})
}
