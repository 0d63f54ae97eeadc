package diskqueue

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/splitmix/splitmix/internal/mixd/scheduler/internal/minheap"
)

// On-disk entry layout; see the package documentation, "File".
const (
	keyLen       = 16
	valueVersion = 1
	valueHeader  = 1 + 8 // version ‖ Meta
	signFlip     = 1 << 63
)

var (
	errKeyLength    = errors.New("diskqueue: entry key is not 16 bytes")
	errValueShort   = errors.New("diskqueue: entry value shorter than its header")
	errValueVersion = errors.New("diskqueue: entry value has an unknown version")
)

// encodeKey writes k's on-disk form into dst.
func encodeKey(dst *[keyLen]byte, k minheap.Key) {
	binary.BigEndian.PutUint64(dst[:8], uint64(k.At)^signFlip)
	binary.BigEndian.PutUint64(dst[8:], k.Seq)
}

// decodeKey parses an on-disk key.
func decodeKey(b []byte) (minheap.Key, error) {
	if len(b) != keyLen {
		return minheap.Key{}, errKeyLength
	}
	return minheap.Key{
		At:  int64(binary.BigEndian.Uint64(b[:8]) ^ signFlip),
		Seq: binary.BigEndian.Uint64(b[8:]),
	}, nil
}

// encodeValue appends the on-disk value for a packet to dst.
func encodeValue(dst []byte, meta uint64, payload []byte) []byte {
	dst = append(dst, valueVersion)
	dst = binary.BigEndian.AppendUint64(dst, meta)
	return append(dst, payload...)
}

// decodeValue parses an on-disk value. payload aliases b: callers copy it
// before the transaction that produced b ends.
func decodeValue(b []byte, maxPayload int) (meta uint64, payload []byte, err error) {
	if len(b) < valueHeader {
		return 0, nil, errValueShort
	}
	if b[0] != valueVersion {
		return 0, nil, errValueVersion
	}
	payload = b[valueHeader:]
	if len(payload) > maxPayload {
		return 0, nil, fmt.Errorf("diskqueue: entry holds a %d-byte packet, more than the maximum %d", len(payload), maxPayload)
	}
	return binary.BigEndian.Uint64(b[1:valueHeader]), payload, nil
}
