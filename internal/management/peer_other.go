//go:build !linux

package management

import (
	"errors"
	"net"
)

// peerOf is implemented on Linux only (SO_PEERCRED, SO_PEERGROUPS);
// elsewhere every caller is refused.
func peerOf(net.Conn) (peer, error) {
	return peer{}, errors.New("peer credentials are supported on Linux only")
}
