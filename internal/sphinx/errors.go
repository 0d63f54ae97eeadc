package sphinx

import "errors"

// Reasons a packet is rejected, one sentinel per reason so that a node can
// count drops by reason (docs/spec/sphinx.md §7). Compare with errors.Is.
var (
	// ErrPacketSize: the packet is not Geometry.PacketLength bytes (§7 step 1).
	ErrPacketSize = errors.New("sphinx: wrong packet size")
	// ErrVersion: the header's version or reserved byte is wrong (§7 step 2).
	ErrVersion = errors.New("sphinx: unsupported header version")
	// ErrGroupElement: the group element is of low order (§7 step 3).
	ErrGroupElement = errors.New("sphinx: invalid group element")
	// ErrMAC: the header MAC does not verify (§7 step 5).
	ErrMAC = errors.New("sphinx: header MAC mismatch")
	// ErrCommands: the routing commands are malformed (§4, §7 step 7).
	ErrCommands = errors.New("sphinx: invalid routing commands")
	// ErrPayloadAuth: the payload authenticator does not verify at the
	// terminal hop or at the SURB's creator (§8.1, §9.3).
	ErrPayloadAuth = errors.New("sphinx: payload authentication failed")
)
