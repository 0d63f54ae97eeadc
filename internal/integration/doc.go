// Package integration runs the suite's daemons as real processes on
// loopback and checks them end to end. It holds no code of its own; the
// tests build the binaries once per test binary.
//
// TestNetwork and TestNetworkTwoPerLayer start a directory authority and a
// keyd and a mixd per mix node in three layers, and play the two Providers
// themselves (in-memory keys, internal/link), injecting Sphinx packets at
// layer 0 and receiving them from the last layer: routing, delays, refusals,
// replays across a SIGKILL, epoch boundaries.
//
// TestProviderNetwork starts the whole thing: the authority, three mixes
// and two Providers, each Provider a keyd, a spoold and a mixd, with users
// added through mixctl. Clients (internal/client and a raw client link) send
// messages across the network, retrieve them exactly once, ping the echo
// service, and lose nothing acknowledged when spoold is SIGKILLed; every
// management command is driven through a socket session and through mixctl,
// with a refused caller, a rate-limited client and a client with the wrong
// key.
//
// TestSoak runs that network (with the Providers' decoy loops on) under a
// steady load for -soak.duration (2 minutes by default), SIGKILLs and
// restarts a mix and restarts the authority while the load runs and epochs
// change, then, in a quiet phase, checks that every acknowledged message
// was retrieved exactly once, that every packet each node took in is
// forwarded, delivered, dropped for a counted reason or still queued, and
// that each mixd's goroutines and heap come back to their baseline.
//
// Run with: go test -race ./internal/integration/
// A long soak: go test -race -run TestSoak -timeout 40m ./internal/integration -soak.duration=30m
package integration
