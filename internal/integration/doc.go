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
// Run with: go test -race ./internal/integration/
package integration
