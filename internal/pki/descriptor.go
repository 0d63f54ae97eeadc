package pki

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/splitmix/splitmix/internal/keys"
)

// DescriptorVersion is the only descriptor format version this code reads
// and writes (docs/spec/pki.md §1.1).
const DescriptorVersion = 1

// Limits of a descriptor (docs/spec/pki.md §1.3). They bound what an
// authority or keyd accepts from a peer.
const (
	MaxDescriptorSize  = 32 << 10 // encoded bytes
	NumMixKeys         = 3        // Sphinx keys for Epoch, Epoch+1, Epoch+2
	MaxNameLen         = 255
	MaxAddresses       = 8 // per transport
	MaxAddressLen      = 255
	MaxKaetzchen       = 16 // capabilities
	MaxKaetzchenParams = 8  // parameters per capability
	MaxKaetzchenKeyLen = 64 // capability names and parameter names
	MaxKaetzchenValLen = 255
)

// Transports a descriptor may advertise (docs/spec/pki.md §1.1).
const (
	TransportTCP  = "tcp"  // TCP over IPv4 or IPv6; the host may be a DNS name
	TransportTCP4 = "tcp4" // TCP, IPv4 literal
	TransportTCP6 = "tcp6" // TCP, IPv6 literal
	TransportQUIC = "quic" // QUIC over UDP; the host may be a DNS name
)

// Transports lists the known transports in their canonical order.
var Transports = []string{TransportTCP, TransportTCP4, TransportTCP6, TransportQUIC}

// KaetzchenEndpoint is the parameter every advertised Kaetzchen service
// carries: the recipient name its requests are addressed to.
const KaetzchenEndpoint = "endpoint"

// Descriptor is a node's self-description for one epoch, posted to the
// directory authority. See docs/spec/pki.md §1.1.
type Descriptor struct {
	// Version is DescriptorVersion.
	Version uint32
	// Name is the node's Server.Identifier.
	Name string
	// Epoch is the first epoch this descriptor is for.
	Epoch uint64
	// IdentityKey signs this descriptor.
	IdentityKey keys.IdentityPublicKey
	// LinkKey is the static key of the node's link handshakes.
	LinkKey *keys.LinkPublicKey
	// MixKeys are the node's Sphinx public keys by epoch: the key for Epoch
	// and, when known, for Epoch+1 and Epoch+2.
	MixKeys map[uint64][keys.SphinxKeySize]byte
	// Addresses maps a transport to "host:port" addresses.
	Addresses map[string][]string
	// Provider is true for a Provider, false for a mix.
	Provider bool
	// Kaetzchen maps a service capability to its parameters (Providers
	// only); every service has an "endpoint" parameter.
	Kaetzchen map[string]map[string]string
}

// Validate checks every rule of docs/spec/pki.md §1.3 that can be checked
// without knowing the time or the authority's allow-list.
func (d *Descriptor) Validate() error {
	if d.Version != DescriptorVersion {
		return fmt.Errorf("descriptor: version %d, want %d", d.Version, DescriptorVersion)
	}
	if err := checkText("name", d.Name, MaxNameLen); err != nil {
		return fmt.Errorf("descriptor: %w", err)
	}
	if d.LinkKey == nil {
		return fmt.Errorf("descriptor: no link key")
	}
	if err := d.validateMixKeys(); err != nil {
		return fmt.Errorf("descriptor: %w", err)
	}
	if err := d.validateAddresses(); err != nil {
		return fmt.Errorf("descriptor: %w", err)
	}
	if err := d.validateKaetzchen(); err != nil {
		return fmt.Errorf("descriptor: %w", err)
	}
	return nil
}

func (d *Descriptor) validateMixKeys() error {
	if len(d.MixKeys) == 0 || len(d.MixKeys) > NumMixKeys {
		return fmt.Errorf("%d mix keys, want 1 to %d", len(d.MixKeys), NumMixKeys)
	}
	if _, ok := d.MixKeys[d.Epoch]; !ok {
		return fmt.Errorf("no mix key for the descriptor's epoch %d", d.Epoch)
	}
	var zero [keys.SphinxKeySize]byte
	for e, k := range d.MixKeys {
		if e < d.Epoch || e-d.Epoch >= NumMixKeys {
			return fmt.Errorf("mix key for epoch %d outside [%d, %d]", e, d.Epoch, d.Epoch+NumMixKeys-1)
		}
		if k == zero {
			return fmt.Errorf("mix key for epoch %d is all zero", e)
		}
	}
	return nil
}

func (d *Descriptor) validateAddresses() error {
	if len(d.Addresses) == 0 {
		return fmt.Errorf("no addresses")
	}
	for transport, addrs := range d.Addresses {
		if !slices.Contains(Transports, transport) {
			return fmt.Errorf("unknown transport %q", transport)
		}
		if len(addrs) == 0 || len(addrs) > MaxAddresses {
			return fmt.Errorf("transport %s: %d addresses, want 1 to %d", transport, len(addrs), MaxAddresses)
		}
		for _, a := range addrs {
			if err := checkAddress(transport, a); err != nil {
				return fmt.Errorf("transport %s: %w", transport, err)
			}
		}
	}
	return nil
}

func (d *Descriptor) validateKaetzchen() error {
	if len(d.Kaetzchen) == 0 {
		return nil
	}
	if !d.Provider {
		return fmt.Errorf("a mix advertises Kaetzchen services")
	}
	if len(d.Kaetzchen) > MaxKaetzchen {
		return fmt.Errorf("%d Kaetzchen services, at most %d", len(d.Kaetzchen), MaxKaetzchen)
	}
	for capability, params := range d.Kaetzchen {
		if err := checkToken("Kaetzchen capability", capability); err != nil {
			return err
		}
		if len(params) > MaxKaetzchenParams {
			return fmt.Errorf("service %q: %d parameters, at most %d", capability, len(params), MaxKaetzchenParams)
		}
		if params[KaetzchenEndpoint] == "" {
			return fmt.Errorf("service %q: no %q parameter", capability, KaetzchenEndpoint)
		}
		for k, v := range params {
			if err := checkToken("Kaetzchen parameter name", k); err != nil {
				return fmt.Errorf("service %q: %w", capability, err)
			}
			if err := checkText("Kaetzchen parameter "+strconv.Quote(k), v, MaxKaetzchenValLen); err != nil {
				return fmt.Errorf("service %q: %w", capability, err)
			}
		}
	}
	return nil
}

// checkText accepts 1..max bytes of valid UTF-8 without control characters.
func checkText(what, s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%s: %d bytes, want 1 to %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: not UTF-8", what)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%s: contains a control character", what)
	}
	return nil
}

// checkToken accepts 1..MaxKaetzchenKeyLen printable ASCII characters other
// than space.
func checkToken(what, s string) error {
	if s == "" || len(s) > MaxKaetzchenKeyLen {
		return fmt.Errorf("%s: %d bytes, want 1 to %d", what, len(s), MaxKaetzchenKeyLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return fmt.Errorf("%s %q: only printable ASCII without spaces", what, s)
		}
	}
	return nil
}

// checkAddress accepts "host:port" for the transport's address family.
func checkAddress(transport, a string) error {
	if len(a) > MaxAddressLen {
		return fmt.Errorf("address of %d bytes, at most %d", len(a), MaxAddressLen)
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("address %q: %w", a, err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 || port[0] == '0' {
		return fmt.Errorf("address %q: port must be 1 to 65535", a)
	}
	ip := net.ParseIP(host)
	switch transport {
	case TransportTCP4:
		if ip == nil || ip.To4() == nil || strings.Contains(host, ":") {
			return fmt.Errorf("address %q: host is not an IPv4 literal", a)
		}
	case TransportTCP6:
		if ip == nil || !strings.Contains(host, ":") {
			return fmt.Errorf("address %q: host is not an IPv6 literal", a)
		}
	default:
		if ip == nil && !isDNSName(host) {
			return fmt.Errorf("address %q: host is neither an IP literal nor a DNS name", a)
		}
	}
	return nil
}

// isDNSName accepts LDH labels of 1..63 characters separated by dots, at
// most 253 characters in all.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
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
