package authority

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
)

func randomIDs(r *rand.Rand, n int) []keys.NodeID {
	ids := make([]keys.NodeID, n)
	for i := range ids {
		for j := range ids[i] {
			ids[i][j] = byte(r.IntN(256))
		}
	}
	return ids
}

// TestAssignLayersProperties checks on random inputs: every mix placed
// once; sizes within one of each other; deterministic regardless of input
// order; and no more mixes moved than balance requires.
func TestAssignLayersProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		n := 1 + r.IntN(3)
		prevIDs := randomIDs(r, r.IntN(12))
		prev := map[keys.NodeID]int{}
		for _, id := range prevIDs {
			prev[id] = r.IntN(n + 1) // sometimes a layer that no longer exists
		}
		// Keep a random subset of the previous mixes, add new ones.
		var mixes []keys.NodeID
		for _, id := range prevIDs {
			if r.IntN(3) > 0 {
				mixes = append(mixes, id)
			}
		}
		mixes = append(mixes, randomIDs(r, r.IntN(6))...)
		got := assignLayers(prev, mixes, n)
		if len(got) != n {
			t.Fatalf("trial %d: %d layers, want %d", trial, len(got), n)
		}
		seen := map[keys.NodeID]int{}
		lo, hi := len(mixes), 0
		for l, layer := range got {
			lo, hi = min(lo, len(layer)), max(hi, len(layer))
			for _, id := range layer {
				if _, dup := seen[id]; dup {
					t.Fatalf("trial %d: mix placed twice", trial)
				}
				seen[id] = l
			}
		}
		if len(seen) != len(mixes) || hi-lo > 1 {
			t.Fatalf("trial %d: %d of %d placed, sizes %d..%d", trial, len(seen), len(mixes), lo, hi)
		}
		shuffled := slices.Clone(mixes)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again := assignLayers(prev, shuffled, n)
		for l := range got {
			if !slices.Equal(got[l], again[l]) {
				t.Fatalf("trial %d: result depends on input order", trial)
			}
		}
		// Lower bound on moves: mixes kept from a valid previous layer
		// beyond that layer's upper size bound must move; nothing else.
		q, rem := len(mixes)/n, len(mixes)%n
		upper := q
		if rem > 0 {
			upper++
		}
		kept := make([]int, n)
		for _, id := range mixes {
			if l, ok := prev[id]; ok && l < n {
				kept[l]++
			}
		}
		need, atUpper := 0, 0
		for _, k := range kept {
			if k > upper {
				need += k - upper
			}
			if k >= upper && rem > 0 {
				atUpper++
			}
		}
		if rem > 0 && atUpper > rem {
			need += atUpper - rem
		}
		moved := 0
		for _, id := range mixes {
			if l, ok := prev[id]; ok && l < n && seen[id] != l {
				moved++
			}
		}
		if moved != need {
			t.Fatalf("trial %d: %d mixes moved, balance needs %d (kept %v, %d mixes, %d layers)", trial, moved, need, kept, len(mixes), n)
		}
	}
}
