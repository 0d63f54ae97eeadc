package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"golang.org/x/crypto/blake2b"
)

// File header (docs/spec/replay.md §3). All integers little-endian. The
// header is a full page so that the bit array starts page-aligned (and
// 8-byte aligned for atomic access).
const (
	headerSize = 4096
	magic      = "SPLXRPL2" // version 2: the blocked layout
	// magicV1 is the classic layout (k bits spread over the whole array),
	// which this version cannot read: its bit positions differ.
	magicV1 = "SPLXRPL1"

	offCapacity = 8
	offFPRate   = 16
	offBits     = 24
	offHashes   = 32 // uint32, then 4 zero bytes
	offEpoch    = 40
	offKey      = 48
	offChecksum = 80 // BLAKE2b-256 of bytes [0:80)
	offCount    = 112
	paramsEnd   = offChecksum
)

// ErrHeader is wrapped by every header decoding error.
var ErrHeader = errors.New("replay: bad filter file header")

func encodeHeader(p *Params) []byte {
	h := make([]byte, headerSize)
	copy(h, magic)
	binary.LittleEndian.PutUint64(h[offCapacity:], p.Capacity)
	binary.LittleEndian.PutUint64(h[offFPRate:], math.Float64bits(p.FPRate))
	binary.LittleEndian.PutUint64(h[offBits:], p.Bits)
	binary.LittleEndian.PutUint32(h[offHashes:], p.Hashes)
	binary.LittleEndian.PutUint64(h[offEpoch:], p.Epoch)
	copy(h[offKey:], p.Key[:])
	sum := blake2b.Sum256(h[:paramsEnd])
	copy(h[offChecksum:], sum[:])
	return h
}

// decodeHeader parses and checks a header; it returns the parameters and
// the persisted count.
func decodeHeader(h []byte) (Params, uint64, error) {
	var p Params
	if len(h) < headerSize {
		return p, 0, fmt.Errorf("%w: %d bytes, want %d", ErrHeader, len(h), headerSize)
	}
	if string(h[:len(magicV1)]) == magicV1 {
		return p, 0, fmt.Errorf("%w: format version 1 (classic Bloom layout, written before the blocked layout of version 2); "+
			"its bits cannot be read by this version and it is never converted or reset (that would accept its packets again)", ErrHeader)
	}
	if string(h[:len(magic)]) != magic {
		return p, 0, fmt.Errorf("%w: not a replay filter (magic %q)", ErrHeader, h[:len(magic)])
	}
	sum := blake2b.Sum256(h[:paramsEnd])
	if !bytes.Equal(sum[:], h[offChecksum:offChecksum+32]) {
		return p, 0, fmt.Errorf("%w: parameter checksum mismatch (file corrupt)", ErrHeader)
	}
	if !isZero(h[offHashes+4:offEpoch]) || !isZero(h[offChecksum+32:offCount]) || !isZero(h[offCount+8:]) {
		return p, 0, fmt.Errorf("%w: reserved bytes not zero", ErrHeader)
	}
	p.Capacity = binary.LittleEndian.Uint64(h[offCapacity:])
	p.FPRate = math.Float64frombits(binary.LittleEndian.Uint64(h[offFPRate:]))
	p.Bits = binary.LittleEndian.Uint64(h[offBits:])
	p.Hashes = binary.LittleEndian.Uint32(h[offHashes:])
	p.Epoch = binary.LittleEndian.Uint64(h[offEpoch:])
	copy(p.Key[:], h[offKey:])
	if err := p.Validate(); err != nil {
		return p, 0, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	count := binary.LittleEndian.Uint64(h[offCount:])
	if count > p.Capacity {
		return p, 0, fmt.Errorf("%w: count %d above capacity %d", ErrHeader, count, p.Capacity)
	}
	return p, count, nil
}

func isZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}
