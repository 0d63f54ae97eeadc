package pki

import "github.com/splitmix/splitmix/internal/keys"

// Node returns the entry of the node with this id, and its layer
// (ProviderLayer for a Provider).
func (d *Document) Node(id keys.NodeID) (entry *NodeEntry, layer int, ok bool) {
	for l := range d.Layers {
		for i := range d.Layers[l] {
			if d.Layers[l][i].NodeID() == id {
				return &d.Layers[l][i], l, true
			}
		}
	}
	for i := range d.Providers {
		if d.Providers[i].NodeID() == id {
			return &d.Providers[i], ProviderLayer, true
		}
	}
	return nil, 0, false
}

// LayerOf returns the node's layer: 0..len(Layers)-1 for a mix,
// ProviderLayer for a Provider.
func (d *Document) LayerOf(id keys.NodeID) (layer int, ok bool) {
	_, layer, ok = d.Node(id)
	return layer, ok
}

// NextLayer returns the nodes a node of the given layer sends to
// (docs/spec/dirauth.md §5.5): a Provider's next layer is Layers[0], the
// last mix layer's is the Providers.
func (d *Document) NextLayer(layer int) []NodeEntry {
	switch {
	case layer == ProviderLayer:
		return d.Layers[0]
	case layer >= 0 && layer < len(d.Layers)-1:
		return d.Layers[layer+1]
	case layer == len(d.Layers)-1:
		return d.Providers
	}
	return nil
}

// PreviousLayer returns the nodes that send to a node of the given layer:
// Layers[0] receives from the Providers, the Providers from the last mix
// layer.
func (d *Document) PreviousLayer(layer int) []NodeEntry {
	switch {
	case layer == ProviderLayer:
		return d.Layers[len(d.Layers)-1]
	case layer == 0:
		return d.Providers
	case layer > 0 && layer < len(d.Layers):
		return d.Layers[layer-1]
	}
	return nil
}
