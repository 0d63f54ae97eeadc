package packet

import (
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
)

func TestPoolReusesBuffersAndCarriesNextHop(t *testing.T) {
	p, err := NewPool(100, 2)
	if err != nil {
		t.Fatal(err)
	}
	b := p.Get()
	if len(b) != 100+keys.NodeIDSize {
		t.Fatalf("buffer length %d", len(b))
	}
	var id keys.NodeID
	id[0], id[31] = 7, 9
	b[0] = 1
	p.SetNextHop(b, &id)
	pkt, next, ok := p.Split(b)
	if !ok || len(pkt) != 100 || next != id || pkt[0] != 1 {
		t.Fatalf("Split = %d bytes, %v, %v", len(pkt), next, ok)
	}
	if _, _, ok := p.Split(b[:50]); ok {
		t.Fatal("Split accepted a short buffer")
	}
	p.Put(b)
	if got := p.Get(); &got[0] != &b[0] {
		t.Fatal("Get did not reuse the buffer put back")
	}
	p.Put(make([]byte, 10)) // too small: ignored
	if got := p.Get(); len(got) != p.BufferLength() {
		t.Fatal("a short buffer came back from the pool")
	}
	if n := testing.AllocsPerRun(100, func() { p.Put(p.Get()) }); n != 0 {
		t.Fatalf("Get/Put allocates %v times", n)
	}
	if _, err := NewPool(0, 1); err == nil {
		t.Fatal("NewPool(0) succeeded")
	}
}
