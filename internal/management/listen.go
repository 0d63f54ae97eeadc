package management

import (
	"net"

	"github.com/splitmix/splitmix/internal/daemon"
)

// LookupAdminGID turns Privsep.AdminGroup (a group name or numeric gid)
// into ServerConfig.AdminGID: -1 when group is "" (no admin group; note
// that daemon.LookupGID would return the process's own gid for "").
func LookupAdminGID(group string) (int, error) {
	if group == "" {
		return -1, nil
	}
	gid, err := daemon.LookupGID(group)
	if err != nil {
		return -1, err
	}
	return int(gid), nil
}

// Listen opens the management socket at path (Management.Path), from
// systemd socket activation if the unit provides it: mode 0600 when there
// is no admin group (adminGID < 0), else 0660 with group adminGID, so that
// file permissions and the server's credential check say the same thing.
// See docs/management.md §1.
func Listen(path string, adminGID int) (net.Listener, error) {
	if adminGID < 0 {
		return daemon.ListenUnix(path, 0o600, -1)
	}
	return daemon.ListenUnix(path, 0o660, adminGID)
}
