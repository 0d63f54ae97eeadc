package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	clientlib "github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/sphinx"
)

func builtins(disableEcho bool) func(*Config) {
	return func(c *Config) {
		c.Kaetzchen = []config.Kaetzchen{
			{Capability: "echo", Endpoint: "+echo", Disable: disableEcho},
			{Capability: "keyserver", Endpoint: "+keyserver"},
		}
	}
}

// query sends request to endpoint with a SURB for sender, waits for the
// reply packet, carries it back and decrypts it at the SURB's creator.
func (h *harness) query(endpoint string, sender, request []byte) []byte {
	h.t.Helper()
	surb, k, id := h.surb(sender)
	received := time.Now()
	if !h.p.Deliver(h.forward([]byte(endpoint), surb, request, 2500), received) {
		h.t.Fatal("request refused")
	}
	o := h.next()
	if want := received.Add(2500 * time.Millisecond); !o.DispatchAt.Equal(want) {
		h.t.Fatalf("reply due at %v, want %v", o.DispatchAt, want)
	}
	res := h.travel(o)
	if res.Commands.SURBID != id {
		h.t.Fatal("reply under another SURB id")
	}
	plain, err := h.sph.DecryptSURBPayload(k, res.Payload)
	if err != nil {
		h.t.Fatal(err)
	}
	return bytes.Clone(plain)
}

// echo's reply decrypts at the SURB's creator to the request payload,
// followed by zeros (docs/spec/client.md §9.3).
func TestEchoReply(t *testing.T) {
	h := newHarness(t, builtins(false))
	sender := addUser(t, h.st)
	req := h.userPayload(nil)
	if _, err := rand.Read(req[:16]); err != nil {
		t.Fatal(err)
	}
	reply := h.query("+echo", sender, req)
	u := len(req)
	if len(reply) != h.sph.Geometry().ForwardPayloadLength || !bytes.Equal(reply[:u], req) || !allZero(reply[u:]) {
		t.Fatal("echo reply does not match the request")
	}
	// The reply is counted once it has been handed to the scheduler, just
	// after the test saw it.
	h.waitStat("one Kaetzchen reply counted", func(s *Stats) bool { return s.KaetzchenReplies == 1 })
}

// keyserver returns the identity key set through spoold, NotFound for a
// user without one or no such user, and Invalid for a malformed request; the
// client's decoder accepts every answer (docs/spec/client.md §9.4).
func TestKeyserver(t *testing.T) {
	h := newHarness(t, builtins(false))
	sender := addUser(t, h.st)
	withKey := addUser(t, h.st)
	withoutKey := addUser(t, h.st)
	key := make([]byte, IdentityKeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	if err := h.st.SetIdentity(ctxT(t), withKey, key); err != nil {
		t.Fatal(err)
	}
	U := h.sph.Geometry().UserForwardPayloadLength
	ask := func(name string) *clientlib.KeyserverResponse {
		t.Helper()
		req, err := clientlib.EncodeKeyserverRequest(U, name)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := clientlib.DecodeKeyserverResponse(h.query("+keyserver", sender, req))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := ask(string(withKey)); r.Status != clientlib.KeyserverOk || r.User != string(withKey) || !bytes.Equal(r.IdentityKey[:], key) {
		t.Fatalf("user with a key: %+v", r)
	}
	if r := ask(string(withoutKey)); r.Status != clientlib.KeyserverNotFound || r.User != string(withoutKey) {
		t.Fatalf("user without a key: %+v", r)
	}
	if r := ask(string(newUserName(t))); r.Status != clientlib.KeyserverNotFound {
		t.Fatalf("no such user: %+v", r)
	}
	bad := h.userPayload([]byte{1, 5, 'A', 'B', 'C', 'D', 'E'}) // upper case
	r, err := clientlib.DecodeKeyserverResponse(h.query("+keyserver", sender, bad))
	if err != nil || r.Status != clientlib.KeyserverInvalid || r.User != "" {
		t.Fatalf("malformed request: %+v %v", r, err)
	}
}

// STOP_KAETZCHEN drops the service's requests and removes it from the
// descriptor's services; START_KAETZCHEN brings it back.
func TestStopStartKaetzchen(t *testing.T) {
	h := newHarness(t, builtins(false))
	sender := addUser(t, h.st)
	want := map[string]map[string]string{"echo": {"endpoint": "+echo"}, "keyserver": {"endpoint": "+keyserver"}}
	if got := h.p.Services(); !equalServices(got, want) {
		t.Fatalf("Services = %v", got)
	}
	if err := h.p.StopKaetzchen(ctxT(t), "echo"); err != nil {
		t.Fatal(err)
	}
	if got := h.p.Services(); len(got) != 1 || got["echo"] != nil {
		t.Fatalf("Services after stop = %v", got)
	}
	surb, _, _ := h.surb(sender)
	if h.p.Deliver(h.forward([]byte("+echo"), surb, h.userPayload(nil), 0), time.Now()) {
		t.Fatal("stopped service took a request")
	}
	if s := h.p.Stats(); s.Drop(DropServiceStopped) != 1 || s.Services["echo"] || !s.Services["keyserver"] {
		t.Fatalf("stats: %+v", s)
	}
	h.noPacket()
	if err := h.p.StartKaetzchen(ctxT(t), "echo"); err != nil {
		t.Fatal(err)
	}
	req := h.userPayload([]byte("back"))
	if reply := h.query("+echo", sender, req); !bytes.Equal(reply[:len(req)], req) {
		t.Fatal("echo reply after restart does not match")
	}
	if err := h.p.StopKaetzchen(ctxT(t), "nonesuch"); !errors.Is(err, ErrUnknownCapability) {
		t.Fatalf("stop unknown: %v", err)
	}
}

func equalServices(a, b map[string]map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if len(v) != len(b[k]) || v["endpoint"] != b[k]["endpoint"] {
			return false
		}
	}
	return true
}

// A service disabled in the configuration is not offered, not reachable and
// cannot be started.
func TestKaetzchenDisabledInConfig(t *testing.T) {
	h := newHarness(t, builtins(true))
	if got := h.p.Services(); len(got) != 1 || got["keyserver"] == nil {
		t.Fatalf("Services = %v", got)
	}
	surb, _, _ := h.surb(addUser(t, h.st))
	if h.p.Deliver(h.forward([]byte("+echo"), surb, h.userPayload(nil), 0), time.Now()) {
		t.Fatal("disabled service took a request")
	}
	if s := h.p.Stats(); s.Drop(DropUnknownService) != 1 {
		t.Fatalf("unknown_service = %d", s.Drop(DropUnknownService))
	}
	if err := h.p.StartKaetzchen(ctxT(t), "echo"); !errors.Is(err, ErrUnknownCapability) {
		t.Fatalf("start disabled: %v", err)
	}
}

// A request without a SURB cannot be answered: dropped and counted.
func TestKaetzchenWithoutSURB(t *testing.T) {
	h := newHarness(t, builtins(false))
	if h.p.Deliver(h.forward([]byte("+echo"), nil, h.userPayload([]byte("x")), 0), time.Now()) {
		t.Fatal("request without SURB accepted")
	}
	if s := h.p.Stats(); s.Drop(DropNoSURB) != 1 {
		t.Fatalf("kaetzchen_no_surb = %d", s.Drop(DropNoSURB))
	}
	h.noPacket()
}

// A request that waited longer than KaetzchenDelay is dropped.
func TestKaetzchenDelay(t *testing.T) {
	clock := newFakeClock()
	gate := make(chan struct{})
	h := newHarness(t, func(c *Config) {
		builtins(false)(c)
		c.KaetzchenDelay = time.Second
		c.KaetzchenWorkers = 1
		c.Now = clock.Now
	})
	// Hold the only worker inside the keyserver, then age the queued
	// echo request past the limit.
	entered := make(chan struct{}, 1)
	h.p.kz.byCapability["keyserver"].handle = func(_ context.Context, req []byte) ([]byte, error) {
		entered <- struct{}{}
		<-gate
		return nil, errNoResponse
	}
	sender := addUser(t, h.st)
	surb1, _, _ := h.surb(sender)
	surb2, _, _ := h.surb(sender)
	if !h.p.Deliver(h.forward([]byte("+keyserver"), surb1, h.userPayload(nil), 0), time.Now()) {
		t.Fatal("refused")
	}
	<-entered
	if !h.p.Deliver(h.forward([]byte("+echo"), surb2, h.userPayload(nil), 0), time.Now()) {
		t.Fatal("refused")
	}
	clock.Advance(2 * time.Second)
	close(gate)
	h.waitStat("too late counted", func(s *Stats) bool {
		return s.Drop(DropKaetzchenTooLate) == 1 && s.Drop(DropServiceFailed) == 1
	})
	h.noPacket()
}

// The configuration of built-in services is checked at New.
func TestKaetzchenConfigErrors(t *testing.T) {
	sph, _ := sphinx.New(sphinx.DefaultGeometry())
	cases := map[string][]config.Kaetzchen{
		"Endpoint":         {{Capability: "echo", Endpoint: "echo"}},
		"unknown built-in": {{Capability: "zec", Endpoint: "+zec"}},
		"configured twice": {{Capability: "echo", Endpoint: "+a"}, {Capability: "echo", Endpoint: "+b"}},
		"used twice":       {{Capability: "echo", Endpoint: "+a"}, {Capability: "keyserver", Endpoint: "+a"}},
		"takes no Config":  {{Capability: "echo", Endpoint: "+echo", Config: map[string]string{"x": "y"}}},
		"Endpoint \"+ECHO": {{Capability: "echo", Endpoint: "+ECHO"}},
	}
	for want, ks := range cases {
		_, err := New(Config{Sphinx: sph, Store: store(t), Send: func(Outgoing) bool { return true }, Kaetzchen: ks})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}
