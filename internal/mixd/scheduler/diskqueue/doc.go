// Package diskqueue is the scheduler's external memory queue
// (Debug.SchedulerExternalMemoryQueue in docs/spec/mix-server.md): a
// scheduler.Queue whose packets live in a bbolt file, so a node can hold
// more delayed packets than it has RAM for.
//
// # File
//
// One file, Dir/scheduler-queue.db (mode 0600), one bucket "queue". Each
// packet is one key/value pair:
//
//	key   = dispatch time (8 bytes) ‖ sequence number (8 bytes)
//	value = version (1 byte, 1) ‖ Meta (8 bytes) ‖ packet
//
// All integers are big-endian. The dispatch time is Unix nanoseconds with
// its sign bit flipped, so that bytewise key order is numeric order for
// every int64 and a cursor's First is the earliest packet; the sequence
// number breaks ties in push order. The packet is at most
// Options.MaxPayload bytes.
//
// # Memory
//
// Uniform random drop (Debug.SchedulerQueueSize) needs to pick the k-th
// entry for a random k, which a B+tree without counts cannot do, so the
// queue keeps an index of the keys in memory: a min-heap of 16-byte keys
// (24 bytes a packet with slice overhead, against the kilobytes of the
// packet itself). The index also answers Earliest and Len without touching
// the file.
//
// # Durability
//
// Open keeps every well-formed entry it finds, so a restart does not lose
// queued packets; entries that do not decode are deleted and counted
// (Recovery), and if the file holds more than Capacity entries, random
// ones are dropped down to it. Whether packets from an earlier run are
// still worth sending is the caller's decision: their Sphinx keys may have
// expired, and Scheduler's Slack drops those that are overdue anyway.
//
// With Options.Sync false (the default) commits are not fsynced: a crash
// of the process loses nothing, a crash of the machine may lose the latest
// packets or, in the worst case, the file, which Open then reports as an
// error naming it; the operator may delete it. Packets in a mix are
// transient and the network tolerates loss, so speed wins by default.
//
// Every call holds the queue's mutex for one bbolt transaction: a push is
// one write transaction, a PopDue one for the whole burst.
//
// SECURITY: the file holds Sphinx packets after this hop's layer has been
// removed, so it is as sensitive as mixd's memory; it is created 0600 in a
// directory created 0700, and nothing here logs.
package diskqueue
