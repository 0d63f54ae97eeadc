package link

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomCommand returns a random valid command of each type in turn.
func randomCommand(r *rand.Rand, i int, l *Limits) Command {
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		return b
	}
	switch i % 11 {
	case 0:
		return &NoOp{}
	case 1:
		return &Disconnect{}
	case 2:
		return &SendPacket{Packet: bytesOf(l.PacketLength)}
	case 3:
		return &RetrieveMessage{Sequence: r.Uint32()}
	case 4:
		return &Message{Sequence: r.Uint32(), QueueHint: uint8(r.Uint32()), Payload: bytesOf(l.MessagePayloadLength)}
	case 5:
		c := &MessageACK{Sequence: r.Uint32(), QueueHint: uint8(r.Uint32()), Payload: bytesOf(l.AckPayloadLength)}
		copy(c.SURBID[:], bytesOf(SURBIDLength))
		return c
	case 6:
		return &MessageEmpty{Sequence: r.Uint32()}
	case 7:
		return &GetConsensus{Epoch: r.Uint64()}
	case 8:
		code := ConsensusCode(r.IntN(3))
		c := &Consensus{ErrorCode: code, Payload: []byte{}}
		if code == ConsensusOk {
			c.Payload = bytesOf(r.IntN(l.MaxConsensus + 1))
		}
		return c
	case 9:
		return &PostDescriptor{Epoch: r.Uint64(), Payload: bytesOf(r.IntN(l.MaxDescriptor + 1))}
	default:
		return &PostDescriptorStatus{ErrorCode: DescriptorCode(r.IntN(4))}
	}
}

// TestCommandRoundTrip is a property test: decode(encode(c)) == c for random
// commands of every type, under two geometries.
func TestCommandRoundTrip(t *testing.T) {
	small := Limits{PacketLength: 100, MessagePayloadLength: 50, AckPayloadLength: 30, MaxConsensus: 300, MaxDescriptor: 200}
	for _, l := range []Limits{testLimits, small} {
		r := rand.New(rand.NewPCG(1, uint64(l.PacketLength)))
		var set commandSet
		for i := range 2000 {
			cmd := randomCommand(r, i, &l)
			n, err := encodedLength(cmd, &l)
			if err != nil {
				t.Fatalf("%v: encodedLength: %v", cmd.ID(), err)
			}
			b, err := appendCommand(nil, cmd, &l)
			if err != nil || len(b) != n {
				t.Fatalf("%v: encoded %d bytes (%v), encodedLength said %d", cmd.ID(), len(b), err, n)
			}
			got, err := decodeCommand(b, &l, &set)
			if err != nil {
				t.Fatalf("%v: decode: %v", cmd.ID(), err)
			}
			if !reflect.DeepEqual(got, cmd) {
				t.Fatalf("%v: round trip changed the command:\n got %+v\nwant %+v", cmd.ID(), got, cmd)
			}
		}
	}
}

func TestMessageFamilySameLength(t *testing.T) {
	l := testLimits
	cmds := []Command{
		&Message{Payload: make([]byte, l.MessagePayloadLength)},
		&MessageACK{Payload: make([]byte, l.AckPayloadLength)},
		&MessageEmpty{},
	}
	var lengths []int
	for _, c := range cmds {
		b, err := appendCommand(nil, c, &l)
		if err != nil {
			t.Fatal(err)
		}
		lengths = append(lengths, len(b))
	}
	want := 1 + 21 + max(l.MessagePayloadLength, l.AckPayloadLength)
	for i, n := range lengths {
		if n != want {
			t.Errorf("%v encodes to %d bytes, want %d for all three", cmds[i].ID(), n, want)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	l := Limits{PacketLength: 8, MessagePayloadLength: 4, AckPayloadLength: 6, MaxConsensus: 10, MaxDescriptor: 10}
	msg := func(id CommandID, mutate func(b []byte)) []byte {
		b := make([]byte, 1+21+6)
		b[0] = byte(id)
		mutate(b[1:])
		return b
	}
	cases := map[string][]byte{
		"empty":                       {},
		"unknown id":                  {3},
		"NoOp with body":              {0, 0},
		"Disconnect with body":        {1, 1},
		"short packet":                append([]byte{2}, make([]byte, 7)...),
		"long packet":                 append([]byte{2}, make([]byte, 9)...),
		"RetrieveMessage short":       {16, 0, 0, 0},
		"Message wrong length":        make([]byte, 1+21+5),
		"Message non-zero SURB ID":    msg(IDMessage, func(b []byte) { b[5] = 1 }),
		"Message non-zero padding":    msg(IDMessage, func(b []byte) { b[21+4] = 1 }),
		"ACK wrong length":            append(msg(IDMessageACK, func([]byte) {}), 0),
		"Empty with hint":             msg(IDMessageEmpty, func(b []byte) { b[4] = 1 }),
		"Empty with SURB ID":          msg(IDMessageEmpty, func(b []byte) { b[10] = 1 }),
		"Empty with payload":          msg(IDMessageEmpty, func(b []byte) { b[21] = 1 }),
		"GetConsensus long":           {20, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"Consensus empty body":        {21},
		"Consensus unknown code":      {21, 3},
		"Consensus NotFound payload":  {21, 1, 'x'},
		"Consensus too large":         append([]byte{21, 0}, make([]byte, 11)...),
		"PostDescriptor short":        {22, 0, 0, 0},
		"PostDescriptor too large":    append([]byte{22}, make([]byte, 8+11)...),
		"PostDescriptorStatus code":   {23, 4},
		"PostDescriptorStatus length": {23, 0, 0},
	}
	cases["Message wrong length"][0] = byte(IDMessage)
	var set commandSet
	for name, b := range cases {
		if _, err := decodeCommand(b, &l, &set); !errors.Is(err, ErrBadCommand) {
			t.Errorf("%s: %v, want ErrBadCommand", name, err)
		}
	}
	// An ACK shorter than the payload area is padded with zeros.
	l2 := Limits{MessagePayloadLength: 6, AckPayloadLength: 4}
	ack := msg(IDMessageACK, func(b []byte) { b[21+4] = 1 })
	if _, err := decodeCommand(ack, &l2, &set); !errors.Is(err, ErrBadCommand) {
		t.Errorf("ACK with non-zero padding: %v, want ErrBadCommand", err)
	}
	// And the limits' edges are accepted.
	for name, b := range map[string][]byte{
		"largest consensus":  append([]byte{21, 0}, make([]byte, 10)...),
		"largest descriptor": append([]byte{22}, make([]byte, 8+10)...),
		"NotFound":           {21, 1},
		"ACK padded":         msg(IDMessageACK, func(b []byte) { b[5] = 9; b[21+5] = 7 }),
	} {
		if _, err := decodeCommand(b, &l, &set); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	l := testLimits
	for name, cmd := range map[string]Command{
		"nil":                   nil,
		"nil pointer":           (*SendPacket)(nil),
		"nil NoOp":              (*NoOp)(nil),
		"short packet":          &SendPacket{Packet: make([]byte, 10)},
		"short message":         &Message{Payload: make([]byte, 10)},
		"ACK of message length": &MessageACK{Payload: make([]byte, l.MessagePayloadLength)},
		"consensus too large":   &Consensus{Payload: make([]byte, l.MaxConsensus+1)},
		"NotFound with payload": &Consensus{ErrorCode: ConsensusNotFound, Payload: []byte{1}},
		"unknown consensus":     &Consensus{ErrorCode: 7},
		"descriptor too large":  &PostDescriptor{Payload: make([]byte, l.MaxDescriptor+1)},
		"unknown status":        &PostDescriptorStatus{ErrorCode: 9},
		"foreign type":          struct{ *NoOp }{&NoOp{}},
	} {
		if _, err := appendCommand(nil, cmd, &l); !errors.Is(err, ErrBadCommand) {
			t.Errorf("%s: %v, want ErrBadCommand", name, err)
		}
	}
}

func TestDecodedSlicesAlias(t *testing.T) {
	// Recv's contract: payloads alias the frame buffer; nothing is copied.
	l := testLimits
	b, _ := appendCommand(nil, &SendPacket{Packet: bytes.Repeat([]byte{1}, l.PacketLength)}, &l)
	var set commandSet
	cmd, err := decodeCommand(b, &l, &set)
	if err != nil {
		t.Fatal(err)
	}
	if &cmd.(*SendPacket).Packet[0] != &b[1] {
		t.Error("decoded packet does not alias the input")
	}
}
