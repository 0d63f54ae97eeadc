package loadgen

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// user is one simulated user: an account the tool makes on a Provider for
// the run and removes afterwards.
type user struct {
	name     string
	provider *Node
	key      *memkey.LinkKey
}

// userName is the i-th user's name in run run: at most 32 bytes of the
// user-name alphabet (docs/spec/client.md §1.1), unlikely to meet an
// existing account.
func userName(run uint64, i int) string {
	return fmt.Sprintf("load-%08x-%d", uint32(run), i)
}

// makeUsers generates a key per user (in memory only) and adds each user to
// its Provider with ADD_USER. The users added so far are returned even on
// error, so that they can be removed.
func makeUsers(ctx context.Context, run uint64, n int, providers []*Node) ([]*user, error) {
	var users []*user
	for i := range n {
		k, err := memkey.GenerateLinkKey()
		if err != nil {
			return users, fmt.Errorf("loadgen: generating a link key: %w", err)
		}
		u := &user{name: userName(run, i), provider: providers[i%len(providers)], key: k}
		line := "ADD_USER " + u.name + " " + hex.EncodeToString(k.Public().Bytes())
		if _, err := manage(ctx, u.provider.ManagementSocket, line); err != nil {
			return users, fmt.Errorf("loadgen: adding a user on %s: %w", u.provider.Name, err)
		}
		users = append(users, u)
	}
	return users, nil
}

// removeUsers removes the users with REMOVE_USER, a few at a time, within
// timeout whatever the run's context says (cleanup must happen after an
// interrupt too).
func removeUsers(users []*user, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 4)
	)
	for _, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := manage(ctx, u.provider.ManagementSocket, "REMOVE_USER "+u.name); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("removing %s from %s: %w", u.name, u.provider.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
