package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Address URL schemes accepted in Server.Addresses and Server.BindAddresses
// (docs/spec/mix-server.md, "Server section"): tcp, tcp4 and tcp6 name TCP
// listeners; http names a QUIC (UDP) listener.
const (
	SchemeTCP  = "tcp"
	SchemeTCP4 = "tcp4"
	SchemeTCP6 = "tcp6"
	SchemeQUIC = "http"
)

// NetworkQUIC is Address.Network for QUIC listeners.
const NetworkQUIC = "udp"

// schemeNetworks maps each accepted scheme to its Go network name.
var schemeNetworks = map[string]string{
	SchemeTCP:  "tcp",
	SchemeTCP4: "tcp4",
	SchemeTCP6: "tcp6",
	SchemeQUIC: NetworkQUIC,
}

// Address is a parsed listener URL such as "tcp://192.0.2.1:29483".
type Address struct {
	// Scheme is tcp, tcp4, tcp6 or http (QUIC).
	Scheme string
	// Network is the Go network name: tcp, tcp4, tcp6 or udp (QUIC).
	Network string
	// Host is an IP literal (without brackets) or a DNS name.
	Host string
	// Port is in 1..65535.
	Port int
	// URL is the canonical form: scheme://host:port, IPv6 bracketed.
	URL string
}

// HostPort returns "host:port" (IPv6 bracketed), the form net.Listen and
// net.Dial take.
func (a Address) HostPort() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// IsQUIC reports whether the address names a QUIC (UDP) listener.
func (a Address) IsQUIC() bool { return a.Network == NetworkQUIC }

// IsIP reports whether Host is an IP literal rather than a name.
func (a Address) IsIP() bool {
	_, err := netip.ParseAddr(a.Host)
	return err == nil
}

// String returns URL.
func (a Address) String() string { return a.URL }

// ParseAddress parses an address URL: scheme "tcp", "tcp4", "tcp6" or
// "http" (QUIC), a host and a port, and nothing else (no user, path, query
// or fragment). The host is an IP literal, IPv6 in brackets, or a
// syntactically valid DNS name. A name is accepted because it resolves at
// bind time; this is also why the spec's own example
// "http://192.168.0.2.1:15242" (five dotted numbers, not an IPv4 address)
// loads: it is a well-formed host name.
func ParseAddress(s string) (Address, error) {
	var a Address
	if !strings.Contains(s, "://") {
		return a, fmt.Errorf("address %q: missing scheme (want tcp://, tcp4://, tcp6:// or http:// before host:port)", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error text repeats the whole URL
		}
		return a, fmt.Errorf("address %q: %v", s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	network, ok := schemeNetworks[scheme]
	switch {
	case u.Scheme == "":
		return a, fmt.Errorf("address %q: missing scheme (want tcp://, tcp4://, tcp6:// or http://)", s)
	case !ok:
		return a, fmt.Errorf("address %q: unknown scheme %q (want tcp, tcp4, tcp6 or http)", s, u.Scheme)
	case u.User != nil:
		return a, fmt.Errorf("address %q: user information is not allowed", s)
	case u.Path != "" || u.RawPath != "":
		return a, fmt.Errorf("address %q: a path is not allowed", s)
	case u.RawQuery != "" || u.ForceQuery:
		return a, fmt.Errorf("address %q: a query is not allowed", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return a, fmt.Errorf("address %q: a fragment is not allowed", s)
	}
	host := u.Hostname()
	if host == "" {
		return a, fmt.Errorf("address %q: missing host", s)
	}
	portText := u.Port()
	if portText == "" {
		return a, fmt.Errorf("address %q: missing port", s)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return a, fmt.Errorf("address %q: port %q is not in 1..65535", s, portText)
	}
	if err := checkHost(u.Host, host, scheme); err != nil {
		return a, fmt.Errorf("address %q: %v", s, err)
	}
	a = Address{Scheme: scheme, Network: network, Host: host, Port: port}
	a.URL = scheme + "://" + a.HostPort()
	return a, nil
}

// checkHost validates the host part: IP literal (IPv6 bracketed, family
// matching tcp4/tcp6) or DNS name.
func checkHost(rawHost, host, scheme string) error {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		if strings.Contains(host, ":") {
			return fmt.Errorf("host %q is not a valid IPv6 address", host)
		}
		if !validHostname(host) {
			return fmt.Errorf("host %q is neither an IP address nor a valid host name", host)
		}
		return nil
	}
	if ip.Zone() != "" {
		return fmt.Errorf("IPv6 zone %q is not allowed", ip.Zone())
	}
	if ip.Is6() && !strings.HasPrefix(rawHost, "[") {
		return fmt.Errorf("IPv6 address %q must be in brackets, e.g. [%s]:PORT", host, host)
	}
	if scheme == SchemeTCP4 && !ip.Is4() {
		return fmt.Errorf("tcp4 address with non-IPv4 host %q", host)
	}
	if scheme == SchemeTCP6 && !ip.Is6() {
		return fmt.Errorf("tcp6 address with non-IPv6 host %q", host)
	}
	return nil
}

// validHostname reports whether h is a syntactically valid DNS name
// (RFC 1123 labels: letters, digits and inner hyphens, 1..63 bytes each,
// at most 253 bytes in all, one trailing dot allowed).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// looksNumeric reports whether a host name consists of dotted numbers only,
// i.e. is most likely a mistyped IPv4 address.
func looksNumeric(h string) bool {
	return strings.Trim(h, "0123456789.") == ""
}

// checkHostPort validates "host:port" as used by PKI.Nonvoting.Address and
// Provider.AltAddresses.
func checkHostPort(s string) error {
	host, portText, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", s, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return fmt.Errorf("%q: port %q is not in 1..65535", s, portText)
	}
	if host == "" {
		return fmt.Errorf("%q: missing host", s)
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host) {
		return fmt.Errorf("%q: host %q is neither an IP address nor a valid host name", s, host)
	}
	return nil
}
