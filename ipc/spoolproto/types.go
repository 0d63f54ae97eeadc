package spoolproto

import (
	"github.com/splitmix/splitmix/ipc"
)

// Version is bumped on any change to the catalog below or to any body.
// See PROTOCOL.md §2. Version 2 added AddEphemeralIfAbsent and
// ListEphemeral (§3.8).
const Version = 2

// MaxFrame bounds every frame: the largest message body (MaxMessageSize)
// plus its user name, ids and the envelope. See PROTOCOL.md §2.
const MaxFrame = MaxMessageSize + 4096

// Protocol is spoold's protocol as both ends name it in the hello.
var Protocol = ipc.Protocol{Name: "spoold", Version: Version, MaxFrame: MaxFrame}

// The message catalog (PROTOCOL.md §3). Numbers are never reused.
const (
	TypeIsValid         ipc.MsgType = 1  // §3.1
	TypeExists          ipc.MsgType = 2  // §3.1
	TypeAddUser         ipc.MsgType = 3  // §3.2
	TypeAddUserIfAbsent ipc.MsgType = 4  // §3.2
	TypeUpdateUser      ipc.MsgType = 5  // §3.2
	TypeRemoveUser      ipc.MsgType = 6  // §3.3
	TypeGetLink         ipc.MsgType = 7  // §3.1
	TypeSetIdentity     ipc.MsgType = 8  // §3.4
	TypeRemoveIdentity  ipc.MsgType = 9  // §3.4
	TypeGetIdentity     ipc.MsgType = 10 // §3.4
	TypeStoreMessage    ipc.MsgType = 11 // §3.5
	TypeGetHead         ipc.MsgType = 12 // §3.6
	TypeRemoveMessage   ipc.MsgType = 13 // §3.7
	TypePurgeUser       ipc.MsgType = 14 // §3.3
	// Version 2.
	TypeAddEphemeralIfAbsent ipc.MsgType = 15 // §3.8
	TypeListEphemeral        ipc.MsgType = 16 // §3.8
)

// RoleMixd is the only role spoold admits: mixd's uid ([Privsep] MixdUser).
const RoleMixd ipc.Role = "mixd"

// Idempotent reports whether a message type may be resent after the
// connection broke with the call in flight (PROTOCOL.md §4): every message
// but AddUser and RemoveUser, whose repetition would answer "exists" or
// "no such user" for what in fact succeeded.
func Idempotent(t ipc.MsgType) bool {
	switch t {
	case TypeIsValid, TypeExists, TypeAddUserIfAbsent, TypeUpdateUser, TypeGetLink,
		TypeSetIdentity, TypeRemoveIdentity, TypeGetIdentity,
		TypeStoreMessage, TypeGetHead, TypeRemoveMessage, TypePurgeUser,
		TypeAddEphemeralIfAbsent, TypeListEphemeral:
		return true
	}
	return false
}
