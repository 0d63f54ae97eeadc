// Command mixclient is a command-line mix network client: it generates a
// client link key, sends messages, retrieves them and pings Kaetzchen
// services, speaking docs/spec/client.md through internal/client.
//
// Usage:
//
//	mixclient genkey FILE
//	mixclient [global flags] send [-ack] user@provider TEXT
//	mixclient [global flags] recv
//	mixclient [global flags] ping [-n N] provider +echo
//
// Global flags: -authority ADDR -authority-key KEY -provider NAME -user NAME
// -key FILE [-timeout D] [-poll D]. `mixclient CMD -h` describes CMD.
//
// genkey writes a new link key seed (hex, mode 0600, never overwriting) and
// prints the public key in hex for the Provider's ADD_USER command.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "mixclient:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "mixclient:", err)
		os.Exit(1)
	}
}

// globals are the flags before the subcommand.
type globals struct {
	authority, authorityKey, provider, user, keyFile string
	timeout, poll, epochPeriod                       time.Duration
}

const usageText = `usage:
  mixclient genkey FILE
  mixclient [global flags] send [-ack] user@provider TEXT
  mixclient [global flags] recv
  mixclient [global flags] ping [-n N] provider +endpoint
global flags:
`

func run(args []string, stdout, stderr io.Writer) error {
	var g globals
	fs := flag.NewFlagSet("mixclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.authority, "authority", "", "directory authority address `host:port`")
	fs.StringVar(&g.authorityKey, "authority-key", "", "directory authority identity public `key` (hex or base64)")
	fs.StringVar(&g.provider, "provider", "", "our Provider's `name` in the PKI document")
	fs.StringVar(&g.user, "user", "", "our user `name` at the Provider")
	fs.StringVar(&g.keyFile, "key", "", "link key seed `file` written by genkey")
	fs.DurationVar(&g.timeout, "timeout", 2*time.Minute, "give up after this long")
	fs.DurationVar(&g.poll, "poll", client.DefaultPollInterval, "poll interval while waiting for replies")
	fs.DurationVar(&g.epochPeriod, "epoch-period", epochtime.DefaultPeriod, "the network's epoch length (the authority's EpochPeriod), to find the current document")
	fs.Usage = func() { fmt.Fprint(stderr, usageText); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, cargs := rest[0], rest[1:]
	switch cmd {
	case "genkey":
		return genkey(cargs, stdout, stderr)
	case "send", "recv", "ping":
	default:
		fs.Usage()
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	switch cmd {
	case "send":
		return send(ctx, &g, cargs, stdout, stderr)
	case "recv":
		return recv(ctx, &g, cargs, stdout, stderr)
	default:
		return ping(ctx, &g, cargs, stdout, stderr)
	}
}

func subFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mixclient [global flags] %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

func genkey(args []string, stdout, stderr io.Writer) error {
	fs := subFlags("genkey", "FILE\n  writes a new link key seed to FILE (0600; never overwrites) and prints the public key in hex for ADD_USER", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%w: genkey takes one FILE", errUsage)
	}
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(fs.Arg(0), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("genkey: %w", err)
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(k.Seed())); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, hex.EncodeToString(k.Public().Bytes()))
	return err
}

// loadKey reads a seed file written by genkey.
func loadKey(path string) (*memkey.LinkKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is accessible by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != memkey.LinkSeedSize {
		return nil, fmt.Errorf("key file %s: want %d bytes in hex", path, memkey.LinkSeedSize)
	}
	return memkey.NewLinkKey(seed)
}

// newClient builds and connects a client from the global flags.
func newClient(ctx context.Context, g *globals) (*client.Client, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{{"-authority", g.authority}, {"-authority-key", g.authorityKey}, {"-provider", g.provider}, {"-user", g.user}, {"-key", g.keyFile}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing %s", errUsage, strings.Join(missing, ", "))
	}
	ak, err := keys.ParseIdentityPublicKey(g.authorityKey)
	if err != nil {
		return nil, fmt.Errorf("%w: -authority-key: %v", errUsage, err)
	}
	lk, err := loadKey(g.keyFile)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		User: g.user, LinkKey: lk, Provider: g.provider,
		AuthorityAddress: g.authority, AuthorityKey: ak, PollInterval: g.poll,
		EpochPeriod: g.epochPeriod,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func send(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("send", "[-ack] user@provider TEXT\n  sends TEXT; with -ack waits for the destination Provider's SURB-ACK", stderr)
	ack := fs.Bool("ack", false, "attach a SURB-ACK and wait for it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("%w: send takes user@provider and TEXT", errUsage)
	}
	if _, err := client.ParseAddress(fs.Arg(0)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	c, err := newClient(ctx, g)
	if err != nil {
		return err
	}
	defer c.Close()
	var opts []client.SendOption
	if *ack {
		opts = append(opts, client.WithACK())
	}
	id, err := c.Send(ctx, fs.Arg(0), []byte(fs.Arg(1)), opts...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent %v\n", id)
	if *ack {
		if err := c.WaitDelivered(ctx, id); err != nil {
			return fmt.Errorf("message %v: %w", id, err)
		}
		fmt.Fprintf(stdout, "delivered %v\n", id)
	}
	return nil
}

func recv(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("recv", "\n  prints and acknowledges every message waiting in the spool", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("%w: recv takes no arguments", errUsage)
	}
	c, err := newClient(ctx, g)
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		m, err := c.Retrieve(ctx)
		if errors.Is(err, client.ErrMalformedMessage) {
			fmt.Fprintln(stderr, "mixclient: skipping:", err)
			continue
		}
		if err != nil {
			return err
		}
		if m == nil {
			return nil
		}
		fmt.Fprintf(stdout, "%v %q\n", m.ID, m.Body)
	}
}

func ping(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("ping", "[-n N] provider +endpoint\n  sends N echo requests one after the other and prints each round-trip time", stderr)
	count := fs.Int("n", 1, "number of pings")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 || *count < 1 {
		fs.Usage()
		return fmt.Errorf("%w: ping takes provider and +endpoint, and -n at least 1", errUsage)
	}
	if err := client.ValidateEndpoint(fs.Arg(1)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	c, err := newClient(ctx, g)
	if err != nil {
		return err
	}
	defer c.Close()
	failed := 0
	for i := range *count {
		rtt, err := c.Ping(ctx, fs.Arg(0), fs.Arg(1))
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "ping %d: %v\n", i+1, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		fmt.Fprintf(stdout, "ping %d: rtt %v\n", i+1, rtt.Round(time.Millisecond))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d pings failed", failed, *count)
	}
	return nil
}
