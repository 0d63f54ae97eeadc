package link

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	mrand "math/rand/v2"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestEveryCommandOverSession(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "tcp", e)
	r := mrand.New(mrand.NewPCG(7, 7))
	l := testLimits
	for i := range 44 {
		cmd := randomCommand(r, i, &l)
		errc := make(chan error, 1)
		go func() { errc <- ini.Send(cmd) }()
		got, err := resp.Recv()
		if err != nil {
			t.Fatalf("%v: Recv: %v", cmd.ID(), err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("%v: Send: %v", cmd.ID(), err)
		}
		if !reflect.DeepEqual(got, cmd) {
			t.Fatalf("%v arrived as %+v", cmd.ID(), got)
		}
	}
}

func TestMessageFamilySameLengthOnWire(t *testing.T) {
	e := newEndpoints(t)
	ic, rc := pipe(t, "pipe")
	rrec := &recorder{Conn: rc}
	i, r := runHandshake(e.icfg, e.rcfg, ic, rrec)
	if i.err != nil || r.err != nil {
		t.Fatal(i.err, r.err)
	}
	defer i.s.Close()
	defer r.s.Close()
	go func() {
		for {
			if _, err := i.s.Recv(); err != nil {
				return
			}
		}
	}()
	l := testLimits
	for _, cmd := range []Command{
		&Message{Sequence: 1, QueueHint: 3, Payload: make([]byte, l.MessagePayloadLength)},
		&MessageACK{Sequence: 2, Payload: make([]byte, l.AckPayloadLength)},
		&MessageEmpty{Sequence: 3},
	} {
		if err := r.s.Send(cmd); err != nil {
			t.Fatal(err)
		}
	}
	w := rrec.written()[2:] // after messages 2 and 4 of the handshake
	if len(w) != 3 || len(w[0]) != len(w[1]) || len(w[1]) != len(w[2]) {
		t.Fatalf("frame lengths on the wire differ: %d %d %d", len(w[0]), len(w[1]), len(w[2]))
	}
	if want := max(l.MessagePayloadLength, l.AckPayloadLength) + 58; len(w[0]) != want {
		t.Errorf("message frame is %d bytes, spec §8 says %d", len(w[0]), want)
	}
}

// rawWrite writes bytes straight onto the session's connection, bypassing
// the framing: what an attacker on the path (or a broken peer) could send.
func rawWrite(t *testing.T, s *Session, b []byte) {
	t.Helper()
	go s.conn.Write(b)
}

func TestGarbageAfterHandshake(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "pipe", e)
	garbage := make([]byte, 500)
	rand.Read(garbage)
	rawWrite(t, ini, garbage)
	_, err := resp.Recv()
	if !errors.Is(err, ErrBadFrame) {
		t.Fatalf("garbage: %v, want ErrBadFrame", err)
	}
	// The error is final.
	if _, err2 := resp.Recv(); !errors.Is(err2, ErrBadFrame) {
		t.Errorf("second Recv after a bad frame: %v", err2)
	}
}

// flipper flips one bit of the n-th write once armed.
type flipper struct {
	recorder
	armed   bool
	flipped bool
	at      int
}

func (f *flipper) Write(b []byte) (int, error) {
	if f.armed && !f.flipped {
		b = append([]byte(nil), b...)
		b[f.at%len(b)] ^= 0x10
		f.flipped = true
	}
	return f.Conn.Write(b)
}

func TestTamperedFrame(t *testing.T) {
	for _, at := range []int{0, 19, 20, 100, 3000, 3082 + 36 - 1} {
		e := newEndpoints(t)
		ic, rc := pipe(t, "pipe")
		f := &flipper{recorder: recorder{Conn: ic}, at: at}
		i, r := runHandshake(e.icfg, e.rcfg, f, rc)
		if i.err != nil || r.err != nil {
			t.Fatal(i.err, r.err)
		}
		f.armed = true
		go i.s.Send(&SendPacket{Packet: make([]byte, testLimits.PacketLength)})
		if _, err := r.s.Recv(); !isAny(err, ErrBadFrame, ErrFrameTooLarge) {
			t.Errorf("bit %d flipped: %v, want ErrBadFrame", at, err)
		}
		i.s.Close()
		r.s.Close()
	}
}

// sealedHeader seals a frame header announcing length with s's send state,
// as a malicious but authenticated peer could.
func sealedHeader(t *testing.T, s *Session, length uint32) []byte {
	t.Helper()
	var plain [4]byte
	binary.BigEndian.PutUint32(plain[:], length)
	h, err := s.tx.seal(nil, plain[:])
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestOversizeFrame(t *testing.T) {
	for _, length := range []uint32{0xFFFFFFFF, 1 << 30, uint32(testLimits.maxCommand() + tagLen + 1)} {
		e := newEndpoints(t)
		ini, resp := establish(t, "pipe", e)
		rawWrite(t, ini, sealedHeader(t, ini, length))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := resp.Recv()
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("length %d: %v, want ErrFrameTooLarge", length, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("length %d: %d bytes allocated before refusing", length, grew)
		}
	}
}

func TestUndersizeFrame(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "pipe", e)
	rawWrite(t, ini, sealedHeader(t, ini, tagLen)) // an empty command
	if _, err := resp.Recv(); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("empty body: %v, want ErrBadFrame", err)
	}
}

func TestBadCommandInValidFrame(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "pipe", e)
	// A well-sealed frame whose command has an unknown id.
	h := sealedHeader(t, ini, 1+tagLen)
	b, err := ini.tx.seal(nil, []byte{99})
	if err != nil {
		t.Fatal(err)
	}
	rawWrite(t, ini, append(h, b...))
	if _, err := resp.Recv(); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("unknown command id: %v, want ErrBadCommand", err)
	}
}

func TestRecordsOutOfOrder(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "pipe", e)
	// The body sealed before its header: each record is valid, but under
	// the other's nonce, so neither opens.
	b, err := ini.tx.seal(nil, []byte{byte(IDNoOp)})
	if err != nil {
		t.Fatal(err)
	}
	h := sealedHeader(t, ini, 1+tagLen)
	rawWrite(t, ini, append(h, b...))
	if _, err := resp.Recv(); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("records out of order: %v, want ErrBadFrame", err)
	}
}

func TestSendRefusesBadCommandAndStaysUsable(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "pipe", e)
	if err := ini.Send(&SendPacket{Packet: []byte("short")}); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("short packet: %v, want ErrBadCommand", err)
	}
	exchange(t, ini, resp)
}

func TestConcurrentSendRecvAndRekey(t *testing.T) {
	// Both sides send and receive at once, well past several rekeys
	// (§5.3), over TCP.
	e := newEndpoints(t)
	ini, resp := establish(t, "tcp", e)
	const n = 3*rekeyInterval + 17
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, p := range [][2]*Session{{ini, resp}, {resp, ini}} {
		from, to := p[0], p[1]
		wg.Add(2)
		go func() {
			defer wg.Done()
			pkt := make([]byte, testLimits.PacketLength)
			for i := range n {
				binary.BigEndian.PutUint32(pkt, uint32(i))
				if err := from.Send(&SendPacket{Packet: pkt}); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := range n {
				cmd, err := to.Recv()
				if err != nil {
					errs <- err
					return
				}
				sp, ok := cmd.(*SendPacket)
				if !ok || binary.BigEndian.Uint32(sp.Packet) != uint32(i) {
					errs <- errors.New("packets out of order or wrong type")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each frame is two records; both directions rekeyed several times.
	if ini.tx.n != 2*n || resp.rx.n != 2*n {
		t.Errorf("record counters %d/%d, want %d", ini.tx.n, resp.rx.n, 2*n)
	}
}

func TestRekeyChangesKey(t *testing.T) {
	var k [keyLen]byte
	a, b := newCipherState(k), newCipherState(k)
	for range rekeyInterval {
		sealed, err := a.seal(nil, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.open(nil, sealed); err != nil {
			t.Fatal(err)
		}
	}
	sealed, _ := a.seal(nil, []byte("x")) // record 256: rekeyed first
	if a.key == k {
		t.Fatal("key unchanged at the rekey point")
	}
	if _, err := b.open(nil, sealed); err != nil {
		t.Fatalf("receiver did not follow the rekey: %v", err)
	}
	stale := newCipherState(k)
	stale.n = rekeyInterval + 1 // same nonce, old key: must not open
	if _, err := stale.open(nil, sealed); err == nil {
		t.Fatal("record after rekey opened under the old key")
	}
}

func TestNonceExhausted(t *testing.T) {
	var k [keyLen]byte
	c := newCipherState(k)
	c.n = 1<<64 - 1
	if _, err := c.seal(nil, nil); !errors.Is(err, ErrNonceExhausted) {
		t.Fatalf("%v, want ErrNonceExhausted", err)
	}
}

func TestCloseUnblocksRecv(t *testing.T) {
	e := newEndpoints(t)
	_, resp := establish(t, "tcp", e)
	done := make(chan error, 1)
	go func() { _, err := resp.Recv(); done <- err }()
	resp.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Recv after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Recv still blocked after Close")
	}
	if err := resp.Send(&NoOp{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
}

func TestPeerCloseIsEOF(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "tcp", e)
	ini.Close()
	if _, err := resp.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("peer closed between frames: %v, want io.EOF", err)
	}
}

func TestLargeFrameGrowsAndShrinks(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "pipe", e)
	big := &Consensus{Payload: bytes.Repeat([]byte{7}, testLimits.MaxConsensus)}
	go func() {
		ini.Send(big)
		ini.Send(&NoOp{})
	}()
	cmd, err := resp.Recv()
	if err != nil || len(cmd.(*Consensus).Payload) != testLimits.MaxConsensus {
		t.Fatalf("largest consensus: %v", err)
	}
	if _, err := resp.Recv(); err != nil {
		t.Fatal(err)
	}
	if cap(resp.rbuf) != resp.readBuffer {
		t.Errorf("read buffer kept %d bytes after a large frame, want %d", cap(resp.rbuf), resp.readBuffer)
	}
	if cap(ini.wbuf) != ini.baseBuffer {
		t.Errorf("write buffer is %d bytes after a large frame, want %d", cap(ini.wbuf), ini.baseBuffer)
	}
}

// TestSendRecvPacketAllocs checks that moving a packet through an
// established session allocates nothing (the requirement behind
// BenchmarkSendRecvPacket).
func TestSendRecvPacketAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	e := newEndpoints(t)
	ini, resp := establishLoop(t, e)
	pkt := make([]byte, testLimits.PacketLength)
	allocs := testing.AllocsPerRun(200, func() {
		if err := ini.Send(&SendPacket{Packet: pkt}); err != nil {
			t.Fatal(err)
		}
		if _, err := resp.Recv(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%v allocations per packet, want 0", allocs)
	}
}
