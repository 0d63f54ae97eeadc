package ipc

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// maxAbandoned bounds the ids of calls given up on (their deadline passed)
// whose late replies may still arrive. A server that leaves this many calls
// unanswered is not keeping up; the connection is reset.
const maxAbandoned = 4096

// clientConn is one established connection of a Client: a write lock
// that keeps request frames whole, the calls awaiting replies, and a
// reader that delivers replies by id. See ipc/PROTOCOL.md §5.3.
type clientConn struct {
	c    *Client
	conn net.Conn
	wmu  sync.Mutex

	mu        sync.Mutex
	pending   map[uint64]*pendingCall
	abandoned map[uint64]MsgType // given up on; a late reply is discarded
	dead      chan struct{}      // closed by fail
	err       error              // why the connection died; set before dead closes
}

type pendingCall struct {
	t     MsgType
	reply chan *Envelope // buffered: the reader never blocks
}

func (cc *clientConn) isDead() bool {
	select {
	case <-cc.dead:
		return true
	default:
		return false
	}
}

// fail closes the connection once, recording why; calls waiting on it
// see dead close.
func (cc *clientConn) fail(err error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.err != nil {
		return
	}
	cc.err = err
	close(cc.dead)
	cc.conn.Close()
}

// roundTrip sends one request and waits for its reply. sent reports
// whether the request frame was written completely, so whether the server
// may have acted on it (ipc/PROTOCOL.md §2, §8).
func (cc *clientConn) roundTrip(ctx context.Context, t MsgType, body []byte) (env *Envelope, sent bool, err error) {
	id := cc.c.nextID.Add(1)
	frame, err := encodeFrame(&Envelope{Type: t, ID: id, Body: body}, cc.c.maxFrame)
	if err != nil {
		return nil, false, err
	}
	pc := &pendingCall{t: t, reply: make(chan *Envelope, 1)}
	cc.mu.Lock()
	if cc.err != nil {
		err := cc.err
		cc.mu.Unlock()
		return nil, false, err
	}
	cc.pending[id] = pc
	cc.mu.Unlock()

	if n, err := cc.write(ctx, frame); err != nil {
		cc.mu.Lock()
		delete(cc.pending, id)
		cc.mu.Unlock()
		// A frame not written completely is never acted upon. If nothing
		// was written because ctx ended, the stream is intact and the
		// connection stays; after a partial frame it cannot be
		// resynchronised, so it is dropped.
		if n > 0 || ctx.Err() == nil {
			cc.fail(fmt.Errorf("ipc: %s: write: %w", cc.c.cfg.Protocol.Name, err))
		}
		return nil, false, err
	}

	select {
	case env := <-pc.reply:
		return env, true, nil
	case <-cc.dead:
		select { // the reply may have raced the failure
		case env := <-pc.reply:
			return env, true, nil
		default:
		}
		cc.mu.Lock()
		err := cc.err
		cc.mu.Unlock()
		return nil, true, err
	case <-ctx.Done():
		cc.abandon(id)
		select {
		case env := <-pc.reply:
			return env, true, nil
		default:
		}
		return nil, true, ctx.Err()
	}
}

// write sends one frame under the write lock, within ctx's deadline, and
// reports how many bytes went out.
func (cc *clientConn) write(ctx context.Context, frame []byte) (int, error) {
	deadline := time.Now().Add(defaultWriteTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := cc.conn.SetWriteDeadline(deadline); err != nil {
		return 0, err
	}
	return cc.conn.Write(frame)
}

// abandon moves a call the caller gave up on from pending to abandoned.
func (cc *clientConn) abandon(id uint64) {
	cc.mu.Lock()
	pc, ok := cc.pending[id]
	if !ok {
		cc.mu.Unlock()
		return // the reply is already in pc.reply
	}
	delete(cc.pending, id)
	cc.abandoned[id] = pc.t
	tooMany := len(cc.abandoned) > maxAbandoned
	cc.mu.Unlock()
	if tooMany {
		cc.fail(fmt.Errorf("%w: %s: more than %d calls left unanswered", ErrProtocol, cc.c.cfg.Protocol.Name, maxAbandoned))
	}
}

// readLoop delivers replies until the connection fails. A reply that
// breaks ipc/PROTOCOL.md §5.2 or §5.3 resets the connection.
func (cc *clientConn) readLoop() {
	name := cc.c.cfg.Protocol.Name
	for {
		frame, err := ReadFrame(cc.conn, cc.c.maxFrame)
		if err != nil {
			if !isClosedConn(err) {
				err = fmt.Errorf("%w: %s: %w", ErrProtocol, name, err)
			} else {
				err = fmt.Errorf("ipc: %s: connection closed: %w", name, err)
			}
			cc.c.log.Info("IPC connection lost", "protocol", name, "error", err)
			cc.fail(err)
			return
		}
		env, err := DecodeEnvelope(frame)
		if err == nil {
			err = env.checkReply()
		}
		if err == nil {
			err = cc.deliver(env)
		}
		if err != nil {
			err = fmt.Errorf("%w: %s: %w", ErrProtocol, name, err)
			cc.c.log.Warning("IPC server broke the protocol; resetting the connection", "protocol", name, "error", err)
			cc.fail(err)
			return
		}
	}
}

// deliver hands a reply to its call, or discards a late one.
func (cc *clientConn) deliver(env *Envelope) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if pc, ok := cc.pending[env.ID]; ok {
		if pc.t != env.Type {
			return fmt.Errorf("reply id %d has type %d, request had %d", env.ID, env.Type, pc.t)
		}
		delete(cc.pending, env.ID)
		pc.reply <- env
		return nil
	}
	if t, ok := cc.abandoned[env.ID]; ok {
		if t != env.Type {
			return fmt.Errorf("reply id %d has type %d, request had %d", env.ID, env.Type, t)
		}
		delete(cc.abandoned, env.ID)
		cc.c.log.Debug("late IPC reply discarded", "protocol", cc.c.cfg.Protocol.Name, "type", env.Type)
		return nil
	}
	return fmt.Errorf("reply to id %d, which was never sent on this connection", env.ID)
}
