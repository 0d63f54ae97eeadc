// Package secmem keeps secret bytes (private key seeds and scalars) in memory
// that the kernel does not swap, does not write into core dumps and does not
// copy into forked children.
//
// An Arena is one anonymous private mapping made with mmap(2), outside the Go
// heap, so the garbage collector never moves or copies what it holds. New
// applies, in order:
//
//   - mlock(2): the pages are never written to swap;
//   - madvise(MADV_DONTDUMP): the pages are left out of core dumps;
//   - madvise(MADV_WIPEONFORK): a child made by fork(2) sees zeroes.
//
// Buffers are carved out of the arena in 64-byte chunks. Buffer.Free and
// Arena.Close overwrite the bytes with zeroes before they are reused or
// unmapped.
//
// # When locking fails
//
// mlock is limited by RLIMIT_MEMLOCK (often 64 KiB or 8 MiB for unprivileged
// users; systemd's LimitMEMLOCK=). If mlock or either madvise call fails, New
// still returns a working arena and reports the failure through
// Arena.Protection: the daemon logs a WARNING and continues, which is what a
// developer running from a shell wants. In production the units set
// LimitMEMLOCK= high enough and the warning does not appear. Arenas are small
// (keyd uses one of 64 KiB), so the limit is rarely an issue.
//
// # What this does not protect
//
// Only bytes the caller keeps in a Buffer are protected. Go's cryptographic
// code makes transient copies of keys on the goroutine stack and, for some
// types, keeps expanded forms on the heap (see package internal/keyd/keystore
// for the exact list). Those copies are protected only by the process-wide
// measures of daemon.Harden: PR_SET_DUMPABLE=0 (no ptrace by the same uid,
// /proc/PID/mem unreadable) and RLIMIT_CORE=0 (no core file).
package secmem
