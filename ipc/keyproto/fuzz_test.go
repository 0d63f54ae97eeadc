package keyproto

import (
	"context"
	"testing"

	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/ipc"
)

// FuzzRequestBodies feeds arbitrary bodies to every handler of the
// dispatch table, as a hostile mixd could: no panic, and every failure is
// a typed error or a plain one ipc turns into CodeInternal.
func FuzzRequestBodies(f *testing.F) {
	routes := Routes(newFakeOracle())
	seed := func(t ipc.MsgType, v any) {
		b, err := ipc.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint16(t), b)
	}
	seed(TypeGetPublicKeys, &GetPublicKeysRequest{})
	seed(TypeSignDescriptor, &SignDescriptorRequest{Descriptor: []byte("x")})
	seed(TypeLinkECDH, &LinkECDHRequest{Peer: make([]byte, 32)})
	seed(TypeLinkDecapsulate, &LinkDecapsulateRequest{Ciphertext: make([]byte, 1088)})
	seed(TypeSphinxKeys, &SphinxKeysRequest{Epochs: []uint64{1, 2}})
	f.Add(uint16(TypeSphinxKeys), []byte{0xf6})
	f.Add(uint16(TypeLinkECDH), []byte{0xa1, 0x61, 'X', 0x00})
	f.Fuzz(func(t *testing.T, typ uint16, body []byte) {
		r, ok := routes[ipc.MsgType(typ)%8]
		if !ok {
			return
		}
		rep, err := r.Handle(context.Background(), ipc.Peer{Role: RoleMixd}, body)
		if err == nil {
			if _, merr := ipc.Marshal(rep); merr != nil {
				t.Fatalf("reply does not encode: %v", merr)
			}
		}
	})
}

// FuzzReplies decodes arbitrary reply bodies as the client does: a broken
// or hostile keyd must not make mixd panic or accept malformed keys.
func FuzzReplies(f *testing.F) {
	link, _ := memkey.GenerateLinkKey()
	for _, v := range []any{
		&GetPublicKeysReply{Identifier: "x", Identity: make([]byte, 32), Link: link.Public().Bytes()},
		&SphinxKeysReply{Keys: []SphinxKeyPair{{Epoch: 1, Private: make([]byte, 32), Public: make([]byte, 32)}}},
	} {
		b, _ := ipc.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var pk GetPublicKeysReply
		if ipc.Unmarshal(b, &pk) == nil {
			if got, err := pk.publicKeys(); err == nil && len(got.Link.Bytes()) != 1216 {
				t.Fatal("accepted a malformed link key")
			}
		}
		var sk SphinxKeysReply
		if ipc.Unmarshal(b, &sk) == nil {
			epochs := make([]uint64, len(sk.Keys))
			for i := range epochs {
				epochs[i] = uint64(i) + 1
			}
			if got, err := sk.sphinxKeys(epochs); err == nil {
				for i := range got {
					if got[i].Epoch != epochs[i] {
						t.Fatal("accepted keys for other epochs")
					}
				}
			}
		}
	})
}
