package capacitybench

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/pki"
)

// user is one client of the Provider: its name and link key.
type user struct {
	name string
	key  keys.LinkPrivateKey
}

// newUsers makes n users named prefix0 .. prefix(n-1), each with its own
// link key, and adds them to the Provider with ADD_USER over four
// management sessions at once (their stores share spoold's commits).
func newUsers(tb testing.TB, mgmtSocket, prefix string, n int) []user {
	tb.Helper()
	users := make([]user, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				k, err := memkey.GenerateLinkKey()
				if err != nil {
					errs <- err
					return
				}
				users[i] = user{name: fmt.Sprintf("%s%d", prefix, i), key: k}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
	const mgmtWorkers = 4 // of the 8 sessions mixd allows at once
	next.Store(0)
	errs = make(chan error, mgmtWorkers)
	for range mgmtWorkers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			c, err := management.Dial(ctx, mgmtSocket)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				u := users[i]
				r, err := c.Do(ctx, "ADD_USER "+u.name+" "+hex.EncodeToString(u.key.Public().Bytes()))
				if err == nil && !r.OK() {
					err = fmt.Errorf("ADD_USER %s: %s", u.name, r.String())
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
	return users
}

// clientLimits are the limits of a client link (docs/spec/client.md §2.4).
func clientLimits(doc *pki.Document) link.Limits {
	return link.Limits{
		PacketLength:         doc.Geometry.PacketLength,
		MessagePayloadLength: doc.Geometry.UserForwardPayloadLength,
		AckPayloadLength:     doc.Geometry.PayloadLength,
		MaxConsensus:         pki.MaxSignedDocumentSize,
	}
}

// dialClient opens u's link session to the Provider at addr, as a client
// does (docs/spec/client.md §2): TCP, then the link handshake with the
// user name as the authentication blob.
func dialClient(ctx context.Context, addr string, prov *keys.LinkPublicKey, limits link.Limits, u user) (*link.Session, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s, err := link.Initiate(ctx, conn, &link.Config{
		Static:           u.key,
		AuthBlob:         []byte(u.name),
		PeerStatic:       prov,
		Limits:           limits,
		HandshakeTimeout: 30 * time.Second,
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// openResult is what opening the sessions achieved.
type openResult struct {
	sessions []*link.Session
	elapsed  time.Duration
	retries  int64
	// refused is set when the Provider kept refusing connections: the
	// last error, after which no more were tried.
	refused error
}

// openSessions opens one session per user, workers at a time, and keeps
// them open (idle) until the benchmark ends. A refused handshake is tried
// again up to three times (the Provider refuses connections beyond its
// concurrent-handshake bound); a connection refused four times in a row
// stops the opening, and the result says so.
func openSessions(tb testing.TB, addr string, prov *keys.LinkPublicKey, limits link.Limits, users []user, workers int) *openResult {
	tb.Helper()
	res := &openResult{sessions: make([]*link.Session, len(users))}
	tb.Cleanup(func() {
		for _, s := range res.sessions {
			if s != nil {
				s.Close()
			}
		}
	})
	var next, retries atomic.Int64
	var stop atomic.Bool
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(users) && !stop.Load(); i = int(next.Add(1) - 1) {
				var err error
				for attempt := range 4 {
					if attempt > 0 {
						retries.Add(1)
					}
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					res.sessions[i], err = dialClient(ctx, addr, prov, limits, users[i])
					cancel()
					if err == nil {
						break
					}
				}
				if err != nil {
					mu.Lock()
					if res.refused == nil {
						res.refused = fmt.Errorf("session %d of %d: %w", i+1, len(users), err)
					}
					mu.Unlock()
					stop.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.retries = retries.Load()
	return res
}

// open returns the number of sessions opened.
func (r *openResult) open() int {
	n := 0
	for _, s := range r.sessions {
		if s != nil {
			n++
		}
	}
	return n
}
