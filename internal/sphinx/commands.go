package sphinx

import (
	"encoding/binary"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
)

// Routing command types and sizes (docs/spec/sphinx.md §4).
const (
	cmdPadding   = 0x00
	cmdNextHop   = 0x01
	cmdRecipient = 0x02
	cmdSURBReply = 0x03
	cmdDelay     = 0x04

	nextHopLength   = 1 + keys.NodeIDSize + macSize
	recipientLength = 1 + RecipientIDSize
	surbReplyLength = 1 + SURBIDSize
	delayLength     = 1 + 4

	// PerHopRoutingInfoLength is r of §4: the largest valid command set,
	// next hop and delay.
	PerHopRoutingInfoLength = nextHopLength + delayLength
)

// Sizes of the identifiers carried in routing commands (§4).
const (
	RecipientIDSize = 32
	SURBIDSize      = 16
)

// RecipientID names the recipient at the terminal hop: a user name or
// Kaetzchen endpoint, zero-padded to 32 bytes (§4).
type RecipientID [RecipientIDSize]byte

// NewRecipientID zero-pads name into a RecipientID; names longer than 32
// bytes or empty are refused.
func NewRecipientID(name string) (RecipientID, error) {
	var r RecipientID
	if name == "" || len(name) > RecipientIDSize {
		return r, fmt.Errorf("sphinx: recipient name of %d bytes, want 1..%d", len(name), RecipientIDSize)
	}
	copy(r[:], name)
	return r, nil
}

// SURBID names a SURB to its creator (§9).
type SURBID [SURBIDSize]byte

// Commands is one hop's routing information, decoded into fixed fields so
// that Unwrap allocates nothing (§4). Exactly one of HasNextHop and
// HasRecipient is set in a valid set; HasSURBReply only with HasRecipient.
type Commands struct {
	HasNextHop   bool
	HasRecipient bool
	HasSURBReply bool
	HasDelay     bool

	NextHop    keys.NodeID   // next hop command: the node to forward to
	NextHopMAC [macSize]byte // next hop command: that node's header MAC
	Recipient  RecipientID   // recipient command
	SURBID     SURBID        // SURB reply command
	Delay      uint32        // delay command: milliseconds to hold the packet
}

// IsTerminal reports whether the packet ends at this hop.
func (c *Commands) IsTerminal() bool { return c.HasRecipient }

// validate checks the combination rules of §4.
func (c *Commands) validate() error {
	if c.HasNextHop == c.HasRecipient {
		return fmt.Errorf("%w: need exactly one of next hop and recipient", ErrCommands)
	}
	if c.HasSURBReply && !c.HasRecipient {
		return fmt.Errorf("%w: SURB reply without recipient", ErrCommands)
	}
	return nil
}

// encode writes the canonical encoding of c into dst, which must be
// PerHopRoutingInfoLength bytes (§4).
func (c *Commands) encode(dst []byte) error {
	if err := c.validate(); err != nil {
		return err
	}
	clear(dst)
	off := 0
	if c.HasNextHop {
		dst[off] = cmdNextHop
		copy(dst[off+1:], c.NextHop[:])
		copy(dst[off+1+keys.NodeIDSize:], c.NextHopMAC[:])
		off += nextHopLength
	}
	if c.HasRecipient {
		dst[off] = cmdRecipient
		copy(dst[off+1:], c.Recipient[:])
		off += recipientLength
	}
	if c.HasSURBReply {
		dst[off] = cmdSURBReply
		copy(dst[off+1:], c.SURBID[:])
		off += surbReplyLength
	}
	if c.HasDelay {
		dst[off] = cmdDelay
		binary.BigEndian.PutUint32(dst[off+1:], c.Delay)
	}
	return nil
}

// decodeCommands parses one hop's routing information (§4) into c. Errors
// wrap ErrCommands; they are static values so that rejecting attacker
// input allocates nothing.
func decodeCommands(b []byte, c *Commands) error {
	*c = Commands{}
	last := -1
	for off := 0; off < len(b); {
		t := int(b[off])
		if t == cmdPadding {
			if !isZero(b[off:]) {
				return errPaddingNotZero
			}
			break
		}
		if t <= last {
			return errCommandOrder
		}
		last = t
		body := b[off+1:]
		switch t {
		case cmdNextHop:
			if len(body) < nextHopLength-1 {
				return errCommandTruncated
			}
			c.HasNextHop = true
			copy(c.NextHop[:], body)
			copy(c.NextHopMAC[:], body[keys.NodeIDSize:])
			off += nextHopLength
		case cmdRecipient:
			if len(body) < recipientLength-1 {
				return errCommandTruncated
			}
			c.HasRecipient = true
			copy(c.Recipient[:], body)
			off += recipientLength
		case cmdSURBReply:
			if len(body) < surbReplyLength-1 {
				return errCommandTruncated
			}
			c.HasSURBReply = true
			copy(c.SURBID[:], body)
			off += surbReplyLength
		case cmdDelay:
			if len(body) < delayLength-1 {
				return errCommandTruncated
			}
			c.HasDelay = true
			c.Delay = binary.BigEndian.Uint32(body)
			off += delayLength
		default:
			return errCommandUnknown
		}
	}
	if c.HasNextHop == c.HasRecipient {
		return errCommandNextOrRecipient
	}
	if c.HasSURBReply && !c.HasRecipient {
		return errCommandSURBReply
	}
	return nil
}

// The detailed reasons behind ErrCommands.
var (
	errPaddingNotZero         = fmt.Errorf("%w: non-zero padding", ErrCommands)
	errCommandOrder           = fmt.Errorf("%w: commands out of order or repeated", ErrCommands)
	errCommandTruncated       = fmt.Errorf("%w: truncated command", ErrCommands)
	errCommandUnknown         = fmt.Errorf("%w: unknown command type", ErrCommands)
	errCommandNextOrRecipient = fmt.Errorf("%w: need exactly one of next hop and recipient", ErrCommands)
	errCommandSURBReply       = fmt.Errorf("%w: SURB reply without recipient", ErrCommands)
)
