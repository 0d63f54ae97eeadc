package client

// idSet remembers the last n ids added, forgetting the oldest first. It
// bounds the memory of duplicate suppression (docs/spec/client.md §8.4).
// It is not safe for concurrent use; its owner locks.
type idSet[K comparable] struct {
	ring []K
	next int
	full bool
	m    map[K]struct{}
}

func newIDSet[K comparable](n int) *idSet[K] {
	return &idSet[K]{ring: make([]K, n), m: make(map[K]struct{}, n)}
}

// has reports whether id is remembered.
func (s *idSet[K]) has(id K) bool {
	_, ok := s.m[id]
	return ok
}

// add remembers id, forgetting the oldest id if the set is full. Adding a
// remembered id does nothing.
func (s *idSet[K]) add(id K) {
	if len(s.ring) == 0 || s.has(id) {
		return
	}
	if s.full {
		delete(s.m, s.ring[s.next])
	}
	s.ring[s.next] = id
	s.m[id] = struct{}{}
	s.next++
	if s.next == len(s.ring) {
		s.next, s.full = 0, true
	}
}
