package authority

import (
	"bytes"
	"slices"

	"github.com/splitmix/splitmix/internal/keys"
)

// assignLayers deals the mixes (any order) over n layers as
// docs/spec/dirauth.md §7 specifies: every layer ends with floor(m/n) or
// ceil(m/n) mixes; a mix keeps the layer prev gives it unless its layer is
// over that bound; the rest fill the least populated layers. The result
// depends only on the inputs; each layer is sorted by NodeID.
func assignLayers(prev map[keys.NodeID]int, mixes []keys.NodeID, n int) [][]keys.NodeID {
	sorted := slices.Clone(mixes)
	slices.SortFunc(sorted, func(a, b keys.NodeID) int { return bytes.Compare(a[:], b[:]) })
	sorted = slices.Compact(sorted)
	q, r := len(sorted)/n, len(sorted)%n
	limit := q // the most mixes a layer may keep
	if r > 0 {
		limit = q + 1
	}

	layers := make([][]keys.NodeID, n)
	var free []keys.NodeID
	for _, id := range sorted { // ascending, so a full layer keeps its lowest ids
		l, ok := prev[id]
		if ok && l >= 0 && l < n && len(layers[l]) < limit {
			layers[l] = append(layers[l], id)
		} else {
			free = append(free, id)
		}
	}
	// At most r layers may hold q+1. Release the highest id of the
	// highest-numbered layer at q+1 until that holds.
	if r > 0 {
		for full := countLen(layers, q+1); full > r; full-- {
			for l := n - 1; l >= 0; l-- {
				if len(layers[l]) == q+1 {
					free = append(free, layers[l][q])
					layers[l] = layers[l][:q]
					break
				}
			}
		}
	}
	slices.SortFunc(free, func(a, b keys.NodeID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range free {
		best := 0
		for l := 1; l < n; l++ {
			if len(layers[l]) < len(layers[best]) {
				best = l
			}
		}
		layers[best] = append(layers[best], id)
	}
	for _, layer := range layers {
		slices.SortFunc(layer, func(a, b keys.NodeID) int { return bytes.Compare(a[:], b[:]) })
	}
	return layers
}

func countLen(layers [][]keys.NodeID, n int) int {
	c := 0
	for _, l := range layers {
		if len(l) == n {
			c++
		}
	}
	return c
}
