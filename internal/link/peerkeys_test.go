package link

import (
	"crypto/mlkem"
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
)

func TestPeerKeyCache(t *testing.T) {
	c := &peerKeyCache{entries: make(map[[keys.LinkPublicKeySize]byte]*mlkem.EncapsulationKey768)}
	k := newCountingKey(t).Public()
	kem1, err := c.get(k)
	if err != nil {
		t.Fatal(err)
	}
	kem2, err := c.get(k)
	if err != nil {
		t.Fatal(err)
	}
	if kem1 != kem2 {
		t.Error("second lookup parsed the key again")
	}
	if got := kem1.Bytes(); string(got) != string(k.MLKEM[:]) {
		t.Error("cached ML-KEM half differs from the key")
	}

	// An invalid key is refused and not remembered.
	bad := *k
	for i := range bad.MLKEM {
		bad.MLKEM[i] = 0xFF // coefficients above the modulus
	}
	if _, err := c.get(&bad); err == nil {
		t.Fatal("invalid ML-KEM key accepted")
	}
	if len(c.entries) != 1 {
		t.Errorf("%d entries after one valid and one invalid key", len(c.entries))
	}

	// The cache stays bounded.
	for range peerKeyCacheSize + 5 {
		if _, err := c.get(newCountingKey(t).Public()); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.entries) > peerKeyCacheSize {
		t.Errorf("cache holds %d entries, bound is %d", len(c.entries), peerKeyCacheSize)
	}
}

func TestInitiatorRejectsInvalidResponderKey(t *testing.T) {
	e := newEndpoints(t)
	bad := *e.rkey.Public()
	for i := range bad.MLKEM {
		bad.MLKEM[i] = 0xFF
	}
	e.icfg.PeerStatic = &bad
	ic, _ := pipe(t, "pipe")
	if _, err := Initiate(t.Context(), ic, e.icfg); err == nil {
		t.Fatal("Initiate accepted an invalid responder key")
	}
}
