package config

// DefaultManagementSocket is the management socket's name under DataDir.
const DefaultManagementSocket = "management_sock"

// Management is the [Management] section: the operator's control socket
// (text protocol, usable with socat; mixctl speaks it). See
// docs/spec/mix-server.md, "Management section".
type Management struct {
	// Disable turns the management socket off. The interface is on by
	// default.
	Disable bool
	// Path is the socket path; default DataDir/management_sock. A relative
	// path is taken relative to DataDir.
	Path string
}

// Enabled reports whether the management socket should be served.
func (m Management) Enabled() bool { return !m.Disable }

type fileManagement struct {
	// Disable is the key the spec's text names.
	Disable *bool
	// Enable is the key the spec's example uses; it is the negation of
	// Disable. Both may be given only if they agree.
	Enable *bool
	Path   string
}

func convertManagement(ck *checker, m *fileManagement, dataDir string) Management {
	var out Management
	switch {
	case m.Disable != nil && m.Enable != nil && *m.Disable == *m.Enable:
		ck.errorf("Management.Enable", "conflicts with Management.Disable (Enable = %t, Disable = %t); set only one", *m.Enable, *m.Disable)
	case m.Disable != nil:
		out.Disable = *m.Disable
	case m.Enable != nil:
		out.Disable = !*m.Enable
	}
	out.Path = m.Path
	if out.Path == "" {
		out.Path = DefaultManagementSocket
	}
	out.Path = resolvePath(dataDir, out.Path)
	return out
}
