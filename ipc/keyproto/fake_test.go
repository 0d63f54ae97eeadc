package keyproto

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// fakeOracle is a keys.Oracle without policy, for testing the protocol
// layer; the real policy is tested against internal/keyd/keystore.
type fakeOracle struct {
	id   ed25519.PrivateKey
	link *memkey.LinkKey
	// short makes every reply one byte too short, like a broken keyd.
	short bool
}

func newFakeOracle() *fakeOracle {
	_, id, _ := ed25519.GenerateKey(nil)
	link, _ := memkey.GenerateLinkKey()
	return &fakeOracle{id: id, link: link}
}

func (f *fakeOracle) trim(b []byte) []byte {
	if f.short {
		return b[:len(b)-1]
	}
	return b
}

func (f *fakeOracle) PublicKeys(context.Context) (*keys.PublicKeys, error) {
	pk := &keys.PublicKeys{Identifier: "fake.example", Link: *f.link.Public()}
	copy(pk.Identity[:], f.id.Public().(ed25519.PublicKey))
	return pk, nil
}

func (f *fakeOracle) SignDescriptor(_ context.Context, b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", keys.ErrMalformed)
	}
	if string(b) == "refuse me" {
		return nil, fmt.Errorf("%w: as asked", keys.ErrRefused)
	}
	if string(b) == "fail inside" {
		return nil, fmt.Errorf("disk on fire at /secret/path")
	}
	return f.trim(ed25519.Sign(f.id, b)), nil
}

func (f *fakeOracle) LinkECDH(_ context.Context, peer []byte) ([]byte, error) {
	p, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", keys.ErrMalformed, err)
	}
	s, err := f.link.X25519().ECDH(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", keys.ErrMalformed, err)
	}
	return f.trim(s), nil
}

func (f *fakeOracle) LinkDecapsulate(_ context.Context, ct []byte) ([]byte, error) {
	k, err := f.link.MLKEM().Decapsulate(ct)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", keys.ErrMalformed, err)
	}
	return f.trim(k), nil
}

func (f *fakeOracle) SphinxKeys(_ context.Context, epochs []uint64) ([]keys.SphinxKey, error) {
	out := make([]keys.SphinxKey, len(epochs))
	for i, e := range epochs {
		if e > 1000 {
			return nil, fmt.Errorf("%w: epoch %d", keys.ErrRefused, e)
		}
		out[i] = keys.SphinxKey{Epoch: e, Private: [32]byte{byte(e)}, Public: [32]byte{byte(e), 1}}
	}
	if f.short && len(out) > 0 {
		out = out[1:]
	}
	return out, nil
}
