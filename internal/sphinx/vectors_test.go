package sphinx

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the current implementation")

const vectorsFile = "testdata/vectors.json"

// The known-answer vectors of docs/spec/sphinx.md §12. All byte strings are
// hex.
type vectors struct {
	Comment  string       `json:"comment"`
	Geometry Geometry     `json:"geometry"`
	Nodes    []vectorNode `json:"nodes"`
	Forward  []vectorCase `json:"forward"`
	SURB     []vectorCase `json:"surb"`
}

type vectorNode struct {
	Private string `json:"private"`
	Public  string `json:"public"`
	ID      string `json:"id"`
}

type vectorCase struct {
	Hops      int      `json:"hops"`
	Recipient string   `json:"recipient"`
	SURB      string   `json:"surb,omitempty"`      // SURB cases: the SURB
	SURBKeys  string   `json:"surb_keys,omitempty"` // SURB cases: the creator's keys
	SURBID    string   `json:"surb_id,omitempty"`
	Payload   string   `json:"payload"`   // forward payload, or the reply given to NewPacketFromSURB
	Packets   []string `json:"packets"`   // the packet as it arrives at each hop
	Commands  []string `json:"commands"`  // each hop's decoded commands, re-encoded (§4)
	Tags      []string `json:"tags"`      // each hop's replay tag
	Delivered string   `json:"delivered"` // the terminal hop's UnwrapResult.Payload
	Decrypted string   `json:"decrypted,omitempty"`
}

func genVectors(t *testing.T) vectors {
	s := mustSphinx(t, 5, 64)
	rng := newTestRand("splitmix sphinx test vectors v1")
	nodes := testNodes(rng, 5)
	v := vectors{
		Comment:  "docs/spec/sphinx.md §12; regenerate with: go test ./internal/sphinx -run TestVectors -update",
		Geometry: s.Geometry(),
	}
	for _, n := range nodes {
		v.Nodes = append(v.Nodes, vectorNode{hex.EncodeToString(n.priv[:]), hex.EncodeToString(n.pub[:]), hex.EncodeToString(n.id[:])})
	}
	rcpt, _ := NewRecipientID("vector recipient")
	for n := 1; n <= 5; n++ {
		for _, isSURB := range []bool{false, true} {
			c := vectorCase{Hops: n, Recipient: hex.EncodeToString(rcpt[:])}
			var pkt []byte
			var keys SURBKeys
			if !isSURB {
				fp, err := s.EncodeForwardPayload(nil, []byte(fmt.Sprintf("forward message over %d hops", n)))
				if err != nil {
					t.Fatal(err)
				}
				c.Payload = hex.EncodeToString(fp)
				if pkt, err = s.NewPacket(rng, testPath(nodes[:n]), rcpt, fp); err != nil {
					t.Fatal(err)
				}
			} else {
				surb, k, id, err := s.NewSURB(rng, testPath(nodes[:n]), rcpt)
				if err != nil {
					t.Fatal(err)
				}
				keys = k
				reply := []byte(fmt.Sprintf("reply over %d hops", n))
				c.SURB, c.SURBKeys, c.SURBID, c.Payload = hex.EncodeToString(surb), hex.EncodeToString(k), hex.EncodeToString(id[:]), hex.EncodeToString(reply)
				if pkt, _, err = s.NewPacketFromSURB(surb, reply); err != nil {
					t.Fatal(err)
				}
			}
			var res UnwrapResult
			for i := range n {
				c.Packets = append(c.Packets, hex.EncodeToString(pkt))
				if err := s.Unwrap(&nodes[i].priv, pkt, &res); err != nil {
					t.Fatalf("%d hops, SURB %v, hop %d: %v", n, isSURB, i, err)
				}
				cb := make([]byte, PerHopRoutingInfoLength)
				if err := res.Commands.encode(cb); err != nil {
					t.Fatal(err)
				}
				c.Commands = append(c.Commands, hex.EncodeToString(cb))
				c.Tags = append(c.Tags, hex.EncodeToString(res.Tag[:]))
			}
			c.Delivered = hex.EncodeToString(res.Payload)
			if isSURB {
				plain, err := s.DecryptSURBPayload(keys, bytes.Clone(res.Payload))
				if err != nil {
					t.Fatal(err)
				}
				c.Decrypted = hex.EncodeToString(plain)
				v.SURB = append(v.SURB, c)
			} else {
				v.Forward = append(v.Forward, c)
			}
		}
	}
	return v
}

// TestVectors regenerates the known-answer vectors from fixed keys and a
// deterministic random source and compares them with the committed file,
// so that any change to the packet format is caught; it also replays every
// committed hop through Unwrap on its own.
func TestVectors(t *testing.T) {
	got, err := json.MarshalIndent(genVectors(t), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(vectorsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var committed vectors
	if err := json.Unmarshal(want, &committed); err != nil {
		t.Fatal(err)
	}
	checkCommitted(t, &committed)
	if !bytes.Equal(got, want) {
		t.Fatalf("the implementation no longer produces %s: the packet format changed (if intended, update docs/spec/sphinx.md and rerun with -update)", vectorsFile)
	}
}

// checkCommitted processes the committed packets hop by hop.
func checkCommitted(t *testing.T, v *vectors) {
	s, err := New(v.Geometry)
	if err != nil {
		t.Fatal(err)
	}
	dec := func(h string) []byte {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range append(append([]vectorCase{}, v.Forward...), v.SURB...) {
		var res UnwrapResult
		for i, p := range c.Packets {
			pkt := dec(p)
			priv := (*[32]byte)(dec(v.Nodes[i].Private))
			if err := s.Unwrap(priv, pkt, &res); err != nil {
				t.Fatalf("committed %d-hop case, hop %d: %v", c.Hops, i, err)
			}
			if hex.EncodeToString(res.Tag[:]) != c.Tags[i] {
				t.Fatalf("committed %d-hop case, hop %d: tag differs", c.Hops, i)
			}
			if i+1 < len(c.Packets) && hex.EncodeToString(pkt) != c.Packets[i+1] {
				t.Fatalf("committed %d-hop case, hop %d: output packet differs", c.Hops, i)
			}
		}
		if hex.EncodeToString(res.Payload) != c.Delivered {
			t.Fatalf("committed %d-hop case: delivered payload differs", c.Hops)
		}
		if c.SURBKeys != "" {
			plain, err := s.DecryptSURBPayload(dec(c.SURBKeys), res.Payload)
			if err != nil || hex.EncodeToString(plain) != c.Decrypted {
				t.Fatalf("committed %d-hop SURB case: decryption %v", c.Hops, err)
			}
		}
	}
}
