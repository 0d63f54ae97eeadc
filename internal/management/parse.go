package management

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/splitmix/splitmix/internal/keys"
)

// MaxLineSize bounds a command line, without its line ending: enough for a
// user name and a 2432-hex-digit hybrid link key. A longer line is answered
// with 500 and the connection is closed. See docs/management.md §2.
const MaxLineSize = 8 << 10

// MaxUserNameSize is the longest user name: a Sphinx recipient id is 32
// bytes (docs/spec/sphinx.md §4), and the user name is what it carries.
const MaxUserNameSize = 32

// MaxCapabilitySize bounds a Kaetzchen capability name.
const MaxCapabilitySize = 64

// Errors of ParseCommandLine.
var (
	ErrEmptyLine     = errors.New("empty command line")
	ErrLineTooLong   = fmt.Errorf("command line longer than %d bytes", MaxLineSize)
	ErrMalformedLine = errors.New("command line is not printable UTF-8 text")
)

// Command is one parsed command line: the command name, upper-cased, and
// its arguments in order. See docs/management.md §2.
type Command struct {
	Name string
	Args []string
}

// ParseCommandLine splits one line of the management protocol into a
// command name and arguments: a trailing "\n" or "\r\n" is dropped, words
// are separated by runs of spaces or tabs, and the name is case-insensitive
// (returned upper-cased). A line that is empty, longer than MaxLineSize, not
// valid UTF-8 or holds a control character other than tab is refused.
// See docs/management.md §2.
func ParseCommandLine(line []byte) (Command, error) {
	line = trimLineEnding(line)
	if len(line) > MaxLineSize {
		return Command{}, ErrLineTooLong
	}
	if !utf8.Valid(line) {
		return Command{}, ErrMalformedLine
	}
	s := string(line)
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			return Command{}, ErrMalformedLine
		}
	}
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(words) == 0 {
		return Command{}, ErrEmptyLine
	}
	return Command{Name: strings.ToUpper(words[0]), Args: words[1:]}, nil
}

func trimLineEnding(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

// argError is a syntax error in one argument: answered with 501.
type argError struct {
	arg    string // the argument's name in the command's usage
	reason string
}

func (e *argError) Error() string { return e.arg + ": " + e.reason }

// parseUserName checks a user name: 1 to MaxUserNameSize bytes of printable
// UTF-8 (ParseCommandLine has already refused control characters and
// split on whitespace).
func parseUserName(s string) (string, error) {
	switch {
	case s == "":
		return "", &argError{"USER", "empty user name"}
	case len(s) > MaxUserNameSize:
		return "", &argError{"USER", fmt.Sprintf("user name is %d bytes, at most %d allowed", len(s), MaxUserNameSize)}
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return "", &argError{"USER", "user name holds a character that is not printable"}
		}
	}
	return s, nil
}

// parseCapability checks a Kaetzchen capability: 1 to MaxCapabilitySize
// bytes of letters, digits, '.', '_' and '-'.
func parseCapability(s string) (string, error) {
	if s == "" || len(s) > MaxCapabilitySize {
		return "", &argError{"CAPABILITY", fmt.Sprintf("capability must be 1 to %d bytes", MaxCapabilitySize)}
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return "", &argError{"CAPABILITY", "capability may hold only letters, digits, '.', '_' and '-'"}
		}
	}
	return s, nil
}

// parseCount reads a decimal count: digits only, no sign, fits in 64 bits.
func parseCount(name, s string) (uint64, error) {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, &argError{name, fmt.Sprintf("%q is not a decimal number", s)}
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, &argError{name, fmt.Sprintf("%q is not a number from 0 to %d", s, uint64(1<<64-1))}
	}
	return n, nil
}

// parseLinkKey reads a hybrid link public key in hex or base64.
func parseLinkKey(s string) (*keys.LinkPublicKey, error) {
	k, err := keys.ParseLinkPublicKeyText(s)
	if err != nil {
		return nil, &argError{"LINK_KEY", err.Error()}
	}
	return k, nil
}

// parseIdentityKey reads a user identity key in hex or base64.
func parseIdentityKey(s string) ([]byte, error) {
	b, err := keys.DecodeKeyText(s, UserIdentityKeySize)
	if err != nil {
		return nil, &argError{"IDENTITY_KEY", err.Error()}
	}
	return b, nil
}
