package ipc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Code classifies a failed call. Codes are never reused.
// See ipc/PROTOCOL.md §6.
type Code uint16

// The error codes. See ipc/PROTOCOL.md §6.
const (
	CodeInvalid     Code = 1 // malformed request or unacceptable values
	CodeDenied      Code = 2 // caller not authorised (socket or request)
	CodeNotFound    Code = 3 // named object does not exist
	CodeConflict    Code = 4 // request contradicts existing state
	CodeUnavailable Code = 5 // cannot serve now; may succeed later
	CodeInternal    Code = 6 // server failure; detail only in the server log
	CodeUnsupported Code = 7 // protocol, version or message type not supported
)

var codeNames = map[Code]string{
	CodeInvalid:     "invalid",
	CodeDenied:      "denied",
	CodeNotFound:    "not_found",
	CodeConflict:    "conflict",
	CodeUnavailable: "unavailable",
	CodeInternal:    "internal",
	CodeUnsupported: "unsupported",
}

// String returns the code's name in ipc/PROTOCOL.md §6, or "code(N)" for a
// code this build does not know.
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "code(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// Message length limits. See ipc/PROTOCOL.md §6.
const (
	maxErrorMsg      = 1024
	maxHelloErrorMsg = 512
)

// Error is the typed error carried on the wire: a code and a message for
// logs. Callers inspect it with errors.As or CodeOf. Errorf may wrap a
// local cause for the server's own use (errors.Is/As reach it through
// Unwrap); only Code and Msg cross the socket. See ipc/PROTOCOL.md §6.
type Error struct {
	Code Code   `cbor:"C"`
	Msg  string `cbor:"M"`

	cause error // local only: never encoded
}

// Errorf builds an *Error whose message is formatted like fmt.Errorf; a
// %w operand becomes the local cause.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: err.Error(), cause: errors.Unwrap(err)}
}

// Error renders "ipc: <code>: <message>".
func (e *Error) Error() string {
	if e.Msg == "" {
		return "ipc: " + e.Code.String()
	}
	return "ipc: " + e.Code.String() + ": " + e.Msg
}

// Unwrap returns the local cause given to Errorf, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is makes errors.Is(err, &Error{Code: c}) true for any *Error with code
// c; a target with a message also requires that message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && (t.Msg == "" || t.Msg == e.Msg)
}

// CodeOf returns the code of the first *Error in err's chain, or 0.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// wire returns a copy fit to send: a known or unknown non-zero code and a
// message cut to max bytes of valid UTF-8 (the decoder rejects invalid
// text).
func (e *Error) wire(max int) *Error {
	code := e.Code
	if code == 0 {
		code = CodeInternal
	}
	return &Error{Code: code, Msg: truncateUTF8(e.Msg, max)}
}

// truncateUTF8 cuts s to at most max bytes and replaces invalid UTF-8 (a
// rune cut in half, or bytes that were never text) with "?".
func truncateUTF8(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	// Each run of invalid bytes becomes one "?", so this never lengthens s.
	return strings.ToValidUTF8(s, "?")
}
