package spoolproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

func serve(t *testing.T, st Store, authorize ipc.Authorizer) *Client {
	t.Helper()
	path := ipctest.SocketPath(t, "spoold.sock")
	ipctest.Serve(t, ipc.ServerConfig{Protocol: Protocol, Routes: Routes(st), Authorize: authorize}, path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, path, ipctest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestErrorsCrossTheSocket: every Store error comes out of the client as
// the same sentinel, with the store's detail, and the right wire code.
func TestErrorsCrossTheSocket(t *testing.T) {
	for _, w := range wireErrors {
		f := &fakeStore{err: Errorf(w.err, "detail %d", 42)}
		c := serve(t, f, ipctest.AllowSelf(RoleMixd))
		_, err := c.Exists(tctx(t), []byte("alice"))
		if !errors.Is(err, w.err) || ipc.CodeOf(err) != w.code {
			t.Fatalf("%v: got %v (code %v)", w.err, err, ipc.CodeOf(err))
		}
		if !bytes.Contains([]byte(err.Error()), []byte("detail 42")) {
			t.Fatalf("%v: detail lost: %v", w.err, err)
		}
		for _, other := range wireErrors {
			if other.err != w.err && errors.Is(err, other.err) {
				t.Fatalf("%v also matches %v", w.err, other.err)
			}
		}
	}
}

func TestInternalErrorStaysLocal(t *testing.T) {
	c := serve(t, &fakeStore{err: fmt.Errorf("disk on fire at /secret/path")}, ipctest.AllowSelf(RoleMixd))
	err := c.PurgeUser(tctx(t), []byte("alice"))
	if ipc.CodeOf(err) != ipc.CodeInternal || bytes.Contains([]byte(err.Error()), []byte("/secret/path")) {
		t.Fatalf("internal error: %v", err)
	}
}

func TestServerChecksSizes(t *testing.T) {
	link, _ := memkey.GenerateLinkKey()
	c := serve(t, &fakeStore{link: link.Public(), head: &Head{}}, ipctest.AllowSelf(RoleMixd))
	ctx := tctx(t)
	if _, err := c.IsValid(ctx, []byte("a"), nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("nil link: %v", err)
	}
	if err := c.SetIdentity(ctx, []byte("a"), make([]byte, 5)); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("short identity: %v", err)
	}
	big := &Message{Body: make([]byte, MaxMessageSize+1)}
	if err := c.StoreMessage(ctx, []byte("a"), big); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversize message: %v", err)
	}
	if err := c.StoreMessage(ctx, []byte("a"), &Message{}); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("empty message: %v", err)
	}
	if err := c.AddUser(ctx, make([]byte, 33), link.Public()); !errors.Is(err, ErrInvalidUser) {
		t.Fatalf("long name: %v", err)
	}
	got, err := c.GetLink(ctx, []byte("a"))
	if err != nil || !got.Equal(link.Public()) {
		t.Fatalf("GetLink: %v", err)
	}
	hd, err := c.GetHead(ctx, []byte("a"))
	if err != nil || hd.Message != nil || hd.Count != 0 {
		t.Fatalf("GetHead: %+v %v", hd, err)
	}
}

func TestRefusedCaller(t *testing.T) {
	path := ipctest.SocketPath(t, "spoold.sock")
	ipctest.Serve(t, ipc.ServerConfig{Protocol: Protocol, Routes: Routes(&fakeStore{}), Authorize: ipc.AllowUIDs(RoleMixd, 65534)}, path)
	if _, err := Dial(tctx(t), path, nil); ipc.CodeOf(err) != ipc.CodeDenied {
		t.Fatalf("dial: %v", err)
	}
}

func TestIdempotentCatalog(t *testing.T) {
	for typ := range Routes(&fakeStore{}) {
		want := typ != TypeAddUser && typ != TypeRemoveUser
		if Idempotent(typ) != want {
			t.Fatalf("type %d: idempotent %t", typ, Idempotent(typ))
		}
	}
	if Idempotent(0) || Idempotent(17) {
		t.Fatal("unknown types are idempotent")
	}
	if len(Routes(&fakeStore{})) != 16 || !Idempotent(TypeAddEphemeralIfAbsent) || !Idempotent(TypeListEphemeral) {
		t.Fatal("the catalogue is not PROTOCOL.md §3's 16 messages")
	}
}

// TestProtocolDoc: PROTOCOL.md's version (§2) and catalogue (§3) are the
// code's: one row per route, idempotent as Idempotent says.
func TestProtocolDoc(t *testing.T) {
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("| version (hello `V`) | `%d` |", Version); !strings.Contains(string(doc), want) {
		t.Fatalf("PROTOCOL.md §2 does not say %q", want)
	}
	row := regexp.MustCompile(`(?m)^\| +(\d+) \| (\w+) \| mixd \| (yes|\*\*no\*\*) \| §3\.\d \|$`)
	rows := row.FindAllStringSubmatch(string(doc), -1)
	routes := Routes(&fakeStore{})
	if len(rows) != len(routes) {
		t.Fatalf("PROTOCOL.md §3 lists %d messages, the code routes %d", len(rows), len(routes))
	}
	for _, r := range rows {
		n, _ := strconv.Atoi(r[1])
		if _, ok := routes[ipc.MsgType(n)]; !ok {
			t.Fatalf("PROTOCOL.md §3 lists %s as %d, which is not routed", r[2], n)
		}
		if Idempotent(ipc.MsgType(n)) != (r[3] == "yes") {
			t.Fatalf("%s: idempotent %t in the code, %s in PROTOCOL.md", r[2], Idempotent(ipc.MsgType(n)), r[3])
		}
	}
}

// TestListEphemeralBounds: the server refuses out-of-range arguments with
// the Store's errors, and the client refuses a reply that breaks §3.8.
func TestListEphemeralBounds(t *testing.T) {
	c := serve(t, &fakeStore{listed: [][]byte{[]byte("a"), []byte("b")}}, ipctest.AllowSelf(RoleMixd))
	ctx := tctx(t)
	for _, limit := range []int{0, -1, MaxListEphemeral + 1, 1 << 40} {
		if _, err := c.ListEphemeral(ctx, nil, limit); !errors.Is(err, ErrInvalidLimit) || ipc.CodeOf(err) != ipc.CodeInvalid {
			t.Fatalf("limit %d: %v", limit, err)
		}
	}
	if _, err := c.ListEphemeral(ctx, make([]byte, MaxUserSize+1), 1); !errors.Is(err, ErrInvalidUser) {
		t.Fatalf("long position: %v", err)
	}
	// A position of the longest size is accepted: it is compared, not
	// normalised, and any name not starting with a zero byte sorts after it.
	got, err := c.ListEphemeral(ctx, make([]byte, MaxUserSize), MaxListEphemeral)
	if err != nil || len(got) != 2 || string(got[0]) != "a" || string(got[1]) != "b" {
		t.Fatalf("list: %q %v", got, err)
	}
	for name, listed := range map[string][][]byte{
		"out of order": {[]byte("b"), []byte("a")},
		"repeated":     {[]byte("a"), []byte("a")},
		"not after":    {[]byte("0")},
		"padded name":  {[]byte("a\x00")},
		"empty name":   {{}},
		"too long":     {bytes.Repeat([]byte("x"), MaxUserSize+1)},
	} {
		c := serve(t, &fakeStore{listed: listed}, ipctest.AllowSelf(RoleMixd))
		if _, err := c.ListEphemeral(ctx, []byte("0"), 4); !errors.Is(err, errReply) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// More names than asked is the server's refusal (internal), never a
	// reply that could outgrow the frame.
	c = serve(t, &fakeStore{listed: [][]byte{[]byte("a"), []byte("b")}}, ipctest.AllowSelf(RoleMixd))
	if _, err := c.ListEphemeral(ctx, nil, 1); ipc.CodeOf(err) != ipc.CodeInternal {
		t.Fatalf("over-long listing: %v", err)
	}
	if _, _, err := c.AddEphemeralIfAbsent(ctx, []byte("a"), nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("nil link: %v", err)
	}
}

func TestNormalizeUser(t *testing.T) {
	for _, c := range []struct {
		in, out string
		ok      bool
	}{
		{"alice", "alice", true},
		{"alice\x00\x00", "alice", true},
		{"Alice", "Alice", true},
		{"a\x00b", "a\x00b", true},
		{"", "", false},
		{"\x00", "", false},
		{string(make([]byte, 33)), "", false},
		{string(bytes.Repeat([]byte{'x'}, 32)), string(bytes.Repeat([]byte{'x'}, 32)), true},
	} {
		got, err := NormalizeUser([]byte(c.in))
		if (err == nil) != c.ok || (c.ok && string(got) != c.out) {
			t.Fatalf("NormalizeUser(%q) = %q, %v", c.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidUser) {
			t.Fatalf("NormalizeUser(%q): %v", c.in, err)
		}
	}
}
