package sphinx

import (
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/splitmix/splitmix/internal/keys"
)

// SURBKeys are what a SURB's creator keeps, under the SURB id, to decrypt
// the reply: the SURB key Q followed by the payload key of every hop of the
// return path (§9.2), 128 bytes each. They are secret.
type SURBKeys []byte

// NewSURB builds a single-use reply block for the return path path, whose
// last hop delivers to recipient (the creator's account at its Provider)
// (§9.1, §9.2). It returns the SURB to send inside a forward payload, the
// keys to keep and the id to keep them under; the reply arrives at the
// terminal hop with a SURB reply command carrying id.
func (s *Sphinx) NewSURB(rng io.Reader, path []PathHop, recipient RecipientID) (surb []byte, decrypt SURBKeys, id SURBID, err error) {
	return s.newSURB(rng, path, recipient)
}

func (s *Sphinx) newSURB(rng io.Reader, path []PathHop, recipient RecipientID) ([]byte, SURBKeys, SURBID, error) {
	var id SURBID
	if len(path) == 0 {
		return nil, nil, id, fmt.Errorf("sphinx: empty path")
	}
	if _, err := io.ReadFull(rng, id[:]); err != nil {
		return nil, nil, id, fmt.Errorf("sphinx: random: %w", err)
	}
	g := &s.geo
	surb := make([]byte, g.SURBLength)
	last := path[len(path)-1]
	terminal := Commands{
		HasRecipient: true, Recipient: recipient,
		HasSURBReply: true, SURBID: id,
		HasDelay: true, Delay: last.Delay,
	}
	pkeys, err := s.newHeader(rng, surb[:g.HeaderLength], path, &terminal)
	if err != nil {
		return nil, nil, id, err
	}
	copy(surb[g.HeaderLength:], path[0].ID[:])
	var seed [surbSeedSize]byte
	if _, err := io.ReadFull(rng, seed[:]); err != nil {
		return nil, nil, id, fmt.Errorf("sphinx: random: %w", err)
	}
	copy(surb[g.HeaderLength+keys.NodeIDSize:], seed[:])

	var q hopKeys
	deriveKeys(&q, &seed)
	clear(seed[:])
	dk := make(SURBKeys, 0, lionessKeySize*(len(pkeys)+1))
	dk = append(dk, q.payload[:]...)
	q.wipe()
	for i := range pkeys {
		dk = append(dk, pkeys[i][:]...)
		clear(pkeys[i][:])
	}
	return surb, dk, id, nil
}

// NewPacketFromSURB builds the reply packet a recipient sends through surb
// (§9.3), carrying payload (at most ForwardPayloadLength bytes, zero-padded),
// and names the node to send it to.
func (s *Sphinx) NewPacketFromSURB(surb, payload []byte) ([]byte, keys.NodeID, error) {
	g := &s.geo
	var first keys.NodeID
	if len(surb) != g.SURBLength {
		return nil, first, fmt.Errorf("sphinx: SURB of %d bytes, want %d", len(surb), g.SURBLength)
	}
	if surb[offVersion] != Version || surb[offReserved] != 0 {
		return nil, first, fmt.Errorf("sphinx: SURB: %w", ErrVersion)
	}
	if len(payload) > g.ForwardPayloadLength {
		return nil, first, fmt.Errorf("sphinx: reply of %d bytes, at most %d", len(payload), g.ForwardPayloadLength)
	}
	copy(first[:], surb[g.HeaderLength:])
	var seed [surbSeedSize]byte
	copy(seed[:], surb[g.HeaderLength+keys.NodeIDSize:])
	var q hopKeys
	deriveKeys(&q, &seed)
	clear(seed[:])
	defer q.wipe()

	pkt := make([]byte, g.PacketLength)
	copy(pkt, surb[:g.HeaderLength])
	block := pkt[g.HeaderLength:]
	copy(block[authenticatorSize:], payload)
	lionessEncrypt(&q.payload, block)
	return pkt, first, nil
}

// DecryptSURBPayload decrypts, in place, a reply delivered through a SURB
// (the terminal hop's UnwrapResult.Payload, PayloadLength bytes) with the
// keys kept from NewSURB (§9.3). It returns the reply (ForwardPayloadLength
// bytes, aliasing payload) or ErrPayloadAuth if the reply was altered or
// the keys are not the SURB's.
func (s *Sphinx) DecryptSURBPayload(k SURBKeys, payload []byte) ([]byte, error) {
	g := &s.geo
	if len(payload) != g.PayloadLength {
		return nil, fmt.Errorf("sphinx: SURB reply payload of %d bytes, want %d", len(payload), g.PayloadLength)
	}
	if len(k)%lionessKeySize != 0 || len(k) < 2*lionessKeySize || len(k) > (MaxHops+1)*lionessKeySize {
		return nil, fmt.Errorf("sphinx: SURB keys of %d bytes: not the keys of a 1..%d hop SURB", len(k), MaxHops)
	}
	for i := len(k)/lionessKeySize - 1; i >= 1; i-- {
		lionessEncrypt((*[lionessKeySize]byte)(k[i*lionessKeySize:]), payload)
	}
	lionessDecrypt((*[lionessKeySize]byte)(k[:lionessKeySize]), payload)
	var zero [authenticatorSize]byte
	if subtle.ConstantTimeCompare(payload[:authenticatorSize], zero[:]) != 1 {
		return nil, ErrPayloadAuth
	}
	return payload[authenticatorSize:], nil
}
