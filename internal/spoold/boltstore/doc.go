// Package boltstore is spoold's embedded backend: the user database and
// the spool in two bbolt files, implementing spoolproto.Store.
//
// # Files
//
// The user database ([Provider.UserDB.Bolt] UserDB, default
// DataDir/users.db) has two buckets:
//
//	users/<user>      user record (link key, identity key)
//	ephemeral/<user>  mark record: the user was created ephemeral
//	                  (AddEphemeralIfAbsent, ipc/spoolproto/PROTOCOL.md
//	                  §1.4), so a later mixd lists it (ListEphemeral, in
//	                  the bucket's byte order) and purges it when gone
//
// A user and its mark are written in one transaction and deleted in one
// (RemoveUser, PurgeUser), so a mark never outlives its user; AddUser
// writes no mark and clears a stray one, and PurgeUser leaves a user
// without a mark alone (the operator's users are permanent). A file written before the
// "ephemeral" bucket existed opens as it is: Open creates the bucket,
// empty, and the users already there stay ordinary users.
//
// The spool ([Provider.SpoolDB.Bolt] SpoolDB, default DataDir/spool.db)
// has one bucket, "spool", holding a bucket per user that has messages:
//
//	spool/<user>/n           message count, uint64 big-endian
//	spool/<user>/msgs/<seq>  message record; seq is uint64 big-endian, so
//	                         the bucket's order is arrival order (FIFO)
//	spool/<user>/ids/<id>    seq of the message with that 16-byte id
//
// A user's bucket is deleted with its last message. Both files are created
// 0600 and locked while open: a second spoold on the same files fails at
// Open. The record formats are in records.go.
//
// # Durability and batching
//
// Every change is committed, and the file synced, before the method
// returns: what StoreMessage acknowledged survives a crash. Stores and
// removals go through bbolt's DB.Batch, which commits concurrent callers'
// changes in one transaction and one sync (group commit), so throughput
// does not collapse to one sync per message; Options.NoBatch turns that off
// (for the benchmark in docs/bench/spoold.md). A function in a batch may run
// more than once, so every one is idempotent, and refusals (spool full) are
// results rather than errors, so that one refusal does not roll back its
// batch.
//
// The two files are separate (as the spec's configuration has them), so
// removing a user is two commits: the user record first, then the spool.
// Open removes spools whose user no longer exists, left by a crash between
// the two, and marks whose user no longer exists (which no commit leaves,
// but a hand-edited file might, and which would make a later user of that
// name ephemeral).
//
// SECURITY: link keys are compared in constant time. No error names a user.
package boltstore
