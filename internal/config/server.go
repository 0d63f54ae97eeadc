package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
)

// MaxIdentifierLen bounds Server.Identifier, which is published in the PKI
// descriptor.
const MaxIdentifierLen = 255

// Server is the [Server] section: mandatory information common to all
// nodes. See docs/spec/mix-server.md, "Server section".
type Server struct {
	// Identifier is the node's human-readable name (e.g. its FQDN).
	Identifier string
	// Addresses are the address URLs advertised in the PKI, and bound
	// unless BindAddresses is set. See ParseAddress.
	Addresses []string
	// BindAddresses, if set, are bound instead of Addresses and never
	// advertised.
	BindAddresses []string
	// DataDir is the absolute path of the node's state directory.
	DataDir string
	// IsProvider makes the node a Provider rather than a mix.
	IsProvider bool
}

func convertServer(ck *checker, s *Server) Server {
	if s == nil {
		ck.errorf("Server", "missing section: Identifier, Addresses and DataDir are required")
		return Server{}
	}
	out := *s
	checkIdentifier(ck, out.Identifier)
	if len(out.Addresses) == 0 {
		ck.errorf("Server.Addresses", "missing: at least one address URL is required, e.g. \"tcp://192.0.2.1:29483\"")
	}
	checkAddressList(ck, "Server.Addresses", out.Addresses)
	checkAddressList(ck, "Server.BindAddresses", out.BindAddresses)
	switch {
	case out.DataDir == "":
		ck.errorf("Server.DataDir", "missing: the absolute path of the node's state directory is required")
	case !filepath.IsAbs(out.DataDir):
		ck.errorf("Server.DataDir", "%q is not an absolute path", out.DataDir)
		out.DataDir = ""
	default:
		out.DataDir = filepath.Clean(out.DataDir)
	}
	return out
}

func checkIdentifier(ck *checker, id string) {
	switch {
	case id == "":
		ck.errorf("Server.Identifier", "missing: the node's name (e.g. its FQDN) is required")
	case len(id) > MaxIdentifierLen:
		ck.errorf("Server.Identifier", "longer than %d bytes", MaxIdentifierLen)
	case strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		ck.errorf("Server.Identifier", "%q contains white space or unprintable characters", id)
	}
}

func checkAddressList(ck *checker, key string, list []string) {
	seen := make(map[string]int, len(list))
	for i, s := range list {
		k := fmt.Sprintf("%s[%d]", key, i)
		a, err := ParseAddress(s)
		if err != nil {
			ck.errorf(k, "%v", err)
			continue
		}
		if j, dup := seen[a.URL]; dup {
			ck.errorf(k, "%q repeats %s[%d]", s, key, j)
			continue
		}
		seen[a.URL] = i
		if !a.IsIP() && looksNumeric(a.Host) {
			ck.warnf(k, "host %q is not an IP address; it is taken as a host name and resolved when binding", a.Host)
		}
	}
}
