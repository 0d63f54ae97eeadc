package management_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/management/mgmttest"
)

func TestBanner(t *testing.T) {
	ts := ownServer(t)
	c := dialRaw(t, ts.path)
	if got, want := c.line(), "220 mix1.example.net splitmix management ready"; got != want {
		t.Fatalf("banner %q, want %q", got, want)
	}
}

// TestCommands runs every command, through both success and each class
// of error, and checks the reply code, the text and the Backend call.
func TestCommands(t *testing.T) {
	hexKey, b64Key := linkKeys(t)
	idKey := make([]byte, management.UserIdentityKeySize)
	for i := range idKey {
		idKey[i] = byte(i)
	}
	idHex := hex.EncodeToString(idKey)
	idB64 := base64.StdEncoding.EncodeToString(idKey)
	failure := errors.New("no such user")

	tests := []struct {
		name     string
		line     string
		fail     string // Backend method made to fail with failure
		na       string // Backend method made to return ErrNotAvailable
		code     int
		text     string // substring of the reply's text
		wantCall string // the Backend call, "" for none
	}{
		{"add hex", "ADD_USER alice " + hexKey, "", "", 250, "user added", "AddUser(alice, " + hexKey + ")"},
		{"add base64", "ADD_USER alice " + b64Key, "", "", 250, "user added", "AddUser(alice, " + hexKey + ")"},
		{"add lower case command", "add_user alice " + hexKey, "", "", 250, "user added", "AddUser(alice, " + hexKey + ")"},
		{"add runs of spaces", "  Add_User \t alice    " + hexKey + "  ", "", "", 250, "user added", "AddUser(alice, " + hexKey + ")"},
		{"add bad key", "ADD_USER alice abcd", "", "", 501, "LINK_KEY: key is neither hex nor base64", ""},
		{"add X25519-only key", "ADD_USER alice " + idHex, "", "", 501, "LINK_KEY:", ""},
		{"add too few args", "ADD_USER alice", "", "", 501, "ADD_USER takes 2 arguments; usage: ADD_USER USER LINK_KEY", ""},
		{"add too many args", "ADD_USER alice " + hexKey + " x", "", "", 501, "takes 2 arguments", ""},
		{"add long user", "ADD_USER " + strings.Repeat("a", 33) + " " + hexKey, "", "", 501, "USER: user name is 33 bytes, at most 32 allowed", ""},
		{"add fails", "ADD_USER alice " + hexKey, "AddUser", "", 554, "ADD_USER failed: no such user", "AddUser(alice, " + hexKey + ")"},
		{"add on a mix", "ADD_USER alice " + hexKey, "", "AddUser", 502, "ADD_USER is not available on this node", "AddUser(alice, " + hexKey + ")"},
		{"update", "UPDATE_USER bob " + b64Key, "", "", 250, "user updated", "UpdateUser(bob, " + hexKey + ")"},
		{"update bad key", "UPDATE_USER bob x", "", "", 501, "LINK_KEY", ""},
		{"update fails", "UPDATE_USER bob " + hexKey, "UpdateUser", "", 554, "no such user", "UpdateUser(bob, " + hexKey + ")"},
		{"remove", "REMOVE_USER bob", "", "", 250, "user removed", "RemoveUser(bob)"},
		{"remove no args", "REMOVE_USER", "", "", 501, "takes 1 argument", ""},
		{"remove fails", "remove_user bob", "RemoveUser", "", 554, "REMOVE_USER failed", "RemoveUser(bob)"},
		{"remove on a mix", "REMOVE_USER bob", "", "RemoveUser", 502, "not available", "RemoveUser(bob)"},
		{"set identity hex", "SET_USER_IDENTITY alice " + idHex, "", "", 250, "identity key set", "SetUserIdentity(alice, " + idHex + ")"},
		{"set identity base64", "SET_USER_IDENTITY alice " + idB64, "", "", 250, "identity key set", "SetUserIdentity(alice, " + idHex + ")"},
		{"set identity bad key", "SET_USER_IDENTITY alice " + idHex[:62], "", "", 501, "IDENTITY_KEY: key is neither hex nor base64", ""},
		{"set identity no key", "SET_USER_IDENTITY alice", "", "", 501, "usage: SET_USER_IDENTITY USER IDENTITY_KEY", ""},
		{"set identity fails", "SET_USER_IDENTITY alice " + idHex, "SetUserIdentity", "", 554, "no such user", "SetUserIdentity(alice, " + idHex + ")"},
		{"remove identity", "REMOVE_USER_IDENTITY alice", "", "", 250, "identity key removed", "RemoveUserIdentity(alice)"},
		{"remove identity fails", "REMOVE_USER_IDENTITY alice", "RemoveUserIdentity", "", 554, "no such user", "RemoveUserIdentity(alice)"},
		{"identity", "USER_IDENTITY alice", "", "", 250, idHex, "UserIdentity(alice)"},
		{"identity fails", "USER_IDENTITY alice", "UserIdentity", "", 554, "USER_IDENTITY failed: no such user", "UserIdentity(alice)"},
		{"identity on a mix", "USER_IDENTITY alice", "", "UserIdentity", 502, "not available", "UserIdentity(alice)"},
		{"send rate", "SEND_RATE 30", "", "", 250, "send rate 30 packets per minute", "SetSendRate(30)"},
		{"send rate zero", "send_rate 0", "", "", 250, "send rate 0", "SetSendRate(0)"},
		{"send rate negative", "SEND_RATE -1", "", "", 501, `PER_MINUTE: "-1" is not a decimal number`, ""},
		{"send rate overflow", "SEND_RATE 18446744073709551616", "", "", 501, "PER_MINUTE", ""},
		{"send rate not available", "SEND_RATE 5", "", "SetSendRate", 502, "SEND_RATE is not available", "SetSendRate(5)"},
		{"send burst", "SEND_BURST 4", "", "", 250, "send burst 4 packets", "SetSendBurst(4)"},
		{"send burst text", "SEND_BURST four", "", "", 501, "PACKETS", ""},
		{"send burst fails", "SEND_BURST 4", "SetSendBurst", "", 554, "SEND_BURST failed", "SetSendBurst(4)"},
		{"start kaetzchen", "START_KAETZCHEN echo", "", "", 250, "kaetzchen echo started", "StartKaetzchen(echo)"},
		{"start kaetzchen bad name", "START_KAETZCHEN ec/ho", "", "", 501, "CAPABILITY", ""},
		{"start kaetzchen fails", "START_KAETZCHEN echo", "StartKaetzchen", "", 554, "START_KAETZCHEN failed", "StartKaetzchen(echo)"},
		{"stop kaetzchen", "STOP_KAETZCHEN echo", "", "", 250, "kaetzchen echo stopped", "StopKaetzchen(echo)"},
		{"stop kaetzchen not available", "STOP_KAETZCHEN echo", "", "StopKaetzchen", 502, "not available", "StopKaetzchen(echo)"},
		{"unknown", "FROBNICATE", "", "", 500, "unknown command", ""},
		{"unknown with args", "USER_LINK alice", "", "", 500, "unknown command", ""},
		{"control character", "STATS\x00", "", "", 500, "not printable", ""},
		{"empty", "", "", "", 500, "empty command line", ""},
		{"blank", "   \t ", "", "", 500, "empty command line", ""},
		{"stats with args", "STATS now", "", "", 501, "STATS takes no arguments", ""},
		{"help", "HELP", "", "", 214, "ADD_USER USER LINK_KEY", ""},
		{"help one", "help send_rate", "", "", 214, "SEND_RATE PER_MINUTE", ""},
		{"help unknown", "HELP FOO", "", "", 501, "no such command", ""},
	}
	ts := ownServer(t)
	ts.backend.SetIdentity(idKey)
	c := session(t, ts.path)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts.backend.Fail(failMethod(tc.fail, tc.na), failErr(tc.fail, tc.na, failure))
			defer ts.backend.Fail(failMethod(tc.fail, tc.na), nil)
			before := len(ts.backend.Calls())
			rep := do(t, c, tc.line)
			if rep.Code != tc.code || !strings.Contains(rep.Text(), tc.text) {
				t.Errorf("%q: got %d %q, want %d containing %q", tc.line, rep.Code, rep.Text(), tc.code, tc.text)
			}
			calls := ts.backend.Calls()[before:]
			switch {
			case tc.wantCall == "" && len(calls) != 0:
				t.Errorf("%q: Backend called: %v", tc.line, calls)
			case tc.wantCall != "" && (len(calls) != 1 || calls[0].String() != tc.wantCall):
				t.Errorf("%q: Backend calls %v, want [%s]", tc.line, calls, tc.wantCall)
			}
		})
	}
	// The session survived every error.
	if rep := do(t, c, "SEND_RATE 1"); rep.Code != 250 {
		t.Fatalf("after the errors: %v", rep)
	}
}

func failMethod(fail, na string) string {
	if fail != "" {
		return fail
	}
	if na != "" {
		return na
	}
	return "none"
}

func failErr(fail, na string, failure error) error {
	switch {
	case fail != "":
		return failure
	case na != "":
		return fmt.Errorf("provider only: %w", management.ErrNotAvailable)
	}
	return nil
}

func TestBackendErrorIsOneLine(t *testing.T) {
	ts := ownServer(t)
	ts.backend.Fail("RemoveUser", errors.New("line one\r\n250 forged\nline three"))
	c := dialRaw(t, ts.path)
	c.line()
	c.send("REMOVE_USER alice\n")
	if got := c.line(); got != "554 REMOVE_USER failed: line one  250 forged line three" {
		t.Fatalf("got %q", got)
	}
	c.send("QUIT\n")
	if got := c.line(); got != "221 bye" {
		t.Fatalf("QUIT: got %q", got)
	}
}

func TestUserIdentityWrongSizeFromBackend(t *testing.T) {
	ts := ownServer(t)
	ts.backend.SetIdentity([]byte{1, 2, 3})
	c := session(t, ts.path)
	if rep := do(t, c, "USER_IDENTITY alice"); rep.Code != 554 || !strings.Contains(rep.Text(), "3 bytes") {
		t.Fatalf("got %v", rep)
	}
}

func TestStats(t *testing.T) {
	ts := ownServer(t)
	var st management.Stats
	st.Add("epoch").Set("current", "1234").Set("elapsed", "1m2s")
	st.Add("drops").Set("replay", "3").Set("bad mac", "1")
	st.Add("links").Set("mix2.example.net", "up outgoing")
	ts.backend.SetStats(st)
	c := dialRaw(t, ts.path)
	c.line()
	c.send("FOO\n") // one malformed line, counted
	c.line()
	c.send("stats\r\n")
	want := []string{
		"250-[epoch]",
		"250-current 1234",
		"250-elapsed 1m2s",
		"250-[drops]",
		"250-replay 3",
		"250-bad_mac 1",
		"250-[links]",
		"250-mix2.example.net up outgoing",
		"250-[management]",
		"250-accepted 1",
		"250-refused 0",
		"250-busy 0",
		"250-commands 1",
		"250-malformed 1",
		"250-failed 0",
		"250-timed_out 0",
		"250 end of stats",
	}
	for i, w := range want {
		if got := c.line(); got != w {
			t.Fatalf("line %d: got %q, want %q", i, got, w)
		}
	}
	// The client parses the same reply.
	cl := session(t, ts.path)
	rep := do(t, cl, "STATS")
	if rep.Code != 250 || len(rep.Lines) != len(want) || rep.Lines[0] != "[epoch]" || rep.Lines[len(rep.Lines)-1] != "end of stats" {
		t.Fatalf("client reply %v", rep)
	}
}

func TestQuit(t *testing.T) {
	ts := ownServer(t)
	c := dialRaw(t, ts.path)
	c.line()
	c.send("quit\n")
	if got := c.line(); got != "221 bye" {
		t.Fatalf("got %q", got)
	}
	c.expectClosed()
}

func TestShutdownCallsBackendOnce(t *testing.T) {
	ts := ownServer(t)
	for i, want := range []string{"250 shutting down", "250 shutdown already in progress"} {
		c := dialRaw(t, ts.path)
		c.line()
		c.send("SHUTDOWN\n")
		if got := c.line(); got != want {
			t.Fatalf("SHUTDOWN %d: got %q, want %q", i, got, want)
		}
		c.expectClosed()
	}
	select {
	case <-ts.backend.ShutdownCalled():
	case <-time.After(10 * time.Second):
		t.Fatal("Backend.Shutdown not called")
	}
	// Shutdown runs on its own goroutine: give a wrong second call the
	// chance to be recorded by closing the server (which waits for the
	// sessions) before counting.
	ts.srv.Close()
	n := 0
	for _, c := range ts.backend.Calls() {
		if c.Method == "Shutdown" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("Shutdown called %d times", n)
	}
}

// shutdownClosingBackend calls Server.Close from Shutdown, as mixd may.
type shutdownClosingBackend struct {
	*mgmttest.Backend
	srv    func() *management.Server
	closed chan struct{}
}

func (b *shutdownClosingBackend) Shutdown() {
	b.Backend.Shutdown()
	b.srv().Close()
	close(b.closed)
}

func TestShutdownMayCloseServer(t *testing.T) {
	var ts *testServer
	var mu sync.Mutex
	b := &shutdownClosingBackend{Backend: &mgmttest.Backend{}, closed: make(chan struct{})}
	b.srv = func() *management.Server { mu.Lock(); defer mu.Unlock(); return ts.srv }
	mu.Lock()
	ts = startServer(t, management.ServerConfig{Backend: b, OwnerUID: uint32(os.Geteuid()), AdminGID: -1})
	mu.Unlock()
	idle := dialRaw(t, ts.path) // a second session, ended by Close
	idle.line()
	c := dialRaw(t, ts.path)
	c.line()
	c.send("SHUTDOWN\n")
	if got := c.line(); got != "250 shutting down" {
		t.Fatalf("got %q", got)
	}
	select {
	case <-b.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close from Shutdown did not return: deadlock")
	}
	idle.expectClosed()
}

func TestOverlongLine(t *testing.T) {
	hexKey, _ := linkKeys(t)
	ts := ownServer(t)

	// The longest command there is fits.
	c := dialRaw(t, ts.path)
	c.line()
	long := "ADD_USER " + strings.Repeat("a", management.MaxUserNameSize) + " " + hexKey
	c.send(long + "\r\n")
	if got := c.line(); got != "250 user added" {
		t.Fatalf("longest command: %q", got)
	}

	for _, n := range []int{management.MaxLineSize + 1, management.MaxLineSize + 2, 3 * management.MaxLineSize} {
		c := dialRaw(t, ts.path)
		c.line()
		go c.conn.Write([]byte(strings.Repeat("x", n) + "\n"))
		got := c.line()
		if !strings.HasPrefix(got, "500 ") || !strings.Contains(got, "longer than 8192 bytes") {
			t.Fatalf("%d bytes: got %q", n, got)
		}
		c.expectClosed()
	}
	if got := ts.srv.Counters().Malformed; got != 3 {
		t.Fatalf("malformed counter %d, want 3", got)
	}
	// The server still serves.
	c = dialRaw(t, ts.path)
	if got := c.line(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("after: %q", got)
	}
}

func TestLastLineWithoutNewline(t *testing.T) {
	ts := ownServer(t)
	c := dialRaw(t, ts.path)
	c.line()
	c.send("SEND_BURST 7")
	c.conn.(interface{ CloseWrite() error }).CloseWrite()
	if got := c.line(); got != "250 send burst 7 packets" {
		t.Fatalf("got %q", got)
	}
	c.expectClosed()
}

func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, management.ServerConfig{OwnerUID: uint32(os.Geteuid()), AdminGID: -1, IdleTimeout: 100 * time.Millisecond})
	c := dialRaw(t, ts.path)
	c.line()
	if got := c.line(); got != "421 idle timeout; closing" {
		t.Fatalf("got %q", got)
	}
	c.expectClosed()
	if got := ts.srv.Counters().TimedOut; got != 1 {
		t.Fatalf("timed out counter %d", got)
	}
}

func TestConcurrentClients(t *testing.T) {
	ts := startServer(t, management.ServerConfig{OwnerUID: uint32(os.Geteuid()), AdminGID: -1, MaxConns: 16})
	var wg sync.WaitGroup
	errs := make(chan error, 16*20)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := management.Dial(ctx, ts.path)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range 20 {
				rep, err := c.Do(ctx, fmt.Sprintf("SEND_RATE %d", i*100+j))
				if err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("send rate %d packets per minute", i*100+j); rep.Code != 250 || rep.Text() != want {
					errs <- fmt.Errorf("got %v, want %q", rep, want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(ts.backend.Calls()); n != 16*20 {
		t.Fatalf("%d Backend calls, want %d", n, 16*20)
	}
}

func TestMaxConns(t *testing.T) {
	ts := startServer(t, management.ServerConfig{OwnerUID: uint32(os.Geteuid()), AdminGID: -1, MaxConns: 2})
	a, b := dialRaw(t, ts.path), dialRaw(t, ts.path)
	a.line()
	b.line()
	c := dialRaw(t, ts.path)
	if got := c.line(); !strings.HasPrefix(got, "421 too many management sessions (2)") {
		t.Fatalf("third session: %q", got)
	}
	c.expectClosed()
	if got := ts.srv.Counters().Busy; got != 1 {
		t.Fatalf("busy counter %d", got)
	}
	// A slot frees when a session ends.
	a.send("QUIT\n")
	a.line()
	waitFor(t, "a free slot", func() bool {
		c, err := management.Dial(context.Background(), ts.path)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

func TestCloseEndsSessionsAndServe(t *testing.T) {
	ts := ownServer(t)
	c := dialRaw(t, ts.path)
	c.line()
	if err := ts.srv.Close(); err != nil {
		t.Fatal(err)
	}
	c.expectClosed()
	select {
	case err := <-ts.done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
		ts.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if err := ts.srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	srv, err := management.NewServer(management.ServerConfig{Backend: &mgmttest.Backend{}, AdminGID: -1, OwnerUID: uint32(os.Geteuid())})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	path := t.TempDir() + "/s"
	ln, err := management.Listen(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want 0600 without an admin group", fi.Mode().Perm())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c := dialRaw(t, path)
	c.line()
	cancel()
	c.expectClosed()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestNewServerChecksConfig(t *testing.T) {
	for _, cfg := range []management.ServerConfig{
		{},
		{Backend: &mgmttest.Backend{}, AdminGID: -2},
		{Backend: &mgmttest.Backend{}, AdminGID: -1, MaxConns: -1},
	} {
		if _, err := management.NewServer(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func TestLookupAdminGID(t *testing.T) {
	if gid, err := management.LookupAdminGID(""); err != nil || gid != -1 {
		t.Fatalf("empty: %d, %v", gid, err)
	}
	if gid, err := management.LookupAdminGID("4242"); err != nil || gid != 4242 {
		t.Fatalf("numeric: %d, %v", gid, err)
	}
	if _, err := management.LookupAdminGID("no-such-group-here"); err == nil {
		t.Fatal("unknown group: no error")
	}
}
