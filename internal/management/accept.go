package management

import (
	"errors"
	"syscall"
)

// isTransientAcceptError reports accept(2) failures that pass: out of
// file descriptors or memory, or a connection that died while queued.
func isTransientAcceptError(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
