package spoolproto

import (
	"bytes"
	"context"
	"testing"

	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/ipc"
)

// FuzzRequestBodies feeds arbitrary bodies to every handler of the
// dispatch table, as a hostile mixd could: no panic, and what succeeds
// has a reply that encodes.
func FuzzRequestBodies(f *testing.F) {
	link, _ := memkey.GenerateLinkKey()
	routes := Routes(&fakeStore{link: link.Public(), head: &Head{Count: 1, Message: &Message{Body: []byte("x")}},
		listed: [][]byte{[]byte("a"), []byte("b")}})
	seed := func(t ipc.MsgType, v any) {
		b, err := ipc.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint16(t), b)
	}
	u := []byte("alice")
	seed(TypeIsValid, &UserKeyRequest{User: u, Link: link.Public().Bytes()})
	seed(TypeAddUser, &UserKeyRequest{User: u, Link: make([]byte, 3)})
	seed(TypeExists, &UserRequest{User: u})
	seed(TypeSetIdentity, &SetIdentityRequest{User: u, Identity: make([]byte, 32)})
	seed(TypeStoreMessage, &StoreMessageRequest{User: u, Message: WireMessage{ID: make([]byte, 16), SURBID: make([]byte, 16), Body: []byte("m")}})
	seed(TypeStoreMessage, &StoreMessageRequest{User: u, Message: WireMessage{ID: make([]byte, 15), Body: []byte("m")}})
	seed(TypeRemoveMessage, &RemoveMessageRequest{User: u, ID: make([]byte, 16)})
	seed(TypeGetHead, &UserRequest{User: make([]byte, 40)})
	seed(TypeAddEphemeralIfAbsent, &UserKeyRequest{User: u, Link: link.Public().Bytes()})
	seed(TypeListEphemeral, &ListEphemeralRequest{Limit: MaxListEphemeral})
	seed(TypeListEphemeral, &ListEphemeralRequest{After: u, Limit: 1})
	seed(TypeListEphemeral, &ListEphemeralRequest{After: make([]byte, 33), Limit: 0})
	seed(TypeListEphemeral, &ListEphemeralRequest{Limit: 1 << 63})
	f.Add(uint16(TypeGetHead), []byte{0xf6})
	f.Add(uint16(TypeExists), []byte{0xa1, 0x61, 'X', 0x00})
	f.Fuzz(func(t *testing.T, typ uint16, body []byte) {
		r, ok := routes[ipc.MsgType(typ)%32]
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
// spoold must not make mixd panic or accept an inconsistent head.
func FuzzReplies(f *testing.F) {
	for _, v := range []any{
		&GetHeadReply{Count: 2, Message: &WireMessage{ID: make([]byte, 16), Body: []byte("x")}},
		&GetHeadReply{},
		&GetHeadReply{Count: 1},
	} {
		b, _ := ipc.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var rep GetHeadReply
		if ipc.Unmarshal(b, &rep) != nil {
			return
		}
		h, err := rep.head()
		if err != nil {
			return
		}
		if (h.Message == nil) != (h.Count == 0) || h.Count < 0 || h.Count > MaxSpoolCount {
			t.Fatalf("accepted an inconsistent head: %+v", h)
		}
		if h.Message != nil && (len(h.Message.Body) == 0 || len(h.Message.Body) > MaxMessageSize) {
			t.Fatal("accepted a message of a bad size")
		}
	})
}

// FuzzListEphemeralReply decodes arbitrary ListEphemeral replies as the
// client does: what it accepts is at most limit normalised names, strictly
// ascending after the position asked for, so mixd can page on from the last.
func FuzzListEphemeralReply(f *testing.F) {
	for _, v := range []struct {
		after []byte
		limit int
		rep   *ListEphemeralReply
	}{
		{nil, 2, &ListEphemeralReply{Users: [][]byte{[]byte("a"), []byte("b")}}},
		{[]byte("a"), 1, &ListEphemeralReply{Users: [][]byte{[]byte("a")}}},
		{nil, 2, &ListEphemeralReply{Users: [][]byte{[]byte("b"), []byte("a")}}},
		{nil, 1, &ListEphemeralReply{Users: [][]byte{[]byte("a\x00")}}},
		{nil, MaxListEphemeral, &ListEphemeralReply{}},
	} {
		b, _ := ipc.Marshal(v.rep)
		f.Add(v.after, v.limit, b)
	}
	f.Add([]byte(nil), 3, []byte{0xa1, 0x61, 'U', 0xf6})
	f.Fuzz(func(t *testing.T, after []byte, limit int, b []byte) {
		if CheckListEphemeral(after, limit) != nil {
			return // the client only decodes replies to requests spoold accepted
		}
		var rep ListEphemeralReply
		if ipc.Unmarshal(b, &rep) != nil {
			return
		}
		users, err := rep.users(after, limit)
		if err != nil {
			return
		}
		if len(users) > limit {
			t.Fatalf("accepted %d names for a limit of %d", len(users), limit)
		}
		prev := after
		for _, u := range users {
			if n, err := NormalizeUser(u); err != nil || !bytes.Equal(n, u) {
				t.Fatalf("accepted a name that is not normalised: %x", u)
			}
			if bytes.Compare(u, prev) <= 0 {
				t.Fatal("accepted names out of order")
			}
			prev = u
		}
	})
}
