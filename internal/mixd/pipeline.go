package mixd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/mixd/clientlink"
	"github.com/splitmix/splitmix/internal/mixd/cryptoworker"
	"github.com/splitmix/splitmix/internal/mixd/decoy"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/incoming"
	"github.com/splitmix/splitmix/internal/mixd/outgoing"
	"github.com/splitmix/splitmix/internal/mixd/packet"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/mixd/scheduler"
	"github.com/splitmix/splitmix/internal/mixd/scheduler/diskqueue"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/provider"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// Sizes of the pipeline's bounded queues.
const (
	// workerQueuePerWorker packets may wait for each crypto worker.
	workerQueuePerWorker = 256
	// poolKeep is how many free packet buffers are kept for reuse.
	poolKeep = 4096
)

// pipeline is the packet path, built once the geometry is known.
type pipeline struct {
	geometry  sphinx.Geometry
	pool      *packet.Pool
	queue     scheduler.Queue
	diskQueue bool
	sched     *scheduler.Scheduler
	links     *outgoing.Links
	workers   *cryptoworker.Workers
	in        *incoming.Server
	maxConns  int // the bound on incoming connections (incomingConnLimit)
	serving   sync.WaitGroup
	// provider is the Provider (nil on a mix): it delivers what ends here
	// and sends SURB-ACKs and Kaetzchen replies through the scheduler.
	provider *provider.Provider
	// decoy sends the Provider's decoy loops and consumes their replies
	// before delivery (nil unless a Provider with Debug.SendDecoyTraffic).
	decoy *decoy.Loops
}

// schedulerDrop maps the scheduler's drop reasons onto mixd's.
var schedulerDrop = [scheduler.NumDropReasons]drops.Reason{
	scheduler.DropQueueFull: drops.SchedulerQueueFull,
	scheduler.DropTooLate:   drops.SchedulerTooLate,
	scheduler.DropTooFar:    drops.DelayTooLong,
	scheduler.DropClosed:    drops.ShuttingDown,
	scheduler.DropStorage:   drops.Storage,
}

// startPipeline builds the stages from the last to the first, so each
// stage exists before anything can feed it, then serves the listeners.
func (m *Mixd) startPipeline(g sphinx.Geometry) (p *pipeline, err error) {
	sph, err := sphinx.New(g)
	if err != nil {
		return nil, fmt.Errorf("the PKI document's geometry: %w", err)
	}
	dbg := &m.cfg.Debug
	p = &pipeline{geometry: g}
	defer func() {
		if err != nil {
			p.close(m.log)
			p = nil
		}
	}()
	if p.pool, err = packet.NewPool(g.PacketLength, poolKeep); err != nil {
		return p, err
	}
	limits := route.PeerLimits(g)

	p.links, err = outgoing.New(outgoing.Config{
		Static:           m.linkKey,
		Self:             m.self,
		Limits:           limits,
		ConnectTimeout:   dbg.ConnectTimeoutDuration(),
		HandshakeTimeout: dbg.HandshakeTimeoutDuration(),
		SendSlack:        dbg.SendSlackDuration(),
		Pool:             p.pool,
		Drops:            &m.drops,
		Log:              m.log.Named("outgoing"),
	})
	if err != nil {
		return p, err
	}

	if dbg.SchedulerExternalMemoryQueue {
		dq, err := diskqueue.Open(diskqueue.Options{
			Dir:        filepath.Join(m.cfg.Server.DataDir, "scheduler"),
			Capacity:   dbg.SchedulerQueueSize,
			MaxPayload: p.pool.BufferLength(),
		})
		if err != nil {
			return p, fmt.Errorf("scheduler disk queue: %w", err)
		}
		if r := dq.Recovery(); dq.Len() > 0 {
			m.log.Notice("scheduler disk queue reopened", "packets", dq.Len(), "recovery", fmt.Sprintf("%+v", r))
		}
		p.queue, p.diskQueue = dq, true
	} else if p.queue, err = scheduler.NewMemQueue(scheduler.MemOptions{Capacity: dbg.SchedulerQueueSize}); err != nil {
		return p, err
	}
	pool, drop := p.pool, &m.drops
	p.sched, err = scheduler.New(scheduler.Config{
		Queue:    p.queue,
		Dispatch: func(it scheduler.Item) { p.links.Send(it.Payload) },
		OnDrop: func(it scheduler.Item, r scheduler.DropReason) {
			drop.Drop(schedulerDrop[r])
			pool.Put(it.Payload)
		},
		MaxBurst: dbg.SchedulerMaxBurst,
		Slack:    dbg.SchedulerSlackDuration(),
		MaxDelay: pki.MaxParameterDelay * 1e6, // ms to ns; the document's MuMaxDelay is checked by route
		Log:      m.log.Named("scheduler"),
	})
	if err != nil {
		return p, err
	}

	var deliver func(*sphinx.UnwrapResult, time.Time) bool
	if m.cfg.Server.IsProvider {
		if err = m.startProvider(p, sph); err != nil {
			return p, err
		}
		deliver = p.provider.Deliver
		if dbg.SendDecoyTraffic {
			if p.decoy, err = m.newDecoys(p, sph); err != nil {
				return p, err
			}
			deliver = deliverWithDecoys(p.decoy, p.provider)
		}
	} else if dbg.SendDecoyTraffic {
		m.log.Notice("Debug.SendDecoyTraffic is set, but only a Provider sends decoy loops (docs/spec/decoy.md §1): ignored on a mix")
	}

	p.workers, err = cryptoworker.Start(cryptoworker.Config{
		Workers:     dbg.NumSphinxWorkers,
		QueueLen:    dbg.NumSphinxWorkers * workerQueuePerWorker,
		UnwrapDelay: dbg.UnwrapDelayDuration(),
		Sphinx:      sph,
		Keys:        m.ring,
		Router:      m.table,
		Scheduler:   p.sched,
		Pool:        p.pool,
		Drops:       &m.drops,
		Deliver:     deliver,
	})
	if err != nil {
		return p, err
	}

	inLimits := limits
	var serveClient func(*link.Session) error
	if p.provider != nil {
		inLimits = clientLimits(g)
		clients := m.clientLinkConfig(p)
		serveClient = func(sess *link.Session) error { return clientlink.Serve(clients, sess) }
	}
	p.maxConns = incomingConnLimit(dbg.MaxIncomingConnections)
	m.log.Info("incoming connections bounded", "max", p.maxConns)
	p.in, err = incoming.New(incoming.Config{
		MaxConns:         p.maxConns,
		Static:           m.linkKey,
		Limits:           inLimits,
		HandshakeTimeout: dbg.HandshakeTimeoutDuration(),
		ReauthInterval:   dbg.ReauthIntervalDuration(),
		Authorize:        authorizeLink(m.table, p.provider),
		Recheck:          m.recheckLink,
		ServeClient:      serveClient,
		Deliver:          func(buf []byte, at time.Time) { p.workers.Submit(buf, at, route.FromNode) },
		Pool:             p.pool,
		Drops:            &m.drops,
		Log:              m.log.Named("incoming"),
	})
	if err != nil {
		return p, err
	}
	if p.decoy != nil {
		p.decoy.Start() // last: everything its packets and replies pass through runs
	}
	for _, ln := range m.lns {
		p.serving.Add(1)
		go func() {
			defer p.serving.Done()
			if err := p.in.Serve(ln); err != nil && !errors.Is(err, incoming.ErrClosed) {
				m.log.Error("listener failed", "address", ln.Addr().String(), "error", err)
			}
		}()
	}
	return p, nil
}

// close shuts the pipeline down front to back, each stage drained into the
// next before it closes. Safe on a partly built pipeline.
func (p *pipeline) close(log *logging.Logger) {
	if p.in != nil {
		p.in.CloseListeners() // no new links
		p.in.Close()          // no new packets
		p.serving.Wait()
	}
	if p.workers != nil {
		p.workers.Close() // queued packets go to the scheduler or the Provider
	}
	if p.decoy != nil {
		// No worker consumes replies any more; no new loops either, while
		// the scheduler still takes them.
		p.decoy.Close()
	}
	if p.provider != nil {
		// The Provider's workers finish what is queued; their SURB-ACKs
		// and replies still reach the scheduler, which closes next.
		ctx, cancel := context.WithTimeout(context.Background(), providerCloseTimeout)
		if err := p.provider.Close(ctx); err != nil {
			log.Warning("the Provider did not finish its deliveries in time", "error", err)
		}
		cancel()
	}
	if p.sched != nil {
		_ = p.sched.Close()
		if p.diskQueue {
			log.Notice("scheduler disk queue kept for the next start", "packets", p.queue.Len())
		} else if n, err := p.sched.Drain(nil); err != nil {
			log.Warning("draining the scheduler failed", "error", err)
		} else if n > 0 {
			log.Notice("packets still scheduled at shutdown were dropped", "packets", n)
		}
	}
	if p.links != nil {
		p.links.Close()
	}
	if p.queue != nil {
		if err := p.queue.Close(); err != nil {
			log.Warning("closing the scheduler queue failed", "error", err)
		}
	}
}
