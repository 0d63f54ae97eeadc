package x25519

import (
	"crypto/ecdh"
	"testing"
)

// The benchmarks compare this package with crypto/ecdh, the reference. On
// a shared machine compare them side by side, not with older runs:
//
//	go test -run '^$' -bench . -benchmem -count 5 ./internal/x25519/

func benchInputs() (scalar, u [Size]byte) {
	testRand("bench").Read(scalar[:])
	ScalarBaseMult(&u, &scalar) // a valid public key as the peer value
	testRand("bench-2").Read(scalar[:])
	return scalar, u
}

// BenchmarkScalarMult is one exchange: the ladder and one inversion.
func BenchmarkScalarMult(b *testing.B) {
	scalar, u := benchInputs()
	var out [Size]byte
	for b.Loop() {
		ScalarMult(&out, &scalar, &u)
	}
}

// BenchmarkScalarBaseMult is one public key from the fixed-base tables.
func BenchmarkScalarBaseMult(b *testing.B) {
	scalar, _ := benchInputs()
	var out [Size]byte
	for b.Loop() {
		ScalarBaseMult(&out, &scalar)
	}
}

// BenchmarkBaseAndTwoExchanges is the link responder's ephemeral key with
// its two early exchanges, converted with one shared inversion.
func BenchmarkBaseAndTwoExchanges(b *testing.B) {
	scalar, u := benchInputs()
	var src [3]Projective
	var dst [3][Size]byte
	for b.Loop() {
		src[0].ScalarBaseMult(&scalar)
		src[1].ScalarMult(&scalar, &u)
		src[2].ScalarMult(&scalar, &u)
		BatchBytes(dst[:], src[:])
	}
}

// BenchmarkECDH is the reference: one exchange with crypto/ecdh, its key
// imported once outside the loop.
func BenchmarkECDH(b *testing.B) {
	scalar, u := benchInputs()
	priv, err := ecdh.X25519().NewPrivateKey(scalar[:])
	if err != nil {
		b.Fatal(err)
	}
	peer, err := ecdh.X25519().NewPublicKey(u[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := priv.ECDH(peer); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkECDHImportAndExchange is what ScalarMult replaces: crypto/ecdh
// with a fresh scalar, whose import computes a public key nobody uses.
func BenchmarkECDHImportAndExchange(b *testing.B) {
	scalar, u := benchInputs()
	peer, err := ecdh.X25519().NewPublicKey(u[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		priv, err := ecdh.X25519().NewPrivateKey(scalar[:])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := priv.ECDH(peer); err != nil {
			b.Fatal(err)
		}
	}
}
