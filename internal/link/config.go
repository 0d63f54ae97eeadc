package link

import (
	"context"
	"fmt"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
)

// DefaultHandshakeTimeout applies when Config.HandshakeTimeout is zero.
const DefaultHandshakeTimeout = 30 * time.Second

// MaxAuthBlobLength is the largest authentication blob an initiator may send
// (docs/spec/link.md §4.5).
const MaxAuthBlobLength = 64

// Config is one side's view of a link. The same Config may be used for many
// connections at once; the package never modifies it.
type Config struct {
	// Static is our static link key. Its private halves are used only
	// through X25519().ECDH and MLKEM().Decapsulate (§4.8).
	Static keys.LinkPrivateKey

	// AuthBlob (initiator) tells the responder in what capacity we connect:
	// our NodeID or user name, at most MaxAuthBlobLength bytes (§7).
	AuthBlob []byte
	// PeerStatic (initiator) is the responder's static key, from the PKI
	// document or the configuration.
	PeerStatic *keys.LinkPublicKey

	// Authorize (responder) decides whether an initiator that has proved
	// possession of peer may connect in the capacity authBlob names. It is
	// called once per handshake, after that proof and before any command
	// (§4.7). A non-nil error refuses the initiator. ctx carries the
	// handshake deadline.
	Authorize func(ctx context.Context, peer *keys.LinkPublicKey, authBlob []byte) error

	// Limits bound the commands of the transport phase (§5.4). Both ends
	// must use the same values.
	Limits Limits

	// HandshakeTimeout bounds the whole handshake, including Authorize.
	// Zero means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
}

// Limits are the sizes of the transport commands (docs/spec/link.md §5.4).
// The Sphinx geometry of the PKI document fixes the first three; the two
// maxima are configuration.
type Limits struct {
	PacketLength         int // exact length of SendPacket.Packet
	MessagePayloadLength int // exact length of Message.Payload
	AckPayloadLength     int // exact length of MessageACK.Payload
	MaxConsensus         int // maximum length of Consensus.Payload
	MaxDescriptor        int // maximum length of PostDescriptor.Payload
}

// maxCommandHardLimit caps the longest command any Limits may allow (§5.4).
const maxCommandHardLimit = 64 << 20

// validate checks that the limits are usable.
func (l *Limits) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"PacketLength", l.PacketLength},
		{"MessagePayloadLength", l.MessagePayloadLength},
		{"AckPayloadLength", l.AckPayloadLength},
		{"MaxConsensus", l.MaxConsensus},
		{"MaxDescriptor", l.MaxDescriptor},
	} {
		if f.v < 0 || f.v > maxCommandHardLimit {
			return fmt.Errorf("%w: Limits.%s = %d, want 0..%d", ErrConfig, f.name, f.v, maxCommandHardLimit)
		}
	}
	if n := l.maxCommand(); n > maxCommandHardLimit {
		return fmt.Errorf("%w: longest command would be %d bytes, above %d", ErrConfig, n, maxCommandHardLimit)
	}
	return nil
}

// messageArea is P of §6.2: the payload area shared by the three answers to
// RetrieveMessage.
func (l *Limits) messageArea() int { return max(l.MessagePayloadLength, l.AckPayloadLength) }

// maxCommand is Cmax of §5.4: the longest encoded command (id included).
func (l *Limits) maxCommand() int {
	return 1 + max(
		l.PacketLength,
		messageHeaderLength+l.messageArea(),
		1+l.MaxConsensus,
		8+l.MaxDescriptor,
		8,
	)
}

// fixedCommand is the longest command of fixed length: the size the
// transport buffers start at, so that packets and messages never make them
// grow.
func (l *Limits) fixedCommand() int {
	return 1 + max(l.PacketLength, messageHeaderLength+l.messageArea(), 8)
}

func (c *Config) handshakeTimeout() time.Duration {
	if c.HandshakeTimeout == 0 {
		return DefaultHandshakeTimeout
	}
	return c.HandshakeTimeout
}

// validate checks the fields both roles need, and those of the role.
func (c *Config) validate(initiator bool) error {
	if c == nil {
		return fmt.Errorf("%w: nil Config", ErrConfig)
	}
	if c.Static == nil {
		return fmt.Errorf("%w: no static key", ErrConfig)
	}
	if c.HandshakeTimeout < 0 {
		return fmt.Errorf("%w: negative HandshakeTimeout", ErrConfig)
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	if initiator {
		if c.PeerStatic == nil {
			return fmt.Errorf("%w: initiator needs PeerStatic", ErrConfig)
		}
		if len(c.AuthBlob) > MaxAuthBlobLength {
			return fmt.Errorf("%w: AuthBlob is %d bytes, at most %d", ErrConfig, len(c.AuthBlob), MaxAuthBlobLength)
		}
		return nil
	}
	if c.Authorize == nil {
		return fmt.Errorf("%w: responder needs Authorize", ErrConfig)
	}
	return nil
}
