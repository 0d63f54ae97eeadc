// Package decoy sends a Provider's decoy loops (Debug.SendDecoyTraffic):
// at Poisson-distributed times it builds a packet through one mix per
// layer to a Provider's echo service, carrying a SURB that returns through
// the layers to this Provider, and recognises the echo's reply when it
// comes back. It counts loops sent, returned (with their round-trip time)
// and lost. The protocol is docs/spec/decoy.md; the code cites its
// sections.
//
// mixd's Provider mode drives it: Loops.Consume sees every packet that
// ends at the Provider before the Provider's delivery does, and the
// packets Loops builds go to mixd's scheduler through Config.Send, as the
// Provider's SURB-ACKs do. The package holds no socket and no long-term
// key: the SURB decryption keys of the loops in flight are its only
// secrets, kept in a bounded table and wiped when a loop returns or is
// lost.
//
// SECURITY: nothing that identifies a loop (its path, SURB id, timing) is
// logged above DEBUG. Tokens are compared in constant time. The table of
// outstanding loops and the sending rate are bounded.
package decoy
