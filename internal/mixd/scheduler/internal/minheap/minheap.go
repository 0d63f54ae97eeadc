// Package minheap is the binary min-heap under both scheduler queues: the
// memory queue keeps whole items in it, the disk queue keeps only the keys
// of what is on disk. Unlike container/heap it is generic over the value,
// so pushing and popping neither box values in interfaces nor allocate once
// the backing slice has grown to the queue's working size, and it can remove
// the element at any index, which random drop needs.
package minheap

// Key orders the heap: earliest dispatch time first, and among equal times
// the lower sequence number (the earlier push) first, so that ties leave in
// the order they came in.
type Key struct {
	At  int64  // dispatch time, Unix nanoseconds
	Seq uint64 // push order, unique within one queue
}

// Less reports whether k sorts before o.
func (k Key) Less(o Key) bool {
	if k.At != o.At {
		return k.At < o.At
	}
	return k.Seq < o.Seq
}

// Elem is one heap element: the key it is ordered by and its value.
type Elem[V any] struct {
	Key Key
	Val V
}

// Heap is a min-heap of Elem ordered by Key. The zero value is an empty heap.
// It is not safe for concurrent use.
type Heap[V any] struct {
	s []Elem[V]
}

// New returns an empty heap whose backing array has room for prealloc
// elements before it has to grow.
func New[V any](prealloc int) *Heap[V] {
	if prealloc < 0 {
		prealloc = 0
	}
	return &Heap[V]{s: make([]Elem[V], 0, prealloc)}
}

// Len returns the number of elements.
func (h *Heap[V]) Len() int { return len(h.s) }

// Min returns the smallest element without removing it.
func (h *Heap[V]) Min() (Elem[V], bool) {
	if len(h.s) == 0 {
		return Elem[V]{}, false
	}
	return h.s[0], true
}

// At returns the element at index i (0 <= i < Len) in heap order, which is
// not sorted order; random drop uses it to pick an element uniformly.
func (h *Heap[V]) At(i int) Elem[V] { return h.s[i] }

// Push adds e.
func (h *Heap[V]) Push(e Elem[V]) {
	h.s = append(h.s, e)
	h.up(len(h.s) - 1)
}

// PopMin removes and returns the smallest element. The heap must not be
// empty.
func (h *Heap[V]) PopMin() Elem[V] { return h.RemoveAt(0) }

// RemoveAt removes and returns the element at index i (0 <= i < Len).
func (h *Heap[V]) RemoveAt(i int) Elem[V] {
	last := len(h.s) - 1
	e := h.s[i]
	if i != last {
		h.s[i] = h.s[last]
	}
	// Clear the vacated slot so the heap does not keep the caller's
	// buffer reachable after the element has left.
	h.s[last] = Elem[V]{}
	h.s = h.s[:last]
	if i < last {
		if !h.down(i) {
			h.up(i)
		}
	}
	return e
}

// Reset empties the heap, keeping its backing array.
func (h *Heap[V]) Reset() {
	clear(h.s)
	h.s = h.s[:0]
}

// up and down move a "hole" rather than swapping: the element is held
// aside and written once at its final place, which halves the copying of
// these 40-odd-byte elements.

func (h *Heap[V]) up(i int) {
	e := h.s[i]
	for i > 0 {
		parent := (i - 1) / 2
		if !e.Key.Less(h.s[parent].Key) {
			break
		}
		h.s[i] = h.s[parent]
		i = parent
	}
	h.s[i] = e
}

// down sifts the element at i towards the leaves and reports whether it
// moved.
func (h *Heap[V]) down(i int) bool {
	start := i
	n := len(h.s)
	e := h.s[i]
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if r := child + 1; r < n && h.s[r].Key.Less(h.s[child].Key) {
			child = r
		}
		if !h.s[child].Key.Less(e.Key) {
			break
		}
		h.s[i] = h.s[child]
		i = child
	}
	h.s[i] = e
	return i > start
}
