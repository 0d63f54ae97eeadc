package geo

import "testing"

func TestDefaultSizes(t *testing.T) {
	g := Default()
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if g.NrHops != 5 || g.HeaderLength != 416 || g.SURBLength != 480 || g.PacketLength != 2930 {
		t.Fatalf("default geometry changed: %v (header %d, SURB %d)", g, g.HeaderLength, g.SURBLength)
	}
}

func TestValidateRejectsTamperedDerivedField(t *testing.T) {
	g := Default()
	g.PacketLength++
	if err := g.Validate(); err == nil {
		t.Fatal("a PacketLength that does not match the formula was accepted")
	}
	for _, bad := range [][2]int{{0, 100}, {MaxHops + 1, 100}, {3, 0}, {3, MaxUserForwardPayloadLength + 1}} {
		if _, err := New(bad[0], bad[1]); err == nil {
			t.Errorf("New(%d, %d) accepted", bad[0], bad[1])
		}
	}
}

func TestHashDiffersByGeometry(t *testing.T) {
	a, b := Default(), Derive(4, 2000)
	if a.Hash() == b.Hash() {
		t.Fatal("different geometries hash alike")
	}
}
