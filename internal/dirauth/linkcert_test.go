package dirauth

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"github.com/splitmix/splitmix/internal/keys"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys/memkey"
)

func TestLinkCertificate(t *testing.T) {
	priv, pub := authorityKeys(t)
	lk, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	cert := SignLinkCertificate(priv, lk.Public(), now.Add(time.Hour))
	if len(cert) != LinkCertificateSize {
		t.Fatalf("%d bytes, want %d", len(cert), LinkCertificateSize)
	}
	k, exp, err := VerifyLinkCertificate(cert, pub, now)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Equal(lk.Public()) || !exp.Equal(now.Add(time.Hour)) {
		t.Fatal("certificate carries another key or expiry")
	}
	if _, _, err := VerifyLinkCertificate(cert, pub, now.Add(time.Hour)); !errors.Is(err, ErrLinkCertificateExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	_, other := authorityKeys(t)
	if _, _, err := VerifyLinkCertificate(cert, other, now); !errors.Is(err, ErrLinkCertificate) {
		t.Fatalf("another authority: %v", err)
	}
	for i := range cert {
		c := bytes.Clone(cert)
		c[i] ^= 1 << (i % 8)
		if _, _, err := VerifyLinkCertificate(c, pub, now); err == nil {
			t.Fatalf("byte %d flipped: accepted", i)
		}
	}
	for _, n := range []int{0, 1, LinkCertificateSize - 1} {
		if _, _, err := VerifyLinkCertificate(cert[:n], pub, now); err == nil {
			t.Fatalf("%d-byte prefix accepted", n)
		}
	}
	if _, _, err := VerifyLinkCertificate(append(bytes.Clone(cert), 0), pub, now); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

// FuzzLinkCertificate: any frame either fails or is exactly a certificate
// the authority signed.
func FuzzLinkCertificate(f *testing.F) {
	priv, pub := authorityKeys(f)
	lk, err := memkey.GenerateLinkKey()
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	good := SignLinkCertificate(priv, lk.Public(), now.Add(time.Hour))
	f.Add(good)
	f.Add(good[:100])
	f.Add([]byte("SMLC"))
	f.Add(make([]byte, LinkCertificateSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, _, err := VerifyLinkCertificate(b, pub, now)
		if err != nil {
			return
		}
		if !bytes.Equal(b, good) || !k.Equal(lk.Public()) {
			t.Fatal("accepted a certificate the authority did not sign")
		}
	})
}

func authorityKeys(t testing.TB) (ed25519.PrivateKey, keys.IdentityPublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return priv, keys.IdentityPublicKey(pub)
}
