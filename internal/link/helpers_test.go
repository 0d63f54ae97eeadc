package link

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"errors"
	mrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// testLimits is the default geometry of the reference notes: 3082-byte
// packets, with the ACK payload larger than the message payload.
var testLimits = Limits{
	PacketLength:         3082,
	MessagePayloadLength: 2000,
	AckPayloadLength:     2606,
	MaxConsensus:         1 << 20,
	MaxDescriptor:        64 << 10,
}

// countingKey is a keys.LinkPrivateKey that counts the private-key
// operations, standing in for keyd.
type countingKey struct {
	inner  *memkey.LinkKey
	ecdh   atomic.Int64 // X25519().ECDH calls
	decaps atomic.Int64 // MLKEM().Decapsulate calls
	other  atomic.Int64 // any other method of the halves
}

func newCountingKey(t testing.TB) *countingKey {
	t.Helper()
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	return &countingKey{inner: k}
}

func (k *countingKey) Public() *keys.LinkPublicKey { return k.inner.Public() }
func (k *countingKey) X25519() ecdh.KeyExchanger   { return countingX{k.inner.X25519(), k} }
func (k *countingKey) MLKEM() crypto.Decapsulator  { return countingKEM{k.inner.MLKEM(), k} }

func (k *countingKey) counts() (ecdhCalls, decapsCalls, otherCalls int64) {
	return k.ecdh.Load(), k.decaps.Load(), k.other.Load()
}

type countingX struct {
	inner ecdh.KeyExchanger
	k     *countingKey
}

func (c countingX) PublicKey() *ecdh.PublicKey { c.k.other.Add(1); return c.inner.PublicKey() }
func (c countingX) Curve() ecdh.Curve          { c.k.other.Add(1); return c.inner.Curve() }
func (c countingX) ECDH(p *ecdh.PublicKey) ([]byte, error) {
	c.k.ecdh.Add(1)
	return c.inner.ECDH(p)
}

type countingKEM struct {
	inner crypto.Decapsulator
	k     *countingKey
}

func (c countingKEM) Encapsulator() crypto.Encapsulator {
	c.k.other.Add(1)
	return c.inner.Encapsulator()
}
func (c countingKEM) Decapsulate(ct []byte) ([]byte, error) {
	c.k.decaps.Add(1)
	return c.inner.Decapsulate(ct)
}

// pipe returns two connected ends over net.Pipe or TCP loopback.
func pipe(t testing.TB, network string) (net.Conn, net.Conn) {
	t.Helper()
	if network == "pipe" {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// authorizer records the calls to Authorize and answers with err.
type authorizer struct {
	mu    sync.Mutex
	calls int
	peer  *keys.LinkPublicKey
	blob  []byte
	err   error
}

func (a *authorizer) authorize(_ context.Context, peer *keys.LinkPublicKey, blob []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.peer = peer
	a.blob = append([]byte(nil), blob...)
	return a.err
}

func (a *authorizer) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// endpoints is a ready pair of configs: initiator key, responder key and the
// responder's policy.
type endpoints struct {
	ikey, rkey *countingKey
	auth       *authorizer
	icfg, rcfg *Config
}

func newEndpoints(t testing.TB) *endpoints {
	t.Helper()
	e := &endpoints{ikey: newCountingKey(t), rkey: newCountingKey(t), auth: &authorizer{}}
	e.icfg = &Config{
		Static:           e.ikey,
		AuthBlob:         []byte("alice@provider"),
		PeerStatic:       e.rkey.Public(),
		Limits:           testLimits,
		HandshakeTimeout: 20 * time.Second,
	}
	e.rcfg = &Config{
		Static:           e.rkey,
		Authorize:        e.auth.authorize,
		Limits:           testLimits,
		HandshakeTimeout: 20 * time.Second,
	}
	return e
}

// handshakeResult is what one side of a handshake returned.
type handshakeResult struct {
	s   *Session
	err error
}

// runHandshake runs Initiate on ic and Accept on rc concurrently.
func runHandshake(icfg, rcfg *Config, ic, rc net.Conn) (ini, resp handshakeResult) {
	ctx := context.Background()
	done := make(chan handshakeResult, 1)
	go func() {
		s, err := Accept(ctx, rc, rcfg)
		done <- handshakeResult{s, err}
	}()
	s, err := Initiate(ctx, ic, icfg)
	ini = handshakeResult{s, err}
	resp = <-done
	return ini, resp
}

// establish returns two sessions over network, failing the test otherwise.
func establish(t testing.TB, network string, e *endpoints) (ini, resp *Session) {
	t.Helper()
	ic, rc := pipe(t, network)
	i, r := runHandshake(e.icfg, e.rcfg, ic, rc)
	if i.err != nil || r.err != nil {
		t.Fatalf("handshake: initiator %v, responder %v", i.err, r.err)
	}
	t.Cleanup(func() { i.s.Close(); r.s.Close() })
	return i.s, r.s
}

// within fails the test unless fn returns before the deadline.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// recorder is a net.Conn that keeps a copy of everything written.
type recorder struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, append([]byte(nil), b...))
	r.mu.Unlock()
	return r.Conn.Write(b)
}

func (r *recorder) written() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.writes...)
}

// isAny reports whether err matches one of targets.
func isAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// bufConn is one end of an in-memory, single-goroutine stream: writes go
// to out, reads come from in. It allocates nothing once the buffers have
// grown, so allocation counts measure the session alone.
type bufConn struct {
	net.Conn // only Read, Write and Close are used
	in, out  *bytes.Buffer
}

func (c *bufConn) Read(b []byte) (int, error)  { return c.in.Read(b) }
func (c *bufConn) Write(b []byte) (int, error) { return c.out.Write(b) }
func (c *bufConn) Close() error                { return nil }

// establishLoop establishes sessions over net.Pipe and then moves both onto
// shared in-memory buffers, so that one goroutine can Send and then Recv.
func establishLoop(t testing.TB, e *endpoints) (ini, resp *Session) {
	t.Helper()
	ini, resp = establish(t, "pipe", e)
	var toResp, toIni bytes.Buffer
	ini.conn = &bufConn{in: &toIni, out: &toResp}
	resp.conn = &bufConn{in: &toResp, out: &toIni}
	return ini, resp
}

func newTestRand(seed uint64) *mrand.Rand { return mrand.New(mrand.NewPCG(seed, seed)) }
