package boltstore

import (
	"errors"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// recordVersion is the first byte of every record, so the formats can
// change without guessing.
const recordVersion = 1

// errCorrupt marks a record that does not decode: the file was damaged or
// written by another program.
var errCorrupt = errors.New("corrupt record")

// userRecord is a user's entry in the user database:
//
//	version(1) ‖ link key(1216) ‖ [identity key(32)]
type userRecord struct {
	link     keys.LinkPublicKey
	identity []byte // nil or IdentityKeySize bytes
}

const userRecordSize = 1 + keys.LinkPublicKeySize

func (u *userRecord) encode() []byte {
	b := make([]byte, 0, userRecordSize+len(u.identity))
	b = append(b, recordVersion)
	b = append(b, u.link.Bytes()...)
	return append(b, u.identity...)
}

func decodeUser(b []byte) (*userRecord, error) {
	if len(b) != userRecordSize && len(b) != userRecordSize+spoolproto.IdentityKeySize {
		return nil, fmt.Errorf("%w: user record of %d bytes", errCorrupt, len(b))
	}
	if b[0] != recordVersion {
		return nil, fmt.Errorf("%w: user record version %d", errCorrupt, b[0])
	}
	link, err := keys.ParseLinkPublicKey(b[1:userRecordSize])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	u := &userRecord{link: *link}
	if len(b) > userRecordSize {
		u.identity = append([]byte(nil), b[userRecordSize:]...)
	}
	return u, nil
}

// A mark record is the value of an ephemeral user's entry in the
// "ephemeral" bucket:
//
//	version(1)
//
// Its presence is the mark; the version byte leaves room to record more
// (a creation time, say) without guessing at old values.
func encodeMark() []byte { return []byte{recordVersion} }

func decodeMark(b []byte) error {
	if len(b) != 1 || b[0] != recordVersion {
		return fmt.Errorf("%w: ephemeral mark of %d bytes", errCorrupt, len(b))
	}
	return nil
}

// A message record is
//
//	version(1) ‖ id(16) ‖ flags(1) ‖ [SURB id(16) if flags&flagSURB] ‖ body
const (
	flagSURB       = 1
	messageHeadLen = 1 + spoolproto.MessageIDSize + 1
)

func encodeMessage(m *spoolproto.Message) []byte {
	n := messageHeadLen + len(m.Body)
	if m.SURBID != nil {
		n += spoolproto.SURBIDSize
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = append(b, m.ID[:]...)
	if m.SURBID != nil {
		b = append(b, flagSURB)
		b = append(b, m.SURBID[:]...)
	} else {
		b = append(b, 0)
	}
	return append(b, m.Body...)
}

// decodeMessage decodes a message record into a message that shares no
// memory with b (bbolt's pages are valid only inside the transaction).
func decodeMessage(b []byte) (*spoolproto.Message, error) {
	if len(b) < messageHeadLen+1 {
		return nil, fmt.Errorf("%w: message record of %d bytes", errCorrupt, len(b))
	}
	if b[0] != recordVersion {
		return nil, fmt.Errorf("%w: message record version %d", errCorrupt, b[0])
	}
	m := &spoolproto.Message{}
	copy(m.ID[:], b[1:])
	flags := b[1+spoolproto.MessageIDSize]
	rest := b[messageHeadLen:]
	switch flags {
	case 0:
	case flagSURB:
		if len(rest) < spoolproto.SURBIDSize+1 {
			return nil, fmt.Errorf("%w: message record of %d bytes", errCorrupt, len(b))
		}
		m.SURBID = new(spoolproto.SURBID)
		copy(m.SURBID[:], rest)
		rest = rest[spoolproto.SURBIDSize:]
	default:
		return nil, fmt.Errorf("%w: message flags %#x", errCorrupt, flags)
	}
	if len(rest) > spoolproto.MaxMessageSize {
		return nil, fmt.Errorf("%w: message body of %d bytes", errCorrupt, len(rest))
	}
	m.Body = append([]byte(nil), rest...)
	return m, nil
}
