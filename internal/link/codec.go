package link

import (
	"encoding/binary"
	"fmt"
)

// messageHeaderLength is the part of the message layout before the payload
// area: sequence u32 ‖ queueHint u8 ‖ surbID[16] (docs/spec/link.md §6.4).
const messageHeaderLength = 4 + 1 + SURBIDLength

// commandSet holds one value of each command type, so that decoding into it
// allocates nothing. Session keeps one for Recv.
type commandSet struct {
	noOp                 NoOp
	disconnect           Disconnect
	sendPacket           SendPacket
	retrieveMessage      RetrieveMessage
	message              Message
	messageACK           MessageACK
	messageEmpty         MessageEmpty
	getConsensus         GetConsensus
	consensus            Consensus
	postDescriptor       PostDescriptor
	postDescriptorStatus PostDescriptorStatus
}

func badCommand(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadCommand}, args...)...)
}

// encodedLength is the length of cmd's encoding (§6.2), or an error if cmd
// does not fit the limits.
func encodedLength(cmd Command, l *Limits) (int, error) {
	switch c := cmd.(type) {
	case *NoOp, *Disconnect:
		if isNilCommand(cmd) {
			return 0, badCommand("nil NoOp or Disconnect")
		}
		return 1, nil
	case *SendPacket:
		if c == nil {
			return 0, badCommand("nil SendPacket")
		}
		if len(c.Packet) != l.PacketLength {
			return 0, badCommand("SendPacket: packet of %d bytes, want %d", len(c.Packet), l.PacketLength)
		}
		return 1 + l.PacketLength, nil
	case *RetrieveMessage:
		if c == nil {
			return 0, badCommand("nil RetrieveMessage")
		}
		return 1 + 4, nil
	case *Message:
		if c == nil {
			return 0, badCommand("nil Message")
		}
		if len(c.Payload) != l.MessagePayloadLength {
			return 0, badCommand("Message: payload of %d bytes, want %d", len(c.Payload), l.MessagePayloadLength)
		}
		return 1 + messageHeaderLength + l.messageArea(), nil
	case *MessageACK:
		if c == nil {
			return 0, badCommand("nil MessageACK")
		}
		if len(c.Payload) != l.AckPayloadLength {
			return 0, badCommand("MessageACK: payload of %d bytes, want %d", len(c.Payload), l.AckPayloadLength)
		}
		return 1 + messageHeaderLength + l.messageArea(), nil
	case *MessageEmpty:
		if c == nil {
			return 0, badCommand("nil MessageEmpty")
		}
		return 1 + messageHeaderLength + l.messageArea(), nil
	case *GetConsensus:
		if c == nil {
			return 0, badCommand("nil GetConsensus")
		}
		return 1 + 8, nil
	case *Consensus:
		if c == nil {
			return 0, badCommand("nil Consensus")
		}
		if c.ErrorCode > ConsensusGone {
			return 0, badCommand("Consensus: unknown code %d", c.ErrorCode)
		}
		if c.ErrorCode != ConsensusOk && len(c.Payload) != 0 {
			return 0, badCommand("Consensus: payload with code %d", c.ErrorCode)
		}
		if len(c.Payload) > l.MaxConsensus {
			return 0, badCommand("Consensus: payload of %d bytes, at most %d", len(c.Payload), l.MaxConsensus)
		}
		return 1 + 1 + len(c.Payload), nil
	case *PostDescriptor:
		if c == nil {
			return 0, badCommand("nil PostDescriptor")
		}
		if len(c.Payload) > l.MaxDescriptor {
			return 0, badCommand("PostDescriptor: payload of %d bytes, at most %d", len(c.Payload), l.MaxDescriptor)
		}
		return 1 + 8 + len(c.Payload), nil
	case *PostDescriptorStatus:
		if c == nil {
			return 0, badCommand("nil PostDescriptorStatus")
		}
		if c.ErrorCode > DescriptorForbidden {
			return 0, badCommand("PostDescriptorStatus: unknown code %d", c.ErrorCode)
		}
		return 1 + 1, nil
	case nil:
		return 0, badCommand("nil command")
	default:
		return 0, badCommand("command type not of this package")
	}
}

func isNilCommand(cmd Command) bool {
	switch c := cmd.(type) {
	case *NoOp:
		return c == nil
	case *Disconnect:
		return c == nil
	}
	return false
}

// appendCommand appends the encoding of cmd (§6) to b. It allocates nothing
// when b has room for encodedLength(cmd) more bytes.
func appendCommand(b []byte, cmd Command, l *Limits) ([]byte, error) {
	if _, err := encodedLength(cmd, l); err != nil {
		return nil, err
	}
	return appendValid(b, cmd, l), nil
}

// appendValid is appendCommand for a command encodedLength has accepted. It
// calls no method of cmd, so cmd does not escape and a caller's command
// literal can stay on its stack.
func appendValid(b []byte, cmd Command, l *Limits) []byte {
	switch c := cmd.(type) {
	case *NoOp:
		b = append(b, byte(IDNoOp))
	case *Disconnect:
		b = append(b, byte(IDDisconnect))
	case *SendPacket:
		b = append(b, byte(IDSendPacket))
		b = append(b, c.Packet...)
	case *RetrieveMessage:
		b = append(b, byte(IDRetrieveMessage))
		b = binary.BigEndian.AppendUint32(b, c.Sequence)
	case *Message:
		b = append(b, byte(IDMessage))
		b = appendMessage(b, c.Sequence, c.QueueHint, nil, c.Payload, l.messageArea())
	case *MessageACK:
		b = append(b, byte(IDMessageACK))
		b = appendMessage(b, c.Sequence, c.QueueHint, c.SURBID[:], c.Payload, l.messageArea())
	case *MessageEmpty:
		b = append(b, byte(IDMessageEmpty))
		b = appendMessage(b, c.Sequence, 0, nil, nil, l.messageArea())
	case *GetConsensus:
		b = append(b, byte(IDGetConsensus))
		b = binary.BigEndian.AppendUint64(b, c.Epoch)
	case *Consensus:
		b = append(b, byte(IDConsensus), byte(c.ErrorCode))
		b = append(b, c.Payload...)
	case *PostDescriptor:
		b = append(b, byte(IDPostDescriptor))
		b = binary.BigEndian.AppendUint64(b, c.Epoch)
		b = append(b, c.Payload...)
	case *PostDescriptorStatus:
		b = append(b, byte(IDPostDescriptorStatus), byte(c.ErrorCode))
	}
	return b
}

// appendMessage appends the message layout of §6.4. A nil surbID is zero.
func appendMessage(b []byte, seq uint32, hint uint8, surbID, payload []byte, area int) []byte {
	b = binary.BigEndian.AppendUint32(b, seq)
	b = append(b, hint)
	if surbID == nil {
		b = append(b, make([]byte, SURBIDLength)...)
	} else {
		b = append(b, surbID...)
	}
	b = append(b, payload...)
	return append(b, make([]byte, area-len(payload))...)
}

// decodeCommand decodes one command (§6.1) into the matching value of set
// and returns it. Byte slices in the result alias b.
func decodeCommand(b []byte, l *Limits, set *commandSet) (Command, error) {
	if len(b) == 0 {
		return nil, badCommand("empty command")
	}
	id, body := CommandID(b[0]), b[1:]
	switch id {
	case IDNoOp:
		if len(body) != 0 {
			return nil, badCommand("NoOp with %d-byte body", len(body))
		}
		return &set.noOp, nil
	case IDDisconnect:
		if len(body) != 0 {
			return nil, badCommand("Disconnect with %d-byte body", len(body))
		}
		return &set.disconnect, nil
	case IDSendPacket:
		if len(body) != l.PacketLength {
			return nil, badCommand("SendPacket: packet of %d bytes, want %d", len(body), l.PacketLength)
		}
		set.sendPacket.Packet = body
		return &set.sendPacket, nil
	case IDRetrieveMessage:
		if len(body) != 4 {
			return nil, badCommand("RetrieveMessage: body of %d bytes, want 4", len(body))
		}
		set.retrieveMessage.Sequence = binary.BigEndian.Uint32(body)
		return &set.retrieveMessage, nil
	case IDMessage, IDMessageACK, IDMessageEmpty:
		return decodeMessage(id, body, l, set)
	case IDGetConsensus:
		if len(body) != 8 {
			return nil, badCommand("GetConsensus: body of %d bytes, want 8", len(body))
		}
		set.getConsensus.Epoch = binary.BigEndian.Uint64(body)
		return &set.getConsensus, nil
	case IDConsensus:
		if len(body) < 1 || len(body)-1 > l.MaxConsensus {
			return nil, badCommand("Consensus: body of %d bytes, want 1..%d", len(body), 1+l.MaxConsensus)
		}
		code := ConsensusCode(body[0])
		if code > ConsensusGone {
			return nil, badCommand("Consensus: unknown code %d", code)
		}
		if code != ConsensusOk && len(body) != 1 {
			return nil, badCommand("Consensus: payload with code %d", code)
		}
		set.consensus = Consensus{ErrorCode: code, Payload: body[1:]}
		return &set.consensus, nil
	case IDPostDescriptor:
		if len(body) < 8 || len(body)-8 > l.MaxDescriptor {
			return nil, badCommand("PostDescriptor: body of %d bytes, want 8..%d", len(body), 8+l.MaxDescriptor)
		}
		set.postDescriptor = PostDescriptor{Epoch: binary.BigEndian.Uint64(body), Payload: body[8:]}
		return &set.postDescriptor, nil
	case IDPostDescriptorStatus:
		if len(body) != 1 {
			return nil, badCommand("PostDescriptorStatus: body of %d bytes, want 1", len(body))
		}
		code := DescriptorCode(body[0])
		if code > DescriptorForbidden {
			return nil, badCommand("PostDescriptorStatus: unknown code %d", code)
		}
		set.postDescriptorStatus.ErrorCode = code
		return &set.postDescriptorStatus, nil
	default:
		return nil, badCommand("unknown command id %d", uint8(id))
	}
}

// decodeMessage decodes the three answers to RetrieveMessage (§6.4).
func decodeMessage(id CommandID, body []byte, l *Limits, set *commandSet) (Command, error) {
	if want := messageHeaderLength + l.messageArea(); len(body) != want {
		return nil, badCommand("%v: body of %d bytes, want %d", id, len(body), want)
	}
	seq := binary.BigEndian.Uint32(body)
	hint := body[4]
	surbID := body[5:messageHeaderLength]
	area := body[messageHeaderLength:]
	switch id {
	case IDMessage:
		if !allZero(surbID) || !allZero(area[l.MessagePayloadLength:]) {
			return nil, badCommand("Message: non-zero padding")
		}
		set.message = Message{Sequence: seq, QueueHint: hint, Payload: area[:l.MessagePayloadLength]}
		return &set.message, nil
	case IDMessageACK:
		if !allZero(area[l.AckPayloadLength:]) {
			return nil, badCommand("MessageACK: non-zero padding")
		}
		set.messageACK = MessageACK{Sequence: seq, QueueHint: hint, Payload: area[:l.AckPayloadLength]}
		copy(set.messageACK.SURBID[:], surbID)
		return &set.messageACK, nil
	default:
		if hint != 0 || !allZero(surbID) || !allZero(area) {
			return nil, badCommand("MessageEmpty: non-zero padding")
		}
		set.messageEmpty.Sequence = seq
		return &set.messageEmpty, nil
	}
}

// allZero reports whether b holds only zero bytes. Padding is not secret, so
// this need not be constant-time.
func allZero(b []byte) bool {
	var acc byte
	for _, v := range b {
		acc |= v
	}
	return acc == 0
}
