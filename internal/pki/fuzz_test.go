package pki

import (
	"bytes"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts is valid and is
// exactly its own canonical encoding.
func FuzzParse(f *testing.F) {
	d, priv := testNode(f)
	good, err := d.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	d.Provider, d.Kaetzchen = false, nil
	mix, _ := d.Marshal()
	f.Add(mix)
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Add(good[:len(good)/2])
	s, _ := SignWithKey(priv, d)
	sb, _ := s.Marshal()
	f.Add(sb)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid descriptor: %v", err)
		}
		again, err := d.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted input is not canonical (err %v)", err)
		}
	})
}

// FuzzParseSignedDescriptor: decoding and opening a signed descriptor never
// panics; an accepted one re-encodes to itself.
func FuzzParseSignedDescriptor(f *testing.F) {
	d, priv := testNode(f)
	s, err := SignWithKey(priv, d)
	if err != nil {
		f.Fatal(err)
	}
	b, _ := s.Marshal()
	f.Add(b)
	f.Add([]byte{0xa2})
	f.Add(b[:len(b)-3])
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignedDescriptor(b)
		if err != nil {
			return
		}
		_, _ = s.Open()
		again, err := s.Marshal()
		if err != nil {
			t.Fatalf("accepted signed descriptor does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			// Non-canonical outer encodings are tolerated (the signature
			// covers the inner bytes), but the fields must survive.
			s2, err := ParseSignedDescriptor(again)
			if err != nil || !bytes.Equal(s2.Descriptor, s.Descriptor) || !bytes.Equal(s2.Signature, s.Signature) {
				t.Fatal("re-encoding lost the fields")
			}
		}
	})
}
