package daemon

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Socket activation (sd_listen_fds(3)), done by hand: coreos/go-systemd's activation package
// links crypto/tls, which keyd must not (internal/boundary).
//
// systemd passes LISTEN_FDS sockets as fds 3, 4, ... and sets LISTEN_PID to our pid and
// LISTEN_FDNAMES to their colon-separated names (FileDescriptorName=, by default the .socket
// unit's name). The first ListenUnix call takes them all over: the variables are unset so that
// child processes do not mistake them for their own, and every fd is marked close-on-exec so none
// leaks into a child. ListenUnix then hands each socket to the call asking for its path;
// CloseUnusedActivation closes those nobody asked for.

// maxActivationFDs bounds how many fds we believe LISTEN_FDS about.
const maxActivationFDs = 64

// listenFDsStart is SD_LISTEN_FDS_START.
const listenFDsStart = 3

type activatedSocket struct {
	file *os.File
	name string // its LISTEN_FDNAMES entry, "" if none
}

var activation struct {
	once    sync.Once
	mu      sync.Mutex
	sockets []activatedSocket
}

func loadActivation() {
	pid, count, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if pid != strconv.Itoa(os.Getpid()) {
		return // meant for another process (or absent)
	}
	n, err := strconv.Atoi(count)
	if err != nil || n <= 0 {
		return
	}
	n = min(n, maxActivationFDs)
	nameList := strings.Split(names, ":")
	for i := 0; i < n; i++ {
		fd := listenFDsStart + i
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			continue // not open: LISTEN_FDS lied
		}
		unix.CloseOnExec(fd)
		s := activatedSocket{file: os.NewFile(uintptr(fd), "LISTEN_FD_"+strconv.Itoa(fd))}
		if i < len(nameList) {
			s.name = nameList[i]
		}
		activation.sockets = append(activation.sockets, s)
	}
}

// takeActivated removes from the table and returns the activated socket for path: a listening
// UNIX stream socket bound to path, or failing that one whose LISTEN_FDNAMES entry is path's
// base name. It returns nil if there is none.
func takeActivated(path string) *os.File {
	activation.once.Do(loadActivation)
	activation.mu.Lock()
	defer activation.mu.Unlock()
	want := path
	if abs, err := filepath.Abs(path); err == nil {
		want = abs
	}
	idx := -1
	for i, s := range activation.sockets {
		if isUnixStreamListener(s.file) && boundPath(s.file) == want {
			idx = i
			break
		}
	}
	if idx < 0 {
		for i, s := range activation.sockets {
			if isUnixStreamListener(s.file) && s.name != "" && s.name == filepath.Base(path) {
				idx = i
				break
			}
		}
	}
	if idx < 0 {
		return nil
	}
	f := activation.sockets[idx].file
	activation.sockets = append(activation.sockets[:idx], activation.sockets[idx+1:]...)
	return f
}

// CloseUnusedActivation closes the activated sockets that no ListenUnix call took and returns how
// many it closed. Call it once every socket the daemon serves is listening. (Until then they are
// only held open, close-on-exec, so they never leak into a child process.)
func CloseUnusedActivation() int {
	activation.once.Do(loadActivation)
	activation.mu.Lock()
	defer activation.mu.Unlock()
	n := len(activation.sockets)
	for _, s := range activation.sockets {
		s.file.Close()
	}
	activation.sockets = nil
	return n
}

func boundPath(f *os.File) string {
	sa, err := unix.Getsockname(int(f.Fd()))
	if err != nil {
		return ""
	}
	if u, ok := sa.(*unix.SockaddrUnix); ok {
		return u.Name
	}
	return ""
}

func isUnixStreamListener(f *os.File) bool {
	fd := int(f.Fd())
	domain, err1 := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	typ, err2 := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	acc, err3 := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	return err1 == nil && err2 == nil && err3 == nil && domain == unix.AF_UNIX && typ == unix.SOCK_STREAM && acc == 1
}
