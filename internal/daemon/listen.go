package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxSocketPath is the longest path a UNIX socket address holds (sun_path less its NUL).
const maxSocketPath = 107

// probeTimeout bounds the dial that tells a live socket from a stale one.
const probeTimeout = 2 * time.Second

// ListenUnix returns a listener for the UNIX stream socket at path.
//
// If systemd passed the socket (socket activation: a .socket unit whose ListenStream= is path, or
// whose FileDescriptorName= is path's base name), that socket is used as it is: systemd already
// set its owner, group and mode (SocketUser=, SocketGroup=, SocketMode=), mode and gid are
// ignored, and Close leaves the file alone.
//
// Otherwise ListenUnix binds the socket itself:
//   - the parent directory is created 0700 if it does not exist (an existing one is not touched);
//   - an existing socket file at path is probed: if something answers, ListenUnix fails with
//     "another instance is listening on PATH"; if the connection is refused the file is stale and
//     is replaced; anything that is not a socket is never replaced;
//   - the socket is bound inside a fresh 0700 directory next to path, given mode and (when
//     gid >= 0) group gid there, and only then renamed onto path, so it is never reachable with
//     wider permissions, whatever the process umask, even for an instant; the rename also replaces
//     a stale socket atomically;
//   - Close unlinks path, but only while path is still the socket this call created (a newer
//     instance's socket is left alone).
//
// Because of the rename, the listener's Addr is path but the local address of accepted
// connections (getsockname) is the temporary name the socket was bound to.
func ListenUnix(path string, mode os.FileMode, gid int) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("listen: empty socket path")
	}
	if f := takeActivated(path); f != nil {
		ln, err := net.FileListener(f)
		f.Close() // FileListener holds its own dup
		if err != nil {
			return nil, fmt.Errorf("listen %s: activated socket: %w", path, err)
		}
		if ul, ok := ln.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false)
		}
		return ln, nil
	}
	return bindUnix(path, mode, gid)
}

func bindUnix(path string, mode os.FileMode, gid int) (net.Listener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("listen %s: socket path is %d bytes, the limit is %d", path, len(path), maxSocketPath)
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("listen %s: %w", path, err)
		}
	}
	stale, err := probeExisting(path)
	if err != nil {
		return nil, err
	}

	tmpDir, err := os.MkdirTemp(dir, ".")
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	if len(tmp) > maxSocketPath {
		return nil, fmt.Errorf("listen %s: the temporary bind path %s is longer than %d bytes: use a shorter path", path, tmp, maxSocketPath)
	}
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	ul.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		ul.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode.Perm()); err != nil {
		return fail(err)
	}
	if gid >= 0 {
		if err := os.Chown(tmp, -1, gid); err != nil {
			return fail(err)
		}
	}
	var st unix.Stat_t
	if err := unix.Lstat(tmp, &st); err != nil {
		return fail(err)
	}
	if err := moveIntoPlace(tmp, path, stale); err != nil {
		return fail(err)
	}
	return &unixListener{UnixListener: ul, path: path, dev: st.Dev, ino: st.Ino}, nil
}

// probeExisting reports whether path is a stale socket that may be replaced. It fails when path
// is live, is not a socket, or cannot be probed.
func probeExisting(path string) (stale bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("listen %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return false, fmt.Errorf("listen %s: the path exists and is not a socket (%s); refusing to replace it", path, fi.Mode().Type())
	}
	c, err := net.DialTimeout("unix", path, probeTimeout)
	switch {
	case err == nil:
		c.Close()
		return false, fmt.Errorf("listen %s: another instance is listening on %s", path, path)
	case errors.Is(err, syscall.ECONNREFUSED):
		return true, nil
	case errors.Is(err, syscall.ENOENT):
		return false, nil // removed meanwhile
	case errors.Is(err, syscall.EAGAIN):
		return false, fmt.Errorf("listen %s: another instance is listening on %s (its backlog is full)", path, path)
	default:
		return false, fmt.Errorf("listen %s: cannot tell whether the existing socket is in use: %w", path, err)
	}
}

// moveIntoPlace renames the bound socket onto path. When path was absent, it must still be: a
// socket that appeared since the probe belongs to someone else.
func moveIntoPlace(tmp, path string, replace bool) error {
	if replace {
		return os.Rename(tmp, path)
	}
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSYS) {
		// The file system lacks RENAME_NOREPLACE; link(2) refuses an existing target as well.
		if err = os.Link(tmp, path); err == nil {
			os.Remove(tmp)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("another instance bound %s meanwhile", path)
	}
	return err
}

// unixListener is a socket ListenUnix bound itself; Close unlinks path if it is still ours.
type unixListener struct {
	*net.UnixListener
	path     string
	dev, ino uint64
	once     sync.Once
	closeErr error
}

// Addr returns path, where clients connect.
func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Close unlinks the socket file (first, so that no new client finds a dead socket) and closes the
// listener. Idempotent.
func (l *unixListener) Close() error {
	l.once.Do(func() {
		var st unix.Stat_t
		if unix.Lstat(l.path, &st) == nil && st.Dev == l.dev && st.Ino == l.ino {
			os.Remove(l.path)
		}
		l.closeErr = l.UnixListener.Close()
	})
	return l.closeErr
}
