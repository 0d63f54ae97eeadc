package sphinx

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestCommandsEncoding(t *testing.T) {
	var c Commands
	c.HasNextHop = true
	for i := range c.NextHop {
		c.NextHop[i] = 0x11
		c.NextHopMAC[i] = 0x22
	}
	c.HasDelay, c.Delay = true, 1234
	b := make([]byte, PerHopRoutingInfoLength)
	if err := c.encode(b); err != nil {
		t.Fatal(err)
	}
	want := "01" + hex.EncodeToString(bytes.Repeat([]byte{0x11}, 32)) + hex.EncodeToString(bytes.Repeat([]byte{0x22}, 32)) + "04000004d2"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encoding %s, want %s", got, want)
	}
	var d Commands
	if err := decodeCommands(b, &d); err != nil || d != c {
		t.Fatalf("decode: %+v, %v", d, err)
	}

	term := Commands{HasRecipient: true, HasSURBReply: true, HasDelay: true, Delay: 7}
	copy(term.Recipient[:], "alice")
	term.SURBID[0] = 0xaa
	if err := term.encode(b); err != nil {
		t.Fatal(err)
	}
	if b[0] != cmdRecipient || b[33] != cmdSURBReply || b[50] != cmdDelay || !isZero(b[55:]) {
		t.Fatalf("terminal encoding %x", b)
	}
	if err := decodeCommands(b, &d); err != nil || d != term {
		t.Fatalf("decode terminal: %+v, %v", d, err)
	}
}

func TestCommandsRejects(t *testing.T) {
	r := PerHopRoutingInfoLength
	mk := func(parts ...[]byte) []byte {
		b := make([]byte, r)
		copy(b, bytes.Join(parts, nil))
		return b
	}
	rcpt := append([]byte{cmdRecipient}, make([]byte, 32)...)
	next := append([]byte{cmdNextHop}, make([]byte, 64)...)
	surbReply := append([]byte{cmdSURBReply}, make([]byte, 16)...)
	delay := []byte{cmdDelay, 0, 0, 0, 1}
	for name, b := range map[string][]byte{
		"empty":                  mk(),
		"delay only":             mk(delay),
		"next and recipient":     mk(next, rcpt),
		"SURB reply alone":       mk(surbReply),
		"out of order":           mk(delay, rcpt),
		"repeated":               mk(delay, delay),
		"unknown":                mk([]byte{0x05}),
		"non-zero padding":       mk(rcpt, []byte{0, 1}),
		"truncated next hop":     append(make([]byte, r-10), next[:10]...),
		"next hop, delay behind": mk(delay, next),
	} {
		var c Commands
		if err := decodeCommands(b, &c); !errors.Is(err, ErrCommands) {
			t.Errorf("%s: %v, want ErrCommands", name, err)
		}
	}
	bad := Commands{HasNextHop: true, HasRecipient: true}
	if err := bad.encode(make([]byte, r)); !errors.Is(err, ErrCommands) {
		t.Errorf("encode of next hop and recipient: %v", err)
	}
	// A block filled exactly without padding is valid.
	var c Commands
	if err := decodeCommands(mk(next, delay), &c); err != nil {
		t.Errorf("full block: %v", err)
	}
}
