package ipc

import (
	"fmt"
	"strconv"
)

// Limits shared by every protocol. See ipc/PROTOCOL.md §10.
const (
	// DefaultMaxFrame is the frame limit of a Protocol that leaves MaxFrame zero.
	DefaultMaxFrame = 1 << 20
	// MinMaxFrame and MaxMaxFrame bound what a Protocol may choose as MaxFrame.
	MinMaxFrame = 1024
	MaxMaxFrame = 64 << 20
	// MaxHelloFrame bounds the hello frames, which are read before the peer
	// is known to speak the protocol. See ipc/PROTOCOL.md §4.
	MaxHelloFrame = 1024
	// maxProtocolName bounds Protocol.Name.
	maxProtocolName = 64
)

// Protocol names one IPC protocol: the name and version exchanged in the
// hello, and the largest frame either side accepts. Each protocol package
// (ipc/keyproto, ...) defines one value and uses it on both ends.
// See ipc/PROTOCOL.md §4.
type Protocol struct {
	Name     string // 1..64 printable ASCII characters, e.g. "keyd"
	Version  uint32 // bumped on any change to the catalog or a body
	MaxFrame int    // bytes; 0 means DefaultMaxFrame
}

// maxFrame is the effective frame limit.
func (p Protocol) maxFrame() int {
	if p.MaxFrame == 0 {
		return DefaultMaxFrame
	}
	return p.MaxFrame
}

// String renders "name/version", the form used in errors and logs.
func (p Protocol) String() string { return p.Name + "/" + strconv.FormatUint(uint64(p.Version), 10) }

// validate reports a programming error in a Protocol value.
func (p Protocol) validate() error {
	if err := validName(p.Name); err != nil {
		return err
	}
	if p.MaxFrame != 0 && (p.MaxFrame < MinMaxFrame || p.MaxFrame > MaxMaxFrame) {
		return fmt.Errorf("ipc: protocol %q: MaxFrame %d outside [%d, %d]", p.Name, p.MaxFrame, MinMaxFrame, MaxMaxFrame)
	}
	return nil
}

func validName(name string) error {
	if len(name) == 0 || len(name) > maxProtocolName {
		return fmt.Errorf("ipc: protocol name must be 1..%d characters, got %d", maxProtocolName, len(name))
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x21 || name[i] > 0x7e {
			return fmt.Errorf("ipc: protocol name %q: byte %d is not printable ASCII", name, i)
		}
	}
	return nil
}

// MsgType numbers a message in a protocol's catalog. Numbers are never
// reused. See ipc/PROTOCOL.md §5.
type MsgType uint16

// Role is what an Authorizer makes of a caller (for example "mixd" or
// "admin"); routes list the roles that may send each message type.
// See ipc/PROTOCOL.md §9.
type Role string
