package keys

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/mlkem"
	"errors"
	"fmt"
	"time"
)

// Oracle is the node's private keys as a service: everything mixd may do
// with the identity key, the link key and the Sphinx key store, and nothing
// more. keyd's in-process store (internal/keyd/keystore) implements it, and
// so does the client of keyd's socket (ipc/keyproto.Client), so mixd and the
// conformance tests see one interface on both sides of the socket.
//
// The interface lives here, beside LinkPrivateKey, rather than in package
// pki: pki imports this package for the key types, so SignDescriptor takes
// the descriptor's canonical encoding (pki.Descriptor.Marshal) instead of a
// *pki.Descriptor. The implementation parses those bytes and refuses
// anything that is not a descriptor it may sign; pki.Sign wraps the call for
// callers holding a *pki.Descriptor. There is no operation that signs
// arbitrary bytes.
//
// Errors: a request that is malformed wraps ErrMalformed; one that is well
// formed but not allowed by keyd's policy wraps ErrRefused. Over the socket,
// these travel as ipc.CodeInvalid and ipc.CodeDenied and the client wraps
// them again, so errors.Is works on both sides.
type Oracle interface {
	// PublicKeys returns the node's identifier and public keys.
	PublicKeys(ctx context.Context) (*PublicKeys, error)
	// SignDescriptor signs a canonically encoded descriptor
	// (docs/spec/pki.md §1.5 says which ones) and returns the Ed25519
	// signature over pki.SigningMessage(encoded).
	SignDescriptor(ctx context.Context, encoded []byte) (signature []byte, err error)
	// LinkECDH performs X25519 between the link key's static scalar and a
	// peer's 32-byte public point. Low-order points are refused.
	LinkECDH(ctx context.Context, peer []byte) (shared []byte, err error)
	// LinkDecapsulate decapsulates an ML-KEM-768 ciphertext with the link
	// key's static decapsulation key.
	LinkDecapsulate(ctx context.Context, ciphertext []byte) (sharedKey []byte, err error)
	// SphinxKeys returns the Sphinx key pairs of the given epochs, in the
	// order asked, generating and storing those that do not exist yet.
	// Repeated calls return the same key for the same epoch.
	SphinxKeys(ctx context.Context, epochs []uint64) ([]SphinxKey, error)
}

// PublicKeys is the public half of a node's long-term keys.
type PublicKeys struct {
	Identifier string
	Identity   IdentityPublicKey
	Link       LinkPublicKey
}

var (
	// ErrMalformed marks an Oracle request that is not well formed: bytes
	// that do not parse, keys of the wrong size, low-order points.
	ErrMalformed = errors.New("malformed key request")
	// ErrRefused marks a well-formed Oracle request that the key policy
	// does not allow: a descriptor for another node or epoch, a Sphinx key
	// outside the allowed epochs.
	ErrRefused = errors.New("refused by key policy")
)

// DefaultOracleTimeout bounds each operation of an OracleLinkKey: the
// ecdh.KeyExchanger and crypto.Decapsulator interfaces carry no context.
const DefaultOracleTimeout = 5 * time.Second

// OracleLinkKey is a LinkPrivateKey whose private operations are done by an
// Oracle: mixd holds one backed by keyd, so the link layer uses keyd's link
// key without ever seeing it.
type OracleLinkKey struct {
	oracle  Oracle
	pub     LinkPublicKey
	x       *ecdh.PublicKey
	kem     *mlkem.EncapsulationKey768
	timeout time.Duration
}

// NewOracleLinkKey fetches the public keys from o and returns a link key
// whose X25519 and ML-KEM operations call o, each bounded by timeout
// (DefaultOracleTimeout if zero).
func NewOracleLinkKey(ctx context.Context, o Oracle, timeout time.Duration) (*OracleLinkKey, error) {
	pk, err := o.PublicKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("link key: public keys: %w", err)
	}
	x, err := pk.Link.ECDHPublicKey()
	if err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	kem, err := pk.Link.EncapsulationKey()
	if err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	if timeout <= 0 {
		timeout = DefaultOracleTimeout
	}
	return &OracleLinkKey{oracle: o, pub: pk.Link, x: x, kem: kem, timeout: timeout}, nil
}

// Public returns the cached public link key.
func (k *OracleLinkKey) Public() *LinkPublicKey { p := k.pub; return &p }

// X25519 returns the static X25519 half; its ECDH calls Oracle.LinkECDH.
func (k *OracleLinkKey) X25519() ecdh.KeyExchanger { return oracleX25519{k} }

// MLKEM returns the static ML-KEM-768 half; its Decapsulate calls
// Oracle.LinkDecapsulate.
func (k *OracleLinkKey) MLKEM() crypto.Decapsulator { return oracleMLKEM{k} }

var _ LinkPrivateKey = (*OracleLinkKey)(nil)

type oracleX25519 struct{ k *OracleLinkKey }

func (o oracleX25519) PublicKey() *ecdh.PublicKey { return o.k.x }
func (o oracleX25519) Curve() ecdh.Curve          { return ecdh.X25519() }

// ECDH returns the X25519 shared secret with peer, computed by the Oracle.
func (o oracleX25519) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	if peer == nil || peer.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("link key: ECDH: %w: peer key is not an X25519 key", ErrMalformed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.k.timeout)
	defer cancel()
	return o.k.oracle.LinkECDH(ctx, peer.Bytes())
}

type oracleMLKEM struct{ k *OracleLinkKey }

func (o oracleMLKEM) Encapsulator() crypto.Encapsulator { return o.k.kem }

// Decapsulate returns the ML-KEM-768 shared key, computed by the Oracle.
func (o oracleMLKEM) Decapsulate(ciphertext []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.k.timeout)
	defer cancel()
	return o.k.oracle.LinkDecapsulate(ctx, ciphertext)
}
