package link

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
)

// frameHeaderLength is the sealed length header of a frame: u32 ‖ tag
// (docs/spec/link.md §5.2).
const frameHeaderLength = 4 + tagLen

// Session is an established link: the transport phase of §5. Send may be
// called from one goroutine while another calls Recv; calls of the same
// method are serialised.
type Session struct {
	conn         net.Conn
	limits       Limits
	maxRecord    int // longest body record accepted: Cmax + tag
	baseBuffer   int // buffer size that fits every fixed-length command's frame
	peerStatic   *keys.LinkPublicKey
	peerAuthBlob []byte
	clockSkew    time.Duration

	wmu  sync.Mutex
	tx   *cipherState
	wbuf []byte
	werr error

	rmu  sync.Mutex
	rx   *cipherState
	rhdr [frameHeaderLength]byte
	rbuf []byte
	rerr error
	cmds commandSet

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// newSession starts the transport phase on conn with the keys from Split.
func newSession(conn net.Conn, sendKey, recvKey [keyLen]byte, limits Limits) *Session {
	s := &Session{
		conn:       conn,
		limits:     limits,
		maxRecord:  limits.maxCommand() + tagLen,
		baseBuffer: frameHeaderLength + limits.fixedCommand() + tagLen,
		tx:         newCipherState(sendKey),
		rx:         newCipherState(recvKey),
	}
	return s
}

// PeerStatic is the peer's static link key: for the initiator the key it
// expected, for the responder the key the initiator proved it holds.
func (s *Session) PeerStatic() *keys.LinkPublicKey { k := *s.peerStatic; return &k }

// PeerAuthBlob is the initiator's authentication blob on the responder's
// side, and nil on the initiator's.
func (s *Session) PeerAuthBlob() []byte { return append([]byte(nil), s.peerAuthBlob...) }

// ClockSkew is, on the initiator's side, how far the responder's clock was
// ahead of ours during the handshake (§4.4); zero on the responder's side.
func (s *Session) ClockSkew() time.Duration { return s.clockSkew }

// Limits returns the limits the session enforces.
func (s *Session) Limits() Limits { return s.limits }

// RemoteAddr is the peer's network address.
func (s *Session) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// SetReadDeadline bounds the current and future Recv calls, as
// net.Conn.SetReadDeadline. An expired deadline ends the session: a frame
// may have been half read.
func (s *Session) SetReadDeadline(t time.Time) error { return s.conn.SetReadDeadline(t) }

// SetWriteDeadline bounds Send calls, as net.Conn.SetWriteDeadline. An
// expired deadline ends the session: a frame may have been half written.
func (s *Session) SetWriteDeadline(t time.Time) error { return s.conn.SetWriteDeadline(t) }

// Send seals cmd in one frame and writes it (§5.2). A command that does not
// fit the limits is refused with ErrBadCommand and the session stays
// usable; any other error is final.
func (s *Session) Send(cmd Command) error {
	n, err := encodedLength(cmd, &s.limits)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.werr != nil {
		return s.werr
	}
	if err := s.send(cmd, n); err != nil {
		if s.closed.Load() {
			err = ErrClosed
		}
		s.werr = err
		s.tx.wipe()
		return err
	}
	return nil
}

func (s *Session) send(cmd Command, n int) error {
	need := frameHeaderLength + n + tagLen
	if s.wbuf == nil {
		s.wbuf = make([]byte, s.baseBuffer)
	}
	buf := s.wbuf
	if cap(buf) < need {
		buf = make([]byte, need) // only commands above the fixed sizes get here
	}
	binary.BigEndian.PutUint32(buf[:4], uint32(n+tagLen))
	if _, err := s.tx.seal(buf[:0], buf[:4]); err != nil {
		return err
	}
	body := appendValid(buf[frameHeaderLength:frameHeaderLength], cmd, &s.limits)
	sealed, err := s.tx.seal(body[:0], body)
	if err != nil {
		return err
	}
	if _, err := s.conn.Write(buf[:frameHeaderLength+len(sealed)]); err != nil {
		return fmt.Errorf("link: writing frame: %w", err)
	}
	return nil
}

// Recv reads, opens and decodes the next frame (§5.2, §6). The returned
// command and the byte slices in it belong to the session and are valid
// until the next call to Recv; copy what must live longer. Every error is
// final: io.EOF (wrapped) when the peer closed the stream between frames,
// ErrFrameTooLarge, ErrBadFrame, ErrBadCommand, or an I/O error.
func (s *Session) Recv() (Command, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if s.rerr != nil {
		return nil, s.rerr
	}
	cmd, err := s.recv()
	if err != nil {
		if s.closed.Load() {
			err = ErrClosed
		}
		s.rerr = err
		s.rx.wipe()
		return nil, err
	}
	return cmd, nil
}

func (s *Session) recv() (Command, error) {
	if s.rbuf == nil || cap(s.rbuf) > s.baseBuffer {
		s.rbuf = make([]byte, s.baseBuffer) // first use, or let a large frame's buffer go
	}
	if _, err := io.ReadFull(s.conn, s.rhdr[:]); err != nil {
		return nil, fmt.Errorf("link: reading frame header: %w", err)
	}
	hdr, err := s.rx.open(s.rhdr[:0], s.rhdr[:])
	if err != nil {
		return nil, fmt.Errorf("%w: header", err)
	}
	length := int64(binary.BigEndian.Uint32(hdr))
	if length > int64(s.maxRecord) {
		return nil, fmt.Errorf("%w: %d bytes announced, at most %d", ErrFrameTooLarge, length, s.maxRecord)
	}
	if length < 1+tagLen {
		return nil, fmt.Errorf("%w: %d-byte body", ErrBadFrame, length)
	}
	if int64(cap(s.rbuf)) < length {
		s.rbuf = make([]byte, length)
	}
	body := s.rbuf[:length]
	if _, err := io.ReadFull(s.conn, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("link: reading frame body: %w", err)
	}
	plain, err := s.rx.open(body[:0], body)
	if err != nil {
		return nil, fmt.Errorf("%w: body", err)
	}
	return decodeCommand(plain, &s.limits, &s.cmds)
}

// Close closes the connection. Blocked Send and Recv calls return
// ErrClosed. Close does not send Disconnect; send it first if the peer
// should know.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.closeErr = s.conn.Close()
	})
	return s.closeErr
}
