package main

import "strings"

// subcommand is one leaf of mixctl's command tree: the words that name it,
// its arguments, and the management command line it sends. See
// docs/management.md §5.
type subcommand struct {
	path []string // e.g. {"user", "identity", "set"}
	args []string // argument names, for usage and the count check
	// keyArg is the index of an argument that may be @FILE, or -1.
	keyArg int
	// summary is one line for the command list; help is the full text.
	summary string
	help    string
	// line builds the protocol line from the (checked) arguments.
	line func(args []string) string
	// raw prints the reply as the server sent it, codes included.
	raw bool
}

func (c *subcommand) name() string { return strings.Join(c.path, " ") }

func (c *subcommand) usage() string {
	return strings.TrimSpace("mixctl [-f FILE | -s SOCKET] " + c.name() + " " + strings.Join(c.args, " "))
}

// send makes a line builder for a protocol command taking the arguments
// as they are.
func send(command string) func([]string) string {
	return func(args []string) string { return strings.Join(append([]string{command}, args...), " ") }
}

var subcommands = []*subcommand{
	{path: []string{"user", "add"}, summary: "add a user with its link key", args: []string{"USER", "KEY"}, keyArg: 1, line: send("ADD_USER"),
		help: "Add USER with the link public key KEY (hex or base64 of the 1216-byte X25519 + ML-KEM-768\nkey, or @FILE to read it from FILE, @- from standard input). Providers only."},
	{path: []string{"user", "update"}, summary: "replace a user's link key", args: []string{"USER", "KEY"}, keyArg: 1, line: send("UPDATE_USER"),
		help: "Replace the link public key of USER with KEY (as for user add)."},
	{path: []string{"user", "remove"}, summary: "remove a user and its spool", args: []string{"USER"}, keyArg: -1, line: send("REMOVE_USER"),
		help: "Remove USER and its spool. Remove its identity key first (user identity remove)."},
	{path: []string{"user", "identity", "set"}, summary: "set a user's identity key", args: []string{"USER", "KEY"}, keyArg: 1, line: send("SET_USER_IDENTITY"),
		help: "Set the identity public key of USER: 32 bytes in hex or base64, or @FILE, @-."},
	{path: []string{"user", "identity", "remove"}, summary: "remove a user's identity key", args: []string{"USER"}, keyArg: -1, line: send("REMOVE_USER_IDENTITY"),
		help: "Remove the identity key of USER."},
	{path: []string{"user", "identity", "show"}, summary: "print a user's identity key", args: []string{"USER"}, keyArg: -1, line: send("USER_IDENTITY"),
		help: "Print the identity public key of USER in hex."},
	{path: []string{"rate", "send"}, summary: "set the per-client packet rate", args: []string{"PER_MINUTE"}, keyArg: -1, line: send("SEND_RATE"),
		help: "Limit each client to PER_MINUTE packets a minute; 0 turns the limit off."},
	{path: []string{"rate", "burst"}, summary: "set the per-client burst", args: []string{"PACKETS"}, keyArg: -1, line: send("SEND_BURST"),
		help: "Let each client send bursts of up to PACKETS packets; 0 turns the limit off."},
	{path: []string{"kaetzchen", "start"}, summary: "start a Kaetzchen service", args: []string{"CAPABILITY"}, keyArg: -1, line: send("START_KAETZCHEN"),
		help: "Start the Kaetzchen service CAPABILITY (e.g. echo)."},
	{path: []string{"kaetzchen", "stop"}, summary: "stop a Kaetzchen service", args: []string{"CAPABILITY"}, keyArg: -1, line: send("STOP_KAETZCHEN"),
		help: "Stop the Kaetzchen service CAPABILITY."},
	{path: []string{"stats"}, summary: "print the node's counters", keyArg: -1, line: send("STATS"),
		help: "Print drop counters, queue depths, link states, the current epoch and the\nmanagement socket's own counters, in sections:\n\n  [section]\n  key value"},
	{path: []string{"shutdown"}, summary: "shut the daemon down", keyArg: -1, line: send("SHUTDOWN"),
		help: "Shut the daemon down gracefully."},
	{path: []string{"raw"}, summary: "send any protocol command line", args: []string{"LINE"}, keyArg: -1, raw: true, line: func(args []string) string { return args[0] },
		help: "Send LINE, any command of the management protocol (quote it as one argument),\nand print the reply as the server sent it, codes included. HELP lists the\nserver's commands: mixctl raw HELP"},
}

// groups are the words that only lead to subcommands, with a summary.
var groups = map[string]string{
	"user":          "manage a Provider's users and their keys",
	"user identity": "manage a user's identity key",
	"rate":          "set the client rate limiter",
	"kaetzchen":     "start and stop Kaetzchen services",
}

// children lists the subcommands under a group prefix.
func children(prefix []string) []*subcommand {
	var out []*subcommand
	for _, c := range subcommands {
		if len(c.path) > len(prefix) && equalWords(c.path[:len(prefix)], prefix) {
			out = append(out, c)
		}
	}
	return out
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// lookup finds the subcommand named by the first words of args and
// returns it with the remaining arguments; or, when args name only a
// group, the group's words.
func lookup(args []string) (cmd *subcommand, rest []string, group []string) {
	for _, c := range subcommands {
		if len(args) >= len(c.path) && equalWords(args[:len(c.path)], c.path) {
			return c, args[len(c.path):], nil
		}
	}
	// The longest group prefix of args.
	for n := len(args); n > 0; n-- {
		if len(children(args[:n])) > 0 {
			return nil, args[n:], args[:n]
		}
	}
	return nil, args, nil
}
