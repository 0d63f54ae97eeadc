package testnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ManifestName is the manifest's file name inside a network's directory.
const ManifestName = "network.json"

// Manifest describes a running local network: cmd/testnet writes it to
// DIR/network.json once every node is up, and cmd/mixload, scripts and an
// operator's tools read it to find the nodes, their management sockets and
// the users. Paths are absolute.
type Manifest struct {
	// Dir is the network's directory: everything the network writes.
	Dir string `json:"dir"`
	// EpochPeriod is the network's epoch length.
	EpochPeriod Duration `json:"epoch_period"`
	// Authority locates and authenticates the directory authority.
	Authority Authority `json:"authority"`
	// Nodes lists the mixes (by layer) and then the Providers.
	Nodes []Node `json:"nodes"`
	// Users are the accounts created on the Providers.
	Users []User `json:"users"`
	// BinDir holds the programs the network runs (dirauth, keyd, spoold,
	// mixd) and the tools (mixctl, mixclient).
	BinDir string `json:"bin_dir,omitempty"`
}

// Authority is the directory authority of the network.
type Authority struct {
	// Address is "host:port" of its link listener.
	Address string `json:"address"`
	// PublicKey is its identity public key in the text form of
	// keys.ParseIdentityPublicKey.
	PublicKey string `json:"public_key"`
	// Config and Log are its configuration file and log file.
	Config string `json:"config"`
	Log    string `json:"log"`
}

// Node is one mix or Provider and its processes.
type Node struct {
	Name     string `json:"name"`
	Provider bool   `json:"provider"`
	// Layer is the mix layer (0-based); -1 for a Provider.
	Layer int `json:"layer"`
	// Address is "host:port" of the node's link listener.
	Address string `json:"address"`
	// Config is the node's configuration file (mixctl -f, keyd/spoold/mixd -f).
	Config string `json:"config"`
	// ManagementSocket is mixd's management socket (mixctl -s).
	ManagementSocket string `json:"management_socket"`
	// Logs maps a daemon name (keyd, spoold, mixd) to its log file.
	Logs map[string]string `json:"logs"`
}

// User is an account on a Provider.
type User struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	// KeyFile holds the user's link key seed as `mixclient genkey` writes
	// it (hex).
	KeyFile string `json:"key_file"`
	// Spare marks the user testnet's traffic leaves alone: one per
	// Provider, for an operator's mixclient (its spool is not drained by
	// anyone else).
	Spare bool `json:"spare,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Node returns the node called name.
func (m *Manifest) Node(name string) (*Node, bool) {
	for i := range m.Nodes {
		if m.Nodes[i].Name == name {
			return &m.Nodes[i], true
		}
	}
	return nil, false
}

// Providers returns the Provider nodes in manifest order.
func (m *Manifest) Providers() []Node {
	var out []Node
	for _, n := range m.Nodes {
		if n.Provider {
			out = append(out, n)
		}
	}
	return out
}

// Save writes the manifest atomically to DIR/network.json (mode 0600).
func (m *Manifest) Save() error {
	if m.Dir == "" {
		return errors.New("testnet: manifest has no directory")
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(m.Dir, ManifestName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// LoadManifest reads a manifest from path, which may name the file or the
// network's directory.
func LoadManifest(path string) (*Manifest, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ManifestName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("testnet: reading manifest: %w", err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("testnet: %s: %w", path, err)
	}
	return m, nil
}

// ParseManifest decodes a manifest and checks what its readers rely on:
// an authority, and nodes and users that name themselves.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m.Authority.Address == "" || m.Authority.PublicKey == "" {
		return nil, errors.New("no authority address or key")
	}
	if m.EpochPeriod <= 0 {
		return nil, errors.New("epoch_period must be positive")
	}
	for i, n := range m.Nodes {
		if n.Name == "" {
			return nil, fmt.Errorf("node %d has no name", i)
		}
	}
	for i, u := range m.Users {
		if u.Name == "" || u.Provider == "" {
			return nil, fmt.Errorf("user %d has no name or Provider", i)
		}
	}
	return &m, nil
}
