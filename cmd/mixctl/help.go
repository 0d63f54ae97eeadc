package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

const mainUsage = "usage: mixctl [-f FILE | -s SOCKET] [-t TIMEOUT] COMMAND [ARGUMENTS]; mixctl help"

// wantsHelp reports -h, -help or --help among a subcommand's arguments.
func wantsHelp(args []string) bool {
	return slices.ContainsFunc(args, isHelpFlag)
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

func withoutHelpFlags(args []string) []string {
	return slices.DeleteFunc(slices.Clone(args), isHelpFlag)
}

// help prints help for the command or group named by words (all commands
// when none) to stdout.
func help(words []string, fs *flag.FlagSet, stdout, stderr io.Writer) int {
	if len(words) == 0 {
		writeMainHelp(stdout, fs)
		return exitOK
	}
	cmd, rest, group := lookup(words)
	switch {
	case cmd != nil && len(rest) == 0:
		fmt.Fprintf(stdout, "usage: %s\n\n%s\n", cmd.usage(), cmd.help)
		return exitOK
	case cmd == nil && group != nil && len(rest) == 0:
		writeGroupHelp(stdout, group)
		return exitOK
	}
	fmt.Fprintf(stderr, "mixctl: no help for %q: no such command; mixctl help lists the commands\n", strings.Join(words, " "))
	return exitUsage
}

func writeGroupHelp(w io.Writer, group []string) {
	name := strings.Join(group, " ")
	fmt.Fprintf(w, "mixctl %s: %s\n\ncommands:\n", name, groups[name])
	for _, c := range children(group) {
		fmt.Fprintf(w, "  %s\n", c.usage())
	}
	fmt.Fprintf(w, "\nmixctl %s COMMAND --help shows one command's help.\n", name)
}

func writeMainHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s\n\nmixctl sends one command to a mix node's management socket and prints the reply.\n\noptions:\n", mainUsage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintf(w, "\ncommands:\n")
	for _, c := range subcommands {
		fmt.Fprintf(w, "  %-34s %s\n", strings.TrimSpace(c.name()+" "+strings.Join(c.args, " ")), c.summary)
	}
	fmt.Fprintf(w, `
mixctl help COMMAND or mixctl COMMAND --help shows a command's help.
KEY may be @FILE to read the key from FILE, or @- to read it from standard input.

exit status: 0 done, 1 the node refused or failed the command, 2 bad command line,
3 cannot reach the management socket.
`)
}
