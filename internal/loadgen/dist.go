package loadgen

import (
	"math"
	"slices"
	"time"
)

// Dist summarises a set of durations: exact order statistics of the sorted
// samples (no histogram buckets, so no bucket error), and the mean.
type Dist struct {
	N    int           `json:"n"`
	Min  time.Duration `json:"-"`
	Mean time.Duration `json:"-"`
	P50  time.Duration `json:"-"`
	P90  time.Duration `json:"-"`
	P99  time.Duration `json:"-"`
	Max  time.Duration `json:"-"`
}

// Summarize computes the distribution of samples; it sorts samples in place.
// Percentiles use the nearest-rank method: the p-th percentile is the
// smallest sample such that at least p% of the samples are at most it.
func Summarize(samples []time.Duration) Dist {
	d := Dist{N: len(samples)}
	if len(samples) == 0 {
		return d
	}
	slices.Sort(samples)
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	d.Min = samples[0]
	d.Max = samples[len(samples)-1]
	d.Mean = time.Duration(sum / float64(len(samples)))
	d.P50 = Percentile(samples, 50)
	d.P90 = Percentile(samples, 90)
	d.P99 = Percentile(samples, 99)
	return d
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method; 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// distJSON is Dist in milliseconds, for -json.
type distJSON struct {
	N      int     `json:"n"`
	MinMS  float64 `json:"min_ms"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MarshalJSON writes the distribution in milliseconds.
func (d Dist) MarshalJSON() ([]byte, error) {
	return jsonMarshal(distJSON{N: d.N, MinMS: ms(d.Min), MeanMS: ms(d.Mean), P50MS: ms(d.P50), P90MS: ms(d.P90), P99MS: ms(d.P99), MaxMS: ms(d.Max)})
}

// UnmarshalJSON reads what MarshalJSON writes (tests, scripts).
func (d *Dist) UnmarshalJSON(b []byte) error {
	var j distJSON
	if err := jsonUnmarshal(b, &j); err != nil {
		return err
	}
	md := func(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Millisecond))) }
	*d = Dist{N: j.N, Min: md(j.MinMS), Mean: md(j.MeanMS), P50: md(j.P50MS), P90: md(j.P90MS), P99: md(j.P99MS), Max: md(j.MaxMS)}
	return nil
}
