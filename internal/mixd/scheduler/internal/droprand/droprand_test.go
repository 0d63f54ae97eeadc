package droprand

import "testing"

func TestSeedIsDeterministic(t *testing.T) {
	seed := [32]byte{1, 2, 3}
	a, b := New(&seed), New(&seed)
	for i := range 100 {
		if x, y := a.Uint64(), b.Uint64(); x != y {
			t.Fatalf("draw %d: same seed gave %d and %d", i, x, y)
		}
	}
}

func TestUnseededSourcesDiffer(t *testing.T) {
	a, b := New(nil), New(nil)
	same := 0
	for range 8 {
		if a.Uint64() == b.Uint64() {
			same++
		}
	}
	if same == 8 {
		t.Fatal("two sources seeded from crypto/rand produced the same stream")
	}
}
