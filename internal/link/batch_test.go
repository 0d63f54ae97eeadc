package link

import (
	"errors"
	"io"
	"reflect"
	"testing"
)

func TestSendBatchArrivesInOrder(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "tcp", e)
	r := newTestRand(11)
	l := testLimits
	var cmds []Command
	for i := range 300 { // past a rekey (every 256 records)
		cmds = append(cmds, randomCommand(r, i, &l))
	}
	errc := make(chan error, 1)
	go func() { errc <- ini.SendBatch(cmds) }()
	for i, want := range cmds {
		got, err := resp.Recv()
		if err != nil {
			t.Fatalf("command %d: Recv: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("command %d (%v) arrived as %+v", i, want.ID(), got)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if cap(ini.bbuf) > maxBatchBuffer {
		t.Errorf("kept a %d-byte batch buffer, at most %d", cap(ini.bbuf), maxBatchBuffer)
	}
}

func TestSendBatchRefusesBadCommandAndStaysUsable(t *testing.T) {
	e := newEndpoints(t)
	ini, resp := establish(t, "pipe", e)
	good := &SendPacket{Packet: make([]byte, testLimits.PacketLength)}
	bad := &SendPacket{Packet: make([]byte, testLimits.PacketLength-1)}
	if err := ini.SendBatch([]Command{good, bad}); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("batch with a short packet: %v, want ErrBadCommand", err)
	}
	// Nothing of the refused batch was sent: the next frame is the first.
	errc := make(chan error, 1)
	go func() { errc <- ini.SendBatch([]Command{&NoOp{}, good}) }()
	if cmd, err := resp.Recv(); err != nil || cmd.ID() != IDNoOp {
		t.Fatalf("first frame after the refused batch: %v, %v; want NoOp", cmd, err)
	}
	if cmd, err := resp.Recv(); err != nil || cmd.ID() != IDSendPacket {
		t.Fatalf("second frame: %v, %v; want SendPacket", cmd, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestSendBatchPacketAllocs checks that a batch of packets, and reading
// them back, allocates nothing once the buffers exist.
func TestSendBatchPacketAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	e := newEndpoints(t)
	ini, resp := establishLoop(t, e)
	var pkts [16]SendPacket
	batch := make([]Command, len(pkts))
	for i := range pkts {
		pkts[i].Packet = make([]byte, testLimits.PacketLength)
		batch[i] = &pkts[i]
	}
	allocs := testing.AllocsPerRun(50, func() {
		if err := ini.SendBatch(batch); err != nil {
			t.Fatal(err)
		}
		for range batch {
			if _, err := resp.Recv(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs > 0 {
		t.Errorf("%v allocations per batch, want 0", allocs)
	}
}

// TestStreamEndingInsideFrame checks that read-ahead keeps the error
// contract: the stream ending inside a frame is io.ErrUnexpectedEOF, also
// when the frame's first bytes came with the previous read.
func TestStreamEndingInsideFrame(t *testing.T) {
	for _, cut := range []int{1, frameHeaderLength, frameHeaderLength + 1} {
		e := newEndpoints(t)
		ini, resp := establishLoop(t, e)
		if err := ini.SendBatch([]Command{&NoOp{}, &NoOp{}}); err != nil {
			t.Fatal(err)
		}
		out := resp.conn.(*bufConn).in
		frame := frameHeaderLength + 1 + tagLen
		out.Truncate(frame + cut) // the whole first frame, a part of the second
		if cmd, err := resp.Recv(); err != nil || cmd.ID() != IDNoOp {
			t.Fatalf("cut %d: first frame: %v, %v", cut, cmd, err)
		}
		if _, err := resp.Recv(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut %d: stream ending inside a frame: %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
}
