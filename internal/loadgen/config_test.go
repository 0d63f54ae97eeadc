package loadgen

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
)

func validConfig() Config {
	return Config{
		Network: Network{
			AuthorityAddress: "127.0.0.1:1", AuthorityKey: keys.IdentityPublicKey{1},
			Nodes: []Node{{Name: "mix-1", ManagementSocket: "/m1"}, {Name: "provider-a", Provider: true, Layer: -1, ManagementSocket: "/pa"}},
		},
		Clients: 2, Duration: time.Second,
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := validConfig().withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Window != DefaultWindow || c.Drain != DefaultDrain || c.Size != DefaultSize || c.PollInterval != DefaultPollInterval || c.Progress == nil {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestConfigRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*Config)
		want   string
	}{
		"no authority":   {func(c *Config) { c.Network.AuthorityAddress = "" }, "authority"},
		"no provider":    {func(c *Config) { c.Network.Nodes[1].Provider = false }, "no Provider"},
		"no socket":      {func(c *Config) { c.Network.Nodes[0].ManagementSocket = "" }, "management socket"},
		"no clients":     {func(c *Config) { c.Clients = 0 }, "clients"},
		"many clients":   {func(c *Config) { c.Clients = MaxClients + 1 }, "clients"},
		"negative rate":  {func(c *Config) { c.Rate = -1 }, "rate"},
		"big window":     {func(c *Config) { c.Window = 5000 }, "window"},
		"no duration":    {func(c *Config) { c.Duration = 0 }, "duration"},
		"small body":     {func(c *Config) { c.Size = BodyHeaderSize - 1 }, "size"},
		"fast poll":      {func(c *Config) { c.PollInterval = time.Microsecond }, "poll"},
		"negative drain": {func(c *Config) { c.Drain = -time.Second }, "drain"},
	} {
		c := validConfig()
		c.Network.Nodes = append([]Node(nil), c.Network.Nodes...)
		tc.mutate(&c)
		_, err := c.withDefaults()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrConfig mentioning %q", name, err, tc.want)
		}
	}
}

func TestUserNames(t *testing.T) {
	seen := map[string]bool{}
	for i := range MaxClients {
		n := userName(0xdeadbeefcafe, i)
		if len(n) > 32 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
			t.Fatalf("user name %q is not a valid user name", n)
		}
		if seen[n] {
			t.Fatalf("user name %q twice", n)
		}
		seen[n] = true
	}
}
