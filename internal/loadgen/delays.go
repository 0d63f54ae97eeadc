package loadgen

import (
	"crypto/rand"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/pki"
)

// DelayModel is the per-hop delay distribution of a network's document
// (docs/spec/client.md §4.4) and the number of delayed hops on each route.
//
// The client library samples each packet's delays internally and does not
// return them, so the tool cannot know the delays its own packets were
// given. It draws, for every message it sends, an independent sample from
// the same distribution with the client's own SampleDelay and the same
// number of hops (§4.5): the source Provider and one mix per layer for the
// message (the destination Provider's delay, present because the message
// carries a SURB, holds only the ACK), and those plus the destination's
// delay and one mix per layer again for the ACK's round trip. Means are
// nevertheless exact comparisons (latency = delay + overhead for every
// packet, so mean latency - expected delay estimates the mean overhead, and
// MeanPerHop gives the expected delay exactly); percentiles of the two are
// compared only as distributions.
type DelayModel struct {
	Mu         float64 // per millisecond; 0 means no delay
	MaxDelayMS uint64
	Layers     int
	rng        io.Reader
}

// NewDelayModel reads the model from a document.
func NewDelayModel(doc *pki.Document) DelayModel {
	return DelayModel{Mu: doc.Parameters.Mu, MaxDelayMS: doc.Parameters.MuMaxDelay, Layers: len(doc.Layers)}
}

// MessageHops is the number of delayed hops of a message: the source
// Provider and one mix per layer.
func (m DelayModel) MessageHops() int { return m.Layers + 1 }

// AckHops is the number of delayed hops of a message's ACK round trip:
// the message's, the destination Provider's and the reply path's mixes.
func (m DelayModel) AckHops() int { return 2*m.Layers + 2 }

// MeanPerHop is the expected delay of one hop: with X exponential of rate
// Mu, SampleDelay returns floor(min(X, MaxDelayMS)) milliseconds, whose mean
// is the sum over k = 1..MaxDelayMS of P(X >= k) = e^(-Mu k), a geometric
// series. Comparing with this exact mean, rather than with the mean of a
// sample, leaves only the latencies' own sampling error in the overhead.
func (m DelayModel) MeanPerHop() time.Duration {
	if m.Mu <= 0 || m.MaxDelayMS == 0 {
		return 0
	}
	q := math.Exp(-m.Mu)
	maxMS := float64(min(m.MaxDelayMS, math.MaxUint32))
	meanMS := q * (1 - math.Pow(q, maxMS)) / (1 - q)
	return time.Duration(meanMS * float64(time.Millisecond))
}

// Sample draws the chosen delay of one message and of its ACK round trip.
func (m DelayModel) Sample() (msg, ack time.Duration, err error) {
	rng := m.rng
	if rng == nil {
		rng = rand.Reader
	}
	for i := range m.AckHops() {
		d, err := client.SampleDelay(rng, m.Mu, m.MaxDelayMS)
		if err != nil {
			return 0, 0, fmt.Errorf("loadgen: sampling a delay: %w", err)
		}
		hop := time.Duration(d) * time.Millisecond
		if i < m.MessageHops() {
			msg += hop
		}
		ack += hop
	}
	return msg, ack, nil
}
