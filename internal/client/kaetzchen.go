package client

import (
	"crypto/subtle"
	"errors"
	"fmt"
)

// ErrMalformedReply reports a SURB reply or Kaetzchen response that does not
// have the format of docs/spec/client.md §7 or §9.
var ErrMalformedReply = errors.New("client: malformed reply")

// echoNonceSize is the random prefix of an echo request (§9.3).
const echoNonceSize = 16

// checkEchoReply verifies an echo reply (§9.3): the first len(request) bytes
// equal the request and the rest is zero.
func checkEchoReply(request, reply []byte) error {
	if len(reply) < len(request) {
		return fmt.Errorf("%w: echo reply of %d bytes, request was %d", ErrMalformedReply, len(reply), len(request))
	}
	if subtle.ConstantTimeCompare(reply[:len(request)], request) != 1 || !allZero(reply[len(request):]) {
		return fmt.Errorf("%w: echo reply does not match the request", ErrMalformedReply)
	}
	return nil
}

// checkACK verifies a SURB-ACK reply payload: all zero (§7.1).
func checkACK(reply []byte) error {
	if !allZero(reply) {
		return fmt.Errorf("%w: SURB-ACK payload is not zero", ErrMalformedReply)
	}
	return nil
}

// KeyserverStatus is the status of a keyserver response (§9.4).
type KeyserverStatus uint8

// Keyserver statuses (§9.4).
const (
	KeyserverOk       KeyserverStatus = 0
	KeyserverInvalid  KeyserverStatus = 1
	KeyserverNotFound KeyserverStatus = 2
)

func (s KeyserverStatus) String() string {
	switch s {
	case KeyserverOk:
		return "Ok"
	case KeyserverInvalid:
		return "Invalid"
	case KeyserverNotFound:
		return "NotFound"
	}
	return fmt.Sprintf("KeyserverStatus(%d)", uint8(s))
}

const (
	keyserverVersion = 1
	// IdentityKeySize is the size of a user's identity key (Ed25519).
	IdentityKeySize = 32
	// keyserverResponseSize is version, status, name length, name, key.
	keyserverResponseSize = 3 + MaxUserNameLength + IdentityKeySize
)

// KeyserverResponse is a decoded keyserver response (§9.4).
type KeyserverResponse struct {
	Status      KeyserverStatus
	User        string
	IdentityKey [IdentityKeySize]byte
}

// EncodeKeyserverRequest builds the request for user into a payload of size
// bytes (§9.4).
func EncodeKeyserverRequest(size int, user string) ([]byte, error) {
	if err := ValidateUserName(user); err != nil {
		return nil, err
	}
	if size < 2+len(user) {
		return nil, fmt.Errorf("%w: keyserver request of %d bytes in a %d-byte payload", ErrMessageTooLarge, 2+len(user), size)
	}
	b := make([]byte, size)
	b[0] = keyserverVersion
	b[1] = byte(len(user))
	copy(b[2:], user)
	return b, nil
}

// DecodeKeyserverRequest parses a keyserver request (§9.4): the Provider side.
func DecodeKeyserverRequest(b []byte) (string, error) {
	if len(b) < 2 || b[0] != keyserverVersion {
		return "", fmt.Errorf("%w: keyserver request version", ErrMalformedReply)
	}
	n := int(b[1])
	if n < 1 || n > MaxUserNameLength || 2+n > len(b) {
		return "", fmt.Errorf("%w: keyserver request name length %d", ErrMalformedReply, n)
	}
	name := string(b[2 : 2+n])
	if err := ValidateUserName(name); err != nil {
		return "", fmt.Errorf("%w: keyserver request: %v", ErrMalformedReply, err)
	}
	if !allZero(b[2+n:]) {
		return "", fmt.Errorf("%w: keyserver request padding", ErrMalformedReply)
	}
	return name, nil
}

// EncodeKeyserverResponse builds a response into a payload of size bytes
// (§9.4): the Provider side.
func EncodeKeyserverResponse(size int, r *KeyserverResponse) ([]byte, error) {
	if size < keyserverResponseSize {
		return nil, fmt.Errorf("%w: keyserver response needs %d bytes, have %d", ErrMessageTooLarge, keyserverResponseSize, size)
	}
	if r.Status > KeyserverNotFound {
		return nil, fmt.Errorf("%w: keyserver status %d", ErrMalformedReply, r.Status)
	}
	if (r.User == "") != (r.Status == KeyserverInvalid) {
		return nil, fmt.Errorf("%w: keyserver name %q with status %v", ErrMalformedReply, r.User, r.Status)
	}
	if r.User != "" {
		if err := ValidateUserName(r.User); err != nil {
			return nil, err
		}
	}
	if r.Status != KeyserverOk && !allZero(r.IdentityKey[:]) {
		return nil, fmt.Errorf("%w: a key with status %v", ErrMalformedReply, r.Status)
	}
	b := make([]byte, size)
	b[0] = keyserverVersion
	b[1] = byte(r.Status)
	b[2] = byte(len(r.User))
	copy(b[3:], r.User)
	copy(b[3+MaxUserNameLength:], r.IdentityKey[:])
	return b, nil
}

// DecodeKeyserverResponse parses a keyserver response (§9.4), rejecting
// anything but the one canonical encoding.
func DecodeKeyserverResponse(b []byte) (*KeyserverResponse, error) {
	if len(b) < keyserverResponseSize {
		return nil, fmt.Errorf("%w: keyserver response of %d bytes", ErrMalformedReply, len(b))
	}
	if b[0] != keyserverVersion {
		return nil, fmt.Errorf("%w: keyserver response version %d", ErrMalformedReply, b[0])
	}
	r := &KeyserverResponse{Status: KeyserverStatus(b[1])}
	if r.Status > KeyserverNotFound {
		return nil, fmt.Errorf("%w: keyserver status %d", ErrMalformedReply, b[1])
	}
	n := int(b[2])
	if n > MaxUserNameLength {
		return nil, fmt.Errorf("%w: keyserver name length %d", ErrMalformedReply, n)
	}
	nameField := b[3 : 3+MaxUserNameLength]
	if !allZero(nameField[n:]) {
		return nil, fmt.Errorf("%w: keyserver name padding", ErrMalformedReply)
	}
	r.User = string(nameField[:n])
	if (n == 0) != (r.Status == KeyserverInvalid) {
		return nil, fmt.Errorf("%w: keyserver name of %d bytes with status %v", ErrMalformedReply, n, r.Status)
	}
	if n > 0 {
		if err := ValidateUserName(r.User); err != nil {
			return nil, fmt.Errorf("%w: keyserver name: %v", ErrMalformedReply, err)
		}
	}
	copy(r.IdentityKey[:], b[3+MaxUserNameLength:keyserverResponseSize])
	if r.Status != KeyserverOk && !allZero(r.IdentityKey[:]) {
		return nil, fmt.Errorf("%w: a key with status %v", ErrMalformedReply, r.Status)
	}
	if r.Status == KeyserverOk && allZero(r.IdentityKey[:]) {
		return nil, fmt.Errorf("%w: status Ok without a key", ErrMalformedReply)
	}
	if !allZero(b[keyserverResponseSize:]) {
		return nil, fmt.Errorf("%w: keyserver response padding", ErrMalformedReply)
	}
	return r, nil
}
