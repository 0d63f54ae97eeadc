package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/proctest"
)

var reLinkUp = regexp.MustCompile(`link to peer up: peer=(\S+)`)

// waitLinks waits until every mix has its links to the next layer up,
// looking at the log after the given offsets.
func (n *network) waitLinks(from map[*mixNode]int64) {
	n.t.Helper()
	for l, layer := range n.layers {
		var next []string
		if l+1 < len(n.layers) {
			for _, m := range n.layers[l+1] {
				next = append(next, m.name)
			}
		} else {
			next = []string{n.sender.node.Name, n.receiver.node.Name}
		}
		for _, m := range layer {
			proctest.Eventually(n.t, 30*time.Second, m.name+"'s links to the next layer", func() bool {
				up := map[string]bool{}
				for _, match := range logMatches(m.mixdLog(), from[m], reLinkUp) {
					up[match[1]] = true
				}
				for _, want := range next {
					if !up[want] {
						return false
					}
				}
				return true
			})
		}
	}
}

func TestNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of real processes")
	}
	n := startNetwork(t, 1)
	n.waitLinks(map[*mixNode]int64{})
	entry := n.layers[0][0]

	t.Run("RoutesWithTheChosenDelays", func(t *testing.T) {
		n.t = t
		e, _, _ := n.clock.Current()
		cases := []struct {
			msg    string
			delays []time.Duration
		}{
			{"slow", []time.Duration{600 * time.Millisecond, 500 * time.Millisecond, 400 * time.Millisecond}},
			{"medium", []time.Duration{400 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}},
			{"quick", []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 100 * time.Millisecond}},
			{"instant", []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}},
		}
		sent := map[string]time.Time{}
		total := map[string]time.Duration{}
		var msgs []string
		for _, c := range cases {
			pkt := n.packet(e, n.path(c.delays...), c.msg)
			sent[c.msg] = time.Now()
			if err := n.sender.send(entry, pkt); err != nil {
				t.Fatal(err)
			}
			total[c.msg] = c.delays[0] + c.delays[1] + c.delays[2]
			msgs = append(msgs, c.msg)
		}
		got, err := n.receiver.expect(msgs, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			took := got[m].at.Sub(sent[m])
			if took < total[m] || took > total[m]+2*time.Second {
				t.Errorf("%s took %v for delays adding up to %v", m, took, total[m])
			}
		}
		// Sent slowest first, so they arrive in reverse order.
		order := append([]string(nil), msgs...)
		sort.Slice(order, func(i, j int) bool { return got[order[i]].at.Before(got[order[j]].at) })
		if want := []string{"instant", "quick", "medium", "slow"}; fmt.Sprint(order) != fmt.Sprint(want) {
			t.Errorf("arrival order %v, want %v", order, want)
		}
	})

	t.Run("RefusesNodesTheDocumentDoesNotAllow", func(t *testing.T) {
		n.t = t
		// A node the authority does not know cannot post a descriptor...
		e, _, _ := n.clock.Current()
		desc, err := n.stranger.Descriptor(e+1, map[string][]string{"tcp": {"127.0.0.1:1"}})
		if err != nil {
			t.Fatal(err)
		}
		c := &dirauth.Client{Address: n.authAddr, Authority: n.authPub, Static: n.stranger.Link, AuthBlob: n.stranger.ID[:]}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if code, err := c.Post(ctx, e+1, desc); err != nil || code != link.DescriptorForbidden {
			t.Errorf("the stranger's descriptor: code %v, error %v; want Forbidden", code, err)
		}
		// ...nor link to a mix.
		if _, err := dialAs(n, entry, n.stranger.Link, n.stranger.ID[:]); !errors.Is(err, link.ErrPeerRejected) {
			t.Errorf("a stranger's link to layer 0: %v, want ErrPeerRejected", err)
		}
		// A Provider may send to layer 0 but not to layer 1.
		if _, err := dialAs(n, n.layers[1][0], n.receiver.node.Link, n.receiver.node.ID[:]); !errors.Is(err, link.ErrPeerRejected) {
			t.Errorf("a Provider's link to layer 1: %v, want ErrPeerRejected", err)
		}
		// Claiming an allowed node's id with another link key is refused.
		impostor, err := memkey.GenerateLinkKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dialAs(n, entry, impostor, n.sender.node.ID[:]); !errors.Is(err, link.ErrPeerRejected) {
			t.Errorf("an impostor's link to layer 0: %v, want ErrPeerRejected", err)
		}
		if entry.mixd.Exited() {
			t.Fatal("the mix exited")
		}
	})

	t.Run("DropsAndCountsReplays", func(t *testing.T) {
		n.t = t
		before := n.counters(entry).Dropped[drops.Replay]
		e, _, _ := n.clock.Current()
		pkt := n.packet(e, n.path(10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond), "once")
		if err := n.sender.send(entry, bytes.Clone(pkt)); err != nil {
			t.Fatal(err)
		}
		if err := n.sender.send(entry, pkt); err != nil {
			t.Fatal(err)
		}
		if _, err := n.receiver.expect([]string{"once"}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		n.waitCounter(entry, drops.Replay, before+1)
		select {
		case a := <-n.receiver.got:
			if a.msg == "once" {
				t.Fatal("the replayed packet was delivered")
			}
		case <-time.After(time.Second):
		}
	})

	t.Run("KilledMixKeepsItsReplayStateWithinTheEpoch", func(t *testing.T) {
		n.t = t
		// Leave room in the epoch for the restart.
		proctest.Eventually(t, testPeriod, "enough of the epoch left", func() bool {
			_, elapsed, till := n.clock.Current()
			return till > 5*time.Second && elapsed > 3*time.Second
		})
		e, _, _ := n.clock.Current()
		pkt := n.packet(e, n.path(10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond), "before-kill")
		if err := n.sender.send(entry, bytes.Clone(pkt)); err != nil {
			t.Fatal(err)
		}
		if _, err := n.receiver.expect([]string{"before-kill"}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		from := logSize(entry.mixdLog())
		entry.mixd.Kill()
		n.sender.closeSessions()
		n.startMixd(entry)
		entry.mixd.waitLog(t, from, reReady, 30*time.Second)
		n.waitLinks(map[*mixNode]int64{entry: from})
		if now, _, _ := n.clock.Current(); now != e {
			t.Skipf("the epoch changed during the restart (%d -> %d); replay state is per epoch key", e, now)
		}
		proctest.Eventually(t, 10*time.Second, "a link from the sender", func() bool { return n.sender.send(entry, pkt) == nil })
		if s := n.waitCounter(entry, drops.Replay, 1); s.Dropped[drops.Replay] != 1 {
			t.Fatalf("replays after restart: %d", s.Dropped[drops.Replay])
		}
		fresh := n.packet(e, n.path(10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond), "after-kill")
		if err := n.sender.send(entry, fresh); err != nil {
			t.Fatal(err)
		}
		if _, err := n.receiver.expect([]string{"after-kill"}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("TrafficFlowsAcrossTheEpochBoundary", func(t *testing.T) {
		n.t = t
		proctest.Eventually(t, 2*testPeriod, "the end of an epoch", func() bool {
			_, _, till := n.clock.Current()
			return till < 1500*time.Millisecond && till > 500*time.Millisecond
		})
		first, _, _ := n.clock.Current()
		n.waitDocument(first + 1)
		var msgs []string
		epochs := map[uint64]int{}
		for i := 0; i < 12; i++ {
			e, _, _ := n.clock.Current()
			msg := fmt.Sprintf("boundary-%d", i)
			pkt := n.packet(e, n.path(50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond), msg)
			if err := n.sender.send(entry, pkt); err != nil {
				t.Fatal(err)
			}
			epochs[e]++
			msgs = append(msgs, msg)
			time.Sleep(250 * time.Millisecond) // pacing the sender, not synchronising
		}
		if len(epochs) != 2 {
			t.Fatalf("packets sent under epochs %v, want two", epochs)
		}
		if _, err := n.receiver.expect(msgs, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		for _, layer := range n.layers {
			if s := n.counters(layer[0]); s.Dropped[drops.UnwrapFailed] != 0 || s.Dropped[drops.NoKey] != 0 {
				t.Errorf("%s: %v", layer[0].name, s)
			}
		}
	})

	t.Run("GracefulShutdownCountsWhatIsQueued", func(t *testing.T) {
		n.t = t
		e, _, _ := n.clock.Current()
		pkt := n.packet(e, n.path(4*time.Second, 10*time.Millisecond, 10*time.Millisecond), "held")
		before := n.counters(entry).Received
		if err := n.sender.send(entry, pkt); err != nil {
			t.Fatal(err)
		}
		proctest.Eventually(t, 10*time.Second, "the packet to reach the mix", func() bool {
			return n.counters(entry).Received > before
		})
		from := logSize(entry.mixdLog())
		if err := entry.mixd.stop(t, 15*time.Second); err != nil {
			t.Fatalf("mixd exited with %v after SIGTERM", err)
		}
		final := logMatches(entry.mixdLog(), from, reCounters)
		if len(final) == 0 {
			t.Fatal("no final counters logged")
		}
		s, err := drops.Parse(final[len(final)-1][1])
		if err != nil {
			t.Fatal(err)
		}
		if entry.diskQueue {
			// A disk queue keeps what it holds for the next start.
			if len(logMatches(entry.mixdLog(), from, regexp.MustCompile(`scheduler disk queue kept for the next start: packets=1`))) == 0 {
				t.Fatal("the disk queue did not report the held packet")
			}
		} else if s.Dropped[drops.ShuttingDown] < 1 {
			t.Fatalf("final counters %v: the held packet was not counted", s)
		}
		if len(logMatches(entry.mixdLog(), from, regexp.MustCompile(`stopped`))) == 0 {
			t.Fatal("mixd did not log its stop")
		}
	})
}

// TestNetworkTwoPerLayer routes a packet along every path through a network
// with two mixes in each layer.
func TestNetworkTwoPerLayer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of real processes")
	}
	n := startNetwork(t, 2)
	n.waitLinks(map[*mixNode]int64{})
	// Packets made near the end of an epoch would still arrive, but under
	// the next document's links: keep the test to one epoch.
	proctest.Eventually(t, testPeriod, "the epoch to have time left", func() bool {
		_, _, till := n.clock.Current()
		return till > 3*time.Second
	})
	e, _, _ := n.clock.Current()
	var msgs []string
	d := 20 * time.Millisecond
	for a := 0; a < 2; a++ {
		for b := 0; b < 2; b++ {
			for c := 0; c < 2; c++ {
				msg := fmt.Sprintf("path-%d%d%d", a, b, c)
				path := []hop{{n.layers[0][a], d}, {n.layers[1][b], d}, {n.layers[2][c], d}}
				if err := n.sender.send(n.layers[0][a], n.packet(e, path, msg)); err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, msg)
			}
		}
	}
	if _, err := n.receiver.expect(msgs, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, layer := range n.layers {
		for _, m := range layer {
			// A mix counts a packet forwarded once its write has returned,
			// which may be after the next hop (for the last layer: the
			// receiver, just seen) has read it.
			s := n.waitForwarded(m, 4)
			if s.Forwarded != 4 || s.TotalDropped() != 0 {
				t.Errorf("%s: %v, want 4 forwarded and no drops", m.name, s)
			}
		}
	}
}
