package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// The keyserver's formats (docs/spec/client.md §9.4):
//
//	request:  version u8 (= 1) ‖ name_length u8 (1..32) ‖ name ‖ zero padding
//	response: version u8 (= 1) ‖ status u8 ‖ name_length u8 ‖ name[32] ‖
//	          identity_key[32] ‖ zero padding
const (
	keyserverVersion = 1
	// KeyserverResponseSize is the response without its padding.
	KeyserverResponseSize = 3 + maxUserLength + IdentityKeySize
	// IdentityKeySize is the size of a user's identity key.
	IdentityKeySize = spoolproto.IdentityKeySize
	maxUserLength   = spoolproto.MaxUserSize
)

// KeyserverStatus is the status byte of a keyserver response (§9.4).
type KeyserverStatus uint8

// Keyserver statuses (docs/spec/client.md §9.4).
const (
	KeyserverOk       KeyserverStatus = 0
	KeyserverInvalid  KeyserverStatus = 1
	KeyserverNotFound KeyserverStatus = 2
)

// ErrKeyserverRequest reports a malformed keyserver request.
var ErrKeyserverRequest = errors.New("provider: malformed keyserver request")

// DecodeKeyserverRequest parses a keyserver request (docs/spec/client.md
// §9.4) and returns the requested user name, aliasing b. It rejects another
// version, a name length outside 1..32 or beyond b, a name that is not a user
// name (§1.1) and non-zero padding.
func DecodeKeyserverRequest(b []byte) ([]byte, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", ErrKeyserverRequest, len(b))
	}
	if b[0] != keyserverVersion {
		return nil, fmt.Errorf("%w: version %d", ErrKeyserverRequest, b[0])
	}
	n := int(b[1])
	if n < 1 || n > maxUserLength || 2+n > len(b) {
		return nil, fmt.Errorf("%w: name length %d", ErrKeyserverRequest, n)
	}
	name := b[2 : 2+n]
	if !isUserName(name) {
		return nil, fmt.Errorf("%w: %w", ErrKeyserverRequest, ErrName)
	}
	if !allZero(b[2+n:]) {
		return nil, fmt.Errorf("%w: non-zero padding", ErrKeyserverRequest)
	}
	return name, nil
}

// EncodeKeyserverResponse builds a response (docs/spec/client.md §9.4)
// without padding. status Invalid carries no name; only Ok carries a key.
func EncodeKeyserverResponse(status KeyserverStatus, name, key []byte) ([]byte, error) {
	switch {
	case status > KeyserverNotFound:
		return nil, fmt.Errorf("provider: keyserver status %d", status)
	case (status == KeyserverInvalid) != (len(name) == 0):
		return nil, errors.New("provider: keyserver name must be absent exactly with status Invalid")
	case len(name) > 0 && !isUserName(name):
		return nil, ErrName
	case status == KeyserverOk && (len(key) != IdentityKeySize || allZero(key)):
		return nil, errors.New("provider: keyserver status Ok needs a non-zero identity key")
	case status != KeyserverOk && len(key) != 0:
		return nil, fmt.Errorf("provider: keyserver key with status %d", status)
	}
	b := make([]byte, KeyserverResponseSize)
	b[0] = keyserverVersion
	b[1] = byte(status)
	b[2] = byte(len(name))
	copy(b[3:], name)
	copy(b[3+maxUserLength:], key)
	return b, nil
}

// keyserver answers who holds which identity key at this Provider: the key
// set with SET_USER_IDENTITY (docs/spec/client.md §9.4). A malformed request
// is answered Invalid; a user that does not exist or has no key, NotFound.
// If spoold cannot answer, no response is sent (errNoResponse).
func (p *Provider) keyserver(ctx context.Context, req []byte) ([]byte, error) {
	name, err := DecodeKeyserverRequest(req)
	if err != nil {
		return EncodeKeyserverResponse(KeyserverInvalid, nil, nil)
	}
	key, err := p.cfg.Store.GetIdentity(ctx, name)
	switch {
	case errors.Is(err, spoolproto.ErrUnknownUser), errors.Is(err, spoolproto.ErrNoIdentity):
		return EncodeKeyserverResponse(KeyserverNotFound, name, nil)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", errNoResponse, err)
	case len(key) != IdentityKeySize || allZero(key):
		return nil, fmt.Errorf("%w: stored identity key of %d bytes", errNoResponse, len(key))
	}
	return EncodeKeyserverResponse(KeyserverOk, name, key)
}

// allZero reports whether b holds only zero bytes, in time independent of
// where a non-zero byte is.
func allZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}
