package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/splitmix/splitmix/internal/sphinx"
)

// MaxUserNameLength is the longest user name: the size of a Sphinx
// recipient id (docs/spec/client.md §1.1).
const MaxUserNameLength = sphinx.RecipientIDSize

// ErrName reports a malformed user name, endpoint or address.
var ErrName = errors.New("client: invalid name")

// nameByte reports whether b is in the user-name alphabet of §1.1.
func nameByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-'
}

// ValidateUserName checks the rules of docs/spec/client.md §1.1: 1..32 bytes
// of a-z 0-9 . _ -.
func ValidateUserName(name string) error {
	if len(name) == 0 || len(name) > MaxUserNameLength {
		return fmt.Errorf("%w: user name of %d bytes, want 1..%d", ErrName, len(name), MaxUserNameLength)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return fmt.Errorf("%w: user name byte %d is not one of a-z 0-9 . _ -", ErrName, i)
		}
	}
	return nil
}

// ValidateEndpoint checks the rules of docs/spec/client.md §1.2: "+"
// followed by 1..31 bytes of the user-name alphabet.
func ValidateEndpoint(endpoint string) error {
	if len(endpoint) < 2 || len(endpoint) > MaxUserNameLength || endpoint[0] != '+' {
		return fmt.Errorf("%w: endpoint %q: want '+' and 1..%d bytes of a-z 0-9 . _ -", ErrName, endpoint, MaxUserNameLength-1)
	}
	for i := 1; i < len(endpoint); i++ {
		if !nameByte(endpoint[i]) {
			return fmt.Errorf("%w: endpoint %q: byte %d is not one of a-z 0-9 . _ -", ErrName, endpoint, i)
		}
	}
	return nil
}

// Address is a user at a Provider: "user@provider" (§1.4).
type Address struct {
	User     string
	Provider string
}

// ParseAddress splits "user@provider" at the last '@' and checks the user
// name (docs/spec/client.md §1.4).
func ParseAddress(s string) (Address, error) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return Address{}, fmt.Errorf("%w: address %q has no '@'", ErrName, s)
	}
	a := Address{User: s[:i], Provider: s[i+1:]}
	if a.Provider == "" {
		return Address{}, fmt.Errorf("%w: address %q has no Provider", ErrName, s)
	}
	if err := ValidateUserName(a.User); err != nil {
		return Address{}, err
	}
	return a, nil
}

// String returns "user@provider".
func (a Address) String() string { return a.User + "@" + a.Provider }
