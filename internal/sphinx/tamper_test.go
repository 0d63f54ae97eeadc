package sphinx

import (
	"bytes"
	"errors"
	"testing"
)

// TestEveryBitFlipDetected flips one bit of every byte of a packet as it
// arrives at every hop, for a forward packet and a SURB reply: a header
// byte must fail at the hop that reads it (ErrVersion for the version
// bytes, ErrMAC for the rest), a payload byte must pass every forwarding
// hop and fail the terminal hop's authenticator (forward) or the SURB
// creator's (reply). A small geometry keeps the exhaustive search quick.
func TestEveryBitFlipDetected(t *testing.T) {
	const hops = 3
	s := mustSphinx(t, hops, 16)
	g := s.Geometry()
	rng := newTestRand("flips")
	nodes := testNodes(rng, hops)
	rcpt, _ := NewRecipientID("mallory")

	fwd, err := s.NewPacket(rng, testPath(nodes), rcpt, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	surb, keys, _, err := s.NewSURB(rng, testPath(nodes), rcpt)
	if err != nil {
		t.Fatal(err)
	}
	reply, _, err := s.NewPacketFromSURB(surb, []byte("reply"))
	if err != nil {
		t.Fatal(err)
	}

	for _, kind := range []struct {
		name string
		pkt  []byte
		surb bool
	}{{"forward", fwd, false}, {"SURB reply", reply, true}} {
		arriving := bytes.Clone(kind.pkt)
		var res UnwrapResult
		for hop := range hops {
			for i := range arriving {
				p := bytes.Clone(arriving)
				p[i] ^= 1 << (i % 8)
				failedAt, err := -1, error(nil)
				for h := hop; h < hops; h++ {
					if err = s.Unwrap(&nodes[h].priv, p, &res); err != nil {
						failedAt = h
						break
					}
				}
				if kind.surb && err == nil {
					_, err = s.DecryptSURBPayload(keys, res.Payload)
					failedAt = hops // the creator
				}
				switch {
				case i < 2:
					if failedAt != hop || !errors.Is(err, ErrVersion) {
						t.Fatalf("%s, hop %d, byte %d: failed at %d with %v, want ErrVersion at %d", kind.name, hop, i, failedAt, err, hop)
					}
				case i < g.HeaderLength:
					if failedAt != hop || !errors.Is(err, ErrMAC) {
						t.Fatalf("%s, hop %d, byte %d: failed at %d with %v, want ErrMAC at %d", kind.name, hop, i, failedAt, err, hop)
					}
				default:
					want := hops - 1
					if kind.surb {
						want = hops
					}
					if failedAt != want || !errors.Is(err, ErrPayloadAuth) {
						t.Fatalf("%s, hop %d, byte %d: failed at %d with %v, want ErrPayloadAuth at %d", kind.name, hop, i, failedAt, err, want)
					}
				}
			}
			if err := s.Unwrap(&nodes[hop].priv, arriving, &res); err != nil {
				t.Fatalf("%s: untouched packet at hop %d: %v", kind.name, hop, err)
			}
		}
	}
}
