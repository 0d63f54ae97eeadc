package daemon

import (
	"context"
	"fmt"
	"io"
)

// Program is what a daemon's main hands to Main: its name and the steps that differ between
// daemons. C is the daemon's configuration type.
type Program[C any] struct {
	// Name is the program name: the usage text says "Usage of Name:" and every other error is
	// printed as "Name: error".
	Name string
	// Load reads the configuration file that -f names. Main calls it after Harden, before
	// anything else.
	Load func(path string) (C, error)
	// Generate, if set, gives the daemon -g: generate its keys, print the public ones on stdout
	// and exit 0. A daemon without it has no -g (a -g is then a usage error, status 2).
	Generate func(cfg C, stdout io.Writer) error
	// GenerateOnly, if set with Generate, reports whether the configuration asks for -g's
	// behaviour without -g (the spec's Debug.GenerateOnly).
	GenerateOnly func(cfg C) bool
	// Serve runs the daemon until ctx is cancelled by the first SIGTERM or SIGINT, then shuts it
	// down and returns; hup receives SIGHUP (reopen the log file).
	Serve func(ctx context.Context, hup <-chan struct{}, cfg C) error
}

// Main is a daemon's main, the order of the package documentation: parse the command line (-f,
// and -g if p.Generate is set), Harden, load the configuration, then either generate the keys
// or serve under SignalContext. It returns the exit status for os.Exit:
//
//   - 0 after -h (the usage on stderr), a generation or a clean shutdown;
//   - 2 for a bad command line, printed with the usage on stderr;
//   - 1 for any other error, printed on stderr as "Name: error".
//
// args excludes the program name. Logging is the daemon's own business (Serve sets it up), so
// that nothing is logged before the configuration says where.
func Main[C any](p Program[C], args []string, stdout, stderr io.Writer) int {
	flags, err := ParseFlags(p.Name, args, p.Generate != nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitCode(err)
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 1
	}
	// Before any key or file is touched.
	if err := Harden(); err != nil {
		return fail(err)
	}
	cfg, err := p.Load(flags.ConfigPath)
	if err != nil {
		return fail(err)
	}
	if p.Generate != nil && (flags.Generate || p.GenerateOnly != nil && p.GenerateOnly(cfg)) {
		if err := p.Generate(cfg, stdout); err != nil {
			return fail(err)
		}
		return 0
	}
	ctx, hup, stop := SignalContext(context.Background())
	defer stop()
	if err := p.Serve(ctx, hup, cfg); err != nil {
		return fail(err)
	}
	return 0
}

// Runner is a constructed daemon: Run serves until ctx is cancelled, reopening its log on each
// receive from hup, and then closes everything it holds.
type Runner interface {
	Run(ctx context.Context, hup <-chan struct{}) error
}

// ServeNew returns a Program.Serve for the usual daemon: construct it from the configuration
// with newDaemon (which closes what it built if it fails), then Run it.
func ServeNew[C any, D Runner](newDaemon func(C) (D, error)) func(ctx context.Context, hup <-chan struct{}, cfg C) error {
	return func(ctx context.Context, hup <-chan struct{}, cfg C) error {
		d, err := newDaemon(cfg)
		if err != nil {
			return err
		}
		return d.Run(ctx, hup)
	}
}
