package link

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// fuzzLimits are small, so that the fuzzer reaches every command's length
// checks easily.
var fuzzLimits = Limits{PacketLength: 16, MessagePayloadLength: 8, AckPayloadLength: 12, MaxConsensus: 40, MaxDescriptor: 40}

// FuzzDecodeCommand: decoding arbitrary bytes never panics, and whatever
// decodes re-encodes to exactly the same bytes (the encoding is canonical).
func FuzzDecodeCommand(f *testing.F) {
	r := newTestRand(3)
	for i := range 22 {
		b, err := appendCommand(nil, randomCommand(r, i, &fuzzLimits), &fuzzLimits)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{255})
	f.Fuzz(func(t *testing.T, data []byte) {
		var set commandSet
		cmd, err := decodeCommand(data, &fuzzLimits, &set)
		if err != nil {
			if cmd != nil {
				t.Fatal("command returned with an error")
			}
			return
		}
		again, err := appendCommand(nil, cmd, &fuzzLimits)
		if err != nil {
			t.Fatalf("decoded %v does not re-encode: %v", cmd.ID(), err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("%v: re-encoding differs:\n in %x\nout %x", cmd.ID(), data, again)
		}
	})
}

// fixedKey is the session key of FuzzReadFrame.
var fixedKey = [keyLen]byte{1, 2, 3, 4, 5, 6, 7, 8}

// sealFrames returns the frames a sender keyed with fixedKey writes for cmds.
func sealFrames(tb testing.TB, cmds ...Command) []byte {
	var out bytes.Buffer
	s := newSession(&bufConn{in: &bytes.Buffer{}, out: &out}, fixedKey, fixedKey, fuzzLimits)
	for _, c := range cmds {
		if err := s.Send(c); err != nil {
			tb.Fatal(err)
		}
	}
	return out.Bytes()
}

// FuzzReadFrame feeds arbitrary bytes to a session keyed with a fixed key:
// Recv never panics, every error is final, and no frame above the limits
// is accepted.
func FuzzReadFrame(f *testing.F) {
	f.Add(sealFrames(f, &NoOp{}))
	f.Add(sealFrames(f, &SendPacket{Packet: make([]byte, 16)}, &GetConsensus{Epoch: 9}, &Disconnect{}))
	f.Add(sealFrames(f, &Consensus{Payload: make([]byte, 40)}))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSession(&bufConn{in: bytes.NewBuffer(data), out: &bytes.Buffer{}}, fixedKey, fixedKey, fuzzLimits)
		for range 8 {
			cmd, err := s.Recv()
			if err != nil {
				if _, again := s.Recv(); again == nil {
					t.Fatal("Recv succeeded after an error")
				}
				return
			}
			if cmd == nil {
				t.Fatal("nil command without error")
			}
		}
	})
}

// scriptConn is a net.Conn that reads a fixed script and discards writes.
type scriptConn struct{ r *bytes.Reader }

func (c *scriptConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *scriptConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.UnixAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.UnixAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// fuzzResponderKey is the responder's fixed static key in FuzzHandshakeMsg.
func fuzzResponderKey(tb testing.TB) *memkey.LinkKey {
	k, err := memkey.NewLinkKey(bytes.Repeat([]byte{0x42}, memkey.LinkSeedSize))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// forgedMessage1 builds a message 1 to rk as any stranger can (everything in
// it depends only on public keys), with ekem and s chosen by the fuzzer.
// It lets the fuzzer reach the parsing behind the AEAD layer.
func forgedMessage1(tb testing.TB, rk *memkey.LinkKey, ekem, static []byte) []byte {
	var ss symmetricState
	pub := rk.Public()
	rx, _ := pub.ECDHPublicKey()
	rkem, _ := pub.EncapsulationKey()
	e, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	ss.initialize(preamble[:], pub)
	msg := append([]byte(nil), preamble[:]...)
	msg = append(msg, e.PublicKey().Bytes()...)
	ss.mixHash(msg[preambleLength:])
	if err := mixDH(&ss, e, rx); err != nil {
		tb.Fatal(err)
	}
	msg = mixEncaps(&ss, msg, rkem)
	msg = ss.encryptAndHash(msg, fit(ekem, mlkem.EncapsulationKeySize768))
	return ss.encryptAndHash(msg, fit(static, len(pub.Bytes())))
}

// fit pads or cuts b to n bytes.
func fit(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}

// FuzzHandshakeMsg: the responder's handling of attacker-controlled
// handshake bytes never panics: raw bytes on the wire (messages 1 and 3),
// a well-sealed message 1 carrying arbitrary keys, and arbitrary plaintext
// of message 3.
func FuzzHandshakeMsg(f *testing.F) {
	rk := fuzzResponderKey(f)
	ik, err := memkey.GenerateLinkKey()
	if err != nil {
		f.Fatal(err)
	}
	kem, _ := mlkem.GenerateKey768()
	valid := forgedMessage1(f, rk, kem.EncapsulationKey().Bytes(), ik.Public().Bytes())
	f.Add(valid)
	f.Add(append(valid, make([]byte, msg3Length)...))
	f.Add(preamble[:])
	f.Add([]byte("SPLXLIN\x02"))
	f.Add(kem.EncapsulationKey().Bytes())
	f.Add(append([]byte{5}, []byte("hello")...))
	cfg := &Config{
		Static:    rk,
		Authorize: func(context.Context, *keys.LinkPublicKey, []byte) error { return nil },
		Limits:    fuzzLimits,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Raw bytes on the wire.
		s, err := Accept(context.Background(), &scriptConn{r: bytes.NewReader(data)}, cfg)
		if err == nil {
			t.Fatalf("handshake completed on fuzz input; session %v", s != nil)
		}
		// A well-sealed message 1 with arbitrary ekem and s.
		half := len(data) / 2
		msg := forgedMessage1(t, rk, data[:half], data[half:])
		r := responder{cfg: cfg}
		if p, err := r.readMessage1(msg); err == nil && (p == nil || r.peer == nil) {
			t.Fatal("message 1 accepted without a peer")
		}
		// Arbitrary plaintext of message 3.
		if blob, err := parseAuthBlob(fit(data, 1+MaxAuthBlobLength)); err == nil && len(blob) > MaxAuthBlobLength {
			t.Fatal("oversized blob accepted")
		}
	})
}
