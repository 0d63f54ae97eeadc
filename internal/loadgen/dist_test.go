package loadgen

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	// 1..100 ms: the p-th percentile by nearest rank is exactly p ms.
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	d := Summarize(s)
	want := Dist{N: 100, Min: time.Millisecond, Mean: 50500 * time.Microsecond, P50: 50 * time.Millisecond,
		P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if d != want {
		t.Fatalf("got %+v, want %+v", d, want)
	}
}

func TestPercentileSmallSets(t *testing.T) {
	if d := Summarize(nil); d != (Dist{}) {
		t.Fatalf("no samples: %+v", d)
	}
	one := Summarize([]time.Duration{7})
	if one.P50 != 7 || one.P99 != 7 || one.Max != 7 || one.Min != 7 || one.Mean != 7 {
		t.Fatalf("one sample: %+v", one)
	}
	// Nearest rank on 3 samples: p50 is the 2nd, p90 and p99 the 3rd.
	three := Summarize([]time.Duration{30, 10, 20})
	if three.P50 != 20 || three.P90 != 30 || three.P99 != 30 {
		t.Fatalf("three samples: %+v", three)
	}
	if p := Percentile([]time.Duration{1, 2}, 0); p != 1 {
		t.Fatalf("p0 = %v, want the smallest", p)
	}
}

func TestSummarizeOrdered(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		n := 1 + r.IntN(500)
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(r.Int64N(int64(time.Second)))
		}
		d := Summarize(s)
		if !(d.Min <= d.P50 && d.P50 <= d.P90 && d.P90 <= d.P99 && d.P99 <= d.Max && d.Min <= d.Mean && d.Mean <= d.Max) {
			t.Fatalf("unordered: %+v", d)
		}
	}
}

func TestDistJSON(t *testing.T) {
	d := Summarize([]time.Duration{time.Millisecond, 3 * time.Millisecond})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["p50_ms"] != 1 || m["max_ms"] != 3 || m["mean_ms"] != 2 || m["n"] != 2 {
		t.Fatalf("json %s", b)
	}
	var back Dist
	if err := json.Unmarshal(b, &back); err != nil || back != d {
		t.Fatalf("round trip: %+v, %v; want %+v", back, err, d)
	}
}
