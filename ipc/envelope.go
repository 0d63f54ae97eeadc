package ipc

import (
	"errors"
	"fmt"
)

// Hello is the first frame each way. The client sends its protocol name
// and version; the server answers with its own, plus Err when it refuses
// the connection. See ipc/PROTOCOL.md §4.
type Hello struct {
	Proto   string `cbor:"P"`
	Version uint32 `cbor:"V"`
	Err     *Error `cbor:"E,omitempty"`
}

// Envelope is every frame after the hello: a request (Type, ID, Body) or
// a reply (Type, ID and exactly one of Body and Err). Body is itself CBOR,
// kept as bytes so that the server routes and authorises a message before
// decoding what the caller chose. See ipc/PROTOCOL.md §5.
type Envelope struct {
	Type MsgType `cbor:"T"`
	ID   uint64  `cbor:"I"`
	Body []byte  `cbor:"B,omitempty"`
	Err  *Error  `cbor:"E,omitempty"`
}

// DecodeHello strictly decodes and checks a hello payload.
// See ipc/PROTOCOL.md §4.
func DecodeHello(b []byte) (*Hello, error) {
	if len(b) > MaxHelloFrame {
		return nil, fmt.Errorf("%w: hello of %d bytes, limit %d", ErrFrameTooLarge, len(b), MaxHelloFrame)
	}
	var h Hello
	if err := Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("ipc: bad hello: %w", err)
	}
	if err := validName(h.Proto); err != nil {
		return nil, fmt.Errorf("ipc: bad hello: %w", err)
	}
	if h.Err != nil && h.Err.Code == 0 {
		return nil, errors.New("ipc: bad hello: error with code 0")
	}
	return &h, nil
}

// DecodeEnvelope strictly decodes an envelope and checks the rules common
// to requests and replies: a non-zero id, an error with a non-zero code,
// and never both a body and an error. See ipc/PROTOCOL.md §5.
func DecodeEnvelope(b []byte) (*Envelope, error) {
	var e Envelope
	if err := Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("ipc: bad envelope: %w", err)
	}
	if e.ID == 0 {
		return nil, errors.New("ipc: bad envelope: id 0")
	}
	if e.Err != nil {
		if e.Err.Code == 0 {
			return nil, errors.New("ipc: bad envelope: error with code 0")
		}
		if len(e.Body) != 0 {
			return nil, errors.New("ipc: bad envelope: both body and error")
		}
	}
	return &e, nil
}

// checkRequest applies the request rules of ipc/PROTOCOL.md §5.1.
func (e *Envelope) checkRequest() error {
	if e.Err != nil {
		return errors.New("ipc: bad request: carries an error")
	}
	if len(e.Body) == 0 {
		return errors.New("ipc: bad request: no body")
	}
	return nil
}

// checkReply applies the reply rules of ipc/PROTOCOL.md §5.2.
func (e *Envelope) checkReply() error {
	if e.Err == nil && len(e.Body) == 0 {
		return errors.New("ipc: bad reply: neither body nor error")
	}
	return nil
}

// encodeFrame marshals v and frames it, refusing payloads over max.
func encodeFrame(v any, max int) ([]byte, error) {
	payload, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	return AppendFrame(make([]byte, 0, frameHeaderSize+len(payload)), payload, max)
}
