package management

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/splitmix/splitmix/internal/keys"
)

// command is one entry of the dispatch table: its name, its arguments'
// names (for usage lines and the count check), its help text and its
// handler. The same table answers HELP. See docs/management.md §4.
type command struct {
	name string
	// args names the arguments in order; the last optional ones are
	// written "[NAME]".
	args []string
	help string
	run  func(s *Server, ctx context.Context, args []string) reply
}

// usage is the command's syntax line, e.g. "ADD_USER USER LINK_KEY".
func (c *command) usage() string {
	return strings.TrimSpace(c.name + " " + strings.Join(c.args, " "))
}

// arity returns the least and the most number of arguments.
func (c *command) arity() (minArgs, maxArgs int) {
	for _, a := range c.args {
		if !strings.HasPrefix(a, "[") {
			minArgs++
		}
	}
	return minArgs, len(c.args)
}

// commandTable lists every command in the order HELP shows them. It is a
// function, not a variable, because HELP reads the table.
func commandTable() []*command {
	return []*command{
		{name: "ADD_USER", args: []string{"USER", "LINK_KEY"}, run: (*Server).answerAddUser,
			help: "add USER with the hybrid link public key LINK_KEY (hex or base64)"},
		{name: "UPDATE_USER", args: []string{"USER", "LINK_KEY"}, run: (*Server).answerUpdateUser,
			help: "replace the link public key of USER"},
		{name: "REMOVE_USER", args: []string{"USER"}, run: (*Server).answerRemoveUser,
			help: "remove USER and its spool (remove its identity key first)"},
		{name: "SET_USER_IDENTITY", args: []string{"USER", "IDENTITY_KEY"}, run: (*Server).answerSetUserIdentity,
			help: "set the 32-byte identity public key of USER (hex or base64)"},
		{name: "REMOVE_USER_IDENTITY", args: []string{"USER"}, run: (*Server).answerRemoveUserIdentity,
			help: "remove the identity key of USER"},
		{name: "USER_IDENTITY", args: []string{"USER"}, run: (*Server).answerUserIdentity,
			help: "show the identity key of USER in hex"},
		{name: "SEND_RATE", args: []string{"PER_MINUTE"}, run: (*Server).answerSendRate,
			help: "limit each client to PER_MINUTE packets a minute (0: no limit)"},
		{name: "SEND_BURST", args: []string{"PACKETS"}, run: (*Server).answerSendBurst,
			help: "let each client send bursts of up to PACKETS packets (0: no limit)"},
		{name: "START_KAETZCHEN", args: []string{"CAPABILITY"}, run: (*Server).answerStartKaetzchen,
			help: "start the Kaetzchen service CAPABILITY"},
		{name: "STOP_KAETZCHEN", args: []string{"CAPABILITY"}, run: (*Server).answerStopKaetzchen,
			help: "stop the Kaetzchen service CAPABILITY"},
		{name: "STATS", run: (*Server).answerStats,
			help: "show drop counters, queue depths, links, the epoch and this socket's counters"},
		{name: "HELP", args: []string{"[COMMAND]"}, run: (*Server).answerHelp,
			help: "list the commands, or show one command's syntax"},
		{name: "SHUTDOWN", run: (*Server).answerShutdown,
			help: "shut the daemon down gracefully"},
		{name: "QUIT", run: (*Server).answerQuit,
			help: "end this session"},
	}
}

// result turns a Backend error into a reply. See docs/management.md §3.
func result(cmd string, err error, okText string) reply {
	switch {
	case err == nil:
		return newReply(CodeOK, okText)
	case errors.Is(err, ErrNotAvailable):
		return newReply(CodeNotAvailable, cmd+" is not available on this node")
	case errors.Is(err, context.DeadlineExceeded):
		return newReply(CodeFailed, cmd+" failed: timed out")
	default:
		return newReply(CodeFailed, cmd+" failed: "+err.Error())
	}
}

// badArgument answers a syntax error in an argument with 501.
func badArgument(err error) reply { return newReply(CodeBadArguments, err.Error()) }

// userCommand answers a command whose one argument is USER: 501 for a
// malformed name, otherwise call's outcome (see result).
func userCommand(name, okText string, args []string, call func(user string) error) reply {
	user, err := parseUserName(args[0])
	if err != nil {
		return badArgument(err)
	}
	return result(name, call(user), okText)
}

// userKeyCommand answers a command whose arguments are USER and a key that
// parseKey reads: 501 if either is malformed, otherwise call's outcome.
func userKeyCommand[K any](name, okText string, args []string, parseKey func(string) (K, error), call func(user string, key K) error) reply {
	user, err := parseUserName(args[0])
	if err != nil {
		return badArgument(err)
	}
	key, err := parseKey(args[1])
	if err != nil {
		return badArgument(err)
	}
	return result(name, call(user, key), okText)
}

func (s *Server) answerAddUser(ctx context.Context, args []string) reply {
	return userKeyCommand("ADD_USER", "user added", args, parseLinkKey, func(user string, key *keys.LinkPublicKey) error {
		return s.backend.AddUser(ctx, user, key)
	})
}

func (s *Server) answerUpdateUser(ctx context.Context, args []string) reply {
	return userKeyCommand("UPDATE_USER", "user updated", args, parseLinkKey, func(user string, key *keys.LinkPublicKey) error {
		return s.backend.UpdateUser(ctx, user, key)
	})
}

func (s *Server) answerRemoveUser(ctx context.Context, args []string) reply {
	return userCommand("REMOVE_USER", "user removed", args, func(user string) error {
		return s.backend.RemoveUser(ctx, user)
	})
}

func (s *Server) answerSetUserIdentity(ctx context.Context, args []string) reply {
	return userKeyCommand("SET_USER_IDENTITY", "identity key set", args, parseIdentityKey, func(user string, key []byte) error {
		return s.backend.SetUserIdentity(ctx, user, key)
	})
}

func (s *Server) answerRemoveUserIdentity(ctx context.Context, args []string) reply {
	return userCommand("REMOVE_USER_IDENTITY", "identity key removed", args, func(user string) error {
		return s.backend.RemoveUserIdentity(ctx, user)
	})
}

func (s *Server) answerUserIdentity(ctx context.Context, args []string) reply {
	user, err := parseUserName(args[0])
	if err != nil {
		return badArgument(err)
	}
	key, err := s.backend.UserIdentity(ctx, user)
	if err != nil {
		return result("USER_IDENTITY", err, "")
	}
	if len(key) != UserIdentityKeySize {
		// A Backend bug, not the operator's: say so rather than show it.
		return newReply(CodeFailed, fmt.Sprintf("USER_IDENTITY failed: stored identity key is %d bytes, want %d", len(key), UserIdentityKeySize))
	}
	return newReply(CodeOK, hex.EncodeToString(key))
}

func (s *Server) answerSendRate(ctx context.Context, args []string) reply {
	n, err := parseCount("PER_MINUTE", args[0])
	if err != nil {
		return badArgument(err)
	}
	return result("SEND_RATE", s.backend.SetSendRate(ctx, n), "send rate "+strconv.FormatUint(n, 10)+" packets per minute")
}

func (s *Server) answerSendBurst(ctx context.Context, args []string) reply {
	n, err := parseCount("PACKETS", args[0])
	if err != nil {
		return badArgument(err)
	}
	return result("SEND_BURST", s.backend.SetSendBurst(ctx, n), "send burst "+strconv.FormatUint(n, 10)+" packets")
}

func (s *Server) answerStartKaetzchen(ctx context.Context, args []string) reply {
	capability, err := parseCapability(args[0])
	if err != nil {
		return badArgument(err)
	}
	return result("START_KAETZCHEN", s.backend.StartKaetzchen(ctx, capability), "kaetzchen "+capability+" started")
}

func (s *Server) answerStopKaetzchen(ctx context.Context, args []string) reply {
	capability, err := parseCapability(args[0])
	if err != nil {
		return badArgument(err)
	}
	return result("STOP_KAETZCHEN", s.backend.StopKaetzchen(ctx, capability), "kaetzchen "+capability+" stopped")
}

// answerStats renders the Backend's sections and the server's own as
//
//	250-[section]
//	250-key value
//	250 end of stats
//
// See docs/management.md §4.11.
func (s *Server) answerStats(ctx context.Context, _ []string) reply {
	st := s.backend.Stats(ctx)
	st.Sections = append(st.Sections, s.Counters().section())
	var lines []string
	for _, sec := range st.Sections {
		if sec == nil {
			continue
		}
		lines = append(lines, "["+word(sec.Name)+"]")
		for _, l := range sec.Lines {
			lines = append(lines, word(l.Key)+" "+l.Value)
		}
	}
	lines = append(lines, "end of stats")
	return reply{code: CodeOK, lines: lines}
}

func (s *Server) answerHelp(_ context.Context, args []string) reply {
	if len(args) == 1 {
		c, ok := s.commands[strings.ToUpper(args[0])]
		if !ok {
			return newReply(CodeBadArguments, "COMMAND: no such command; HELP lists them")
		}
		return reply{code: CodeHelp, lines: []string{c.usage(), "  " + c.help}}
	}
	var lines []string
	for _, c := range s.table {
		lines = append(lines, fmt.Sprintf("%-36s %s", c.usage(), c.help))
	}
	lines = append(lines, "commands are case-insensitive; arguments are separated by spaces")
	return reply{code: CodeHelp, lines: lines}
}

func (s *Server) answerShutdown(context.Context, []string) reply {
	if !s.shutdownRequested.CompareAndSwap(false, true) {
		r := newReply(CodeOK, "shutdown already in progress")
		r.close = true
		return r
	}
	r := newReply(CodeOK, "shutting down")
	r.close = true
	// After the reply, whether or not the caller is still there to read
	// it: the operator asked. On its own goroutine so that the Backend
	// may call Close, which waits for this connection.
	r.after = func() { go s.backend.Shutdown() }
	return r
}

func (s *Server) answerQuit(context.Context, []string) reply {
	r := newReply(CodeClosing, "bye")
	r.close = true
	return r
}
