package keyd

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keyd/keystore"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
)

// BenchmarkLinkECDH measures the static-key half of a link handshake done
// by the key store in process and by keyd over its socket: the difference
// is what privilege separation costs per handshake.
func BenchmarkLinkECDH(b *testing.B) {
	cfg := testConfig(b)
	client, _ := startKeyd(b, cfg)
	opts, err := storeOptions(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	store, err := keystore.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	point := peer.PublicKey().Bytes()
	for _, bc := range []struct {
		name string
		o    keys.Oracle
	}{{"in-process", store}, {"socket", client}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := bc.o.LinkECDH(ctx, point); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLinkHandshake is a full link handshake (both ends, net.Pipe)
// with the responder's static key in memory and then in keyd, served over
// its socket: the difference is what the IPC adds per handshake (two
// round trips: one ECDH, one decapsulation).
func BenchmarkLinkHandshake(b *testing.B) {
	kd := keydLinkKeyB(b)
	memResp, err := memkey.GenerateLinkKey()
	if err != nil {
		b.Fatal(err)
	}
	ini, _ := memkey.GenerateLinkKey()
	for _, bc := range []struct {
		name string
		resp keys.LinkPrivateKey
	}{{"in-memory", memResp}, {"keyd", kd}} {
		b.Run(bc.name, func(b *testing.B) {
			rc := &link.Config{Static: bc.resp, Limits: testLimits, Authorize: func(context.Context, *keys.LinkPublicKey, []byte) error { return nil }}
			ic := &link.Config{Static: ini, AuthBlob: []byte("bench"), PeerStatic: bc.resp.Public(), Limits: testLimits}
			ctx := context.Background()
			for b.Loop() {
				a, c := net.Pipe()
				done := make(chan handshakeResult, 1)
				go func() {
					s, err := link.Accept(ctx, c, rc)
					done <- handshakeResult{s, err}
				}()
				s, err := link.Initiate(ctx, a, ic)
				r := <-done
				if err != nil || r.err != nil {
					b.Fatalf("initiator %v, responder %v", err, r.err)
				}
				// Close only once both ends are done: a net.Pipe end fails
				// deadline changes once the other end is closed.
				s.Close()
				r.s.Close()
			}
		})
	}
}

func keydLinkKeyB(b *testing.B) keys.LinkPrivateKey {
	c, _ := startKeyd(b, testConfig(b))
	lk, err := c.LinkKey(context.Background(), 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	return lk
}
