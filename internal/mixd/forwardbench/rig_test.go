package forwardbench

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/sphinx"
	"golang.org/x/sys/unix"
)

// The helper process ("rig"): the sender and the sink, the packets and the
// unwrap ceiling, apart from mixd so that their CPU is neither in mixd's
// profile nor in its rusage. The benchmark starts the test binary again
// with rigEnv set; TestMain then runs rigMain instead of the tests. The
// parent writes a rigConfig as one JSON line on the helper's standard
// input, then one command per line; the helper answers each with one JSON
// rigReply line on its standard output. The sink's listener is file
// descriptor 3.

// Its goroutines end with the process: the parent closes its input.

// rigEnv marks the helper process.
const rigEnv = "FORWARDBENCH_RIG"

// rigOptions are the helper's sending options (the benchmark's flags).
type rigOptions struct {
	// Links is the number of sender link sessions to the mix.
	Links int
	// CeilingBatch is the number of packets unwrapped for the ceiling.
	CeilingBatch int
	// Stall ends a send when the sink has received nothing for this long.
	Stall time.Duration
	// Profile, if set, is where the helper writes the CPU profile of its
	// sends (the sender and the sink; appended to by later rounds is not
	// possible, so the last round's profile is kept).
	Profile string
}

// rigConfig is everything the helper needs.
type rigConfig struct {
	Geometry         sphinx.Geometry
	MixAddress       string
	MixManagement    string // its management socket
	MixID            keys.NodeID
	MixLinkKey       []byte
	MixSphinxPublic  [32]byte
	MixSphinxPrivate [32]byte
	SenderID         keys.NodeID
	SenderLinkSeed   []byte
	SinkID           keys.NodeID
	SinkLinkSeed     []byte
	SinkSphinxPublic [32]byte
	Options          rigOptions
}

// rigReply answers one command.
type rigReply struct {
	Err string `json:",omitempty"`
	// Received is what the sink counted during a send.
	Received int64 `json:",omitempty"`
	// Elapsed is a send's duration, from its first write to the sink's
	// last receipt.
	Elapsed time.Duration `json:",omitempty"`
	// CPU is the helper's user + system CPU time during a send.
	CPU time.Duration `json:",omitempty"`
	// Unwrap and UnwrapWall are the mean CPU and wall time of one unwrap
	// in the ceiling batch.
	Unwrap     time.Duration `json:",omitempty"`
	UnwrapWall time.Duration `json:",omitempty"`
	// ParallelUnwrap is the mean CPU time of one unwrap while every CPU
	// unwraps (GOMAXPROCS goroutines), and ParallelRate the packets per
	// second they reach: what the machine does when all its cores
	// work, which is less than cores x 1/Unwrap if a loaded core runs
	// slower.
	ParallelUnwrap time.Duration `json:",omitempty"`
	ParallelRate   float64       `json:",omitempty"`
}

// parseCommand splits a command line into its verb and optional count.
func parseCommand(line string) (verb string, count int, err error) {
	f := strings.Fields(line)
	switch {
	case len(f) == 0:
		return "", 0, errors.New("empty command")
	case len(f) > 2:
		return "", 0, fmt.Errorf("command %q: too many fields", line)
	case len(f) == 2:
		n, err := strconv.Atoi(f[1])
		if err != nil || n <= 0 || n > maxPackets {
			return "", 0, fmt.Errorf("command %q: count must be 1..%d", line, maxPackets)
		}
		return f[0], n, nil
	}
	return f[0], 0, nil
}

// maxPackets bounds one round (2930-byte packets: 2.9 GB at most).
const maxPackets = 1_000_000

// rigMain is the helper process's main. It returns the exit code.
func rigMain(in io.Reader, out io.Writer) int {
	r := bufio.NewReader(in)
	line, err := r.ReadBytes('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "rig: reading the configuration:", err)
		return 2
	}
	var cfg rigConfig
	if err := json.Unmarshal(line, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "rig: configuration:", err)
		return 2
	}
	rg, err := newRig(&cfg, os.NewFile(3, "sink listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rig:", err)
		return 2
	}
	defer rg.close()
	enc := json.NewEncoder(out)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0 // the parent closed our input: done
		}
		reply := rg.do(strings.TrimSpace(line))
		if err := enc.Encode(reply); err != nil {
			fmt.Fprintln(os.Stderr, "rig: writing a reply:", err)
			return 2
		}
	}
}

// rig is the helper's state.
type rig struct {
	cfg     *rigConfig
	sph     *sphinx.Sphinx
	limits  link.Limits
	mixLink *keys.LinkPublicKey
	sender  *memkey.LinkKey
	sink    *memkey.LinkKey
	ln      net.Listener

	sessions []*link.Session
	packets  []byte // the round's packets, back to back
	ceiling  []byte // the ceiling batch, back to back

	// The sink's side of a send.
	received    atomic.Int64
	lastReceipt atomic.Int64 // Unix nanoseconds
	target      atomic.Int64
	window      atomic.Pointer[chan struct{}] // a token per packet in flight
	done        chan struct{}                 // closed when received reaches target
	doneOnce    *sync.Once
	roundMu     sync.Mutex // guards done and doneOnce against the sink
}

func newRig(cfg *rigConfig, lnFile *os.File) (*rig, error) {
	o := &cfg.Options
	if o.Links <= 0 || o.CeilingBatch <= 0 || o.Stall <= 0 {
		return nil, errors.New("options must be positive")
	}
	sph, err := sphinx.New(cfg.Geometry)
	if err != nil {
		return nil, err
	}
	mixLink, err := keys.ParseLinkPublicKey(cfg.MixLinkKey)
	if err != nil {
		return nil, err
	}
	sender, err := memkey.NewLinkKey(cfg.SenderLinkSeed)
	if err != nil {
		return nil, err
	}
	sink, err := memkey.NewLinkKey(cfg.SinkLinkSeed)
	if err != nil {
		return nil, err
	}
	ln, err := net.FileListener(lnFile)
	lnFile.Close()
	if err != nil {
		return nil, fmt.Errorf("the sink's listener: %w", err)
	}
	rg := &rig{cfg: cfg, sph: sph, limits: route.PeerLimits(cfg.Geometry), mixLink: mixLink,
		sender: sender, sink: sink, ln: ln}
	go rg.acceptSink()
	return rg, nil
}

func (rg *rig) do(line string) rigReply {
	verb, n, err := parseCommand(line)
	if err == nil {
		switch verb {
		case "connect":
			err = rg.connect()
		case "prepare":
			rg.packets, err = rg.makePackets(n)
		case "ceiling":
			var r rigReply
			if r.Unwrap, r.UnwrapWall, err = rg.timeUnwrap(); err == nil {
				if r.ParallelUnwrap, r.ParallelRate, err = rg.timeParallelUnwrap(); err == nil {
					return r
				}
			}
		case "send":
			if n == 0 {
				err = errors.New("send needs a window")
				break
			}
			return rg.send(n)
		default:
			err = fmt.Errorf("unknown command %q", verb)
		}
	}
	if err != nil {
		return rigReply{Err: err.Error()}
	}
	return rigReply{}
}

// connect opens the sender's link sessions to the mix and builds the
// ceiling batch.
func (rg *rig) connect() error {
	for len(rg.sessions) < rg.cfg.Options.Links {
		conn, err := net.DialTimeout("tcp", rg.cfg.MixAddress, 5*time.Second)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := link.Initiate(ctx, conn, &link.Config{
			Static:           rg.sender,
			AuthBlob:         rg.cfg.SenderID[:],
			PeerStatic:       rg.mixLink,
			Limits:           rg.limits,
			HandshakeTimeout: 10 * time.Second,
		})
		cancel()
		if err != nil {
			return err
		}
		rg.sessions = append(rg.sessions, s)
		go drainSender(s)
	}
	if rg.ceiling == nil {
		var err error
		rg.ceiling, err = rg.makePackets(rg.cfg.Options.CeilingBatch)
		return err
	}
	return nil
}

// drainSender reads what the mix sends back on a sender link (NoOp at
// most) until it closes.
func drainSender(s *link.Session) {
	for {
		if _, err := s.Recv(); err != nil {
			return
		}
	}
}

// makePackets builds n packets through the mix (delay 0) to the sink, on
// every CPU: this is before the timer starts.
func (rg *rig) makePackets(n int) ([]byte, error) {
	plen := rg.cfg.Geometry.PacketLength
	out := make([]byte, n*plen)
	hops := []sphinx.PathHop{
		{ID: rg.cfg.MixID, PublicKey: rg.cfg.MixSphinxPublic, Delay: 0},
		{ID: rg.cfg.SinkID, PublicKey: rg.cfg.SinkSphinxPublic},
	}
	rcpt, err := sphinx.NewRecipientID("sink")
	if err != nil {
		return nil, err
	}
	payload, err := rg.sph.EncodeForwardPayload(nil, []byte("forwarding benchmark"))
	if err != nil {
		return nil, err
	}
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				pkt, err := rg.sph.NewPacket(rand.Reader, hops, rcpt, payload)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				copy(out[i*plen:(i+1)*plen], pkt)
			}
		})
	}
	wg.Wait()
	return out, firstErr
}

// timeUnwrap unwraps the ceiling batch on one goroutine under the mix's
// key and returns the mean time per packet. Every packet must come out
// for the sink: the batch is what the mix forwards.
func (rg *rig) timeUnwrap() (cpu, wall time.Duration, err error) {
	plen := rg.cfg.Geometry.PacketLength
	work := append([]byte(nil), rg.ceiling...) // Unwrap works in place
	n := len(work) / plen
	if n == 0 {
		return 0, 0, errors.New("no ceiling batch: connect first")
	}
	var res sphinx.UnwrapResult
	priv := rg.cfg.MixSphinxPrivate
	// CPU time of this thread, not wall time: on a shared machine the
	// wall time includes whatever else ran on this core meanwhile.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, start := threadCPU(), time.Now()
	for i := range n {
		if err := rg.sph.Unwrap(&priv, work[i*plen:(i+1)*plen], &res); err != nil {
			return 0, 0, err
		}
	}
	cpu, wall = threadCPU()-cpu0, time.Since(start)
	if res.Commands.IsTerminal() || res.Commands.NextHop != rg.cfg.SinkID {
		return 0, 0, errors.New("the ceiling batch does not unwrap to the sink")
	}
	return cpu / time.Duration(n), wall / time.Duration(n), nil
}

// timeParallelUnwrap unwraps the ceiling batch on GOMAXPROCS goroutines at
// once, each its share, and returns the mean CPU time per unwrap and the
// packets per second of wall time.
func (rg *rig) timeParallelUnwrap() (cpu time.Duration, rate float64, err error) {
	plen := rg.cfg.Geometry.PacketLength
	work := append([]byte(nil), rg.ceiling...)
	n := len(work) / plen
	procs := runtime.GOMAXPROCS(0)
	errs := make(chan error, procs)
	var wg sync.WaitGroup
	cpu0, start := rusageCPU(), time.Now()
	for g := range procs {
		wg.Go(func() {
			var res sphinx.UnwrapResult
			priv := rg.cfg.MixSphinxPrivate
			for i := g; i < n; i += procs {
				if err := rg.sph.Unwrap(&priv, work[i*plen:(i+1)*plen], &res); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	wall, used := time.Since(start), rusageCPU()-cpu0
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	return used / time.Duration(n), float64(n) / wall.Seconds(), nil
}

// threadCPU is the calling thread's user + system CPU time so far.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// send writes the prepared packets over the sender's sessions, at most
// window of them in flight, and waits until the sink has them all or
// nothing has arrived for Stall.
func (rg *rig) send(window int) rigReply {
	plen := rg.cfg.Geometry.PacketLength
	n := len(rg.packets) / plen
	if n == 0 || len(rg.sessions) == 0 {
		return rigReply{Err: "nothing prepared, or not connected"}
	}
	// A new window: a straggler of an earlier round cannot free a token
	// of this one.
	rg.roundMu.Lock()
	tokens := make(chan struct{}, window)
	rg.window.Store(&tokens)
	rg.done, rg.doneOnce = make(chan struct{}), &sync.Once{}
	done := rg.done
	rg.received.Store(0)
	rg.target.Store(int64(n))
	rg.roundMu.Unlock()

	if rg.cfg.Options.Profile != "" {
		stopProfile, err := startProfile(rg.cfg.Options.Profile)
		if err != nil {
			return rigReply{Err: err.Error()}
		}
		defer stopProfile()
	}
	drops0, err := rg.mixDropped()
	if err != nil {
		return rigReply{Err: err.Error()}
	}
	cpu0 := rusageCPU()
	start := time.Now()
	stop := make(chan struct{})
	var sendErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for k, s := range rg.sessions {
		wg.Go(func() {
			// Each write carries what the window allows right now, up
			// to senderBatch packets: the sender is not what is measured,
			// so it should cost the machine as little as it can.
			var pkts [senderBatch]link.SendPacket
			var cmds [senderBatch]link.Command
			for j := range pkts {
				cmds[j] = &pkts[j]
			}
			for i := k; i < n; {
				select {
				case tokens <- struct{}{}:
				case <-stop:
					return
				}
				m := 0
				for {
					pkts[m].Packet = rg.packets[i*plen : (i+1)*plen]
					m++
					i += len(rg.sessions)
					if m == senderBatch || i >= n || !tryAcquire(tokens) {
						break
					}
				}
				if err := s.SendBatch(cmds[:m]); err != nil {
					sendErr.Store(&err)
					return
				}
			}
		})
	}
	// Wait until every packet has reached the sink or been dropped by
	// the mix, or until nothing happens for Stall. The mix counts its
	// drops, and each frees the window token of its packet, which would
	// never reach the sink.
	released := uint64(0)
	last, lastAt := int64(-1), time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-tick.C:
			got := rg.received.Load()
			if d, err := rg.mixDropped(); err == nil && d > drops0 {
				for ; released < d-drops0; released++ {
					select {
					case <-tokens:
					default:
					}
				}
				if got+int64(released) >= int64(n) {
					waiting = false
				}
			}
			if progress := got + int64(released); progress != last {
				last, lastAt = progress, time.Now()
			} else if time.Since(lastAt) > rg.cfg.Options.Stall || sendErr.Load() != nil {
				waiting = false
			}
		}
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	reply := rigReply{Received: rg.received.Load(), CPU: rusageCPU() - cpu0}
	if at := rg.lastReceipt.Load(); at > start.UnixNano() {
		reply.Elapsed = time.Duration(at - start.UnixNano())
	}
	if p := sendErr.Load(); p != nil {
		reply.Err = (*p).Error()
	}
	return reply
}

// mixDropped is the mix's count of dropped packets (STATS).
func (rg *rig) mixDropped() (uint64, error) {
	st, err := readStats(rg.cfg.MixManagement)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(st["drops"]["total_dropped"], 10, 64)
}

// senderBatch is the most packets the sender writes at once.
const senderBatch = 16

// tryAcquire takes a window token if one is free.
func tryAcquire(window chan struct{}) bool {
	select {
	case window <- struct{}{}:
		return true
	default:
		return false
	}
}

// startProfile starts a CPU profile into path (replacing it) and returns
// its stop function.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// acceptSink accepts the mix's links to the sink.
func (rg *rig) acceptSink() {
	for {
		conn, err := rg.ln.Accept()
		if err != nil {
			return
		}
		go rg.serveSink(conn)
	}
}

// serveSink counts the packets the mix forwards on one link. Only the
// mix, with its link key and NodeID, is admitted.
func (rg *rig) serveSink(conn net.Conn) {
	s, err := link.Accept(context.Background(), conn, &link.Config{
		Static: rg.sink,
		Authorize: func(_ context.Context, peer *keys.LinkPublicKey, blob []byte) error {
			if !peer.Equal(rg.mixLink) || subtle.ConstantTimeCompare(blob, rg.cfg.MixID[:]) != 1 {
				return errors.New("not the mix")
			}
			return nil
		},
		Limits:           rg.limits,
		HandshakeTimeout: 10 * time.Second,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "rig: sink handshake:", err)
		return
	}
	defer s.Close()
	for {
		cmd, err := s.Recv()
		if err != nil {
			return
		}
		if _, ok := cmd.(*link.SendPacket); !ok {
			continue
		}
		if w := rg.window.Load(); w != nil {
			select {
			case <-*w:
			default: // a straggler of an earlier round
			}
		}
		rg.lastReceipt.Store(time.Now().UnixNano())
		if rg.received.Add(1) == rg.target.Load() {
			rg.roundMu.Lock()
			rg.doneOnce.Do(func() { close(rg.done) })
			rg.roundMu.Unlock()
		}
	}
}

func (rg *rig) close() {
	rg.ln.Close()
	for _, s := range rg.sessions {
		s.Close()
	}
}

// rusageCPU is this process's user + system CPU time so far.
func rusageCPU() time.Duration {
	user, sys := rusageUserSys()
	return user + sys
}

// rusageUserSys is this process's user and system CPU time so far.
func rusageUserSys() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
