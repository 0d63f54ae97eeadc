package forwardbench

import (
	"math"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		line  string
		verb  string
		count int
		ok    bool
	}{
		{"connect", "connect", 0, true},
		{"prepare 30000", "prepare", 30000, true},
		{"send 448", "send", 448, true},
		{"", "", 0, false},
		{"prepare", "prepare", 0, true},
		{"prepare 0", "", 0, false},
		{"prepare -3", "", 0, false},
		{"prepare x", "", 0, false},
		{"prepare 1000001", "", 0, false},
		{"send 1 2", "", 0, false},
	} {
		verb, count, err := parseCommand(c.line)
		if (err == nil) != c.ok || verb != c.verb || count != c.count {
			t.Errorf("parseCommand(%q) = %q, %d, %v; want %q, %d, ok=%v", c.line, verb, count, err, c.verb, c.count, c.ok)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	got, err := parseProcStat("cpu  100 5 50 9000 40 1 2 3 70 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := 161 * clockTick; got != want { // guest is inside user already
		t.Errorf("busy = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5", "cpu 1 2 x 4 5 6", "intr 1 2 3 4 5 6"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) succeeded", bad)
		}
	}
}

func TestComputeMetrics(t *testing.T) {
	// 10 000 packets in 1 s on 2 cores, 100 µs per unwrap: the ceiling is
	// 20 000/s and the ratio 0.5. mixd used 1.5 cores, the helper 0.5.
	m := computeMetrics(10000, time.Second, 1500*time.Millisecond, 500*time.Millisecond, time.Second, 100*time.Microsecond, 2)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"pps", m.pps, 10000},
		{"ceiling", m.ceiling, 20000},
		{"ratio", m.ratio, 0.5},
		{"mixCores", m.mixCores, 1.5},
		{"rigCores", m.rigCores, 0.5},
		{"ratioExclRig", m.ratioExclRig, 10000 * 100e-6 / 1.5},
		{"mixUnwrapShare", m.mixUnwrapShare, 10000 * 100e-6 / 1.5},
	} {
		if math.Abs(c.got-c.want) > 1e-9*math.Max(1, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if z := computeMetrics(1, 0, 0, 0, 0, 0, 2); z != (metrics{}) {
		t.Errorf("metrics of a run without time: %+v, want zero", z)
	}
}

func TestParseProcIO(t *testing.T) {
	r, w, err := parseProcIO("rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 0\n")
	if err != nil || r != 3 || w != 4 {
		t.Fatalf("parseProcIO = %d, %d, %v; want 3, 4", r, w, err)
	}
	for _, bad := range []string{"", "syscr: 3\n", "syscr: x\nsyscw: 1\n"} {
		if _, _, err := parseProcIO(bad); err == nil {
			t.Errorf("parseProcIO(%q) succeeded", bad)
		}
	}
}
