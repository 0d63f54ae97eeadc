package sphinx

import (
	"errors"
	"fmt"
	"io"

	"github.com/splitmix/splitmix/internal/keys"
)

// Sphinx creates and processes packets of one validated geometry.
type Sphinx struct {
	geo Geometry
	r   int // routing information length R = NrHops × r (§1)
}

// New validates g and returns a Sphinx for it.
func New(g Geometry) (*Sphinx, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &Sphinx{geo: g, r: g.NrHops * PerHopRoutingInfoLength}, nil
}

// Geometry returns the geometry s was built with.
func (s *Sphinx) Geometry() Geometry { return s.geo }

// PathHop is one node of a path chosen by a sender (§6).
type PathHop struct {
	ID        keys.NodeID // the node (docs/spec/keys.md §2)
	PublicKey [32]byte    // its Sphinx public key for the packet's epoch
	Delay     uint32      // milliseconds the node holds the packet (delay command, §4)
}

// Offsets inside a header (§5).
const (
	offVersion  = 0
	offReserved = 1
	offAlpha    = versionLength
	offBeta     = offAlpha + groupElementLength
)

func (s *Sphinx) offGamma() int { return offBeta + s.r }

// errLowOrderKey reports a path key that yields a zero shared secret.
var errLowOrderKey = errors.New("sphinx: path public key is of low order")

// newHeader builds a header for path whose last hop reads terminal (§6).
// It writes the header into hdr (HeaderLength bytes) and returns the
// payload keys of every hop.
func (s *Sphinx) newHeader(rng io.Reader, hdr []byte, path []PathHop, terminal *Commands) ([][lionessKeySize]byte, error) {
	n := len(path)
	if n < 1 || n > s.geo.NrHops {
		return nil, fmt.Errorf("sphinx: path of %d hops, want 1..%d", n, s.geo.NrHops)
	}
	const r = PerHopRoutingInfoLength
	R := s.r

	// Steps 1-2: group elements and shared secrets.
	var x [32]byte
	if _, err := io.ReadFull(rng, x[:]); err != nil {
		return nil, fmt.Errorf("sphinx: random: %w", err)
	}
	defer clear(x[:])
	alphas := make([][32]byte, n)
	hk := make([]hopKeys, n)
	defer func() {
		for i := range hk {
			hk[i].wipe()
		}
	}()
	alphas[0] = PublicKey(&x)
	for i := range n {
		var secret [32]byte
		x25519(&secret, &x, &path[i].PublicKey)
		for j := range i {
			x25519(&secret, &hk[j].blinding, &secret)
		}
		if isZero(secret[:]) {
			return nil, fmt.Errorf("%w: hop %d", errLowOrderKey, i)
		}
		deriveKeys(&hk[i], &secret)
		clear(secret[:])
		if i > 0 {
			x25519(&alphas[i], &hk[i-1].blinding, &alphas[i-1])
		}
	}

	// Step 3: filler.
	phi := make([]byte, 0, (n-1)*r)
	stream := make([]byte, R+r)
	for i := 1; i < n; i++ {
		clear(stream)
		xorStream(stream, &hk[i-1].routing)
		phi = append(phi, make([]byte, r)...)
		for j := range phi {
			phi[j] ^= stream[R-(i-1)*r+j]
		}
	}

	// Step 4: the last hop.
	beta := make([]byte, R)
	if err := terminal.encode(beta[:r]); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rng, beta[r:R-(n-1)*r]); err != nil {
		return nil, fmt.Errorf("sphinx: random: %w", err)
	}
	xorStream(beta[:R-(n-1)*r], &hk[n-1].routing)
	copy(beta[R-(n-1)*r:], phi)

	macIn := make([]byte, offBeta+R)
	macIn[offVersion] = Version
	var gamma [macSize]byte
	mac := func(i int) {
		copy(macIn[offAlpha:], alphas[i][:])
		copy(macIn[offBeta:], beta)
		headerMAC(&gamma, &hk[i].mac, macIn)
	}
	mac(n - 1)

	// Step 5: the other hops, last to first.
	next := make([]byte, R)
	for i := n - 2; i >= 0; i-- {
		cmds := Commands{HasNextHop: true, NextHop: path[i+1].ID, NextHopMAC: gamma, HasDelay: true, Delay: path[i].Delay}
		copy(next[r:], beta[:R-r])
		if err := cmds.encode(next[:r]); err != nil {
			return nil, err
		}
		xorStream(next, &hk[i].routing)
		beta, next = next, beta
		mac(i)
	}

	// Step 6.
	hdr[offVersion] = Version
	hdr[offReserved] = 0
	copy(hdr[offAlpha:], alphas[0][:])
	copy(hdr[offBeta:], beta)
	copy(hdr[s.offGamma():], gamma[:])

	pk := make([][lionessKeySize]byte, n)
	for i := range hk {
		pk[i] = hk[i].payload
	}
	return pk, nil
}

// NewPacket builds a forward packet along path to recipient (§6, §8.1).
// payload is the forward payload (normally from EncodeForwardPayload), at
// most ForwardPayloadLength bytes; it is zero-padded to that length. Every
// hop gets a delay command with its PathHop.Delay. rng supplies the random
// bytes (crypto/rand.Reader outside tests).
func (s *Sphinx) NewPacket(rng io.Reader, path []PathHop, recipient RecipientID, payload []byte) ([]byte, error) {
	if len(payload) > s.geo.ForwardPayloadLength {
		return nil, fmt.Errorf("sphinx: forward payload of %d bytes, at most %d", len(payload), s.geo.ForwardPayloadLength)
	}
	if len(path) == 0 {
		return nil, fmt.Errorf("sphinx: empty path")
	}
	pkt := make([]byte, s.geo.PacketLength)
	last := path[len(path)-1]
	terminal := Commands{HasRecipient: true, Recipient: recipient, HasDelay: true, Delay: last.Delay}
	pkeys, err := s.newHeader(rng, pkt[:s.geo.HeaderLength], path, &terminal)
	if err != nil {
		return nil, err
	}
	block := pkt[s.geo.HeaderLength:]
	copy(block[authenticatorSize:], payload)
	for i := len(pkeys) - 1; i >= 0; i-- {
		lionessEncrypt(&pkeys[i], block)
		clear(pkeys[i][:])
	}
	return pkt, nil
}
