package x25519

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
)

func hex32(t testing.TB, s string) *[Size]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != Size {
		t.Fatalf("bad test vector %q", s)
	}
	return (*[Size]byte)(b)
}

// testRand is a deterministic source, so that a failure can be replayed.
func testRand(label string) *rand.ChaCha8 {
	var seed [32]byte
	copy(seed[:], label)
	return rand.NewChaCha8(seed)
}

// ecdhX25519 is crypto/ecdh's X25519(scalar, u), the reference; err is set
// where crypto/ecdh refuses the all-zero result.
func ecdhX25519(t testing.TB, scalar, u *[Size]byte) (out, pub []byte, err error) {
	t.Helper()
	priv, err := ecdh.X25519().NewPrivateKey(scalar[:])
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ecdh.X25519().NewPublicKey(u[:])
	if err != nil {
		t.Fatal(err)
	}
	out, err = priv.ECDH(peer)
	return out, priv.PublicKey().Bytes(), err
}

// TestRFC7748Vectors checks ScalarMult and Exchange against the two test
// vectors of RFC 7748 §5.2, and the vectors themselves against crypto/ecdh
// so that a typo in them cannot hide.
func TestRFC7748Vectors(t *testing.T) {
	for _, v := range []struct{ scalar, u, out string }{
		{ // §5.2, first vector
			"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
		},
		{ // §5.2, second vector: u has its top bit set, which must be ignored
			"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
		},
	} {
		want := hex32(t, v.out)
		var out [Size]byte
		ScalarMult(&out, hex32(t, v.scalar), hex32(t, v.u))
		if out != *want {
			t.Errorf("ScalarMult(%s…, %s…) = %x, want %x", v.scalar[:8], v.u[:8], out, *want)
		}
		if err := Exchange(&out, hex32(t, v.scalar), hex32(t, v.u)); err != nil || out != *want {
			t.Errorf("Exchange(%s…, %s…) = %x, %v, want %x", v.scalar[:8], v.u[:8], out, err, *want)
		}
		if ref, _, err := ecdhX25519(t, hex32(t, v.scalar), hex32(t, v.u)); err != nil || !bytes.Equal(ref, want[:]) {
			t.Errorf("crypto/ecdh disagrees with the vector: %x, %v", ref, err)
		}
	}
}

// TestRFC7748Iterated runs the iterated test of RFC 7748 §5.2: k, u =
// X25519(k, u), k, starting from k = u = 9; 1000 iterations except under
// -short. (The 1 000 000-iteration value is not checked: it takes a minute.)
func TestRFC7748Iterated(t *testing.T) {
	iterations := 1000
	if testing.Short() {
		iterations = 1
	}
	k, u := [Size]byte{9}, [Size]byte{9}
	for i := 1; i <= iterations; i++ {
		var r [Size]byte
		ScalarMult(&r, &k, &u)
		u, k = k, r
		switch i {
		case 1:
			if want := hex32(t, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"); k != *want {
				t.Fatalf("after 1 iteration: %x, want %x", k, *want)
			}
		case 1000:
			if want := hex32(t, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"); k != *want {
				t.Fatalf("after 1000 iterations: %x, want %x", k, *want)
			}
		}
	}
}

// TestRFC7748DiffieHellman checks RFC 7748 §6.1: both public keys from
// ScalarBaseMult and from the ladder on the base point, and the shared
// secret both ways.
func TestRFC7748DiffieHellman(t *testing.T) {
	alice := hex32(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	bob := hex32(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
	wantAlice := hex32(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
	wantBob := hex32(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
	var alicePub, bobPub, viaLadder [Size]byte
	ScalarBaseMult(&alicePub, alice)
	ScalarBaseMult(&bobPub, bob)
	if alicePub != *wantAlice {
		t.Errorf("Alice's public key %x, want %x", alicePub, *wantAlice)
	}
	if bobPub != *wantBob {
		t.Errorf("Bob's public key %x, want %x", bobPub, *wantBob)
	}
	base := [Size]byte{9}
	if ScalarMult(&viaLadder, alice, &base); viaLadder != *wantAlice {
		t.Errorf("Alice's public key through the ladder %x, want %x", viaLadder, *wantAlice)
	}
	var s1, s2 [Size]byte
	if err := Exchange(&s1, alice, &bobPub); err != nil {
		t.Fatal(err)
	}
	if err := Exchange(&s2, bob, &alicePub); err != nil {
		t.Fatal(err)
	}
	want := hex32(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
	if s1 != *want || s2 != *want {
		t.Errorf("shared secrets %x and %x, want %x", s1, s2, *want)
	}
}

// nonCanonical returns a u-coordinate in p..2^255-1 (p = 2^255-19), with
// the ignored top bit set when top is.
func nonCanonical(i int, top bool) [Size]byte {
	u := [Size]byte{0xed + byte(i%19)}
	for j := 1; j < 31; j++ {
		u[j] = 0xff
	}
	u[31] = 0x7f
	if top {
		u[31] |= 0x80
	}
	return u
}

// TestScalarMultMatchesECDH compares the ladder with crypto/ecdh on random
// scalars and points, non-canonical points and points with the top bit set.
func TestScalarMultMatchesECDH(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	rng := testRand("scalar-mult")
	for i := range n {
		var scalar, u [Size]byte
		rng.Read(scalar[:])
		rng.Read(u[:])
		if i%4 == 0 {
			u = nonCanonical(i, i%8 == 0)
		}
		want, _, wantErr := ecdhX25519(t, &scalar, &u)
		var got [Size]byte
		ScalarMult(&got, &scalar, &u)
		if wantErr != nil {
			if !IsZero(&got) {
				t.Fatalf("scalar %x, u %x: crypto/ecdh refuses (%v), ScalarMult gives %x", scalar, u, wantErr, got)
			}
			continue
		}
		if !bytes.Equal(got[:], want) {
			t.Fatalf("scalar %x, u %x: %x, crypto/ecdh %x", scalar, u, got, want)
		}
	}
}

// TestScalarBaseMultMatchesECDH checks, on random scalars and the extremes
// of the clamped range, that the fixed-base path (Edwards tables, scalar
// reduced mod l) gives the public key crypto/ecdh computes with the ladder
// on the clamped 255-bit scalar.
func TestScalarBaseMultMatchesECDH(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	rng := testRand("scalar-base-mult")
	base := [Size]byte{9}
	for i := range n {
		var scalar [Size]byte
		switch i {
		case 0: // all zero: clamped to 2^254
		case 1: // all ones: clamped to the largest scalar
			for j := range scalar {
				scalar[j] = 0xff
			}
		default:
			rng.Read(scalar[:])
		}
		_, want, _ := ecdhX25519(t, &scalar, &base)
		var got [Size]byte
		ScalarBaseMult(&got, &scalar)
		if !bytes.Equal(got[:], want) {
			t.Fatalf("scalar %x: public key %x, crypto/ecdh %x", scalar, got, want)
		}
	}
}

// lowOrder lists the points of small order (RFC 7748 §6.1's warning) and
// their non-canonical encodings: every one gives the all-zero output.
var lowOrder = []string{
	"0000000000000000000000000000000000000000000000000000000000000000", // 0
	"0100000000000000000000000000000000000000000000000000000000000000", // 1
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1 (= 1)
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // p, top bit set
}

// TestLowOrder checks that every point of small order gives the all-zero
// output from ScalarMult and ErrLowOrder from Exchange, and that crypto/ecdh
// refuses each too (else the list is wrong).
func TestLowOrder(t *testing.T) {
	var scalar [Size]byte
	testRand("low-order").Read(scalar[:])
	for _, p := range lowOrder {
		var out [Size]byte
		ScalarMult(&out, &scalar, hex32(t, p))
		if !IsZero(&out) {
			t.Errorf("ScalarMult(k, %s) = %x, want zero", p, out)
		}
		out[0] = 1
		if err := Exchange(&out, &scalar, hex32(t, p)); !errors.Is(err, ErrLowOrder) || !IsZero(&out) {
			t.Errorf("Exchange(k, %s) = %x, %v, want zero and ErrLowOrder", p, out, err)
		}
		if _, _, err := ecdhX25519(t, &scalar, hex32(t, p)); err == nil {
			t.Errorf("u = %s: crypto/ecdh accepts it; the list is wrong", p)
		}
	}
}

// TestAliasing checks that dst may be the point (Sphinx blinds the group
// element in place) or the scalar.
func TestAliasing(t *testing.T) {
	rng := testRand("aliasing")
	for range 20 {
		var scalar, u, want [Size]byte
		rng.Read(scalar[:])
		rng.Read(u[:])
		ScalarMult(&want, &scalar, &u)

		inPlace := u
		ScalarMult(&inPlace, &scalar, &inPlace)
		if inPlace != want {
			t.Fatalf("dst = point: %x, want %x", inPlace, want)
		}
		s := scalar
		ScalarMult(&s, &s, &u)
		if s != want {
			t.Fatalf("dst = scalar: %x, want %x", s, want)
		}
		var pub [Size]byte
		ScalarBaseMult(&pub, &scalar)
		s = scalar
		ScalarBaseMult(&s, &s)
		if s != pub {
			t.Fatalf("ScalarBaseMult, dst = scalar: %x, want %x", s, pub)
		}
	}
}

// TestBatchBytes checks BatchBytes against one Bytes per result, for
// every length up to more than two chunks, with low-order results (zero
// denominators) at various places, which must spoil none of the others.
func TestBatchBytes(t *testing.T) {
	rng := testRand("batch")
	low := hex32(t, lowOrder[2])
	for n := 0; n <= 2*maxBatch+3; n++ {
		src := make([]Projective, n)
		want := make([][Size]byte, n)
		for i := range src {
			var scalar, u [Size]byte
			rng.Read(scalar[:])
			rng.Read(u[:])
			switch {
			case (i+n)%5 == 0:
				src[i].ScalarMult(&scalar, low)
			case i%3 == 0:
				src[i].ScalarBaseMult(&scalar)
			default:
				src[i].ScalarMult(&scalar, &u)
			}
			src[i].Bytes(&want[i])
		}
		before := append([]Projective(nil), src...)
		got := make([][Size]byte, n)
		for i := range got {
			got[i][0] = 0xaa // must be overwritten, also for the zero results
		}
		BatchBytes(got, src)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("n = %d, result %d: %x, want %x", n, i, got[i], want[i])
			}
			if (i+n)%5 == 0 && !IsZero(&got[i]) {
				t.Fatalf("n = %d, result %d: low-order point gave %x", n, i, got[i])
			}
			var b1, b2 [Size]byte
			before[i].Bytes(&b1)
			src[i].Bytes(&b2)
			if b1 != b2 {
				t.Fatalf("n = %d: BatchBytes changed src[%d]", n, i)
			}
		}
	}
}

// TestBatchBytesLengthMismatch: mismatched slices are a caller's bug and
// panic rather than convert part of the batch silently.
func TestBatchBytesLengthMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for dst and src of different lengths")
		}
	}()
	BatchBytes(make([][Size]byte, 2), make([]Projective, 3))
}

// TestProjectiveZeroValue: the zero Projective is the point at infinity,
// whose u-coordinate is 0 alone and in a batch.
func TestProjectiveZeroValue(t *testing.T) {
	var p Projective
	out := [Size]byte{1}
	p.Bytes(&out)
	if !IsZero(&out) {
		t.Fatalf("zero Projective: %x", out)
	}
	outs := [][Size]byte{{1}}
	BatchBytes(outs, []Projective{p})
	if !IsZero(&outs[0]) {
		t.Fatalf("zero Projective in a batch: %x", outs[0])
	}
}

func TestIsZero(t *testing.T) {
	var b [Size]byte
	if !IsZero(&b) {
		t.Fatal("IsZero(0) = false")
	}
	for i := range b {
		b[i] = 0x80
		if IsZero(&b) {
			t.Fatalf("IsZero true with byte %d set", i)
		}
		b[i] = 0
	}
}

// TestNoAllocs: the hot paths (the Sphinx unwrap, the handshake) rely on
// none of these allocating.
func TestNoAllocs(t *testing.T) {
	var scalar, u, out [Size]byte
	testRand("allocs").Read(scalar[:])
	u[0] = 9
	var src [3]Projective
	var dst [3][Size]byte
	for name, f := range map[string]func(){
		"ScalarMult":     func() { ScalarMult(&out, &scalar, &u) },
		"ScalarBaseMult": func() { ScalarBaseMult(&out, &scalar) },
		"Exchange":       func() { _ = Exchange(&out, &scalar, &u) },
		"BatchBytes": func() {
			src[0].ScalarBaseMult(&scalar)
			src[1].ScalarMult(&scalar, &u)
			src[2].ScalarMult(&scalar, &u)
			BatchBytes(dst[:], src[:])
		},
	} {
		if n := testing.AllocsPerRun(10, f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}
