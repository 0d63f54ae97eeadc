package link

import (
	"encoding/binary"
	"errors"
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
	readBuffer   int // read buffer size: two such frames
	peerStatic   *keys.LinkPublicKey
	peerAuthBlob []byte
	clockSkew    time.Duration

	wmu  sync.Mutex
	tx   *cipherState
	wbuf []byte
	bbuf []byte // SendBatch's buffer, kept up to maxBatchBuffer
	werr error

	rmu sync.Mutex
	rx  *cipherState
	// rbuf holds what was read from conn: rbuf[rpos:rend] is not yet
	// consumed. Reading ahead into it, rather than exactly one header
	// and then one body, lets one read(2) bring a whole frame, often
	// more than one, under load.
	rbuf       []byte
	rpos, rend int
	rerr       error
	cmds       commandSet

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
		readBuffer: 2 * (frameHeaderLength + limits.fixedCommand() + tagLen),
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
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.send(cmd, n); err != nil {
		return s.failWrite(err)
	}
	return nil
}

// writable returns why the session can no longer write, or nil. Called
// with wmu held.
func (s *Session) writable() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.werr
}

// failWrite makes a write error final: later writes return it, and the
// sending cipher state is wiped. Called with wmu held.
func (s *Session) failWrite(err error) error {
	if s.closed.Load() {
		err = ErrClosed
	}
	s.werr = err
	s.tx.wipe()
	return err
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
	frame, err := s.appendFrame(buf[:0], cmd, n)
	if err != nil {
		return err
	}
	if _, err := s.conn.Write(frame); err != nil {
		return fmt.Errorf("link: writing frame: %w", err)
	}
	return nil
}

// maxBatchBuffer is the largest batch buffer a session keeps between
// SendBatch calls; larger batches get a buffer of their own.
const maxBatchBuffer = 256 << 10

// SendBatch seals each of cmds in a frame of its own, as Send does, and
// writes all the frames with one write: under load, one system call (and
// one wake-up of the peer's reader) for many packets. A command that does
// not fit the limits is refused with ErrBadCommand before anything is
// sealed, and the session stays usable; any other error is final, and the
// peer may then have received none, some or all of the frames.
func (s *Session) SendBatch(cmds []Command) error {
	total := 0
	for _, cmd := range cmds {
		n, err := encodedLength(cmd, &s.limits)
		if err != nil {
			return err
		}
		total += frameHeaderLength + n + tagLen
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.sendBatch(cmds, total); err != nil {
		return s.failWrite(err)
	}
	return nil
}

func (s *Session) sendBatch(cmds []Command, total int) error {
	buf := s.bbuf
	if cap(buf) < total {
		buf = make([]byte, 0, total)
		if total <= maxBatchBuffer {
			s.bbuf = buf
		}
	}
	buf = buf[:0]
	for _, cmd := range cmds {
		n, _ := encodedLength(cmd, &s.limits) // checked by SendBatch
		var err error
		if buf, err = s.appendFrame(buf, cmd, n); err != nil {
			return err
		}
	}
	if _, err := s.conn.Write(buf); err != nil {
		return fmt.Errorf("link: writing frames: %w", err)
	}
	return nil
}

// appendFrame appends the sealed frame of cmd, whose encoding is n bytes
// long, to buf (§5.2). It allocates nothing when buf has room for it.
func (s *Session) appendFrame(buf []byte, cmd Command, n int) ([]byte, error) {
	start := len(buf)
	buf = binary.BigEndian.AppendUint32(buf, uint32(n+tagLen))
	buf, err := s.tx.seal(buf[:start], buf[start:start+4])
	if err != nil {
		return nil, err
	}
	bodyStart := len(buf)
	buf = appendValid(buf, cmd, &s.limits)
	return s.tx.seal(buf[:bodyStart], buf[bodyStart:])
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
	if s.rbuf == nil || (cap(s.rbuf) > s.readBuffer && s.rend-s.rpos <= s.readBuffer) {
		// First use, or let a large frame's buffer go.
		buf := make([]byte, s.readBuffer)
		s.rend = copy(buf, s.rbuf[s.rpos:s.rend])
		s.rbuf, s.rpos = buf, 0
	}
	if err := s.fill(frameHeaderLength); err != nil {
		return nil, fmt.Errorf("link: reading frame header: %w", err)
	}
	sealedHdr := s.rbuf[s.rpos : s.rpos+frameHeaderLength]
	s.rpos += frameHeaderLength
	hdr, err := s.rx.open(sealedHdr[:0], sealedHdr)
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
	if err := s.fill(int(length)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("link: reading frame body: %w", err)
	}
	body := s.rbuf[s.rpos : s.rpos+int(length)]
	s.rpos += int(length)
	plain, err := s.rx.open(body[:0], body)
	if err != nil {
		return nil, fmt.Errorf("%w: body", err)
	}
	return decodeCommand(plain, &s.limits, &s.cmds)
}

// fill reads until rbuf holds at least n unconsumed bytes, moving them to
// the front first (the previous command, which may alias them, is no
// longer valid) and growing rbuf if n does not fit. It returns io.EOF only
// if the stream ended with no unconsumed byte, io.ErrUnexpectedEOF if it
// ended inside a frame.
func (s *Session) fill(n int) error {
	have := s.rend - s.rpos
	if have >= n {
		return nil
	}
	if s.rpos+n > len(s.rbuf) {
		buf := s.rbuf
		if n > len(buf) {
			buf = make([]byte, n) // only frames above the fixed sizes get here
		}
		copy(buf, s.rbuf[s.rpos:s.rend])
		s.rbuf, s.rpos, s.rend = buf, 0, have
	}
	got, err := io.ReadAtLeast(s.conn, s.rbuf[s.rend:], n-have)
	s.rend += got
	if err != nil && have > 0 && errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
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
