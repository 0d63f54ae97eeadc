package client

import (
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/pki"
)

// Before the first document, the configured period decides which epoch's
// document to ask for; after it, the document's own period does.
func TestCurrentEpochUsesConfiguredPeriodBeforeFirstDocument(t *testing.T) {
	now := epochtime.Genesis.Add(95 * time.Second)
	c := &Client{cfg: Config{EpochPeriod: 20 * time.Second, Now: func() time.Time { return now }}}
	if e := c.currentEpoch(nil); e != 4 {
		t.Fatalf("with a 20s period: epoch %d, want 4", e)
	}
	c.cfg.EpochPeriod = 0
	if e := c.currentEpoch(nil); e != 0 {
		t.Fatalf("with the default period: epoch %d, want 0", e)
	}
	n := &network{doc: &pki.Document{EpochPeriod: 30 * time.Second}}
	c.cfg.EpochPeriod = 20 * time.Second
	if e := c.currentEpoch(n); e != 3 {
		t.Fatalf("with a document of 30s epochs: epoch %d, want 3", e)
	}
}
