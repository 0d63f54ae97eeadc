package provider

import (
	"bytes"
	"testing"

	clientlib "github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// FuzzDecodeKeyserverRequest: the decoder never panics, accepts exactly
// what the client's encoder produces, and what it accepts re-encodes to the
// same bytes (one encoding per value).
func FuzzDecodeKeyserverRequest(f *testing.F) {
	good, _ := clientlib.EncodeKeyserverRequest(64, "alice")
	f.Add(good)
	f.Add([]byte{1, 5, 'a', 'l', 'i', 'c', 'e'})
	f.Add([]byte{1, 0})
	f.Add([]byte{2, 1, 'a'})
	f.Add([]byte{1, 33})
	f.Add([]byte{1, 1, 'A', 0})
	f.Add([]byte{1, 1, 'a', 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := DecodeKeyserverRequest(b)
		theirs, theirErr := clientlib.DecodeKeyserverRequest(b)
		if (err == nil) != (theirErr == nil) {
			t.Fatalf("decoders disagree: ours %v, client's %v", err, theirErr)
		}
		if err != nil {
			return
		}
		if string(name) != theirs {
			t.Fatalf("names differ: %q %q", name, theirs)
		}
		again, err := clientlib.EncodeKeyserverRequest(len(b), string(name))
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical request: %v", err)
		}
	})
}

// FuzzParseRecipient: a recipient id parses as a user or endpoint only when
// it is that name followed by zero padding (docs/spec/client.md §1.3).
func FuzzParseRecipient(f *testing.F) {
	f.Add([]byte("alice"))
	f.Add([]byte("+echo"))
	f.Add([]byte("al\x00ice"))
	f.Add([]byte("Alice"))
	f.Add([]byte("+"))
	f.Add(bytes.Repeat([]byte("a"), 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		var id sphinx.RecipientID
		copy(id[:], b)
		name, kind := parseRecipient(&id)
		if kind == recipientInvalid {
			return
		}
		var back sphinx.RecipientID
		copy(back[:], name)
		if back != id {
			t.Fatalf("%q does not re-pad to its recipient id", name)
		}
		if kind == recipientUser && (!isUserName(name) || name[0] == '+') {
			t.Fatalf("%q is not a user name", name)
		}
		if kind == recipientEndpoint && !isEndpoint(name) {
			t.Fatalf("%q is not an endpoint", name)
		}
		if bytes.IndexByte(name, 0) >= 0 {
			t.Fatalf("zero byte inside %q", name)
		}
	})
}
