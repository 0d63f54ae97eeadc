package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// frameHeaderSize is the length prefix: a big-endian uint32.
// See ipc/PROTOCOL.md §2.
const frameHeaderSize = 4

// Frame errors. ReadFrame wraps them with the sizes involved; use errors.Is.
var (
	ErrFrameTooLarge = errors.New("ipc: frame larger than the limit")
	ErrEmptyFrame    = errors.New("ipc: empty frame")
)

// ReadFrame reads one length-prefixed frame of at most max payload bytes.
// The length is checked before anything is allocated, so a peer announcing
// 4 GiB costs nothing. A connection that ends cleanly before the first
// header byte gives io.EOF; one that ends inside a frame gives
// io.ErrUnexpectedEOF. See ipc/PROTOCOL.md §2.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err // io.EOF, io.ErrUnexpectedEOF or the transport's error
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return nil, ErrEmptyFrame
	}
	if max < 0 || uint64(n) > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, n, max)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return payload, nil
}

// AppendFrame appends the frame carrying payload to dst. It refuses an
// empty payload or one over max, so a sender never emits a frame its peer
// must reject. See ipc/PROTOCOL.md §2.
func AppendFrame(dst, payload []byte, max int) ([]byte, error) {
	if len(payload) == 0 {
		return dst, ErrEmptyFrame
	}
	if len(payload) > max || uint64(len(payload)) > 0xffffffff {
		return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(payload), max)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...), nil
}

// WriteFrame writes payload as one frame with a single Write, so that
// concurrent writers serialised by a mutex never interleave.
func WriteFrame(w io.Writer, payload []byte, max int) error {
	buf, err := AppendFrame(make([]byte, 0, frameHeaderSize+len(payload)), payload, max)
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}
