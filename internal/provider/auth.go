package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
)

// Errors of Authorize. The link handshake reports a refusal to the client
// without saying which.
var (
	// ErrNotAuthorized: the user is unknown, or its link key is not the
	// one the initiator proved (docs/spec/client.md §2.3).
	ErrNotAuthorized = errors.New("provider: client not authorized")
	// ErrTooManyEphemeral: the ephemeral users are at their bound.
	ErrTooManyEphemeral = errors.New("provider: too many ephemeral clients")
	// ErrPurging: the ephemeral user is being purged; retry shortly.
	ErrPurging = errors.New("provider: user is being purged")
)

// Authorize decides whether a client may open a link session: user is its
// link authentication blob, key the link key it proved it holds
// (docs/spec/client.md §2.3). It is mixd's link responder callback for
// client links.
//
// Without TrustOnFirstUse or EnableEphemeralClients the user database must map
// user to key (spoold compares in constant time). With either, an unknown user
// is created with key (AddUserIfAbsent, so two first contacts cannot both
// win), and a known one must present its recorded key: a second key for the
// same user is refused. With EnableEphemeralClients the created user is
// ephemeral, and spoold records it so (AddEphemeralIfAbsent): it is purged
// once gone, by this Provider or by the next one after a restart (see
// purge.go); when both are set, new users are ephemeral.
//
// Errors wrap ErrNotAuthorized, ErrTooManyEphemeral or ErrPurging, or are
// spoold's failure. None names the user.
func (p *Provider) Authorize(ctx context.Context, user []byte, key *keys.LinkPublicKey) error {
	if !isUserName(user) {
		return fmt.Errorf("%w: %w: authentication blob is not a user name", ErrNotAuthorized, ErrName)
	}
	if key == nil {
		return fmt.Errorf("%w: no link key", ErrNotAuthorized)
	}
	if !p.cfg.TrustOnFirstUse && !p.cfg.EnableEphemeralClients {
		ok, err := p.cfg.Store.IsValid(ctx, user, key)
		return p.verdict(ok, err)
	}
	if p.cfg.EnableEphemeralClients {
		return p.authorizeEphemeral(ctx, user, key)
	}
	added, ok, err := p.cfg.Store.AddUserIfAbsent(ctx, user, key)
	if added {
		p.log.Info("trust on first use: recorded a new client's link key")
		p.log.Debug("trust on first use", "user", string(user))
	}
	return p.verdict(ok, err)
}

func (p *Provider) verdict(valid bool, err error) error {
	if err != nil {
		return fmt.Errorf("provider: checking client: %w", err)
	}
	if !valid {
		return ErrNotAuthorized
	}
	return nil
}

// authorizeEphemeral is Authorize with EnableEphemeralClients: it reserves an
// ephemeral slot before creating the user, so the bound holds even under
// concurrent first contacts, and gives the slot back if the user existed.
func (p *Provider) authorizeEphemeral(ctx context.Context, user []byte, key *keys.LinkPublicKey) error {
	t := p.clients
	name := string(user)
	t.mu.Lock()
	c := t.byUser[name]
	if c != nil && c.purging {
		t.mu.Unlock()
		return ErrPurging
	}
	reserved := false
	if c == nil || !c.ephemeral {
		if t.ephemeral >= t.maxEphemeral {
			t.mu.Unlock()
			// No room for a new one: only existing users may connect.
			ok, err := p.cfg.Store.IsValid(ctx, user, key)
			if err == nil && !ok {
				return ErrTooManyEphemeral
			}
			return p.verdict(ok, err)
		}
		t.ephemeral++
		reserved = true
	}
	t.mu.Unlock()

	// The user and its ephemeral mark in one commit: a later mixd finds it
	// and purges it even if this one dies first (purge.go).
	added, ok, err := p.cfg.Store.AddEphemeralIfAbsent(ctx, user, key)

	t.mu.Lock()
	defer t.mu.Unlock()
	if !reserved {
		return p.verdict(ok, err)
	}
	if err != nil || !added {
		t.ephemeral--
		return p.verdict(ok, err)
	}
	c = t.byUser[name]
	if c == nil {
		c = &client{limiter: p.newLimiter()}
		t.byUser[name] = c
	}
	if c.ephemeral {
		// A concurrent first contact, or the adoption of spoold's marks
		// (which lists the user as soon as it is committed), already
		// recorded it.
		t.ephemeral--
	}
	c.ephemeral = true
	c.lastSeen = p.now()
	p.log.Info("created an ephemeral client")
	p.log.Debug("ephemeral client created", "user", name)
	return nil
}
