package integration

// The acceptance test of the issue "Providers": a whole network of real
// processes (startProviderNet), alice at provider-a and bob at provider-b,
// the operator's management socket and mixctl. The subtests share the
// network and run in order; the last one shuts nodes down.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/proctest"
)

func TestProviderNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of real processes")
	}
	pn := startProviderNet(t)
	provA, provB := pn.providers[0], pn.providers[1]
	bobAddr := "bob@" + provB.name

	// Users are added before their clients connect: alice with a key made
	// here, written to a file for `user add alice @FILE`; bob with a key
	// made by `mixclient genkey`.
	aliceKey, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	alicePub := filepath.Join(pn.dir, "alice.pub")
	proctest.WriteFile(t, alicePub, hex.EncodeToString(aliceKey.Public().Bytes())+"\n")
	if out := pn.mixctlOK(t, provA, "user", "add", "alice", "@"+alicePub); strings.TrimSpace(out) != "user added" {
		t.Fatalf("mixctl user add: %q", out)
	}

	bobSeed := filepath.Join(pn.dir, "bob.seed")
	out, errOut, code := runTool("mixclient", []string{"genkey", bobSeed}, nil)
	if code != 0 {
		t.Fatalf("mixclient genkey: exit %d: %s", code, errOut)
	}
	pn.mixctlOK(t, provB, "user", "add", "bob", strings.TrimSpace(out))
	bobKey := loadSeed(t, bobSeed)

	alice := pn.newClient(t, provA, "alice", aliceKey)
	bob := pn.newClient(t, provB, "bob", bobKey)
	for _, c := range []*client.Client{alice, bob} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.Connect(ctx)
		cancel()
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
	}
	// The network carries traffic once an echo request from alice to
	// provider-b comes back: the path there and the SURB's path back work.
	waitPing(t, pn, alice, provB.name, 90*time.Second)

	t.Run("MessagesArriveExactlyOnce", func(t *testing.T) {
		// First bob reads his spool over a raw link, which shows every
		// entry the Provider hands out, duplicates included; then with
		// the client library, as a user would.
		for _, raw := range []bool{true, false} {
			sent := sendAcked(t, alice, bobAddr, fmt.Sprintf("hello bob (raw %v)", raw), 10)
			// Every message was acknowledged, so every one is in bob's
			// spool.
			var got map[client.MessageID]string
			if raw {
				spool := pn.drainRaw(t, provB, "bob", bobKey)
				if len(spool.messages) != len(sent) || spool.acks != 0 {
					t.Errorf("bob's spool held %d messages and %d ACKs, want %d and none", len(spool.messages), spool.acks, len(sent))
				}
				got = spool.bodies
			} else {
				got = receive(t, bob, len(sent), 30*time.Second)
			}
			for id, body := range sent {
				if got[id] != body {
					t.Errorf("message %v: bob got %q, alice sent %q", id, got[id], body)
				}
			}
			if len(got) != len(sent) {
				t.Errorf("bob got %d distinct messages, alice sent %d", len(got), len(sent))
			}
			// Retrieval acknowledged everything: nothing is left.
			if rest := pn.drainRaw(t, provB, "bob", bobKey); len(rest.messages) != 0 {
				t.Errorf("bob's spool still holds %d messages after retrieval", len(rest.messages))
			}
		}
	})

	t.Run("EchoPing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, nd := range pn.providers {
			rtt, err := alice.Ping(ctx, nd.name, "+echo")
			if err != nil {
				t.Fatalf("alice pinging %s: %v", nd.name, err)
			}
			t.Logf("alice -> %s +echo: %v", nd.name, rtt)
		}
		rtt, err := bob.Ping(ctx, provA.name, "+echo")
		if err != nil {
			t.Fatalf("bob pinging %s: %v", provA.name, err)
		}
		t.Logf("bob -> %s +echo: %v", provA.name, rtt)
	})

	// mixclient, the operator's check of a node, as a real process: bob
	// pings provider-a's echo service from a session of his own.
	t.Run("MixclientPing", func(t *testing.T) {
		args := []string{"-authority", pn.authAddr, "-authority-key", pn.authPub.String(),
			"-provider", provB.name, "-user", "bob", "-key", bobSeed,
			"-epoch-period", pnPeriod.String(), "-timeout", "45s", "ping", "-n", "2", provA.name, "+echo"}
		out, errOut, code := runTool("mixclient", args, nil)
		if code != 0 {
			t.Fatalf("mixclient ping: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		if n := strings.Count(out, "\n"); n < 2 {
			t.Fatalf("mixclient ping -n 2 printed %d lines: %q", n, out)
		}
		t.Logf("mixclient ping: %s", strings.TrimSpace(out))
	})

	t.Run("KilledSpooldLosesNothingAcknowledged", func(t *testing.T) {
		killedSpoold(t, pn, alice, bobKey)
	})

	t.Run("ManagementSocketSession", func(t *testing.T) {
		managementSession(t, pn, alice)
	})

	t.Run("Mixctl", func(t *testing.T) {
		mixctlCommands(t, pn)
	})

	t.Run("RefusedManagementCaller", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to run a caller under another uid; the unit tests of internal/management cover the check")
		}
		before := pn.stats(t, provA).count(t, "refused", "management")
		// uid 65534 (nobody) with CAP_DAC_OVERRIDE: file permissions do
		// not stop it, so only the server's credential check can. The
		// capability is effective only after exec, so the program must be
		// where nobody can run it.
		bin := worldRunnable(t, "mixctl")
		out, errOut, code := runToolAt(bin, []string{"-s", provA.mgmtSocket(), "stats"}, func(c *exec.Cmd) {
			c.SysProcAttr = &syscall.SysProcAttr{
				Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
				AmbientCaps: []uintptr{unix.CAP_DAC_OVERRIDE},
			}
		})
		if code == -1 && strings.Contains(errOut, "operation not permitted") {
			t.Skipf("cannot run a process as uid 65534 with a capability here: %s", errOut)
		}
		if code != 3 || !strings.Contains(errOut, "530") || out != "" {
			t.Fatalf("mixctl as uid 65534: exit %d, stdout %q, stderr %q; want exit 3 and a 530 refusal", code, out, errOut)
		}
		if after := pn.stats(t, provA).count(t, "refused", "management"); after != before+1 {
			t.Fatalf("management refused: %d before, %d after", before, after)
		}
	})

	t.Run("WrongKeyRefused", func(t *testing.T) {
		wrong, err := memkey.GenerateLinkKey()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		impostor := pn.newClient(t, provB, "bob", wrong)
		if err := impostor.Connect(ctx); !errors.Is(err, link.ErrPeerRejected) {
			t.Errorf("bob's name with another key: %v, want ErrPeerRejected", err)
		}
		for _, blob := range []string{"nosuchuser", "Not A User Name"} {
			if s, _, err := pn.rawSession(ctx, provB, blob, wrong); !errors.Is(err, link.ErrPeerRejected) {
				if s != nil {
					s.Close()
				}
				t.Errorf("blob %q: %v, want ErrPeerRejected", blob, err)
			}
		}
		// bob himself still gets in.
		s, _, err := pn.rawSession(ctx, provB, "bob", bobKey)
		if err != nil {
			t.Fatalf("bob with his key: %v", err)
		}
		s.Close()
	})

	t.Run("RateLimited", func(t *testing.T) {
		rateLimited(t, pn, alice, bob)
	})

	t.Run("Shutdown", func(t *testing.T) {
		// SHUTDOWN on a mix's socket, then mixctl shutdown on a Provider:
		// each daemon exits as after SIGTERM, with status 0.
		mix := pn.mixes[len(pn.mixes)-1]
		c := mgmtSession(t, mix)
		do(t, c, "SHUTDOWN", 250)
		waitExit(t, mix.mixd, 30*time.Second)

		out := pn.mixctlOK(t, provA, "shutdown")
		if strings.TrimSpace(out) != "shutting down" {
			t.Errorf("mixctl shutdown printed %q", out)
		}
		waitExit(t, provA.mixd, 30*time.Second)
		if _, errOut, code := pn.mixctl(provA, "stats"); code != 3 {
			t.Errorf("mixctl stats after shutdown: exit %d (%s), want 3", code, errOut)
		}
	})
}

// sendAcked sends n messages with SURB-ACKs from c to "to" and waits until
// every one is acknowledged; it returns the bodies by message id.
func sendAcked(t *testing.T, c *client.Client, to, prefix string, n int) map[client.MessageID]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sent := map[client.MessageID]string{}
	var ids []client.MessageID
	for i := range n {
		body := fmt.Sprintf("%s %d", prefix, i)
		id, err := c.Send(ctx, to, []byte(body), client.WithACK())
		if err != nil {
			t.Fatal(err)
		}
		sent[id] = body
		ids = append(ids, id)
	}
	for _, id := range ids {
		if err := c.WaitDelivered(ctx, id); err != nil {
			t.Fatalf("message %v: %v", id, err)
		}
	}
	return sent
}

// loadSeed reads a seed file written by mixclient genkey.
func loadSeed(t *testing.T, path string) *memkey.LinkKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	k, err := memkey.NewLinkKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// waitPing pings endpoint +echo at provider until a reply comes back.
func waitPing(t *testing.T, pn *pnet, c *client.Client, provider string, d time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		pn.checkAlive(t)
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		rtt, err := c.Ping(ctx, provider, "+echo")
		cancel()
		if err == nil {
			return rtt
		}
		last = err
	}
	t.Fatalf("no echo reply from %s within %v: %v", provider, d, last)
	return 0
}

// receive retrieves from c until n distinct messages arrived, failing on
// an error or after d.
func receive(t *testing.T, c *client.Client, n int, d time.Duration) map[client.MessageID]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	got := map[client.MessageID]string{}
	for len(got) < n {
		m, err := c.Retrieve(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(got), n, err)
		}
		if m == nil {
			select {
			case <-ctx.Done():
				t.Fatalf("only %d of %d messages within %v", len(got), n, d)
			case <-time.After(200 * time.Millisecond): // poll interval (§8.5)
			}
			continue
		}
		if _, dup := got[m.ID]; dup {
			t.Fatalf("message %v retrieved twice", m.ID)
		}
		got[m.ID] = string(m.Body)
	}
	// Acknowledge the last one: a request answered MessageEmpty.
	if m, err := c.Retrieve(ctx); err != nil || m != nil {
		t.Fatalf("after %d messages: one more (%v) or an error (%v)", n, m, err)
	}
	return got
}

// drainRaw empties user's spool at nd over a raw link and returns what it
// held, failing on duplicates.
func (pn *pnet) drainRaw(t *testing.T, nd *pnNode, user string, key *memkey.LinkKey) *rawSpool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := pn.rawDrain(ctx, nd, user, key)
	if err != nil {
		t.Fatalf("draining %s's spool: %v", user, err)
	}
	seen := map[client.MessageID]bool{}
	for _, id := range s.messages {
		if seen[id] {
			t.Errorf("%s's spool holds message %v twice", user, id)
		}
		seen[id] = true
	}
	return s
}

func waitExit(t *testing.T, p *proc, d time.Duration) {
	t.Helper()
	if err := p.waitExit(t, d, "the shutdown command"); err != nil {
		t.Errorf("%s exited with %v", p.Name, err)
	}
}

// killedSpoold kills bob's Provider's spoold with SIGKILL while alice's
// messages to bob are in flight, restarts it, and checks that every
// message whose SURB-ACK came back is in bob's spool, once.
func killedSpoold(t *testing.T, pn *pnet, alice *client.Client, bobKey *memkey.LinkKey) {
	provB := pn.providers[1]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sent := map[client.MessageID]string{}
	send := func(batch string, n int) []client.MessageID {
		var ids []client.MessageID
		for i := range n {
			body := fmt.Sprintf("%s %d", batch, i)
			id, err := alice.Send(ctx, "bob@"+provB.name, []byte(body), client.WithACK())
			if err != nil {
				t.Fatal(err)
			}
			sent[id] = body
			ids = append(ids, id)
			time.Sleep(50 * time.Millisecond) // pacing the sender, not synchronising
		}
		return ids
	}
	dropsBefore := spoolDrops(t, pn, provB)
	before := send("before the kill", 8)
	provB.spoold.Kill()
	during := send("spoold down", 4)
	// Keep spoold down until provider-b has given up on a delivery (its
	// store timeout), so that packets in flight are really lost, not
	// stored late by a retry.
	proctest.Eventually(t, 30*time.Second, "provider-b to drop a delivery while spoold is down", func() bool {
		return spoolDrops(t, pn, provB) > dropsBefore
	})
	pn.startSpoold(t, provB)
	// mixd reaches the new spoold once a user command goes through.
	probe, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	probeHex := hex.EncodeToString(probe.Public().Bytes())
	// A fresh name per attempt: an attempt that reached spoold but lost
	// its answer must not make the next one fail as a duplicate.
	attempt := 0
	proctest.Eventually(t, 30*time.Second, "mixd to reach the restarted spoold", func() bool {
		attempt++
		_, _, code := pn.mixctl(provB, "user", "add", fmt.Sprintf("probe-%d", attempt), probeHex)
		return code == 0
	})
	pn.mixctlOK(t, provB, "user", "remove", fmt.Sprintf("probe-%d", attempt))
	after := send("after the restart", 4)

	// Collect ACKs until every message sent after the restart has one.
	proctest.Eventually(t, 45*time.Second, "the ACKs of the messages sent after the restart", func() bool {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		for {
			m, err := alice.Retrieve(rctx)
			if err != nil || m == nil {
				break
			}
			t.Errorf("alice got an unexpected message %v", m.ID)
		}
		for _, id := range after {
			if alice.AckState(id) != client.AckDelivered {
				return false
			}
		}
		return true
	})
	acked := map[client.MessageID]bool{}
	count := map[string]int{}
	for name, ids := range map[string][]client.MessageID{"before": before, "during": during, "after": after} {
		for _, id := range ids {
			if alice.AckState(id) == client.AckDelivered {
				acked[id] = true
				count[name]++
			}
		}
	}
	t.Logf("acknowledged: %d of %d sent before the kill, %d of %d while spoold was down, %d of %d after the restart",
		count["before"], len(before), count["during"], len(during), count["after"], len(after))

	spool := pn.drainRaw(t, provB, "bob", bobKey)
	inSpool := map[client.MessageID]bool{}
	for _, id := range spool.messages {
		inSpool[id] = true
		if _, ok := sent[id]; !ok {
			t.Errorf("bob's spool holds message %v that alice did not send", id)
		} else if spool.bodies[id] != sent[id] {
			t.Errorf("message %v: body %q, sent %q", id, spool.bodies[id], sent[id])
		}
	}
	for id := range acked {
		if !inSpool[id] {
			t.Errorf("message %v (%q) was acknowledged but is not in bob's spool", id, sent[id])
		}
	}
	t.Logf("bob's spool held %d of the %d messages sent", len(spool.messages), len(sent))
	if len(spool.messages) == len(sent) {
		t.Error("every message reached the spool: the kill lost nothing in flight, so the test proved nothing")
	}
}

// spoolDrops is the count of deliveries a Provider dropped because spoold
// did not answer in time: store_failed and provider_too_late.
func spoolDrops(t *testing.T, pn *pnet, nd *pnNode) uint64 {
	t.Helper()
	s := pn.stats(t, nd)
	return s.count(t, "store_failed", "provider") + s.count(t, "provider_too_late", "provider")
}

// managementSession drives every command through one raw management
// socket session (the protocol socat would speak) and checks each one's
// effect.
func managementSession(t *testing.T, pn *pnet, alice *client.Client) {
	provB := pn.providers[1]
	c := mgmtSession(t, provB)
	k1, k2 := newLinkKey(t), newLinkKey(t)
	hex1, hex2 := hex.EncodeToString(k1.Public().Bytes()), hex.EncodeToString(k2.Public().Bytes())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	do(t, c, "ADD_USER carol "+hex1, 250)
	do(t, c, "ADD_USER carol "+hex1, 554)
	do(t, c, "ADD_USER carol 1234", 501)

	// Identity keys, visible through the keyserver over the network.
	var ident [32]byte
	if _, err := rand.Read(ident[:]); err != nil {
		t.Fatal(err)
	}
	do(t, c, "SET_USER_IDENTITY carol "+hex.EncodeToString(ident[:]), 250)
	if r := do(t, c, "USER_IDENTITY carol", 250); r.Text() != hex.EncodeToString(ident[:]) {
		t.Errorf("USER_IDENTITY carol = %q", r.Text())
	}
	resp, err := alice.LookupIdentity(ctx, provB.name, "+keyserver", "carol")
	if err != nil {
		t.Fatalf("keyserver lookup: %v", err)
	}
	if resp.Status != client.KeyserverOk || resp.IdentityKey != ident {
		t.Errorf("keyserver: status %v key %x, want Ok %x", resp.Status, resp.IdentityKey, ident)
	}
	do(t, c, "REMOVE_USER_IDENTITY carol", 250)
	do(t, c, "USER_IDENTITY carol", 554)

	// Link keys decide who connects.
	connect := func(k *memkey.LinkKey) error {
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		defer ccancel()
		cl := pn.newClient(t, provB, "carol", k)
		defer cl.Close()
		return cl.Connect(cctx)
	}
	if err := connect(k1); err != nil {
		t.Fatalf("carol with her key: %v", err)
	}
	do(t, c, "UPDATE_USER carol "+hex2, 250)
	if err := connect(k1); !errors.Is(err, link.ErrPeerRejected) {
		t.Errorf("carol with her replaced key: %v, want ErrPeerRejected", err)
	}
	if err := connect(k2); err != nil {
		t.Errorf("carol with her new key: %v", err)
	}
	do(t, c, "REMOVE_USER carol", 250)
	if err := connect(k2); !errors.Is(err, link.ErrPeerRejected) {
		t.Errorf("removed carol: %v, want ErrPeerRejected", err)
	}
	do(t, c, "REMOVE_USER carol", 554)
	do(t, c, "UPDATE_USER carol "+hex2, 554)

	do(t, c, "SEND_RATE "+strconv.Itoa(pnSendRate), 250)
	do(t, c, "SEND_BURST 10", 250)

	// A stopped service answers nothing and counts what it drops.
	stoppedBefore := statsOf(t, c).count(t, "service_stopped", "provider")
	do(t, c, "STOP_KAETZCHEN echo", 250)
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = alice.Ping(pctx, provB.name, "+echo")
	pcancel()
	if err == nil {
		t.Error("a stopped echo service answered")
	}
	proctest.Eventually(t, 10*time.Second, "the stopped service's drop counter", func() bool {
		return statsOf(t, c).count(t, "service_stopped", "provider") > stoppedBefore
	})
	do(t, c, "START_KAETZCHEN nosuch", 554)
	do(t, c, "START_KAETZCHEN echo", 250)
	waitPing(t, pn, alice, provB.name, 30*time.Second)

	st := statsOf(t, c)
	for _, sec := range []string{"management"} {
		if _, ok := st[sec]; !ok {
			t.Errorf("STATS has no [%s] section: %v", sec, st)
		}
	}
	checkEpoch(t, pn, st)
	if r := do(t, c, "HELP", 214); len(r.Lines) < 10 {
		t.Errorf("HELP: %d lines", len(r.Lines))
	}
	do(t, c, "QUIT", 221)

	rawSocketSession(t, provB)

	// A mix has no users, no rate limit and no Kaetzchen.
	m := mgmtSession(t, pn.mixes[0])
	do(t, m, "ADD_USER dave "+hex1, 502)
	do(t, m, "USER_IDENTITY dave", 502)
	do(t, m, "SEND_RATE 10", 502)
	do(t, m, "START_KAETZCHEN echo", 502)
	ms := statsOf(t, m)
	checkEpoch(t, pn, ms)
	if _, _, ok := ms.find("replay", "drop"); !ok {
		t.Errorf("a mix's STATS has no replay drop counter: %v", ms)
	}
}

// rawSocketSession speaks the management protocol over a plain UNIX socket
// connection, as socat would: greeting, commands in any case with runs of
// blanks and CRLF endings, an unknown command, a multi-line reply, QUIT.
func rawSocketSession(t *testing.T, nd *pnNode) {
	t.Helper()
	conn, err := dialUnix(nd.mgmtSocket())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	readLine := func() string {
		t.Helper()
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a reply line: %v (got %q)", err, line)
		}
		return strings.TrimRight(line, "\r\n")
	}
	send := func(line string) {
		t.Helper()
		if _, err := io.WriteString(conn, line); err != nil {
			t.Fatal(err)
		}
	}
	if g := readLine(); !strings.HasPrefix(g, "220 "+nd.name+" ") {
		t.Fatalf("greeting %q", g)
	}
	send("send_rate \t  " + strconv.Itoa(pnSendRate) + "\r\n")
	if l := readLine(); l != fmt.Sprintf("250 send rate %d packets per minute", pnSendRate) {
		t.Errorf("send_rate: %q", l)
	}
	send("FROBNICATE\n")
	if l := readLine(); !strings.HasPrefix(l, "500 ") {
		t.Errorf("unknown command: %q", l)
	}
	send("Stats\n")
	var lines []string
	for {
		l := readLine()
		lines = append(lines, l)
		if strings.HasPrefix(l, "250 ") {
			break
		}
		if !strings.HasPrefix(l, "250-") || len(lines) > 1000 {
			t.Fatalf("STATS line %q", l)
		}
	}
	if lines[len(lines)-1] != "250 end of stats" || !slices.Contains(lines, "250-[management]") {
		t.Errorf("STATS reply: %q", lines)
	}
	send("quit\n")
	if l := readLine(); l != "221 bye" {
		t.Errorf("quit: %q", l)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after QUIT: %v, want the connection closed", err)
	}
}

// statsOf sends STATS on a management session and parses the reply.
func statsOf(t *testing.T, c *management.Client) pnStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := c.Do(ctx, "STATS")
	if err != nil || r.Code != 250 {
		t.Fatalf("STATS: %v %v", r, err)
	}
	s, err := parseStats(r.Text(), true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkEpoch checks that STATS shows the current epoch (give or take the
// boundary between reading it and the clock).
func checkEpoch(t *testing.T, pn *pnet, s pnStats) {
	t.Helper()
	e, _, _ := pn.clock.Current()
	got := s.count(t, "current", "epoch")
	if got != e && got+1 != e {
		t.Errorf("STATS current epoch %d, clock says %d", got, e)
	}
}

func newLinkKey(t *testing.T) *memkey.LinkKey {
	t.Helper()
	k, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mixctlCommands runs every mixctl command as a real process against
// provider-a, and a user command against a mix.
func mixctlCommands(t *testing.T, pn *pnet) {
	provA := pn.providers[0]
	k1, k2 := newLinkKey(t), newLinkKey(t)
	keyFile := filepath.Join(pn.dir, "dave.pub")
	proctest.WriteFile(t, keyFile, hex.EncodeToString(k1.Public().Bytes())+"\n")
	var ident [32]byte
	if _, err := rand.Read(ident[:]); err != nil {
		t.Fatal(err)
	}
	identHex := hex.EncodeToString(ident[:])

	mustFail := func(wantCode int, wantText string, args ...string) {
		t.Helper()
		out, errOut, code := pn.mixctl(provA, args...)
		if code != wantCode || !strings.Contains(errOut, wantText) {
			t.Errorf("mixctl %v: exit %d, stdout %q, stderr %q; want exit %d and %q", args, code, out, errOut, wantCode, wantText)
		}
	}
	expect := func(want string, args ...string) {
		t.Helper()
		if out := strings.TrimSpace(pn.mixctlOK(t, provA, args...)); out != want {
			t.Errorf("mixctl %v printed %q, want %q", args, out, want)
		}
	}
	expect("user added", "user", "add", "dave", "@"+keyFile)
	mustFail(1, "554", "user", "add", "dave", "@"+keyFile)
	expect("identity key set", "user", "identity", "set", "dave", identHex)
	expect(identHex, "user", "identity", "show", "dave")
	expect("identity key removed", "user", "identity", "remove", "dave")
	mustFail(1, "554", "user", "identity", "show", "dave")
	expect("user updated", "user", "update", "dave", hex.EncodeToString(k2.Public().Bytes()))
	expect("user removed", "user", "remove", "dave")
	mustFail(1, "554", "user", "remove", "dave")
	expect(fmt.Sprintf("send rate %d packets per minute", pnSendRate), "rate", "send", strconv.Itoa(pnSendRate))
	expect("send burst 10 packets", "rate", "burst", "10")
	expect("kaetzchen keyserver stopped", "kaetzchen", "stop", "keyserver")
	expect("kaetzchen keyserver started", "kaetzchen", "start", "keyserver")
	mustFail(1, "554", "kaetzchen", "start", "nosuch")
	if out := pn.mixctlOK(t, provA, "raw", "help send_rate"); !strings.HasPrefix(out, "214") {
		t.Errorf("mixctl raw 'help send_rate': %q", out)
	}

	s := pn.stats(t, provA)
	checkEpoch(t, pn, s)
	if len(s) < 4 {
		t.Errorf("STATS has %d sections, want drops, queues, links, epoch, provider and management: %v", len(s), s)
	}
	if s.count(t, "accepted", "management") < 1 {
		t.Error("STATS counts no accepted management session")
	}
	for _, key := range []string{"rate_limited", "store_failed", "unknown_user"} {
		s.count(t, key, "provider")
	}

	if _, errOut, code := runTool("mixctl", []string{"-s", filepath.Join(pn.dir, "nonexistent"), "stats"}, nil); code != 3 {
		t.Errorf("mixctl on a missing socket: exit %d (%s), want 3", code, errOut)
	}
	out, errOut, code := pn.mixctl(pn.mixes[0], "user", "add", "dave", "@"+keyFile)
	if code != 1 || !strings.Contains(errOut, "502") {
		t.Errorf("mixctl user add on a mix: exit %d, stdout %q, stderr %q; want exit 1 and 502", code, out, errOut)
	}
}

// rateLimited lowers provider-a's client rate limit, has alice send over
// it, and checks that the excess is dropped and counted.
func rateLimited(t *testing.T, pn *pnet, alice, bob *client.Client) {
	provA, provB := pn.providers[0], pn.providers[1]
	before := pn.stats(t, provA).count(t, "rate_limited", "provider")
	pn.mixctlOK(t, provA, "rate", "burst", "2")
	pn.mixctlOK(t, provA, "rate", "send", "1")
	defer func() {
		pn.mixctlOK(t, provA, "rate", "send", strconv.Itoa(pnSendRate))
		pn.mixctlOK(t, provA, "rate", "burst", "10")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 8
	sent := map[client.MessageID]string{}
	for i := range n {
		body := fmt.Sprintf("flood %d", i)
		id, err := alice.Send(ctx, "bob@"+provB.name, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		sent[id] = body
	}
	var limited uint64
	proctest.Eventually(t, 15*time.Second, "provider-a to count rate-limited packets", func() bool {
		limited = pn.stats(t, provA).count(t, "rate_limited", "provider") - before
		return limited >= n-2
	})
	// The burst passes; the rate (one a minute) adds nothing in the
	// second the test takes.
	if limited != n-2 {
		t.Fatalf("%d of %d packets rate limited, want all but the burst of 2", limited, n)
	}
	// Exactly the packets that were not limited reach bob.
	got := receive(t, bob, n-int(limited), 30*time.Second)
	for id := range got {
		if _, ok := sent[id]; !ok {
			t.Errorf("bob got %v, which alice did not send now", id)
		}
	}
	t.Logf("%d of %d packets rate limited, %d delivered", limited, n, len(got))
}
