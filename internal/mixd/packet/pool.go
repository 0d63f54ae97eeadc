// Package packet holds mixd's packet buffers: a bounded free list of
// fixed-size buffers, so the packet path (link -> crypto worker -> scheduler
// -> send queue -> link) reuses memory instead of allocating per packet.
//
// A buffer is PacketLength + keys.NodeIDSize bytes: the Sphinx packet,
// followed, once the packet has been unwrapped, by the NodeID of the hop it
// goes to next. The scheduler stores the whole buffer as one item (so the
// disk-backed queue keeps the next hop across a restart) and the dispatcher
// reads the next hop back from the tail.
package packet

import (
	"errors"

	"github.com/splitmix/splitmix/internal/keys"
)

// Pool is a bounded free list of buffers of one size. Get never blocks:
// when the list is empty it allocates; Put never blocks: when the list is
// full the buffer is left to the garbage collector. It is safe for
// concurrent use.
type Pool struct {
	packetLen int
	free      chan []byte
}

// NewPool returns a pool of buffers for packets of packetLen bytes, keeping
// at most keep free buffers.
func NewPool(packetLen, keep int) (*Pool, error) {
	if packetLen <= 0 || keep < 0 {
		return nil, errors.New("packet: invalid pool size")
	}
	return &Pool{packetLen: packetLen, free: make(chan []byte, keep)}, nil
}

// PacketLength is the Sphinx packet length the pool's buffers hold.
func (p *Pool) PacketLength() int { return p.packetLen }

// BufferLength is the length of every buffer: the packet and a NodeID.
func (p *Pool) BufferLength() int { return p.packetLen + keys.NodeIDSize }

// Get returns a buffer of BufferLength bytes. Its contents are undefined.
func (p *Pool) Get() []byte {
	select {
	case b := <-p.free:
		return b
	default:
		return make([]byte, p.BufferLength())
	}
}

// Put returns b to the pool. Buffers of the wrong size (for instance read
// back from a disk queue written under another geometry) are not kept.
func (p *Pool) Put(b []byte) {
	if cap(b) < p.BufferLength() {
		return
	}
	b = b[:p.BufferLength()]
	select {
	case p.free <- b:
	default:
	}
}

// SetNextHop writes the next hop's id after the packet in b.
func (p *Pool) SetNextHop(b []byte, id *keys.NodeID) {
	copy(b[p.packetLen:p.packetLen+keys.NodeIDSize], id[:])
}

// Split returns the packet and the next hop's id of a buffer filled by
// SetNextHop; ok is false if b has the wrong length.
func (p *Pool) Split(b []byte) (pkt []byte, next keys.NodeID, ok bool) {
	if len(b) != p.BufferLength() {
		return nil, next, false
	}
	copy(next[:], b[p.packetLen:])
	return b[:p.packetLen], next, true
}
