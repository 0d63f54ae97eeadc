package keyd

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"testing"

	"github.com/splitmix/splitmix/internal/keyd/keystore"
	"github.com/splitmix/splitmix/internal/keys"
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
