package provider

import (
	"context"
	"time"

	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// An ephemeral user is "gone", and purged with its spool and identity key, when
// it has had no session for EphemeralIdle (one epoch by default) and its
// spool is empty, or when it has had no session for abandonedFactor times
// that, whatever its spool holds: nobody is coming back for those messages,
// and an abandoned account must not hold storage forever.
//
// Which users are ephemeral is recorded by spoold, not only in this table:
// authorizeEphemeral creates a user with AddEphemeralIfAbsent, which marks it
// in the same commit (ipc/spoolproto/PROTOCOL.md §1.4, §3.8). So a restart or
// a crash of mixd does not leak them: the new Provider's purge loop first
// adopts the marked users (adoptEphemeral), as if each had just closed its
// last session, and purges them as it would its own: an adopted user that
// never comes back is gone after EphemeralIdle (empty spool) or abandoned
// after abandonedFactor times that. spoold may be down when mixd starts, so
// adoption is retried at every purge tick until it succeeds once. Users
// created before spoold recorded the mark (protocol version 1) are ordinary
// users; REMOVE_USER removes them. With EnableEphemeralClients turned off the
// marked users are kept, unpurged, until it is turned on again.
//
// The purge itself (PurgeUser) removes only a user that still carries the
// mark: if the operator removed an ephemeral user and added a permanent one
// of the same name while this table still held the old entry, the purge
// leaves the new user alone and the entry is simply dropped.

// PurgeEphemeral purges the ephemeral users that are gone at the Provider's
// current time and returns how many it purged. The Provider calls it every
// quarter of EphemeralIdle; tests call it directly.
func (p *Provider) PurgeEphemeral(ctx context.Context) (int, error) {
	now := p.now()
	idle := p.cfg.EphemeralIdle
	t := p.clients
	var candidates []string
	t.mu.Lock()
	for name, c := range t.byUser {
		if c.ephemeral && !c.purging && c.sessions == 0 && now.Sub(c.lastSeen) >= idle {
			c.purging = true
			candidates = append(candidates, name)
		}
	}
	t.mu.Unlock()

	purged := 0
	var firstErr error
	for _, name := range candidates {
		gone, err := p.purgeOne(ctx, name, now)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		t.mu.Lock()
		c := t.byUser[name]
		c.purging = false
		if gone {
			delete(t.byUser, name)
			t.ephemeral--
			purged++
		}
		t.mu.Unlock()
	}
	if purged > 0 {
		p.log.Info("purged ephemeral clients", "count", purged)
	}
	return purged, firstErr
}

// purgeOne purges one candidate if its spool is empty or it is abandoned.
// No session can open meanwhile: the entry is marked purging.
func (p *Provider) purgeOne(ctx context.Context, name string, now time.Time) (bool, error) {
	t := p.clients
	t.mu.Lock()
	lastSeen := t.byUser[name].lastSeen
	t.mu.Unlock()
	user := []byte(name)
	if now.Sub(lastSeen) < abandonedFactor*p.cfg.EphemeralIdle {
		head, err := p.cfg.Store.GetHead(ctx, user)
		if err != nil {
			return false, err
		}
		if head.Count > 0 {
			return false, nil
		}
	}
	if err := p.cfg.Store.PurgeUser(ctx, user); err != nil {
		return false, err
	}
	p.log.Debug("ephemeral client purged", "user", name)
	return true, nil
}

// purgeLoop adopts the ephemeral users spoold recorded (at once, then at
// every tick until that succeeds), and runs PurgeEphemeral every quarter of
// EphemeralIdle while ephemeral clients are enabled, until Close.
func (p *Provider) purgeLoop() {
	defer close(p.purgeDone)
	if !p.cfg.EnableEphemeralClients {
		<-p.stopPurge
		return
	}
	// Close cancels what the loop has in flight, so that a spoold that
	// does not answer delays it by one call at most, not by every page of
	// an adoption.
	loop, cancelLoop := context.WithCancel(p.work)
	defer cancelLoop()
	go func() {
		select {
		case <-p.stopPurge:
			cancelLoop()
		case <-loop.Done():
		}
	}()
	adopted := false
	adopt := func() {
		if err := p.adoptEphemeral(loop); err != nil {
			p.log.Warning("adopting the ephemeral clients recorded by spoold; retrying at the next purge", "err", err)
			return
		}
		adopted = true
	}
	adopt()
	tick := time.NewTicker(max(p.cfg.EphemeralIdle/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.stopPurge:
			return
		case <-tick.C:
			if !adopted {
				adopt()
			}
			ctx, cancel := context.WithTimeout(loop, p.cfg.StoreTimeout)
			if _, err := p.PurgeEphemeral(ctx); err != nil {
				p.log.Warning("purging ephemeral clients", "err", err)
			}
			cancel()
		}
	}
}

const (
	// adoptPage is how many names adoptEphemeral asks spoold for at a
	// time: the most it answers.
	adoptPage = spoolproto.MaxListEphemeral
	// adoptFactor bounds adoption at this many times the larger of
	// MaxEphemeralClients and its default. A working spoold holds about
	// MaxEphemeralClients marks (adopted users count toward the bound, so
	// a run adds few beyond it), or more after the operator lowered the
	// bound; only a broken spoold, listing names without end, reaches
	// this, and the table must not grow with it.
	adoptFactor = 16
)

// adoptLimit is the most users adoptEphemeral adopts (adoptFactor).
func (p *Provider) adoptLimit() int {
	return adoptFactor * max(p.cfg.MaxEphemeralClients, DefaultMaxEphemeralClients)
}

// adoptEphemeral pages through the users spoold marked ephemeral and adopts
// those this Provider does not know (adopt), then logs how many, once. A
// failed attempt keeps what it adopted and where it stopped; the next one
// resumes there. Only purgeLoop calls it.
func (p *Provider) adoptEphemeral(ctx context.Context) error {
	for {
		if p.adoption.count >= p.adoptLimit() {
			p.log.Warning("stopped adopting the ephemeral clients recorded by spoold at the limit: the others are not purged",
				"count", p.adoption.count, "limit", p.adoptLimit())
			break
		}
		pctx, cancel := context.WithTimeout(ctx, p.cfg.StoreTimeout)
		users, err := p.cfg.Store.ListEphemeral(pctx, p.adoption.after, adoptPage)
		cancel()
		if err != nil {
			return err
		}
		p.adoption.count += p.adopt(users)
		if len(users) > 0 {
			p.adoption.after = users[len(users)-1]
		}
		if len(users) < adoptPage {
			break
		}
	}
	t := p.clients
	t.mu.Lock()
	total, bound := t.ephemeral, t.maxEphemeral
	t.mu.Unlock()
	if total > bound {
		p.log.Notice("adopted the ephemeral clients recorded by spoold, more than MaxEphemeralClients: no new one is created until enough are purged",
			"count", p.adoption.count, "ephemeral", total, "max", bound)
	} else {
		p.log.Notice("adopted the ephemeral clients recorded by spoold", "count", p.adoption.count)
	}
	close(p.adoption.done)
	return nil
}

// adopt records users (names spoold marked ephemeral) as ephemeral clients
// and returns how many it added to the count. A user unknown here gets an
// entry with no session, seen now: it is treated as one whose last session
// just closed. One already ephemeral here (created by this Provider since it
// started, or adopted already) is left alone, so nothing is counted twice;
// one connected as an ordinary user (it came back before adoption ran, and
// AddEphemeralIfAbsent found it) becomes ephemeral. Adopted users count
// toward MaxEphemeralClients and are all adopted even beyond it: each is a
// user spoold holds anyway, and leaving some out would leak them; the bound
// then only refuses new ones until enough are purged.
func (p *Provider) adopt(users [][]byte) int {
	t := p.clients
	now := p.now()
	n := 0
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, u := range users {
		name := string(u)
		c := t.byUser[name]
		switch {
		case c == nil:
			c = &client{limiter: p.newLimiter(), lastSeen: now}
			t.byUser[name] = c
		case c.ephemeral:
			continue
		case c.sessions == 0:
			c.lastSeen = now
		}
		c.ephemeral = true
		t.ephemeral++
		n++
		p.log.Debug("ephemeral client adopted", "user", name)
	}
	return n
}
