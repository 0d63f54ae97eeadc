package config

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	good := []struct {
		in   string
		want Address
	}{
		{"tcp://192.0.2.1:29483", Address{"tcp", "tcp", "192.0.2.1", 29483, "tcp://192.0.2.1:29483"}},
		{"tcp4://192.0.2.1:1", Address{"tcp4", "tcp4", "192.0.2.1", 1, "tcp4://192.0.2.1:1"}},
		{"tcp6://[2001:DB8::1]:29483", Address{"tcp6", "tcp6", "2001:DB8::1", 29483, "tcp6://[2001:DB8::1]:29483"}},
		{"http://[2001:DB8::1]:24144", Address{"http", "udp", "2001:DB8::1", 24144, "http://[2001:DB8::1]:24144"}},
		{"tcp://[::1]:65535", Address{"tcp", "tcp", "::1", 65535, "tcp://[::1]:65535"}},
		{"TCP://mix.example.net:80", Address{"tcp", "tcp", "mix.example.net", 80, "tcp://mix.example.net:80"}},
		{"tcp4://mix.example.net.:80", Address{"tcp4", "tcp4", "mix.example.net.", 80, "tcp4://mix.example.net.:80"}},
		// The spec's own example: not an IPv4 address, but a valid name.
		{"http://192.168.0.2.1:15242", Address{"http", "udp", "192.168.0.2.1", 15242, "http://192.168.0.2.1:15242"}},
	}
	for _, c := range good {
		got, err := ParseAddress(c.in)
		if err != nil {
			t.Errorf("ParseAddress(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseAddress(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}

	bad := []struct{ in, want string }{
		{"udp://192.0.2.1:1", `unknown scheme "udp"`},
		{"https://192.0.2.1:1", `unknown scheme "https"`},
		{"192.0.2.1:1", "missing scheme"},
		{"//192.0.2.1:1", "missing scheme"},
		{"tcp:192.0.2.1:1", "missing scheme"},
		{"tcp://192.0.2.1", "missing port"},
		{"tcp://192.0.2.1:", "missing port"},
		{"tcp://192.0.2.1:0", `port "0" is not in 1..65535`},
		{"tcp://192.0.2.1:65536", `port "65536" is not in 1..65535`},
		{"tcp://192.0.2.1:http", "invalid port"},
		{"tcp://:80", "missing host"},
		{"tcp://192.0.2.1:80/", "a path is not allowed"},
		{"tcp://192.0.2.1:80/x", "a path is not allowed"},
		{"tcp://192.0.2.1:80?x=1", "a query is not allowed"},
		{"tcp://192.0.2.1:80?", "a query is not allowed"},
		{"tcp://192.0.2.1:80#x", "a fragment is not allowed"},
		{"tcp://192.0.2.1:80#", "a fragment is not allowed"},
		{"tcp://user@192.0.2.1:80", "user information is not allowed"},
		{"tcp6://2001:db8::1:80", "IPv6"},
		{"tcp6://[2001:db8::zz]:80", "invalid host"},
		{"tcp4://[2001:db8::1]:80", `tcp4 address with non-IPv4 host "2001:db8::1"`},
		{"tcp6://192.0.2.1:80", `tcp6 address with non-IPv6 host "192.0.2.1"`},
		{"tcp://-bad-.example:80", "neither an IP address nor a valid host name"},
		{"tcp://under_score.example:80", "neither an IP address nor a valid host name"},
		{"tcp://" + strings.Repeat("a", 64) + ".example:80", "neither an IP address nor a valid host name"},
		{"tcp://a..b:80", "neither an IP address nor a valid host name"},
		{"", "missing scheme"},
		{"tcp://[fe80::1%25eth0]:1", `IPv6 zone "eth0" is not allowed`},
		{"tcp://192.0.2.1:80 ", "invalid port"},
		{" tcp://192.0.2.1:80", "address"},
	}
	for _, c := range bad {
		a, err := ParseAddress(c.in)
		if err == nil {
			t.Errorf("ParseAddress(%q) = %+v, want an error containing %q", c.in, a, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAddress(%q) error %q does not contain %q", c.in, err, c.want)
		}
		if !strings.Contains(err.Error(), "address ") {
			t.Errorf("ParseAddress(%q) error %q does not say which address", c.in, err)
		}
	}
}

func TestAddressMethods(t *testing.T) {
	a, err := ParseAddress("http://[2001:db8::1]:443")
	if err != nil {
		t.Fatal(err)
	}
	if a.HostPort() != "[2001:db8::1]:443" || !a.IsQUIC() || !a.IsIP() || a.String() != "http://[2001:db8::1]:443" {
		t.Errorf("HostPort %q IsQUIC %t IsIP %t String %q", a.HostPort(), a.IsQUIC(), a.IsIP(), a.String())
	}
	b, err := ParseAddress("tcp://mix.example.net:1")
	if err != nil {
		t.Fatal(err)
	}
	if b.IsQUIC() || b.IsIP() || b.HostPort() != "mix.example.net:1" {
		t.Errorf("HostPort %q IsQUIC %t IsIP %t", b.HostPort(), b.IsQUIC(), b.IsIP())
	}
}

func TestListenAddressesFallBack(t *testing.T) {
	c := &Config{Server: Server{Addresses: []string{"tcp://192.0.2.1:1", "bogus"}}}
	if got := c.ListenAddresses(); len(got) != 1 || got[0].URL != "tcp://192.0.2.1:1" {
		t.Errorf("ListenAddresses without BindAddresses = %+v", got)
	}
	c.Server.BindAddresses = []string{"tcp://0.0.0.0:2"}
	if got := c.ListenAddresses(); len(got) != 1 || got[0].URL != "tcp://0.0.0.0:2" {
		t.Errorf("ListenAddresses with BindAddresses = %+v", got)
	}
	if got := c.AdvertiseAddresses(); len(got) != 1 || got[0].URL != "tcp://192.0.2.1:1" {
		t.Errorf("AdvertiseAddresses = %+v", got)
	}
}
