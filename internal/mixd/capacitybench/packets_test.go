package capacitybench

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/proctest"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// queuedPackets builds n forward packets from a client of the Provider
// back to recipient at the same Provider (Provider -> mix -> Provider),
// each asking the Provider, its hop 0, to hold it for queueHold
// (docs/spec/client.md §4.1): once unwrapped, every one waits in the
// Provider's scheduler for the rest of the benchmark.
func queuedPackets(tb testing.TB, doc *pki.Document, provider string, recipient string, n int) [][]byte {
	tb.Helper()
	var prov *pki.NodeEntry
	for i := range doc.Providers {
		if doc.Providers[i].Descriptor.Name == provider {
			prov = &doc.Providers[i]
		}
	}
	if prov == nil {
		tb.Fatalf("no Provider %q in the document", provider)
	}
	sph, err := sphinx.New(doc.Geometry)
	if err != nil {
		tb.Fatal(err)
	}
	rcpt, err := sphinx.NewRecipientID(recipient)
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := sph.EncodeForwardPayload(nil, []byte("capacity benchmark"))
	if err != nil {
		tb.Fatal(err)
	}
	pkts := make([][]byte, n)
	for i := range pkts {
		path, err := client.ForwardPath(rand.Reader, doc, prov, prov, false)
		if err != nil {
			tb.Fatal(err)
		}
		path[0].Delay = uint32(queueHold / time.Millisecond)
		if pkts[i], err = sph.NewPacket(rand.Reader, path, rcpt, payload); err != nil {
			tb.Fatal(err)
		}
	}
	return pkts
}

// sendQueued sends pkts on s in batches, waiting after each batch until
// the Provider's crypto workers have passed it to the scheduler (a burst
// larger than their queue would be dropped, and measured nothing), and
// checks that every packet is held: the scheduler's count rose by
// len(pkts) and nothing was dropped.
func sendQueued(tb testing.TB, n *network, s *link.Session, pkts [][]byte) {
	tb.Helper()
	const batch = 200
	before, err := readStats(n.provider.mgmtSocket())
	if err != nil {
		tb.Fatal(err)
	}
	queued0, err := before.number("queues", "scheduler")
	if err != nil {
		tb.Fatal(err)
	}
	dropped0, err := before.number("drops", "total_dropped")
	if err != nil {
		tb.Fatal(err)
	}
	for start := 0; start < len(pkts); start += batch {
		end := min(start+batch, len(pkts))
		for _, p := range pkts[start:end] {
			if err := s.Send(&link.SendPacket{Packet: p}); err != nil {
				tb.Fatalf("sending packet %d: %v", start, err)
			}
		}
		proctest.Eventually(tb, time.Minute, fmt.Sprintf("%d packets in the Provider's scheduler", end), func() bool {
			n.checkAlive(tb)
			st, err := readStats(n.provider.mgmtSocket())
			if err != nil {
				return false
			}
			q, err1 := st.number("queues", "scheduler")
			d, err2 := st.number("drops", "total_dropped")
			if err1 != nil || err2 != nil {
				tb.Fatalf("STATS: %v %v", err1, err2)
			}
			if d != dropped0 {
				tb.Fatalf("the Provider dropped %d packets; drops: %v", d-dropped0, st["drops"])
			}
			return q-queued0 == int64(end)
		})
	}
}
