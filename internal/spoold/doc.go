// Package spoold is the spool daemon of a Provider: it owns the user
// database and the message spool, and serves them to mixd, so that the
// network-facing process never opens either.
//
// # Synopsis
//
//	spoold -f FILE     serve mixd on [Privsep] SpooldSocket
//
// spoold runs only on a Provider (Server.IsProvider = true); on a mix it
// exits at once with status 1 and "spoold: FILE: Server.IsProvider is
// false: a mix has no user database or spool; do not run spoold".
//
// # What it does
//
// It opens the user database and the spool (internal/spoold/boltstore),
// removes the spools of users that no longer exist, listens on [Privsep]
// SpooldSocket (or takes it from systemd socket activation), tells systemd
// it is ready, and answers the protocol of ipc/spoolproto/PROTOCOL.md until
// SIGTERM or SIGINT: authenticating clients by link key, managing users and
// their identity keys for the operator's management commands, storing
// messages for users and handing them out until they are acknowledged.
// A message is acknowledged to mixd only once it is synced to disk, and
// concurrent stores share one sync (group commit). SIGHUP reopens the log
// file. At shutdown it logs what it stored and refused since it started.
//
// Only the embedded bolt backend exists in this version: a configuration
// with Provider.UserDB.Backend or Provider.SpoolDB.Backend other than
// "bolt" (sql, extern) is refused at start-up with a message saying so.
//
// Per-user limits: at most 4096 messages in a spool and 32768 bytes per
// message (boltstore.DefaultMaxMessages, spoolproto.MaxMessageSize); a
// store beyond them is refused with a typed error and counted.
//
// # User, files and sockets
//
// In production spoold runs as its own user (splitmix-spoold) under a
// hardened unit with no network (PrivateNetwork=yes, AF_UNIX only). It
// reads FILE; reads and writes the user database
// ([Provider.UserDB.Bolt] UserDB, default DataDir/users.db) and the spool
// ([Provider.SpoolDB.Bolt] SpoolDB, default DataDir/spool.db), both 0600
// and locked while it runs (a second spoold fails to start), creating
// their directory 0700 if missing; writes the log file; and serves one
// UNIX socket. It opens no network socket and dials nothing.
//
// # Messages accepted, from whom
//
// Only from the uid [Privsep] MixdUser (default: spoold's own uid), checked
// by SO_PEERCRED at accept, in the role "mixd"; anyone else gets a denied
// hello, logged at WARNING. The socket file is 0600 when mixd runs as
// spoold's uid and 0660 otherwise (the group then decides; under systemd
// the spoold.socket unit sets owner, group and mode). Messages: IsValid,
// Exists, GetLink, AddUser, AddUserIfAbsent, UpdateUser, RemoveUser,
// PurgeUser, SetIdentity, RemoveIdentity, GetIdentity, StoreMessage,
// GetHead, RemoveMessage, AddEphemeralIfAbsent, ListEphemeral (protocol
// version 2: the user database records which users mixd created as
// ephemeral clients, so a restarted mixd can still purge them).
//
// # Shutdown
//
// Close undoes New in reverse order and is idempotent: stop accepting and
// wait for running handlers (the ipc server closes the listener and
// removes the socket), then close the databases, then the log. A SIGKILL
// loses nothing acknowledged: every acknowledged change is committed.
//
// # SECURITY
//
// spoold holds no key that can decrypt or sign anything: link and
// identity keys of users are public keys. What it protects is who the
// users are and what is waiting for them, so nothing naming a user or a
// message is logged above DEBUG, and its errors never name a user. Link
// keys are compared in constant time. Every request is bounded (frame
// size, name and message sizes) and strictly decoded by ipc before it
// reaches the store; the store bounds each user's spool, so a flood of
// messages for one user costs at most its limit on disk. A compromised
// mixd can read and change the database (it is the only client, as a
// monolithic server would be) but cannot reach any file beyond the two
// databases through spoold.
package spoold
