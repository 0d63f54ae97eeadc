// Package keyd is the key daemon: it holds the node's identity key (Ed25519)
// and link key (X25519 + ML-KEM-768), keeps the store of per-epoch Sphinx
// keys, and performs for mixd exactly the private-key operations mixd needs,
// so that the network-facing process never holds a long-term private key.
//
// # Synopsis
//
//	keyd -f FILE -g     generate the identity and link keys, print them, exit
//	keyd -f FILE        serve mixd on [Privsep] KeydSocket
//
// Debug.GenerateOnly = true in FILE behaves as -g.
//
// # Generating keys
//
// With -g, keyd creates the key directory ([Privsep] KeyDir, default
// DataDir/keyd, mode 0700) if needed, writes identity.key and link.key (0600)
// and prints to standard output, as the operator documentation shows:
//
//	Server identifier is: 'example.com'
//	Server identity public key is: <64 hex digits>
//	Server link public key is: <2432 hex digits>
//
// It refuses, with a non-zero exit status and nothing changed, when either
// key exists already. When Debug.IdentityKey is set (see
// internal/keyd/keystore for its forms), that is the identity key: -g then
// writes only link.key and prints the configured identity's public key.
//
// # Serving
//
// Without -g, keyd loads the keys (and fails with "no keys in DIR: run
// `keyd -f FILE -g` first" when there are none), erases expired Sphinx keys,
// listens on [Privsep] KeydSocket (or takes it from systemd socket
// activation), tells systemd it is ready, and answers the protocol of
// ipc/keyproto/PROTOCOL.md until SIGTERM or SIGINT. At every epoch boundary
// it erases Sphinx keys older than the previous epoch. SIGHUP reopens the log
// file.
//
// # User, files and sockets
//
// In production keyd runs as its own user (splitmix-keyd) under a hardened
// unit with no network (PrivateNetwork=yes, AF_UNIX only). It reads FILE,
// reads and writes the key directory (see internal/keyd/keystore for the
// file layout) and the log file, and serves one UNIX socket. It opens no
// network socket and dials nothing.
//
// # Messages accepted, from whom
//
// Only from the uid [Privsep] MixdUser (default: keyd's own uid), checked by
// SO_PEERCRED at accept, in the role "mixd"; the socket file is 0600 when
// mixd runs as keyd's uid and 0660 otherwise (the group then decides; under
// systemd the keyd.socket unit sets owner, group and mode). Messages:
// GetPublicKeys, SignDescriptor, LinkECDH, LinkDecapsulate, SphinxKeys.
//
// # Shutdown
//
// Close undoes New in reverse order, and is idempotent: stop accepting and
// wait for running handlers (the ipc server closes the listener and removes
// the socket), then wipe and unmap the keys (keystore), then close the log.
// The keys are wiped only once no handler can touch them.
//
// # SECURITY
//
// keyd checks what a request means, not only its form: it signs only a
// descriptor that parses, names this node, carries this node's identity
// and link public keys, is for the current epoch or one of the next two by
// keyd's own clock, and announces only Sphinx keys keyd generated; it serves
// Sphinx keys only for the epochs around now; it performs link-handshake
// operations only with its own link key, refusing low-order points. There is
// no operation that signs arbitrary bytes, and no operation returns the
// identity or link private key. A compromised mixd can therefore use the
// keys while it runs (as it could anyway, being the node on the network)
// but cannot take them away or sign anything for later or for another node.
// Private keys are kept in locked memory excluded from core dumps
// (internal/secmem; what remains on the Go heap is listed in
// internal/keyd/keystore), and the process is made non-dumpable with no core
// files (daemon.Harden). If mlock fails (RLIMIT_MEMLOCK), keyd logs a WARNING
// and runs anyway: fine for development, to be fixed with LimitMEMLOCK= in
// production.
package keyd
