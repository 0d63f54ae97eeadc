// Package testnet runs a whole splitmix network on one machine, as real
// processes over real sockets on 127.0.0.1: the library behind
// `go run ./cmd/testnet`, and what cmd/mixload and tests start networks
// with.
//
// # What it starts
//
// Start builds dirauth, keyd, spoold, mixd, mixctl and mixclient from this
// module (`go build`, from the root `go env GOMOD` names) unless
// Options.BinDir points at built ones; generates keys (`dirauth -g`,
// `keyd -g`, and a link key per user) and configuration files in the TOML
// of docs/spec/mix-server.md; and starts, in this order, waiting for each
// step:
//
//  1. the directory authority (dirauth), until its TCP port answers;
//  2. a keyd per node and a spoold per Provider, until their UNIX sockets
//     answer;
//  3. a mixd per node, early enough in an epoch that every node is in the
//     next document (the authority builds it at 3/4 of the epoch), until
//     the authority's document for the current epoch lists every node and
//     every mixd's STATS says it routes;
//  4. the users, with ADD_USER on their Provider's management socket;
//  5. DIR/network.json (Manifest), the contract with cmd/mixload and
//     scripts.
//
// The default shape is three layers of two mixes (mix-1 ... mix-6; the
// authority assigns the layers) and two Providers (provider-a,
// provider-b) with two users each (alice and carol on provider-a, bob and
// dave on provider-b), plus a spare user per Provider (you-a, you-b) that
// the traffic leaves alone, for an operator's mixclient. Every daemon runs as the calling user, in its own
// process group (a Ctrl-C reaches the testnet only, which stops the daemons
// in order) and with a parent-death signal of SIGTERM.
//
// StartTraffic then keeps messages (with SURB-ACKs) flowing from each
// user to a user of the next Provider, retrieves every spool and pings every
// Provider's echo service, counting what happens (TrafficCounts).
//
// # Files
//
// Everything lives under one directory, DIR (cmd/testnet: -dir, default
// $TMPDIR/splitmix-testnet):
//
//	DIR/testnet-state.json   marker: the directory is a testnet's; shape and public keys
//	DIR/testnet.lock         flock held while a testnet runs here
//	DIR/network.json         the manifest, written once everything is up
//	DIR/bin/                 the programs, when Start builds them
//	DIR/dirauth/             dirauth.toml, dirauth.log, dirauth.pid, keys/, data/
//	DIR/<node>/              node.toml, keyd.log, spoold.log, mixd.log, *.pid,
//	                         keyd/ (the node's keys), run/ (keyd.sock,
//	                         spoold.sock), management_sock, spool and replay data
//	DIR/users/<user>.key     a user's link key seed in hex, as `mixclient genkey` writes it
//
// A second start in DIR reuses the keys if the shape (node and user names)
// is the same, and rewrites everything else: configuration files (so the
// epoch, delays and ports may change), and it clears the logs, spools and
// the authority's database of the last run. A directory of another shape,
// or with incomplete keys, is replaced: the testnet deletes what it wrote
// there and nothing else. A non-empty directory without the marker is never
// touched. Daemons left running by a testnet that was killed are found
// through their pid files (and their command lines, which name DIR) and
// stopped before anything else happens; a testnet still running in DIR is
// found through the lock and refused.
//
// # Ports
//
// The authority listens on 127.0.0.1:BasePort (default 30000, below the
// usual ephemeral range), node i of mix-1 ... mix-N, provider-a ... on
// BasePort+1+i. Start checks that each is free and names those that are
// not. FreeBasePort finds a free block for tests.
//
// # Stopping
//
// Close sends SIGTERM to the mixds, then the spoolds, then the keyds, then
// the authority (each group at once), waits up to 15 s for each group and
// SIGKILLs stragglers. It keeps DIR; RemoveDir deletes it.
//
// SECURITY: this is a development tool. Every daemon runs under the calling
// user with the sockets' default permissions (owner only), keys are
// written unencrypted under DIR (mode 0600 files in 0700 directories), and
// the configuration turns on nothing that logs packet or user identifiers
// unless Options.LogLevel is DEBUG.
package testnet
