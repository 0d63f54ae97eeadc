package link

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys/memkey"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/unix"
)

// x25519Unit returns one X25519 scalar multiplication, the unit in which
// docs/bench/link.md states every cost.
func x25519Unit(b *testing.B) func() {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	p := peer.PublicKey()
	return func() {
		if _, err := k.ECDH(p); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time this process has used, all threads together: a
// cost that other processes on the machine do not inflate, unlike wall time.
func cpuTime(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// unitsPerRound is how many X25519 operations benchInUnits times after each
// op, to amortise the cost of reading the clock.
const unitsPerRound = 4

// benchInUnits times op interleaved with X25519 operations, so that both
// see the same machine speed (it drifts by 2x within a minute here), and
// in process CPU time, so that other processes do not count. It reports
// op's CPU time as cpu-ns/op and the ratio as X25519/op; ns/op stays wall
// time. allocs/op and B/op include the reference operations'. Run it with
// -cpu 1: with more Ps, idle threads spinning for work add CPU time.
func benchInUnits(b *testing.B, op func()) {
	unit := x25519Unit(b)
	var opCPU, unitCPU time.Duration
	for b.Loop() {
		c0 := cpuTime(b)
		op()
		c1 := cpuTime(b)
		for range unitsPerRound {
			unit()
		}
		opCPU += c1 - c0
		unitCPU += cpuTime(b) - c1
	}
	b.ReportMetric(float64(opCPU.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(opCPU)/(float64(unitCPU)/unitsPerRound), "X25519/op")
}

// BenchmarkX25519 is the unit: one scalar multiplication.
func BenchmarkX25519(b *testing.B) {
	unit := x25519Unit(b)
	for b.Loop() {
		unit()
	}
}

// BenchmarkHandshake is one full handshake, both ends, in memory over
// net.Pipe, with in-memory static keys.
func BenchmarkHandshake(b *testing.B) {
	ik, err := memkey.GenerateLinkKey()
	if err != nil {
		b.Fatal(err)
	}
	rk, err := memkey.GenerateLinkKey()
	if err != nil {
		b.Fatal(err)
	}
	auth := &authorizer{}
	icfg := &Config{Static: ik, PeerStatic: rk.Public(), AuthBlob: []byte("node"), Limits: testLimits}
	rcfg := &Config{Static: rk, Authorize: auth.authorize, Limits: testLimits}
	benchInUnits(b, func() {
		ic, rc := net.Pipe()
		i, r := runHandshake(icfg, rcfg, ic, rc)
		if i.err != nil || r.err != nil {
			b.Fatal(i.err, r.err)
		}
		i.s.Close()
		r.s.Close()
	})
}

// BenchmarkHandshakePrimitives performs only the public-key operations of
// one handshake (§4.8), both ends, in one goroutine: the floor under
// BenchmarkHandshake that this design cannot go below.
func BenchmarkHandshakePrimitives(b *testing.B) {
	ik, err := memkey.GenerateLinkKey()
	if err != nil {
		b.Fatal(err)
	}
	rk, err := memkey.GenerateLinkKey()
	if err != nil {
		b.Fatal(err)
	}
	_, rkem, err := parseLinkPublicKey(rk.Public().Bytes())
	if err != nil {
		b.Fatal(err)
	}
	rx := rk.Public().X25519
	check := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	var shared [32]byte
	benchInUnits(b, func() {
		// Initiator, message 1 (the responder key is parsed once, §4.8).
		e, err := newEphemeralKey(&rx) // and es
		check(err)
		check(e.earlyErr[0])
		kem, err := mlkem.GenerateKey768()
		check(err)
		_, ctR := rkem.Encapsulate()
		// Responder, message 1.
		ie, err := ecdh.X25519().NewPublicKey(e.public[:])
		check(err)
		_, err = rk.X25519().ECDH(ie)
		check(err)
		_, err = rk.MLKEM().Decapsulate(ctR)
		check(err)
		ek, err := mlkem.NewEncapsulationKey768(kem.EncapsulationKey().Bytes())
		check(err)
		is, sk, err := parseLinkPublicKey(ik.Public().Bytes())
		check(err)
		// Responder, message 2.
		re, err := newEphemeralKey(&e.public, &is.X25519) // and ee, se
		check(err)
		check(re.earlyErr[0])
		_, ctE := ek.Encapsulate()
		check(re.earlyErr[1])
		_, ctI := sk.Encapsulate()
		// Initiator, message 2.
		check(e.exchange(&shared, &re.public))
		_, err = kem.Decapsulate(ctE)
		check(err)
		rePub, err := ecdh.X25519().NewPublicKey(re.public[:])
		check(err)
		_, err = ik.X25519().ECDH(rePub)
		check(err)
		_, err = ik.MLKEM().Decapsulate(ctI)
		check(err)
	})
}

// BenchmarkSendRecvPacket moves one SendPacket of the default geometry
// (3082 bytes) through an established session: seal, write, read, open,
// decode. -benchmem shows it allocates nothing.
func BenchmarkSendRecvPacket(b *testing.B) {
	ini, resp := establishLoop(b, newEndpoints(b))
	pkt := make([]byte, testLimits.PacketLength)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ini.Send(&SendPacket{Packet: pkt}); err != nil {
			b.Fatal(err)
		}
		if _, err := resp.Recv(); err != nil {
			b.Fatal(err)
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	// Interleaving would add the unit's allocation to allocs/op, so the
	// unit is timed right after the loop (outside the measurement) instead.
	b.ReportMetric(float64(perOp)/float64(unitTime(b)), "X25519/op")
}

// unitTime is the wall time of one X25519 operation, now.
func unitTime(b *testing.B) time.Duration {
	unit := x25519Unit(b)
	const n = 100
	start := time.Now()
	for range n {
		unit()
	}
	return time.Since(start) / n
}

// BenchmarkPrimitive measures the public-key operations a handshake is made
// of, each in X25519 units, to explain BenchmarkHandshake.
func BenchmarkPrimitive(b *testing.B) {
	dk, err := mlkem.GenerateKey768()
	if err != nil {
		b.Fatal(err)
	}
	ek := dk.EncapsulationKey()
	ekBytes := ek.Bytes()
	_, ct := ek.Encapsulate()
	b.Run("X25519KeyGen", func(b *testing.B) {
		benchInUnits(b, func() { ecdh.X25519().GenerateKey(rand.Reader) })
	})
	peer, err := newEphemeralKey()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("X25519KeyGenFixedBase", func(b *testing.B) {
		benchInUnits(b, func() { newEphemeralKey() })
	})
	b.Run("X25519KeyGenFixedBasePlus2", func(b *testing.B) {
		benchInUnits(b, func() { newEphemeralKey(&peer.public, &peer.public) })
	})
	b.Run("X25519Ladder", func(b *testing.B) {
		var shared [32]byte
		benchInUnits(b, func() { peer.exchange(&shared, &peer.public) })
	})
	b.Run("MLKEM768KeyGen", func(b *testing.B) {
		benchInUnits(b, func() { mlkem.GenerateKey768() })
	})
	b.Run("MLKEM768ParseKey", func(b *testing.B) {
		benchInUnits(b, func() { mlkem.NewEncapsulationKey768(ekBytes) })
	})
	b.Run("MLKEM768Encapsulate", func(b *testing.B) {
		benchInUnits(b, func() { ek.Encapsulate() })
	})
	b.Run("MLKEM768Decapsulate", func(b *testing.B) {
		benchInUnits(b, func() { dk.Decapsulate(ct) })
	})
}

// BenchmarkAEAD compares the two candidate ciphers on a packet-sized
// record (docs/spec/link.md §2 records the choice).
func BenchmarkAEAD(b *testing.B) {
	key := make([]byte, 32)
	cc, err := chacha20poly1305.New(key)
	if err != nil {
		b.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	for name, a := range map[string]cipher.AEAD{"ChaCha20Poly1305": cc, "AES256GCM": gcm} {
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 3083, 3083+16)
			nonce := make([]byte, 12)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				sealed := a.Seal(buf[:0], nonce, buf, nil)
				if _, err := a.Open(sealed[:0], nonce, sealed, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
