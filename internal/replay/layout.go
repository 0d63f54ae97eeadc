package replay

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
)

// The blocked layout of docs/spec/replay.md §2: which bits of the tag
// choose what.
const (
	blockWords  = blockBits / 64 // 64-bit words in a block
	fieldMask40 = 1<<40 - 1
	posBits     = 9  // log2(blockBits): one position within a block
	posStart    = 80 // bit offset of the first position field in the tag
)

// tagWords reads the tag as four little-endian 64-bit words: bit i of the
// tag is bit i%64 of word i/64.
func tagWords(tag *[32]byte) [4]uint64 {
	return [4]uint64{
		binary.LittleEndian.Uint64(tag[0:8]),
		binary.LittleEndian.Uint64(tag[8:16]),
		binary.LittleEndian.Uint64(tag[16:24]),
		binary.LittleEndian.Uint64(tag[24:32]),
	}
}

// blockOf maps a 40-bit field uniformly (to within blocks/2^40) onto
// [0, blocks): ⌊field · blocks / 2^40⌋, computed as the high word of a
// 64×64-bit product so that no division is needed.
func blockOf(field40, blocks uint64) uint64 {
	hi, _ := bits.Mul64(field40<<24, blocks)
	return hi
}

// posField is the j-th 9-bit position field, at tag bits
// [80+9j, 89+9j). j < 19, so the field ends by bit 251.
func posField(t *[4]uint64, j uint32) uint64 {
	off := posStart + posBits*uint(j)
	w, s := off/64, off%64
	v := t[w] >> s
	if s > 64-posBits {
		v |= t[w+1] << (64 - s)
	}
	return v & (blockBits - 1)
}

// allSet reports whether every bit of mask is set in the block.
func allSet(block []uint64, mask *[blockWords]uint64) bool {
	for i, m := range mask {
		if m != 0 && atomic.LoadUint64(&block[i])&m != m {
			return false
		}
	}
	return true
}

// setAll sets every bit of mask in the block.
func setAll(block []uint64, mask *[blockWords]uint64) {
	for i, m := range mask {
		if m != 0 {
			atomic.OrUint64(&block[i], m)
		}
	}
}
