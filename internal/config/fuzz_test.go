package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadBytes checks that no file makes LoadBytes panic, and that it
// returns exactly one of a Config and an error.
func FuzzLoadBytes(f *testing.F) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base + "[Privsep]\n  EpochPeriod = \"5s\"\n"))
	f.Add([]byte(provider + "[[Provider.CBORPluginKaetzchen]]\n[Provider.PluginKaetzchen.Config]\n  a = [1]\n"))
	f.Add([]byte("Server = 1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := LoadBytes("fuzz.toml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("LoadBytes returned config %v and error %v", cfg, err)
		}
		if err != nil {
			_ = err.Error()
			return
		}
		// A loaded config keeps the invariants the daemons rely on.
		if len(cfg.AdvertiseAddresses()) != len(cfg.Server.Addresses) || len(cfg.ListenAddresses()) == 0 {
			t.Fatalf("addresses lost: %v", cfg.Server)
		}
		if cfg.Debug.NumSphinxWorkers <= 0 || cfg.Debug.SchedulerQueueSize <= 0 || cfg.Debug.UnwrapDelay <= 0 || cfg.Privsep.EpochPeriod <= 0 {
			t.Fatalf("non-positive tuning value: %+v %+v", cfg.Debug, cfg.Privsep)
		}
		if cfg.Server.IsProvider != (cfg.Provider != nil) {
			t.Fatalf("IsProvider %t with Provider %v", cfg.Server.IsProvider, cfg.Provider)
		}
	})
}

// FuzzParseAddress checks that ParseAddress never panics and that what it
// accepts round-trips through its canonical URL.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"tcp://192.0.2.1:29483", "tcp6://[2001:DB8::1]:29483", "http://192.168.0.2.1:15242", "tcp4://h:1", "tcp://[::1%25eth0]:1", "x://", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		b, err := ParseAddress(a.URL)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", a.URL, s, err)
		}
		if a != b {
			t.Fatalf("%q -> %+v -> %+v", s, a, b)
		}
		if a.Port < 1 || a.Port > 65535 || a.Host == "" {
			t.Fatalf("%q -> %+v", s, a)
		}
	})
}
