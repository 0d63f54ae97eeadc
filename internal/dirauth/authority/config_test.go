package authority

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/sphinx"
)

func testConfigText(mixKey, provKey string) string {
	return `
[Authority]
  Addresses = ["tcp://127.0.0.1:29000", "tcp6://[::1]:29000"]
  DataDir = "/var/lib/dirauth"
  EpochPeriod = "10s"

[Parameters]
  Mu = 0.001

[[Mixes]]
  Identifier = "mix1"
  IdentityKey = "` + mixKey + `"

[[Providers]]
  Identifier = "provider1"
  IdentityKey = "` + provKey + `"
`
}

func TestLoadConfig(t *testing.T) {
	m, p := newTestNode(t, "mix1", false), newTestNode(t, "provider1", true)
	text := testConfigText(m.pub.String(), base64.StdEncoding.EncodeToString(p.pub[:]))
	c, err := LoadBytes("auth.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Authority
	if len(a.Addresses) != 2 || a.Addresses[1].Network != "tcp6" || a.KeyDir != "/var/lib/dirauth/keys" ||
		a.Layers != DefaultLayers || a.EpochPeriod != 10*time.Second || a.MinNodesPerLayer != 1 || a.MinProviders != 1 {
		t.Fatalf("authority section %+v", a)
	}
	if c.Geometry != sphinx.DefaultGeometry() {
		t.Fatal("not the default geometry")
	}
	if c.Parameters.Mu != 0.001 || c.Parameters.MuMaxDelay != 11513 || c.Parameters.LambdaP != DefaultRate || c.Parameters.SendRatePerMinute != DefaultSendRate {
		t.Fatalf("parameters %+v", c.Parameters)
	}
	if len(c.Mixes) != 1 || !c.Mixes[0].IdentityKey.Equal(m.pub) || len(c.Providers) != 1 || !c.Providers[0].IdentityKey.Equal(p.pub) {
		t.Fatal("allow-list not loaded")
	}
	if c.Logging.Level != "NOTICE" || c.File() != "auth.toml" {
		t.Fatalf("logging %+v, file %q", c.Logging, c.File())
	}
}

func TestLoadConfigErrors(t *testing.T) {
	m, p := newTestNode(t, "mix1", false), newTestNode(t, "provider1", true)
	good := testConfigText(m.pub.String(), p.pub.String())
	cases := map[string]struct{ text, want string }{
		"unknown key":       {strings.Replace(good, "Mu = 0.001", "Mu = 0.001\n  Muu = 1", 1), "Parameters.Muu: unknown key"},
		"unknown section":   {good + "\n[Topology]\n  X = 1\n", "Topology"},
		"wrong type":        {strings.Replace(good, `EpochPeriod = "10s"`, `EpochPeriod = 10`, 1), "EpochPeriod"},
		"bad duration":      {strings.Replace(good, `"10s"`, `"ten"`, 1), "ten"},
		"bad key":           {strings.Replace(good, m.pub.String(), "abcd", 1), "Mixes[0].IdentityKey"},
		"duplicate key":     {strings.Replace(good, p.pub.String(), m.pub.String(), 1), "Providers[0].IdentityKey: the same key as Mixes[0]"},
		"duplicate name":    {strings.Replace(good, `"provider1"`, `"mix1"`, 1), "Providers[0].Identifier"},
		"no addresses":      {strings.Replace(good, `Addresses = ["tcp://127.0.0.1:29000", "tcp6://[::1]:29000"]`, ``, 1), "Authority.Addresses: missing"},
		"bad address":       {strings.Replace(good, `tcp://127.0.0.1:29000`, `udp://127.0.0.1:1`, 1), "Authority.Addresses[0]"},
		"quic address":      {strings.Replace(good, `tcp://127.0.0.1:29000`, `http://127.0.0.1:1`, 1), "Authority.Addresses[0]"},
		"relative DataDir":  {strings.Replace(good, `"/var/lib/dirauth"`, `"data"`, 1), "Authority.DataDir"},
		"too many layers":   {strings.Replace(good, `EpochPeriod = "10s"`, "EpochPeriod = \"10s\"\n  Layers = 4", 1), "Authority.Layers"},
		"short epoch":       {strings.Replace(good, `"10s"`, `"10ms"`, 1), "Authority.EpochPeriod"},
		"negative rate":     {strings.Replace(good, `Mu = 0.001`, `Mu = -1.0`, 1), "Parameters"},
		"hops for layers":   {good + "\n[SphinxGeometry]\n  NrHops = 4\n", "SphinxGeometry.NrHops"},
		"bad geometry":      {good + "\n[SphinxGeometry]\n  NrHops = 9\n", "SphinxGeometry"},
		"bad level":         {good + "\n[Logging]\n  Level = \"LOUD\"\n", "Logging.Level"},
		"missing authority": {"[[Mixes]]\nIdentifier = \"a\"\nIdentityKey = \"" + m.pub.String() + "\"\n", "Authority: missing section"},
		"syntax":            {"[Authority\n", "auth.toml: line"},
	}
	for name, c := range cases {
		_, err := LoadBytes("auth.toml", []byte(c.text))
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "auth.toml") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not name the file and %q", name, err, c.want)
		}
	}
}

// FuzzLoadConfig: any text loads or fails with an error, never a panic.
func FuzzLoadConfig(f *testing.F) {
	f.Add(testConfigText(strings.Repeat("AB", 32), strings.Repeat("CD", 32)))
	f.Add("[Authority]\nLayers = 99\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := LoadBytes("fuzz.toml", []byte(text))
		if err == nil && (len(c.Authority.Addresses) == 0 || c.Authority.DataDir == "") {
			t.Fatal("loaded a config without Addresses or DataDir")
		}
	})
}

// DelayWarning speaks up exactly when (Layers+1) × MuMaxDelay reaches the
// key grace of the epoch period (docs/spec/keys.md §3.1).
func TestDelayWarning(t *testing.T) {
	m, p := newTestNode(t, "mix1", false), newTestNode(t, "provider1", true)
	base := testConfigText(m.pub.String(), p.pub.String())
	for _, c := range []struct {
		name, period, params string
		warn                 bool
	}{
		// 20 minutes: grace 5 min; default cap 46 052 ms × 4 = 184 s.
		{"production defaults", "20m", "", false},
		// 10 s: grace 2.5 s; Mu = 0.001 caps a hop at 11 513 ms.
		{"short epoch, default cap", "10s", "Mu = 0.001", true},
		// 4 × 624 ms = 2 496 ms < 2 500 ms; 4 × 625 ms is not below it.
		{"just inside", "10s", "Mu = 0.01\n  MuMaxDelay = 624", false},
		{"at the grace", "10s", "Mu = 0.01\n  MuMaxDelay = 625", true},
		{"no delays", "1s", "Mu = 0\n  MuMaxDelay = 0", false},
		// A week: the grace is capped at 10 minutes; 4 × 150 s reaches it.
		{"capped grace", "168h", "Mu = 0.0001\n  MuMaxDelay = 150000", true},
	} {
		text := strings.Replace(base, `EpochPeriod = "10s"`, `EpochPeriod = "`+c.period+`"`, 1)
		text = strings.Replace(text, "Mu = 0.001", c.params, 1)
		cfg, err := LoadBytes("auth.toml", []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		w := cfg.DelayWarning()
		if (w != "") != c.warn {
			t.Errorf("%s: warning %q, want one: %v", c.name, w, c.warn)
		}
		if c.warn && (!strings.Contains(w, "Parameters.MuMaxDelay") || !strings.Contains(w, "Authority.EpochPeriod")) {
			t.Errorf("%s: warning %q does not name the keys", c.name, w)
		}
	}
}
