package link

import "fmt"

// CommandID is the first byte of an encoded command (docs/spec/link.md §6.2).
// Numbers are never reused.
type CommandID uint8

// Command ids of §6.2.
const (
	IDNoOp                 CommandID = 0
	IDDisconnect           CommandID = 1
	IDSendPacket           CommandID = 2
	IDRetrieveMessage      CommandID = 16
	IDMessage              CommandID = 17
	IDMessageACK           CommandID = 18
	IDMessageEmpty         CommandID = 19
	IDGetConsensus         CommandID = 20
	IDConsensus            CommandID = 21
	IDPostDescriptor       CommandID = 22
	IDPostDescriptorStatus CommandID = 23
)

var commandNames = map[CommandID]string{
	IDNoOp:                 "NoOp",
	IDDisconnect:           "Disconnect",
	IDSendPacket:           "SendPacket",
	IDRetrieveMessage:      "RetrieveMessage",
	IDMessage:              "Message",
	IDMessageACK:           "MessageACK",
	IDMessageEmpty:         "MessageEmpty",
	IDGetConsensus:         "GetConsensus",
	IDConsensus:            "Consensus",
	IDPostDescriptor:       "PostDescriptor",
	IDPostDescriptorStatus: "PostDescriptorStatus",
}

func (id CommandID) String() string {
	if n, ok := commandNames[id]; ok {
		return n
	}
	return fmt.Sprintf("CommandID(%d)", uint8(id))
}

// Command is one of the command types below (docs/spec/link.md §6). The set
// is closed: only this package's types implement it.
type Command interface {
	ID() CommandID
	command()
}

// NoOp does nothing (§6.3).
type NoOp struct{}

// Disconnect announces that the sender is about to close (§5.5).
type Disconnect struct{}

// SendPacket carries one Sphinx packet of exactly Limits.PacketLength bytes.
type SendPacket struct {
	Packet []byte
}

// RetrieveMessage asks the Provider for a spool entry (§6.3).
type RetrieveMessage struct {
	Sequence uint32
}

// Message answers RetrieveMessage with a spooled message whose payload is
// exactly Limits.MessagePayloadLength bytes (§6.4).
type Message struct {
	Sequence  uint32
	QueueHint uint8 // further messages waiting, capped at 255
	Payload   []byte
}

// MessageACK answers RetrieveMessage with a SURB reply whose payload is
// exactly Limits.AckPayloadLength bytes (§6.4).
type MessageACK struct {
	Sequence  uint32
	QueueHint uint8
	SURBID    [SURBIDLength]byte
	Payload   []byte
}

// MessageEmpty answers RetrieveMessage when the spool is empty (§6.4).
type MessageEmpty struct {
	Sequence uint32
}

// GetConsensus asks for the PKI document of an epoch (§6.3).
type GetConsensus struct {
	Epoch uint64
}

// Consensus answers GetConsensus. Payload holds the document if ErrorCode
// is ConsensusOk and must be empty otherwise; at most Limits.MaxConsensus.
type Consensus struct {
	ErrorCode ConsensusCode
	Payload   []byte
}

// PostDescriptor uploads a node's signed descriptor for an epoch; Payload is
// at most Limits.MaxDescriptor bytes.
type PostDescriptor struct {
	Epoch   uint64
	Payload []byte
}

// PostDescriptorStatus answers PostDescriptor.
type PostDescriptorStatus struct {
	ErrorCode DescriptorCode
}

// SURBIDLength is the length of MessageACK.SURBID.
const SURBIDLength = 16

// ConsensusCode is Consensus.ErrorCode (§6.3).
type ConsensusCode uint8

// Consensus codes.
const (
	ConsensusOk       ConsensusCode = 0
	ConsensusNotFound ConsensusCode = 1 // not yet available; retry later
	ConsensusGone     ConsensusCode = 2 // will never be available
)

// DescriptorCode is PostDescriptorStatus.ErrorCode (§6.3).
type DescriptorCode uint8

// Descriptor codes.
const (
	DescriptorOk        DescriptorCode = 0
	DescriptorInvalid   DescriptorCode = 1
	DescriptorConflict  DescriptorCode = 2
	DescriptorForbidden DescriptorCode = 3
)

func (*NoOp) ID() CommandID                 { return IDNoOp }
func (*Disconnect) ID() CommandID           { return IDDisconnect }
func (*SendPacket) ID() CommandID           { return IDSendPacket }
func (*RetrieveMessage) ID() CommandID      { return IDRetrieveMessage }
func (*Message) ID() CommandID              { return IDMessage }
func (*MessageACK) ID() CommandID           { return IDMessageACK }
func (*MessageEmpty) ID() CommandID         { return IDMessageEmpty }
func (*GetConsensus) ID() CommandID         { return IDGetConsensus }
func (*Consensus) ID() CommandID            { return IDConsensus }
func (*PostDescriptor) ID() CommandID       { return IDPostDescriptor }
func (*PostDescriptorStatus) ID() CommandID { return IDPostDescriptorStatus }

func (*NoOp) command()                 {}
func (*Disconnect) command()           {}
func (*SendPacket) command()           {}
func (*RetrieveMessage) command()      {}
func (*Message) command()              {}
func (*MessageACK) command()           {}
func (*MessageEmpty) command()         {}
func (*GetConsensus) command()         {}
func (*Consensus) command()            {}
func (*PostDescriptor) command()       {}
func (*PostDescriptorStatus) command() {}
