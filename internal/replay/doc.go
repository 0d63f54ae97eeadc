// Package replay detects replayed Sphinx packets: one persistent Bloom
// filter per Sphinx key (epoch), holding the replay tag of every packet
// accepted under that key (docs/spec/replay.md, docs/spec/sphinx.md §10).
//
// The filter lives in a file mapped MAP_SHARED, so every bit set is in the
// kernel's page cache the moment it is set: a mix killed with SIGKILL and
// restarted reopens the file and still rejects every packet it accepted.
// Only a power loss or kernel crash can lose the bits set since the last
// msync, which runs every SyncInterval (default ten seconds: each sync
// write-protects every page it writes back, which costs a fault per page on
// the forwarding path, so syncing every second was a measurable share of a
// busy mix's CPU) and on Close.
//
// The filter is blocked: a tag's k bits fall into two 512-bit blocks (two
// cache lines) chosen from the tag, rather than into k places spread over
// the whole file, so a check costs two cache misses, not k. Files of the
// classic layout (format version 1) are refused by name.
//
// Memory is bounded: Params (from ParamsFor) fix the number of tags the
// filter accepts and its false-positive rate. A full filter refuses new
// tags (Full), which the mix counts and drops; it never panics and never
// silently accepts a possible replay. Nor is a file ever reset: a file whose
// header does not match the expected parameters is an error, because a
// reset would reopen the replay window.
//
// TestAndSet is safe for concurrent use by the crypto workers and allocates
// nothing. Bits are set with atomic OR on 64-bit words; a small array of
// stripe locks keyed by the tag makes the whole k-bit test-and-set atomic
// for copies of one packet racing through two workers (atomic ORs alone
// would let both copies set a different first bit and both pass).
package replay
