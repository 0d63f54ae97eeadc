// Package management is the node's management socket: the line-based text
// protocol of docs/management.md, spoken by operators with
// `socat unix:PATH STDOUT` or mixctl, that changes a running node (users,
// rate limits, Kaetzchen services), shows its counters (STATS) and shuts it
// down. The spec this implements is docs/spec/mix-server.md, "Runtime
// configuration changes with the management socket".
//
// # Who runs it
//
// mixd embeds a Server and implements Backend; the package holds no node
// state of its own beyond its counters. mixd opens the socket with Listen
// at [Management] Path (default DataDir/management_sock; none when
// Management.Disable) and serves it for as long as it runs:
//
//	gid, err := management.LookupAdminGID(cfg.Privsep.AdminGroup)
//	ln, err := management.Listen(cfg.Management.Path, gid)
//	srv, err := management.NewServer(management.ServerConfig{
//		Identifier: cfg.Server.Identifier, Backend: node, Log: log,
//		OwnerUID: uint32(os.Geteuid()), AdminGID: gid})
//	go srv.Serve(ctx, ln)
//	...
//	srv.Close()
//
// The client half (Dial, Client.Do, ReadReply) is what mixctl uses.
//
// # User, files and sockets
//
// The server runs as mixd's user and serves one UNIX stream socket, mode
// 0600 (owner only) or 0660 with group [Privsep] AdminGroup. It opens no
// file.
//
// # Messages accepted, from whom
//
// Only from callers whose kernel-reported credentials (SO_PEERCRED at
// connect, plus SO_PEERGROUPS for supplementary groups) show the
// socket owner's uid or membership of the admin group, by effective or
// supplementary gid. root is not special. Anyone else gets one line,
// "530 access denied: ...", and is disconnected; the refusal is logged at
// WARNING and counted. Admitted callers may send the commands of the
// dispatch table (HELP lists them): ADD_USER, UPDATE_USER, REMOVE_USER,
// SET_USER_IDENTITY, REMOVE_USER_IDENTITY, USER_IDENTITY, SEND_RATE,
// SEND_BURST, START_KAETZCHEN, STOP_KAETZCHEN, STATS, HELP, SHUTDOWN, QUIT.
//
// # Shutdown
//
// Close stops every Serve (closing its listener), ends every session and
// waits for them; it is idempotent. SHUTDOWN calls Backend.Shutdown at most
// once, on its own goroutine, after the caller has its reply, so the
// Backend may call Close from it.
//
// # SECURITY
//
// Every line is bounded (MaxLineSize; an over-long line ends the session),
// every argument is parsed strictly before the Backend sees it (user names
// at most 32 bytes, keys of exactly the right size in hex or base64,
// decimal counts), and a malformed line gets a 5xx reply, never a crash.
// Sessions are bounded in number (MaxConns) and idle time (IdleTimeout),
// Backend calls in time (CommandTimeout), replies in size and lines, and a
// reply can never hold a line break of the Backend's making (which could
// forge a reply). Logs above DEBUG name the command and the caller's uid
// and pid, never a user name or key.
package management
