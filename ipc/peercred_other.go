//go:build !linux

package ipc

import (
	"errors"
	"net"
)

// PeerCred is implemented on Linux only (SO_PEERCRED); elsewhere every
// caller is refused, which is the safe failure. See ipc/PROTOCOL.md §9.
func PeerCred(conn net.Conn) (Cred, error) {
	return Cred{}, errors.New("ipc: peer credentials are not supported on this system")
}
