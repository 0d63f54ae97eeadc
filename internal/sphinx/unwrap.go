package sphinx

import (
	"crypto/subtle"

	"golang.org/x/crypto/chacha20"
)

// ReplayTag identifies a packet at one node under one Sphinx key (§10);
// internal/replay records it.
type ReplayTag [32]byte

// UnwrapResult is what Unwrap learns from a packet. The caller owns it and
// reuses it from packet to packet, so that Unwrap allocates nothing.
type UnwrapResult struct {
	// Commands are this hop's routing commands (§4).
	Commands Commands
	// Tag is the packet's replay tag at this node (§10). The caller must
	// test it against the replay filter before acting on the packet.
	Tag ReplayTag
	// Payload is set at a terminal hop only, and aliases the packet buffer:
	// without a SURB reply command it is the forward payload
	// (ForwardPayloadLength bytes, §8.2); with one it is the whole payload
	// (PayloadLength bytes), still encrypted for the SURB's creator (§9.3).
	// At a forwarding hop it is nil and the packet buffer holds the packet
	// for Commands.NextHop.
	Payload []byte
}

// Unwrap processes pkt at a node holding the Sphinx private key priv
// (docs/spec/sphinx.md §7), in place. On success res describes the packet
// and, at a forwarding hop, pkt has become the packet for the next hop. On
// failure the error is (or wraps) one of ErrPacketSize, ErrVersion,
// ErrGroupElement, ErrMAC, ErrCommands or ErrPayloadAuth; pkt is unchanged
// for all but ErrPayloadAuth. Unwrap is safe for concurrent use on distinct
// buffers and allocates nothing.
func (s *Sphinx) Unwrap(priv *[32]byte, pkt []byte, res *UnwrapResult) error {
	*res = UnwrapResult{}
	g := &s.geo
	const r = PerHopRoutingInfoLength
	// Step 1.
	if len(pkt) != g.PacketLength {
		return ErrPacketSize
	}
	// Step 2.
	if pkt[offVersion] != Version || pkt[offReserved] != 0 {
		return ErrVersion
	}
	alpha := (*[32]byte)(pkt[offAlpha : offAlpha+groupElementLength])
	beta := pkt[offBeta : offBeta+s.r]
	gamma := pkt[s.offGamma() : s.offGamma()+macSize]

	// Step 3.
	var secret [32]byte
	x25519(&secret, priv, alpha)
	if isZero(secret[:]) {
		return ErrGroupElement
	}
	// Step 4.
	var k hopKeys
	deriveKeys(&k, &secret)
	clear(secret[:])
	defer k.wipe()

	// Step 5.
	var mac [macSize]byte
	headerMAC(&mac, &k.mac, pkt[:s.offGamma()])
	if !macEqual(mac[:], gamma) {
		return ErrMAC
	}

	// Step 7, first decrypting the commands into a copy so that a bad
	// command leaves the packet untouched. The cipher's keystream
	// continues across calls, so the rest of beta and the r bytes shifted
	// in follow on.
	c, err := chacha20.NewUnauthenticatedCipher(k.routing[:], zeroNonce[:])
	if err != nil {
		panic("sphinx: chacha20: " + err.Error()) // unreachable: constant sizes
	}
	var cmds [r]byte
	c.XORKeyStream(cmds[:], beta[:r])
	if err := decodeCommands(cmds[:], &res.Commands); err != nil {
		res.Commands = Commands{}
		return err
	}
	res.Tag = k.replayTag

	if res.Commands.HasNextHop {
		// Step 8: beta' = B[r : R+r], the MAC from the command, blinded
		// alpha.
		rest := beta[r:]
		c.XORKeyStream(rest, rest)
		copy(beta, rest)
		tail := beta[s.r-r:]
		clear(tail)
		c.XORKeyStream(tail, tail)
		copy(gamma, res.Commands.NextHopMAC[:])
		x25519(alpha, &k.blinding, alpha)
	}

	// Step 9.
	payload := pkt[g.HeaderLength:]
	lionessDecrypt(&k.payload, payload)

	// Step 10.
	if res.Commands.HasRecipient {
		if res.Commands.HasSURBReply {
			res.Payload = payload
			return nil
		}
		var zero [authenticatorSize]byte
		if subtle.ConstantTimeCompare(payload[:authenticatorSize], zero[:]) != 1 {
			res.Commands = Commands{}
			res.Tag = ReplayTag{}
			return ErrPayloadAuth
		}
		res.Payload = payload[authenticatorSize:]
	}
	return nil
}
