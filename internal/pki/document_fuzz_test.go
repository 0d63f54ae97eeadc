package pki

import (
	"bytes"
	"testing"
)

// FuzzParseDocument: decoding never panics, and whatever is accepted is
// valid and its own canonical encoding.
func FuzzParseDocument(f *testing.F) {
	d := testDocument(f, 11)
	good, err := d.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/3])
	f.Add([]byte{0xa0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDocument(b)
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted an invalid document: %v", err)
		}
		again, err := d.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted input is not canonical (err %v)", err)
		}
	})
}

// FuzzVerifyDocument: a signed document from the network never panics the
// verifier and never verifies unless it is exactly the signed bytes.
func FuzzVerifyDocument(f *testing.F) {
	d := testDocument(f, 12)
	pub, priv := authorityKey(f)
	good := signedBytes(f, priv, d)
	f.Add(good)
	f.Add(good[:100])
	f.Add([]byte{0xa2, 0x68})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := VerifyDocument(b, pub); err == nil && !bytes.Equal(b, good) {
			t.Fatal("verified a document the authority did not sign")
		}
	})
}
