// Package daemon is the skeleton every splitmix daemon (keyd, mixd, spoold, pluginhost) shares:
// command line, process hardening, signals, sockets and systemd notification. It holds no daemon
// logic and no state beyond the socket-activation table.
//
// # The contract
//
// Main is that skeleton; a daemon's main.go gives it a Program (name, config loader, optional key
// generation, Serve) and exits with its status. Main and Serve together do, in this order:
//
//	flags, err := daemon.ParseFlags("keyd", os.Args[1:], true) // -f FILE [-g]; -h prints usage
//	if err != nil { fmt.Fprintln(os.Stderr, err); os.Exit(daemon.ExitCode(err)) }
//	if err := daemon.Harden(); err != nil { ... }            // umask 0077, not dumpable, no cores
//	cfg, err := config.Load(flags.ConfigPath)                // Program.Load
//	if flags.Generate { ... generate the keys, exit ... }   // Program.Generate
//	ctx, hup, stop := daemon.SignalContext(context.Background())
//	defer stop()
//	// From here on, Program.Serve(ctx, hup, cfg):
//	backend, err := logging.New(logging.Options{Disable: cfg.Logging.Disable, File: cfg.Logging.File, Level: cfg.Logging.Level})
//	ln, err := daemon.ListenUnix(cfg.Privsep.KeydSocket, 0o660, gid) // activated or bound
//	... construct the daemon, serve ln ...
//	daemon.NotifyReady(); daemon.Watchdog(ctx)
//	for { select { case <-hup: backend.Reopen(); case <-ctx.Done(): ... } }
//	daemon.NotifyStopping(); ... Close everything ...
//
// Signals: the first SIGTERM or SIGINT cancels the context (graceful shutdown); a second exits at
// once with status 1; SIGHUP asks for the log file to be reopened (rotation by rename, as the spec
// describes).
//
// Shutdown order: every component a daemon constructs is closed in the reverse order of
// construction (the listener first, so no new request arrives, then the servers, then the stores,
// the log last), and every Close is idempotent, so an error path may close whatever exists so
// far and the normal path may close everything again. A constructor that fails part-way closes
// what it already built before returning.
//
// # Files and sockets
//
// ListenUnix takes the socket from systemd when the unit is socket-activated (LISTEN_FDS, see
// sd_listen_fds(3); the variables are consumed so no child inherits them) and otherwise binds it
// itself: parent directory created 0700 if missing, a live socket is never taken over, a stale one
// (connection refused) is replaced, a non-socket is never removed, and the socket only appears at
// its path after it has its final mode and group. In production the units in systemd/ create the
// sockets; from a shell the daemons bind their own under Privsep.RuntimeDir.
//
// sd_notify (READY=1, STOPPING=1, STATUS=, WATCHDOG=1) goes to $NOTIFY_SOCKET; without it every
// Notify function does nothing, so the same binary runs from a shell.
//
// # Users
//
// LookupUID and LookupGID turn Privsep.MixdUser and Privsep.AdminGroup (names or numbers) into the
// ids this process sees; under systemd's PrivateUsers=yes other users collapse to the overflow id
// (see LookupUID).
//
// SECURITY: Harden must run before any secret is read or any file or socket created: it sets
// umask 0077 and clears the dumpable flag, which also makes /proc/PID/{mem,environ,maps} and
// ptrace unavailable to other processes of the same uid. ListenUnix never exposes a socket with
// wider permissions than asked, whatever the umask. Peer credentials (SO_PEERCRED) are checked
// by package ipc, not here.
package daemon
