package loadgen

import (
	"sync"
	"time"
)

// MaxMessages bounds the messages of one run (about 60 bytes of ledger
// each): at 1000 messages a second, over half an hour. The senders stop
// when it is reached and the report says so.
const MaxMessages = 2 << 20

// Ledger is the run's accounting: every message sent, whether and when its
// ACK came back, and every time it was received. Times are offsets from the
// run's start (monotonic). It is safe for concurrent use.
type Ledger struct {
	mu      sync.Mutex
	senders [][]record // by sender, then sequence (0, 1, 2, ... in send order)
	total   int        // records held
	limit   int        // most records; Sent refuses more
	full    bool       // Sent refused a message
	// unknown counts received bodies of this run naming a message never
	// recorded as sent (a sender/sequence out of range).
	unknown uint64
}

// record is one sent message.
type record struct {
	sent     time.Duration
	warmup   bool // sent before the measurement window: not counted
	ackState ackState
	ackAt    time.Duration
	received int // times received; more than 1 is a duplicate
	recvAt   time.Duration
	delay    time.Duration // chosen-delay sample of the message (see delays.go)
	ackDelay time.Duration // chosen-delay sample of its ACK round trip
}

type ackState uint8

const (
	ackPending ackState = iota
	ackReceived
	ackExpired // the SURB expired, or the client forgot it
)

// NewLedger makes a ledger for senders senders.
func NewLedger(senders int) *Ledger {
	return &Ledger{senders: make([][]record, senders), limit: MaxMessages}
}

// Sent records that sender sends its next message at at, and returns its
// sequence number; ok is false, and nothing is recorded, once the ledger
// holds its limit of messages. warmup messages are delivered like the
// others but left out of every figure.
func (l *Ledger) Sent(sender int, at time.Duration, warmup bool, delay, ackDelay time.Duration) (seq uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.limit {
		l.full = true
		return 0, false
	}
	l.total++
	l.senders[sender] = append(l.senders[sender], record{sent: at, warmup: warmup, delay: delay, ackDelay: ackDelay})
	return uint64(len(l.senders[sender]) - 1), true
}

// Unsend forgets the last message of sender, whose Send failed: it never
// entered the network.
func (l *Ledger) Unsend(sender int, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.senders[sender]; uint64(len(s)) == seq+1 {
		l.senders[sender] = s[:seq]
		l.total--
	}
}

// Acked records the ACK of sender's message seq, seen at at.
func (l *Ledger) Acked(sender int, seq uint64, at time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.lookup(sender, seq); r != nil && r.ackState == ackPending {
		r.ackState, r.ackAt = ackReceived, at
	}
}

// AckExpired records that sender's message seq will get no ACK.
func (l *Ledger) AckExpired(sender int, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.lookup(sender, seq); r != nil && r.ackState == ackPending {
		r.ackState = ackExpired
	}
}

// Received records a received body at at. It reports whether this was the
// message's first arrival. The latency is at minus the send time the body
// carries.
func (l *Ledger) Received(b Body, at time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b.Sender > uint32(len(l.senders)-1) || len(l.senders) == 0 {
		l.unknown++
		return false
	}
	r := l.lookup(int(b.Sender), b.Sequence)
	if r == nil || r.sent != b.Sent {
		// Not a message we recorded: a body's send time is copied from
		// the record, so a mismatch is a body we did not write.
		l.unknown++
		return false
	}
	r.received++
	if r.received == 1 {
		r.recvAt = at
		return true
	}
	return false
}

func (l *Ledger) lookup(sender int, seq uint64) *record {
	if sender < 0 || sender >= len(l.senders) || seq >= uint64(len(l.senders[sender])) {
		return nil
	}
	return &l.senders[sender][seq]
}

// Settled reports whether every message has been received and has its ACK
// or knows it will get none: nothing more is to be waited for.
func (l *Ledger) Settled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, rs := range l.senders {
		for i := range rs {
			if rs[i].received == 0 || rs[i].ackState == ackPending {
				return false
			}
		}
	}
	return true
}

// Tally is the ledger's figures over the measured messages (not warmup).
type Tally struct {
	Sent       uint64 `json:"sent"`
	Acked      uint64 `json:"acked"`
	AckExpired uint64 `json:"ack_expired"`
	// Unacked counts messages whose ACK neither came nor expired before
	// the drain ended.
	Unacked    uint64 `json:"unacked"`
	Delivered  uint64 `json:"delivered"`
	Duplicates uint64 `json:"duplicates"`
	Missing    uint64 `json:"missing"`
	// Unknown counts bodies of this run that name no sent message.
	Unknown uint64 `json:"unknown"`
	// Warmup counts the messages sent during the warmup, left out of the
	// other figures.
	Warmup uint64 `json:"warmup"`
	// Truncated reports that the run reached MaxMessages and stopped
	// sending early.
	Truncated bool `json:"truncated,omitempty"`

	// Latency is receive time minus send time of each delivered message;
	// AckRTT is ACK time minus send time of each acked one.
	Latency []time.Duration `json:"-"`
	AckRTT  []time.Duration `json:"-"`
	// Delay and AckDelay are the chosen-delay samples of every measured
	// message (see delays.go).
	Delay    []time.Duration `json:"-"`
	AckDelay []time.Duration `json:"-"`
}

// Tally counts the measured messages.
func (l *Ledger) Tally() Tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := Tally{Unknown: l.unknown, Truncated: l.full}
	for _, rs := range l.senders {
		for i := range rs {
			r := &rs[i]
			if r.warmup {
				t.Warmup++
				continue
			}
			t.Sent++
			t.Delay = append(t.Delay, r.delay)
			t.AckDelay = append(t.AckDelay, r.ackDelay)
			switch r.ackState {
			case ackReceived:
				t.Acked++
				t.AckRTT = append(t.AckRTT, r.ackAt-r.sent)
			case ackExpired:
				t.AckExpired++
			default:
				t.Unacked++
			}
			if r.received == 0 {
				t.Missing++
				continue
			}
			t.Delivered++
			t.Duplicates += uint64(r.received - 1)
			t.Latency = append(t.Latency, r.recvAt-r.sent) // r.sent == the body's send time (Received)
		}
	}
	return t
}
