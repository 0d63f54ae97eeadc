// Package droprand is the random source behind the scheduler queues'
// random drop (Debug.SchedulerQueueSize in docs/spec/mix-server.md).
//
// Which packet a full queue drops must not be predictable from outside, or
// an attacker who floods a node could aim the drops; so the source is ChaCha8
// seeded from crypto/rand. Tests pass a fixed seed to be deterministic.
package droprand

import (
	"crypto/rand"
	mrand "math/rand/v2"
)

// New returns a source seeded with *seed, or from crypto/rand if seed is
// nil. The result is not safe for concurrent use; the queues call it under
// their own lock.
func New(seed *[32]byte) *mrand.Rand {
	var s [32]byte
	if seed != nil {
		s = *seed
	} else {
		// crypto/rand.Read never returns an error on supported platforms
		// (it crashes the program instead), per its documentation.
		_, _ = rand.Read(s[:])
	}
	return mrand.New(mrand.NewChaCha8(s))
}
