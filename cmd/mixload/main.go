// Command mixload drives load through a running mix network and reports
// delivery, throughput, latency and the nodes' drop counters.
//
//	mixload -net DIR [-clients N] [-rate R] [-window W] [-duration D]
//	        [-warmup D] [-drain D] [-size BYTES] [-poll D] [-json]
//	        [-json-file FILE] [-min-delivered F] [-q]
//
// DIR is the directory of a network started by cmd/testnet, or its
// manifest DIR/network.json, which names the authority and every node's
// management socket. mixload makes N users of its own (ADD_USER, keys in
// memory), spreads them over the Providers, has each send messages with
// SURB-ACKs to a user of another Provider and retrieve its own spool every
// -poll, and removes the users at the end. -rate is messages per second over
// all clients; 0 sends as fast as the network acknowledges: each client
// keeps -window messages unacknowledged.
//
// The report (text, or JSON with -json) gives sent, acked, delivered,
// duplicates and missing messages, throughput, latency and ACK round-trip
// percentiles, the delays the senders chose (sampled from the document's
// distribution) and the overhead beyond them, and each node's counters
// over the run with the drop reasons that grew. docs/bench/load.md explains
// it.
//
// Exit status: 0 the run completed; 1 the network could not be reached (a
// management socket, ADD_USER, a client's connection) or the run was
// interrupted; 2 bad command line; 3 fewer messages delivered than
// -min-delivered asks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/loadgen"
	"github.com/splitmix/splitmix/internal/testnet"
)

const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitUndelivered = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mixload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	netPath := fs.String("net", testnet.DefaultDir(), "the network's `DIR` (or DIR/network.json), as cmd/testnet writes it")
	clients := fs.Int("clients", 4, "simulated users, spread over the Providers")
	rate := fs.Float64("rate", 0, "messages per second over all clients; 0: as fast as ACKs allow")
	window := fs.Int("window", loadgen.DefaultWindow, "unacknowledged messages per client with -rate 0")
	duration := fs.Duration("duration", 30*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 5*time.Second, "sending before the measurement, not counted")
	drain := fs.Duration("drain", loadgen.DefaultDrain, "how long to wait for deliveries and ACKs after the last send")
	size := fs.Int("size", loadgen.DefaultSize, "message body `BYTES`")
	poll := fs.Duration("poll", loadgen.DefaultPollInterval, "receivers' poll interval of an empty spool: bounds the latency resolution")
	asJSON := fs.Bool("json", false, "write the report as JSON")
	jsonFile := fs.String("json-file", "", "also write the JSON report to `FILE`")
	quiet := fs.Bool("q", false, "no progress lines on standard error")
	minDelivered := fs.Float64("min-delivered", 0, "exit 3 if delivered/sent is below this fraction")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mixload: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *minDelivered < 0 || *minDelivered > 1 {
		fmt.Fprintln(stderr, "mixload: -min-delivered wants a fraction from 0 to 1")
		return exitUsage
	}
	m, err := testnet.LoadManifest(*netPath)
	if err != nil {
		fmt.Fprintf(stderr, "mixload: %v\n", err)
		return exitFailed
	}
	network, err := networkOf(m)
	if err != nil {
		fmt.Fprintf(stderr, "mixload: %s: %v\n", *netPath, err)
		return exitFailed
	}
	cfg := loadgen.Config{
		Network: network, Clients: *clients, Rate: *rate, Window: *window,
		Duration: *duration, Warmup: *warmup, Drain: *drain, Size: *size, PollInterval: *poll,
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	rep, err := loadgen.Run(ctx, cfg)
	if rep == nil {
		fmt.Fprintf(stderr, "mixload: %v\n", err)
		if errors.Is(err, loadgen.ErrConfig) {
			return exitUsage
		}
		return exitFailed
	}
	if *asJSON {
		err = errors.Join(err, rep.WriteJSON(stdout))
	} else {
		err = errors.Join(err, rep.WriteText(stdout))
	}
	if *jsonFile != "" {
		err = errors.Join(err, writeJSONFile(*jsonFile, rep))
	}
	if err != nil {
		fmt.Fprintf(stderr, "mixload: %v\n", err)
		return exitFailed
	}
	if rep.DeliveredRatio < *minDelivered || rep.Sent == 0 && *minDelivered > 0 {
		fmt.Fprintf(stderr, "mixload: delivered %.2f%% of %d messages, below -min-delivered %.2f%%\n", 100*rep.DeliveredRatio, rep.Sent, 100**minDelivered)
		return exitUndelivered
	}
	return exitOK
}

// networkOf turns the manifest into the load tool's description.
func networkOf(m *testnet.Manifest) (loadgen.Network, error) {
	key, err := keys.ParseIdentityPublicKey(m.Authority.PublicKey)
	if err != nil {
		return loadgen.Network{}, fmt.Errorf("the authority's public key: %w", err)
	}
	n := loadgen.Network{AuthorityAddress: m.Authority.Address, AuthorityKey: key, EpochPeriod: time.Duration(m.EpochPeriod)}
	for _, nd := range m.Nodes {
		n.Nodes = append(n.Nodes, loadgen.Node{Name: nd.Name, Provider: nd.Provider, Layer: nd.Layer, ManagementSocket: nd.ManagementSocket})
	}
	return n, nil
}

// writeJSONFile writes the JSON report to path.
func writeJSONFile(path string, rep *loadgen.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
