package provider

import (
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/config"
)

// FromConfig takes the Provider section and the Debug keys that concern a
// Provider from a configuration file.
func TestFromConfig(t *testing.T) {
	c, err := config.LoadBytes("provider.toml", []byte(`[Server]
  Identifier = "provider.example"
  Addresses = ["tcp://127.0.0.1:29483"]
  DataDir = "/var/lib/splitmix"
  IsProvider = true

[PKI.Nonvoting]
  Address = "127.0.0.1:2323"
  PublicKey = "kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="

[Provider]
  TrustOnFirstUse = true
  [[Provider.Kaetzchen]]
    Capability = "echo"
    Endpoint = "+echo"

[Debug]
  NumProviderWorkers = 4
  ProviderDelay = 300
  KaetzchenDelay = 900
  DisableRateLimit = true

[Privsep]
  EpochPeriod = "30m"
`))
	if err != nil {
		t.Fatal(err)
	}
	got := FromConfig(c)
	if !got.TrustOnFirstUse || got.EnableEphemeralClients || len(got.Kaetzchen) != 1 || got.Kaetzchen[0].Endpoint != "+echo" ||
		got.ProviderWorkers != 4 || got.ProviderDelay != 300*time.Millisecond || got.KaetzchenDelay != 900*time.Millisecond ||
		got.KaetzchenWorkers != 3 || !got.DisableRateLimit || got.EphemeralIdle != 30*time.Minute {
		t.Fatalf("FromConfig = %+v", got)
	}
}
