package keyproto

import (
	"github.com/splitmix/splitmix/ipc"
)

// Version is bumped on any change to the catalog below or to any body.
// See PROTOCOL.md §2.
const Version = 1

// MaxFrame bounds every frame: a descriptor (pki.MaxDescriptorSize, 32 KiB)
// plus the envelope. See PROTOCOL.md §2.
const MaxFrame = 64 << 10

// Protocol is keyd's protocol as both ends name it in the hello.
var Protocol = ipc.Protocol{Name: "keyd", Version: Version, MaxFrame: MaxFrame}

// The message catalog (PROTOCOL.md §3). Numbers are never reused.
const (
	TypeGetPublicKeys   ipc.MsgType = 1 // §3.1
	TypeSignDescriptor  ipc.MsgType = 2 // §3.2
	TypeLinkECDH        ipc.MsgType = 3 // §3.3
	TypeLinkDecapsulate ipc.MsgType = 4 // §3.4
	TypeSphinxKeys      ipc.MsgType = 5 // §3.5
)

// RoleMixd is the only role keyd admits: mixd's uid ([Privsep] MixdUser).
const RoleMixd ipc.Role = "mixd"

// Idempotent reports whether a message type may be resent after the
// connection broke: every keyd message is (PROTOCOL.md §4).
func Idempotent(t ipc.MsgType) bool {
	switch t {
	case TypeGetPublicKeys, TypeSignDescriptor, TypeLinkECDH, TypeLinkDecapsulate, TypeSphinxKeys:
		return true
	}
	return false
}
