package x25519

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzScalarMult compares ScalarMult, Exchange, ScalarBaseMult and
// BatchBytes with crypto/ecdh on arbitrary scalars and peer values (the
// peer value is untrusted input: every 32-byte string must be handled).
func FuzzScalarMult(f *testing.F) {
	f.Add(make([]byte, Size), make([]byte, Size))
	f.Add(bytes.Repeat([]byte{0xff}, Size), bytes.Repeat([]byte{0xff}, Size))
	f.Add([]byte("a scalar of thirty-two bytes ..."), []byte{9})
	f.Add([]byte("a scalar of thirty-two bytes ..."), []byte{1})
	f.Add([]byte{1, 2, 3}, []byte{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00})
	f.Fuzz(func(t *testing.T, scalarBytes, uBytes []byte) {
		var scalar, u [Size]byte
		copy(scalar[:], scalarBytes)
		copy(u[:], uBytes)
		want, wantPub, wantErr := ecdhX25519(t, &scalar, &u)

		var pub [Size]byte
		ScalarBaseMult(&pub, &scalar)
		if !bytes.Equal(pub[:], wantPub) {
			t.Fatalf("ScalarBaseMult %x, crypto/ecdh %x", pub, wantPub)
		}
		var got [Size]byte
		err := Exchange(&got, &scalar, &u)
		if (err != nil) != (wantErr != nil) || (err != nil && !errors.Is(err, ErrLowOrder)) {
			t.Fatalf("Exchange error %v, crypto/ecdh %v", err, wantErr)
		}
		if err == nil && !bytes.Equal(got[:], want) {
			t.Fatalf("Exchange %x, crypto/ecdh %x", got, want)
		}
		var plain [Size]byte
		ScalarMult(&plain, &scalar, &u)
		if plain != got {
			t.Fatalf("ScalarMult %x, Exchange %x", plain, got)
		}
		var src [2]Projective
		var dst [2][Size]byte
		src[0].ScalarBaseMult(&scalar)
		src[1].ScalarMult(&scalar, &u)
		BatchBytes(dst[:], src[:])
		if dst[0] != pub || dst[1] != got {
			t.Fatalf("BatchBytes %x, %x; want %x, %x", dst[0], dst[1], pub, got)
		}
	})
}
