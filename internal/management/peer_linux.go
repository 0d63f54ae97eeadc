package management

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxPeerGroups bounds the supplementary group list read from the kernel:
// NGROUPS_MAX on Linux.
const maxPeerGroups = 65536

// peerOf asks the kernel who connected conn: SO_PEERCRED for pid, uid and
// gid, SO_PEERGROUPS for the supplementary groups, which SO_PEERCRED does
// not report.
func peerOf(conn net.Conn) (peer, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return peer{}, fmt.Errorf("peer credentials: %T is not a socket", conn)
	}
	if _, ok := conn.LocalAddr().(*net.UnixAddr); !ok {
		return peer{}, errors.New("peer credentials: not a UNIX-domain socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	var (
		p    peer
		serr error
	)
	if err := raw.Control(func(fd uintptr) {
		var cred *unix.Ucred
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if serr != nil {
			serr = fmt.Errorf("SO_PEERCRED: %w", serr)
			return
		}
		p.pid, p.uid, p.gid = cred.Pid, cred.Uid, cred.Gid
		p.groups, serr = peerGroups(int(fd))
	}); err != nil {
		return peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	if serr != nil {
		return peer{}, fmt.Errorf("peer credentials: %w", serr)
	}
	return p, nil
}

// peerGroups reads SO_PEERGROUPS into a []uint32. x/sys/unix has no typed
// getter (GetsockoptString would stop at the first zero byte), hence the raw
// getsockopt; the kernel answers ERANGE with the size it needs when the
// buffer is short.
func peerGroups(fd int) ([]uint32, error) {
	n := 64
	for {
		buf := make([]uint32, n)
		size := uint32(n * 4)
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
		switch {
		case errno == 0:
			if size%4 != 0 || int(size/4) > n {
				return nil, fmt.Errorf("SO_PEERGROUPS: kernel returned %d bytes", size)
			}
			return buf[:size/4], nil
		case errno == unix.ERANGE && int(size/4) > n && int(size/4) <= maxPeerGroups:
			n = int(size / 4)
		default:
			return nil, fmt.Errorf("SO_PEERGROUPS: %w", errno)
		}
	}
}
