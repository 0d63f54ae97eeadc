// Command testnet runs a whole mix network on this machine with one command:
//
//	go run ./cmd/testnet [flags]
//
// It builds the daemons, generates keys and configuration files for a
// directory authority, three mix layers of two mixes and two Providers
// (each node its keyd, spoold and mixd as separate processes), starts them,
// creates users, and keeps a steady flow of messages and echo pings going
// through the network, printing a summary every few seconds: packets per
// second per node, round trips, drops by reason. Ctrl-C stops everything
// (a second Ctrl-C kills at once) and prints a final summary.
//
// Everything lives under -dir (default $TMPDIR/splitmix-testnet); a second
// run reuses its keys, or replaces it if the network's shape changed.
// internal/testnet's package documentation describes the files and ports.
//
// Exit status: 0 after a clean stop (Ctrl-C, SIGTERM or -duration), 1 if the
// network could not start or a daemon died, 2 for a bad command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/splitmix/splitmix/internal/testnet"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// flags are the command line.
type flags struct {
	opts     testnet.Options
	rate     float64
	ping     time.Duration
	every    time.Duration
	duration time.Duration
	keep     bool
	json     bool
	quiet    bool
	maxDelay time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("testnet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &f.opts
	fs.StringVar(&o.Dir, "dir", testnet.DefaultDir(), "`directory` for everything the network writes")
	fs.StringVar(&o.BinDir, "bin", "", "use the programs in this `directory` instead of building them into DIR/bin")
	fs.DurationVar(&o.EpochPeriod, "epoch", testnet.DefaultEpochPeriod, "epoch length (the authority's EpochPeriod)")
	fs.IntVar(&o.Layers, "layers", testnet.DefaultLayers, "mix layers")
	fs.IntVar(&o.MixesPerLayer, "mixes-per-layer", testnet.DefaultMixesPerLayer, "mixes in each layer")
	fs.IntVar(&o.Providers, "providers", testnet.DefaultProviders, "Providers")
	fs.IntVar(&o.UsersPerProvider, "users", testnet.DefaultUsersPerProvider, "users on each Provider (at least 1)")
	fs.Float64Var(&o.Mu, "mu", testnet.DefaultMu, "the document's Mu: per-hop delay rate per millisecond (mean delay 1/mu ms); 0 for no delays")
	fs.DurationVar(&f.maxDelay, "max-delay", testnet.DefaultMuMaxDelay, "the document's MuMaxDelay: the longest per-hop delay")
	fs.BoolVar(&o.ZeroDelays, "zero-delays", false, "no mixing delays at all (same as -mu 0): for latency measurements")
	fs.IntVar(&o.BasePort, "base-port", testnet.DefaultBasePort, "the authority's TCP port on 127.0.0.1; node i uses base-port+1+i")
	fs.StringVar(&o.LogLevel, "log-level", "NOTICE", "the daemons' log level (ERROR, WARNING, NOTICE, INFO, DEBUG)")
	fs.BoolVar(&o.DecoyTraffic, "decoys", false, "Providers send decoy loops (Debug.SendDecoyTraffic)")
	fs.Float64Var(&f.rate, "rate", 2, "messages per second over the whole network (0: none)")
	fs.DurationVar(&f.ping, "ping", 5*time.Second, "interval of the echo pings to each Provider (0: none)")
	fs.DurationVar(&f.every, "summary", 5*time.Second, "interval of the live summary")
	fs.DurationVar(&f.duration, "duration", 0, "stop after this long (0: run until Ctrl-C)")
	fs.BoolVar(&f.keep, "keep", true, "keep DIR after stopping (for mixctl and for the next run); -keep=false removes it")
	fs.BoolVar(&f.json, "json", false, "print each summary as one line of JSON")
	fs.BoolVar(&f.quiet, "quiet", false, "print no live summaries, only the final one")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: testnet [flags]\n\nRuns a local mix network with traffic and a live summary until Ctrl-C.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.MuMaxDelay = f.maxDelay
	if o.Mu == 0 {
		o.ZeroDelays = true
	}
	if o.UsersPerProvider < 1 {
		return nil, errors.New("-users must be at least 1: the traffic needs a user on every Provider")
	}
	if f.rate < 0 || f.ping < 0 || f.every <= 0 || f.duration < 0 {
		return nil, errors.New("-rate, -ping and -duration must not be negative, -summary must be positive")
	}
	return f, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "testnet:", err)
		return 2
	}
	f.opts.Progress = stdout

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The first signal stops things in order; a second one kills.
	var netMu sync.Mutex
	var network *testnet.Network
	stop := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		fmt.Fprintln(stdout, "testnet: stopping (Ctrl-C again to kill at once)")
		close(stop)
		cancel()
		select {
		case <-sigs:
		case <-time.After(time.Hour):
			return
		}
		fmt.Fprintln(stderr, "testnet: killing every daemon")
		netMu.Lock()
		if network != nil {
			network.Kill()
		}
		netMu.Unlock()
		os.Exit(1)
	}()

	n, err := testnet.Start(ctx, f.opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	netMu.Lock()
	network = n
	netMu.Unlock()
	printHowTo(stdout, n.Manifest())

	status := 0
	started := time.Now()
	tr, err := testnet.StartTraffic(ctx, n, testnet.TrafficOptions{Rate: f.rate, PingInterval: f.ping})
	if err != nil {
		fmt.Fprintln(stderr, err)
		status = 1
	} else {
		status = loop(n, tr, f, started, stop, stdout, stderr)
		tr.Close()
	}
	var final *summary
	if tr != nil {
		final = summarize(n, tr, 0, started, false)
		final.Drops = dropTotals(readAll(n))
	}
	if err := n.Close(); err != nil {
		fmt.Fprintln(stderr, err)
		status = 1
	}
	if final != nil {
		writeFinal(stdout, final)
	}
	if f.keep {
		fmt.Fprintf(stdout, "testnet: stopped; everything is in %s (run again to restart with the same keys)\n", n.Manifest().Dir)
	} else if err := testnet.RemoveDir(n.Manifest().Dir); err != nil {
		fmt.Fprintln(stderr, err)
		status = 1
	} else {
		fmt.Fprintf(stdout, "testnet: stopped; removed %s\n", n.Manifest().Dir)
	}
	return status
}

// printHowTo tells the operator how to reach the nodes.
func printHowTo(w io.Writer, m *testnet.Manifest) {
	fmt.Fprintf(w, "testnet: manifest %s/%s; logs under %s/<node>/\n", m.Dir, testnet.ManifestName, m.Dir)
	prov := m.Providers()
	if len(prov) > 0 {
		fmt.Fprintf(w, "  %s/mixctl -f %s stats\n", m.BinDir, prov[0].Config)
	}
	var spare []testnet.User
	for _, u := range m.Users {
		if u.Spare {
			spare = append(spare, u)
		}
	}
	if len(spare) > 0 {
		u, to := spare[0], spare[len(spare)-1]
		client := fmt.Sprintf("%s/mixclient -authority %s -authority-key %s -epoch-period %v",
			m.BinDir, m.Authority.Address, m.Authority.PublicKey, time.Duration(m.EpochPeriod))
		fmt.Fprintf(w, "  %s -provider %s -user %s -key %s ping %s +echo\n", client, u.Provider, u.Name, u.KeyFile, to.Provider)
		fmt.Fprintf(w, "  %s -provider %s -user %s -key %s send -ack %s@%s hello\n", client, u.Provider, u.Name, u.KeyFile, to.Name, to.Provider)
		fmt.Fprintf(w, "  %s -provider %s -user %s -key %s recv\n", client, to.Provider, to.Name, to.KeyFile)
	}
}

// loop prints summaries until stop, -duration or a daemon's death.
func loop(n *testnet.Network, tr *testnet.Traffic, f *flags, started time.Time, stop <-chan struct{}, stdout, stderr io.Writer) int {
	var end <-chan time.Time
	if f.duration > 0 {
		end = time.After(f.duration)
	}
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	prev := readAll(n)
	var lastEpoch uint64
	last := time.Now()
	for {
		select {
		case <-stop:
			return 0
		case <-end:
			fmt.Fprintf(stdout, "testnet: -duration %v is over; stopping\n", f.duration)
			return 0
		case <-n.Failed():
			fmt.Fprintln(stderr, n.Err())
			return 1
		case now := <-tick.C:
			cur := readAll(n)
			s := summarize(n, tr, now.Sub(last), started, true)
			s.Nodes = nodeRates(n.Manifest(), prev, cur)
			s.Drops = dropTotals(cur)
			if e := epochOf(cur); e != 0 {
				s.Epoch, s.TillNext = e, tillNextOf(cur)
			}
			s.NewEpoch = lastEpoch != 0 && s.Epoch != lastEpoch
			lastEpoch = s.Epoch
			prev, last = cur, now
			if f.quiet {
				continue
			}
			if f.json {
				_ = writeJSON(stdout, s)
			} else {
				writeText(stdout, s)
			}
		}
	}
}

// readAll reads every node's STATS, concurrently; a node that does not
// answer in time is missing from the map.
func readAll(n *testnet.Network) map[string]*testnet.NodeStats {
	out := map[string]*testnet.NodeStats{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, nd := range n.Manifest().Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			s, err := n.Stats(ctx, nd.Name)
			if err != nil {
				return
			}
			mu.Lock()
			out[nd.Name] = s
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// summarize fills the traffic part of a summary.
func summarize(n *testnet.Network, tr *testnet.Traffic, interval time.Duration, started time.Time, takeRTTs bool) *summary {
	s := &summary{At: time.Now(), Uptime: time.Since(started), Interval: interval}
	s.Epoch, _, s.TillNext = n.Clock().Current()
	if tr != nil {
		s.Traffic = tr.Counts()
		s.LastErr = tr.LastError()
		if takeRTTs {
			s.RTTs = tr.TakeRTTs()
			s.RTTP50, s.RTTMax = percentiles(s.RTTs)
		}
	}
	return s
}

func nodeRates(m *testnet.Manifest, prev, cur map[string]*testnet.NodeStats) []nodeRate {
	out := make([]nodeRate, 0, len(m.Nodes))
	for _, nd := range m.Nodes {
		out = append(out, rates(nd, prev[nd.Name], cur[nd.Name]))
	}
	return out
}

// dropTotals sums each drop reason over the nodes.
func dropTotals(cur map[string]*testnet.NodeStats) map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range cur {
		for r, c := range s.Drops {
			out[r] += c
		}
	}
	return out
}

// epochOf is the epoch most nodes report.
func epochOf(cur map[string]*testnet.NodeStats) uint64 {
	count := map[uint64]int{}
	var best uint64
	for _, s := range cur {
		count[s.Epoch]++
		if count[s.Epoch] > count[best] {
			best = s.Epoch
		}
	}
	return best
}

func tillNextOf(cur map[string]*testnet.NodeStats) time.Duration {
	for _, s := range cur {
		return s.TillNext
	}
	return 0
}
