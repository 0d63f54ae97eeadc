package config

import (
	"github.com/splitmix/splitmix/internal/keys"
)

// PKI is the [PKI] section: which directory authority the node uses. See
// docs/spec/mix-server.md, "PKI section". Only the non-voting authority is
// supported; the section is mandatory.
type PKI struct {
	Nonvoting Nonvoting
}

// Nonvoting is [PKI.Nonvoting]: a single directory authority.
type Nonvoting struct {
	// Address is the authority's "host:port".
	Address string
	// PublicKey is the authority's identity key, written in the file in
	// base64 or base16 (hex).
	PublicKey keys.IdentityPublicKey
}

type filePKI struct {
	Nonvoting *fileNonvoting
}

type fileNonvoting struct {
	Address   string
	PublicKey string
}

func convertPKI(ck *checker, p *filePKI) PKI {
	var out PKI
	if p == nil {
		ck.errorf("PKI", "missing section: [PKI.Nonvoting] with Address and PublicKey is required")
		return out
	}
	if p.Nonvoting == nil {
		ck.errorf("PKI.Nonvoting", "missing section: the non-voting directory authority (Address, PublicKey) is required")
		return out
	}
	nv := p.Nonvoting
	if nv.Address == "" {
		ck.errorf("PKI.Nonvoting.Address", "missing: the authority's host:port is required")
	} else if err := checkHostPort(nv.Address); err != nil {
		ck.errorf("PKI.Nonvoting.Address", "%v", err)
	}
	out.Nonvoting.Address = nv.Address
	if nv.PublicKey == "" {
		ck.errorf("PKI.Nonvoting.PublicKey", "missing: the authority's public key (base64 or hex of %d bytes) is required", keys.IdentityPublicKeySize)
		return out
	}
	k, err := keys.ParseIdentityPublicKey(nv.PublicKey)
	if err != nil {
		ck.errorf("PKI.Nonvoting.PublicKey", "%v", err)
		return out
	}
	out.Nonvoting.PublicKey = k
	return out
}
