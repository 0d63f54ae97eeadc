package provider

import (
	"context"
	"time"
)

// An ephemeral user is "gone", and purged with its spool and identity key, when
// it has had no session for EphemeralIdle (one epoch by default) and its
// spool is empty, or when it has had no session for abandonedFactor times
// that, whatever its spool holds: nobody is coming back for those messages,
// and an abandoned account must not hold storage forever.
//
// Ephemeral users are tracked in memory: after a restart of mixd the ones
// created before it are ordinary users (their link key stays recorded) and
// are not purged automatically; REMOVE_USER removes them.

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

// purgeLoop runs PurgeEphemeral every quarter of EphemeralIdle while
// ephemeral clients are enabled, until Close.
func (p *Provider) purgeLoop() {
	defer close(p.purgeDone)
	if !p.cfg.EnableEphemeralClients {
		<-p.stopPurge
		return
	}
	tick := time.NewTicker(max(p.cfg.EphemeralIdle/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.stopPurge:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(p.work, p.cfg.StoreTimeout)
			if _, err := p.PurgeEphemeral(ctx); err != nil {
				p.log.Warning("purging ephemeral clients", "err", err)
			}
			cancel()
		}
	}
}
