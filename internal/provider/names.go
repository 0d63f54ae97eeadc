package provider

import (
	"errors"

	"github.com/splitmix/splitmix/internal/sphinx"
)

// ErrName reports a user name or Kaetzchen endpoint that breaks
// docs/spec/client.md §1.1 or §1.2.
var ErrName = errors.New("provider: invalid name")

// maxEndpointLength is "+" and at most 31 bytes of the user-name alphabet
// (docs/spec/client.md §1.2).
const maxEndpointLength = 32

// nameByte reports whether c belongs to the user-name alphabet
// a-z 0-9 . _ - (docs/spec/client.md §1.1).
func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// isUserName reports whether b is a user name (docs/spec/client.md §1.1):
// 1 to 32 bytes of the alphabet, compared byte for byte, never normalised.
func isUserName(b []byte) bool {
	if len(b) < 1 || len(b) > sphinx.RecipientIDSize {
		return false
	}
	for _, c := range b {
		if !nameByte(c) {
			return false
		}
	}
	return true
}

// isEndpoint reports whether b is a Kaetzchen endpoint (docs/spec/client.md
// §1.2): "+" followed by 1 to 31 bytes of the user-name alphabet.
func isEndpoint(b []byte) bool {
	if len(b) < 2 || len(b) > maxEndpointLength || b[0] != '+' {
		return false
	}
	for _, c := range b[1:] {
		if !nameByte(c) {
			return false
		}
	}
	return true
}

// recipientKind says what a Sphinx recipient id names.
type recipientKind uint8

const (
	recipientInvalid  recipientKind = iota
	recipientUser                   // a local user's account (§1.1)
	recipientEndpoint               // a Kaetzchen endpoint (§1.2)
)

// parseRecipient splits a recipient id (docs/spec/client.md §1.3: the name
// followed by zero bytes up to 32) into its name and kind. The name aliases
// id. Anything that is not exactly one name plus zero padding is invalid:
// a zero byte inside the name, a byte outside the alphabet, an empty name.
func parseRecipient(id *sphinx.RecipientID) ([]byte, recipientKind) {
	n := len(id)
	for n > 0 && id[n-1] == 0 {
		n--
	}
	name := id[:n]
	switch {
	case isUserName(name):
		return name, recipientUser
	case isEndpoint(name):
		return name, recipientEndpoint
	}
	return nil, recipientInvalid
}
