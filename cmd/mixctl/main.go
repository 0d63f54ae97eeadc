// Command mixctl is the operator's front to a node's management socket: it
// finds the socket from the node's configuration file (or -s), sends one
// command of the protocol in docs/management.md and prints the reply.
//
//	mixctl [-f FILE | -s SOCKET] [-t TIMEOUT] COMMAND [ARGUMENTS]
//	mixctl help [COMMAND]          mixctl COMMAND --help
//
// Commands: user add|update|remove, user identity set|remove|show, rate
// send|burst, kaetzchen start|stop, stats, shutdown, raw LINE.
//
// Exit status: 0 done; 1 the node refused or failed the command (a 4xx or
// 5xx reply); 2 bad command line; 3 cannot reach the management socket
// (no configuration, socket disabled, connection failed, caller refused).
//
// mixctl must run as the daemon's user or as a member of [Privsep]
// AdminGroup: the server checks the caller's credentials.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/management"
)

// Exit statuses. See docs/management.md §5.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitNoSocket = 3
)

// maxKeyFileSize bounds a key read from @FILE: a hybrid link key in hex is
// 2432 characters.
const maxKeyFileSize = 64 << 10

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is a bad argument: exit status 2, with the command's usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mixctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("f", "", "node configuration `FILE` (default "+daemon.DefaultConfigPath+"); its Management.Path is the socket")
	socketPath := fs.String("s", "", "management `SOCKET` path, instead of reading FILE")
	timeout := fs.Duration("t", 30*time.Second, "give up after `TIMEOUT`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeMainHelp(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "mixctl: %v\n%s\n", err, mainUsage)
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprintf(stderr, "mixctl: no command given\n%s\n", mainUsage)
		return exitUsage
	}
	if *configPath != "" && *socketPath != "" {
		fmt.Fprintf(stderr, "mixctl: give -f or -s, not both\n%s\n", mainUsage)
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "mixctl: -t must be positive\n")
		return exitUsage
	}
	if rest[0] == "help" {
		return help(rest[1:], fs, stdout, stderr)
	}
	if wantsHelp(rest) {
		return help(withoutHelpFlags(rest), fs, stdout, stderr)
	}
	cmd, cargs, group := lookup(rest)
	switch {
	case cmd == nil && group != nil:
		fmt.Fprintf(stderr, "mixctl: %q needs a subcommand\n", strings.Join(append(group, cargs...), " "))
		writeGroupHelp(stderr, group)
		return exitUsage
	case cmd == nil:
		fmt.Fprintf(stderr, "mixctl: unknown command %q; mixctl help lists the commands\n", rest[0])
		return exitUsage
	}
	line, err := buildLine(cmd, cargs, stdin)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "mixctl: %s: %v\nusage: %s\n", cmd.name(), err, cmd.usage())
			return exitUsage
		}
		// An unreadable @FILE: still the command line's fault.
		fmt.Fprintf(stderr, "mixctl: %s: %v\n", cmd.name(), err)
		return exitUsage
	}

	path, err := socketOf(*configPath, *socketPath)
	if err != nil {
		fmt.Fprintf(stderr, "mixctl: %v\n", err)
		return exitNoSocket
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c, err := management.Dial(ctx, path)
	if err != nil {
		var re *management.ReplyError
		if errors.As(err, &re) {
			fmt.Fprintf(stderr, "mixctl: %s refused the session: %v\n", path, re)
		} else {
			fmt.Fprintf(stderr, "mixctl: cannot connect to the management socket %s: %v\n", path, err)
		}
		return exitNoSocket
	}
	defer c.Close()
	rep, err := c.Do(ctx, line)
	if err != nil {
		fmt.Fprintf(stderr, "mixctl: %s: %v\n", cmd.name(), err)
		return exitNoSocket
	}
	if cmd.raw {
		fmt.Fprintln(stdout, rep.String())
		if rep.Code >= 400 {
			return exitFailed
		}
		return exitOK
	}
	if rep.Code >= 400 {
		fmt.Fprintf(stderr, "mixctl: %s: %v\n", cmd.name(), &management.ReplyError{Reply: rep})
		return exitFailed
	}
	if cmd.name() == "stats" && len(rep.Lines) > 0 && rep.Lines[len(rep.Lines)-1] == "end of stats" {
		rep.Lines = rep.Lines[:len(rep.Lines)-1]
	}
	fmt.Fprintln(stdout, rep.Text())
	return exitOK
}

// socketOf returns the management socket's path: -s, or Management.Path
// of the configuration file.
func socketOf(configPath, socketPath string) (string, error) {
	if socketPath != "" {
		return socketPath, nil
	}
	if configPath == "" {
		configPath = daemon.DefaultConfigPath
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return "", fmt.Errorf("cannot find the management socket: %v (give -f FILE or -s SOCKET)", err)
	}
	if !cfg.Management.Enabled() {
		return "", fmt.Errorf("the management socket is disabled in %s (Management.Disable)", configPath)
	}
	return cfg.Management.Path, nil
}

// buildLine checks the arguments and makes the protocol line.
func buildLine(cmd *subcommand, args []string, stdin io.Reader) (string, error) {
	if len(args) != len(cmd.args) {
		return "", &usageError{msg: fmt.Sprintf("takes %d argument(s) (%s), got %d", len(cmd.args), strings.Join(cmd.args, " "), len(args))}
	}
	args = append([]string(nil), args...)
	if cmd.keyArg >= 0 && strings.HasPrefix(args[cmd.keyArg], "@") {
		key, err := readKeyFile(args[cmd.keyArg][1:], stdin)
		if err != nil {
			return "", err
		}
		args[cmd.keyArg] = key
	}
	if cmd.raw {
		line := args[0]
		if strings.ContainsAny(line, "\r\n") {
			return "", &usageError{msg: "LINE must be one line: send one command at a time"}
		}
		if strings.TrimSpace(line) == "" {
			return "", &usageError{msg: "LINE is empty"}
		}
		return line, nil
	}
	for i, a := range args {
		if a == "" || strings.IndexFunc(a, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return "", &usageError{msg: fmt.Sprintf("%s must be one word, without spaces or control characters", cmd.args[i])}
		}
	}
	return cmd.line(args), nil
}

// readKeyFile reads key text from a file ("-": standard input), without
// surrounding whitespace.
func readKeyFile(name string, stdin io.Reader) (string, error) {
	var r io.Reader = stdin
	if name == "" {
		return "", &usageError{msg: "@ needs a file name: @FILE, or @- for standard input"}
	}
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("reading the key: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxKeyFileSize+1))
	if err != nil {
		return "", fmt.Errorf("reading the key from %s: %w", name, err)
	}
	if len(b) > maxKeyFileSize {
		return "", fmt.Errorf("key file %s is larger than %d bytes", name, maxKeyFileSize)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("key file %s is empty", name)
	}
	return key, nil
}
