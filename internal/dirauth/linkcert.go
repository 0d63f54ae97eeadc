package dirauth

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
)

// The link certificate of docs/spec/dirauth.md §2: the frame the authority
// sends in clear on every new connection, before the link handshake, so
// that a party knowing only the authority's identity key learns the link
// key to expect.
const (
	// LinkCertificateSize is the fixed length of the frame (§2.1).
	LinkCertificateSize = linkCertSigned + keys.IdentitySignatureSize
	// LinkCertificateVersion is the only version this code speaks.
	LinkCertificateVersion = 1
	// LinkCertificateContext prefixes the signed bytes (§2.2).
	LinkCertificateContext = "splitmix-dirauth-link-certificate-v1\x00"

	linkCertMagic  = "SMLC"
	linkCertSigned = 4 + 1 + 3 + 8 + keys.LinkPublicKeySize // magic ‖ version ‖ reserved ‖ expiry ‖ key
)

// Errors of VerifyLinkCertificate.
var (
	ErrLinkCertificate        = errors.New("dirauth: bad link certificate")
	ErrLinkCertificateExpired = errors.New("dirauth: link certificate expired")
)

// SignLinkCertificate returns the certificate frame binding link to the
// identity key until expiry (whole seconds).
func SignLinkCertificate(identity ed25519.PrivateKey, link *keys.LinkPublicKey, expiry time.Time) []byte {
	b := make([]byte, 0, LinkCertificateSize)
	b = append(b, linkCertMagic...)
	b = append(b, LinkCertificateVersion, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(max(expiry.Unix(), 0)))
	b = append(b, link.Bytes()...)
	return append(b, ed25519.Sign(identity, linkCertMessage(b))...)
}

func linkCertMessage(signed []byte) []byte {
	m := make([]byte, 0, len(LinkCertificateContext)+len(signed))
	m = append(m, LinkCertificateContext...)
	return append(m, signed...)
}

// VerifyLinkCertificate checks a certificate frame against the authority's
// identity key and the time now, and returns the link key it vouches for
// and its expiry (§2.3). The signature is checked before the key is
// parsed.
func VerifyLinkCertificate(b []byte, authority keys.IdentityPublicKey, now time.Time) (*keys.LinkPublicKey, time.Time, error) {
	if len(b) != LinkCertificateSize {
		return nil, time.Time{}, fmt.Errorf("%w: %d bytes, want %d", ErrLinkCertificate, len(b), LinkCertificateSize)
	}
	if string(b[:4]) != linkCertMagic {
		return nil, time.Time{}, fmt.Errorf("%w: wrong magic (not a directory authority?)", ErrLinkCertificate)
	}
	if b[4] != LinkCertificateVersion {
		return nil, time.Time{}, fmt.Errorf("%w: version %d, want %d", ErrLinkCertificate, b[4], LinkCertificateVersion)
	}
	if b[5]|b[6]|b[7] != 0 {
		return nil, time.Time{}, fmt.Errorf("%w: reserved bytes not zero", ErrLinkCertificate)
	}
	if !authority.Verify(linkCertMessage(b[:linkCertSigned]), b[linkCertSigned:]) {
		return nil, time.Time{}, fmt.Errorf("%w: not signed by the authority's identity key", ErrLinkCertificate)
	}
	secs := binary.BigEndian.Uint64(b[8:16])
	if secs > 1<<62 {
		return nil, time.Time{}, fmt.Errorf("%w: expiry out of range", ErrLinkCertificate)
	}
	expiry := time.Unix(int64(secs), 0)
	if !now.Before(expiry) {
		return nil, time.Time{}, fmt.Errorf("%w at %v", ErrLinkCertificateExpired, expiry.UTC())
	}
	k, err := keys.ParseLinkPublicKey(b[16:linkCertSigned])
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %v", ErrLinkCertificate, err)
	}
	return k, expiry, nil
}
