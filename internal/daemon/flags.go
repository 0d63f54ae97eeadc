package daemon

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
)

// DefaultConfigPath is the -f default of the operator documentation ("Command Line Usage").
const DefaultConfigPath = "katzenpost.toml"

// Flags is the command line every daemon shares: `-f FILE` and, for a daemon that makes keys,
// `-g`.
type Flags struct {
	ConfigPath string // -f
	Generate   bool   // -g: generate the keys and exit
}

// UsageError is returned by ParseFlags for -h and for a bad command line. Its message includes the
// usage text; errors.Is(err, flag.ErrHelp) tells -h apart.
type UsageError struct {
	Err   error  // flag.ErrHelp, or what is wrong with the command line
	Usage string // the usage text, as the spec prints it
}

func (e *UsageError) Error() string {
	if errors.Is(e.Err, flag.ErrHelp) {
		return e.Usage
	}
	return e.Err.Error() + "\n" + e.Usage
}

func (e *UsageError) Unwrap() error { return e.Err }

// ParseFlags parses args (without the program name) as the spec's command line for program prog:
//
//	Usage of prog:
//	  -f string
//	    	Path to the server config file. (default "katzenpost.toml")
//	  -g	Generate the keys and exit immediately.
//
// -g exists only when allowGenerate is set (only keyd makes keys). ParseFlags never prints and
// never exits: -h and errors come back as *UsageError, for which ExitCode gives the status.
func ParseFlags(prog string, args []string, allowGenerate bool) (Flags, error) {
	var f Flags
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	var usage bytes.Buffer
	fs.SetOutput(&usage)
	fs.StringVar(&f.ConfigPath, "f", DefaultConfigPath, "Path to the server config file.")
	if allowGenerate {
		fs.BoolVar(&f.Generate, "g", false, "Generate the keys and exit immediately.")
	}
	fs.Usage = func() {} // the text is built below, once
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err == nil && f.ConfigPath == "" {
		err = errors.New("-f: the config file path must not be empty")
	}
	if err != nil {
		usage.Reset()
		fmt.Fprintf(&usage, "Usage of %s:\n", prog)
		fs.PrintDefaults()
		return Flags{}, &UsageError{Err: err, Usage: usage.String()}
	}
	return f, nil
}

// ExitCode is the exit status for an error returned by ParseFlags or a daemon's start-up: 0 for
// -h, 2 for a bad command line (as the flag package does), 1 for anything else.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}
