package spoolproto

// StoreMessageRequest appends a message to a user's spool.
// See PROTOCOL.md §3.5.
type StoreMessageRequest struct {
	User    []byte      `cbor:"U"`
	Message WireMessage `cbor:"M"`
}

// WireMessage is a Message on the wire. See PROTOCOL.md §3.5.
type WireMessage struct {
	ID     []byte `cbor:"I"`           // MessageIDSize bytes
	SURBID []byte `cbor:"S,omitempty"` // absent, or SURBIDSize bytes
	Body   []byte `cbor:"B"`           // 1 to MaxMessageSize bytes
}

// GetHeadReply answers GetHead (whose request is a UserRequest).
// See PROTOCOL.md §3.6.
type GetHeadReply struct {
	Message *WireMessage `cbor:"M,omitempty"` // absent when the spool is empty
	Count   uint64       `cbor:"N"`
}

// RemoveMessageRequest removes one message by id. See PROTOCOL.md §3.7.
type RemoveMessageRequest struct {
	User []byte `cbor:"U"`
	ID   []byte `cbor:"I"` // MessageIDSize bytes
}

func wireMessage(m *Message) WireMessage {
	w := WireMessage{ID: m.ID[:], Body: m.Body}
	if m.SURBID != nil {
		w.SURBID = m.SURBID[:]
	}
	return w
}

// message checks the sizes of a WireMessage and converts it. The body is
// not copied.
func (w *WireMessage) message() (*Message, error) {
	if len(w.ID) != MessageIDSize {
		return nil, Errorf(ErrInvalidMessage, "id of %d bytes, want %d", len(w.ID), MessageIDSize)
	}
	if w.SURBID != nil && len(w.SURBID) != SURBIDSize {
		return nil, Errorf(ErrInvalidMessage, "SURB id of %d bytes, want %d", len(w.SURBID), SURBIDSize)
	}
	if len(w.Body) == 0 {
		return nil, Errorf(ErrInvalidMessage, "empty body")
	}
	if len(w.Body) > MaxMessageSize {
		return nil, Errorf(ErrMessageTooLarge, "%d bytes, at most %d", len(w.Body), MaxMessageSize)
	}
	m := &Message{Body: w.Body}
	copy(m.ID[:], w.ID)
	if w.SURBID != nil {
		m.SURBID = new(SURBID)
		copy(m.SURBID[:], w.SURBID)
	}
	return m, nil
}
