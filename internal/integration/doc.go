// Package integration runs the suite's daemons as real processes on
// loopback and checks them end to end. It holds no code of its own: the
// tests build cmd/dirauth, cmd/keyd and cmd/mixd once per test binary
// (TestMain), start a directory authority, a keyd and a mixd per mix node in
// three layers, and play the two Providers themselves (in-memory keys,
// internal/link), injecting Sphinx packets at layer 0 and receiving them from
// the last layer.
//
// Run with: go test -race ./internal/integration/
package integration
