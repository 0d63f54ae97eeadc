package minheap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPopMinIsSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := New[int](0)
	var want []Key
	for i := range 1000 {
		k := Key{At: r.Int64N(50), Seq: uint64(i)}
		want = append(want, k)
		h.Push(Elem[int]{Key: k, Val: i})
	}
	slices.SortFunc(want, func(a, b Key) int {
		if a.Less(b) {
			return -1
		}
		if b.Less(a) {
			return 1
		}
		return 0
	})
	for i, w := range want {
		got := h.PopMin()
		if got.Key != w {
			t.Fatalf("pop %d: got %+v, want %+v", i, got.Key, w)
		}
		if int(got.Key.Seq) != got.Val {
			t.Fatalf("pop %d: value %d travelled with key seq %d", i, got.Val, got.Key.Seq)
		}
	}
	if h.Len() != 0 {
		t.Fatalf("heap not empty: %d", h.Len())
	}
}

func TestRemoveAtKeepsHeapOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h := New[struct{}](16)
	live := map[Key]bool{}
	for i := range 2000 {
		k := Key{At: r.Int64N(100), Seq: uint64(i)}
		h.Push(Elem[struct{}]{Key: k})
		live[k] = true
		if h.Len() > 20 {
			e := h.RemoveAt(r.IntN(h.Len()))
			if !live[e.Key] {
				t.Fatalf("removed unknown key %+v", e.Key)
			}
			delete(live, e.Key)
		}
		checkHeap(t, h)
	}
	var prev *Key
	for h.Len() > 0 {
		e := h.PopMin()
		if prev != nil && e.Key.Less(*prev) {
			t.Fatalf("out of order: %+v after %+v", e.Key, *prev)
		}
		delete(live, e.Key)
		prev = &e.Key
	}
	if len(live) != 0 {
		t.Fatalf("%d keys lost", len(live))
	}
}

func TestRemoveAtClearsSlot(t *testing.T) {
	h := New[*int](4)
	v := 7
	h.Push(Elem[*int]{Key: Key{At: 1}, Val: &v})
	h.Push(Elem[*int]{Key: Key{At: 2}, Val: &v})
	h.RemoveAt(1)
	if got := h.s[:2][1].Val; got != nil {
		t.Fatal("vacated slot still references the value")
	}
}

func checkHeap(t *testing.T, h *Heap[struct{}]) {
	t.Helper()
	for i := 1; i < h.Len(); i++ {
		if h.At(i).Key.Less(h.At((i - 1) / 2).Key) {
			t.Fatalf("heap property broken at %d", i)
		}
	}
}
