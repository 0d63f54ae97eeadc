package config

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
)

// specAuthorityKey is the spec's example authority key, decoded.
const specAuthorityKey = "900895721381C0756D28954524BB1D090F54C8DD9295F84B1D8A93F1E3C17AD8"

func loadTestdata(t *testing.T, name string) *Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadBytes(name, data)
	if err != nil {
		t.Fatalf("%s does not load:\n%v", name, err)
	}
	return cfg
}

func hasWarning(cfg *Config, substr string) bool {
	return slices.ContainsFunc(cfg.Warnings(), func(w string) bool { return strings.Contains(w, substr) })
}

// TestSpecExamplesLoad loads every configuration example of the spec,
// assembled into whole files, and checks that each section means what the
// spec says.
func TestSpecExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("testdata/spec-*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 6 {
		t.Fatalf("found %d spec example files, want 6: %v", len(files), files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg := loadTestdata(t, filepath.Base(f))
			// The sections every example shares.
			if cfg.Server.Identifier != "example.com" || cfg.Server.DataDir != "/var/lib/katzenpost" {
				t.Errorf("Server = %+v", cfg.Server)
			}
			wantURLs := []string{"tcp://192.0.2.1:29483", "tcp6://[2001:DB8::1]:29483", "http://192.168.0.2.1:15242", "http://[2001:DB8::1]:24144"}
			var got []string
			for _, a := range cfg.ListenAddresses() {
				got = append(got, a.URL)
			}
			if !slices.Equal(got, wantURLs) {
				t.Errorf("ListenAddresses = %v, want %v", got, wantURLs)
			}
			if cfg.PKI.Nonvoting.Address != "192.0.2.2:2323" || cfg.PKI.Nonvoting.PublicKey.String() != specAuthorityKey {
				t.Errorf("PKI = %+v", cfg.PKI)
			}
			if cfg.Logging != (Logging{File: "/var/log/katzenpost.log", Level: LevelDebug}) {
				t.Errorf("Logging = %+v", cfg.Logging)
			}
			if cfg.Management != (Management{Path: "/var/lib/katzenpost/thwack.sock"}) || !cfg.Management.Enabled() {
				t.Errorf("Management = %+v", cfg.Management)
			}
			if !hasWarning(cfg, "Server.Addresses[2]: host \"192.168.0.2.1\" is not an IP address") {
				t.Errorf("no warning about the spec's five-part address; warnings: %q", cfg.Warnings())
			}
			if !hasWarning(cfg, "Logging.Level: DEBUG logging is unsafe") {
				t.Errorf("no warning about DEBUG logging; warnings: %q", cfg.Warnings())
			}
			if cfg.File() != filepath.Base(f) {
				t.Errorf("File() = %q", cfg.File())
			}
		})
	}
}

func TestSpecMix(t *testing.T) {
	cfg := loadTestdata(t, "spec-mix.toml")
	if cfg.Server.IsProvider || cfg.Provider != nil {
		t.Errorf("mix has IsProvider=%t Provider=%v", cfg.Server.IsProvider, cfg.Provider)
	}
}

func TestSpecKaetzchen(t *testing.T) {
	cfg := loadTestdata(t, "spec-provider-kaetzchen.toml")
	want := []Kaetzchen{{Capability: "echo", Endpoint: "+echo"}, {Capability: "keyserver", Endpoint: "+keyserver"}}
	got := cfg.Provider.Kaetzchen
	if len(got) != 2 || got[0].Capability != want[0].Capability || got[0].Endpoint != want[0].Endpoint ||
		got[1].Capability != want[1].Capability || got[1].Endpoint != want[1].Endpoint || got[0].Disable || got[1].Disable {
		t.Errorf("Kaetzchen = %+v, want %+v", got, want)
	}
	// The spec: the Provider section has defaults for every field.
	p := cfg.Provider
	if p.UserDB.Backend != BackendBolt || p.UserDB.Bolt.UserDB != "/var/lib/katzenpost/users.db" ||
		p.SpoolDB.Backend != BackendBolt || p.SpoolDB.Bolt.SpoolDB != "/var/lib/katzenpost/spool.db" {
		t.Errorf("database defaults: UserDB %+v SpoolDB %+v", p.UserDB, p.SpoolDB)
	}
}

func TestSpecCBORPlugin(t *testing.T) {
	cfg := loadTestdata(t, "spec-cborplugin.toml")
	plugins := cfg.Provider.CBORPluginKaetzchen
	if len(plugins) != 1 {
		t.Fatalf("CBORPluginKaetzchen = %+v", plugins)
	}
	p := plugins[0]
	if p.Capability != "zec" || p.Endpoint != "+zec" || p.Command != "/home/user/test_mixnet/bin/currency" || p.MaxConcurrency != 10 || p.Disable {
		t.Errorf("plugin = %+v", p)
	}
	// The stray [Provider.PluginKaetzchen.Config] is the plugin's Config.
	wantArgs := []string{"-f", "/home/user/test_mixnet/currency_zec/curreny.toml", "-log_dir", "/home/user/test_mixnet/zec_tx_logs"}
	if got := p.Args(); !slices.Equal(got, wantArgs) {
		t.Errorf("Args() = %q, want %q", got, wantArgs)
	}
	if !hasWarning(cfg, `Provider.PluginKaetzchen.Config: taken as the Config of Provider.CBORPluginKaetzchen[0] (Capability "zec")`) {
		t.Errorf("no warning about the stray Config table; warnings: %q", cfg.Warnings())
	}
}

func TestSpecBolt(t *testing.T) {
	cfg := loadTestdata(t, "spec-bolt.toml")
	p := cfg.Provider
	// "my_users.db" is relative: taken relative to DataDir.
	if p.UserDB.Backend != BackendBolt || p.UserDB.Bolt.UserDB != "/var/lib/katzenpost/my_users.db" {
		t.Errorf("UserDB = %+v", p.UserDB)
	}
	if p.SpoolDB.Backend != BackendBolt || p.SpoolDB.Bolt.SpoolDB != "/var/lib/katzenpost/my_spool.db" {
		t.Errorf("SpoolDB = %+v", p.SpoolDB)
	}
}

func TestSpecExternUserDB(t *testing.T) {
	cfg := loadTestdata(t, "spec-externuserdb.toml")
	p := cfg.Provider
	if p.UserDB.Backend != BackendExtern || p.UserDB.ExternUserDB.ProviderURL != "http://localhost:8080/" {
		t.Errorf("UserDB = %+v", p.UserDB)
	}
	if p.UserDB.Bolt.UserDB != "" {
		t.Errorf("bolt path filled in for the extern backend: %q", p.UserDB.Bolt.UserDB)
	}
	if p.SpoolDB.Backend != BackendBolt {
		t.Errorf("SpoolDB = %+v", p.SpoolDB)
	}
}

func TestSpecPostgres(t *testing.T) {
	cfg := loadTestdata(t, "spec-postgres.toml")
	p := cfg.Provider
	want := SQLDB{Backend: SQLBackendPGX, DataSourceName: "postgresql://provider:s3cr3tp0stgr355@127.0.0.1:5433/katzenpost"}
	if p.SQLDB != want || p.UserDB.Backend != BackendSQL || p.SpoolDB.Backend != BackendSQL {
		t.Errorf("SQLDB = %+v UserDB = %+v SpoolDB = %+v", p.SQLDB, p.UserDB, p.SpoolDB)
	}
}

// TestMinimalMixDefaults checks every default against the documented
// value.
func TestMinimalMixDefaults(t *testing.T) {
	cfg := loadTestdata(t, "minimal-mix.toml")
	if len(cfg.Warnings()) != 0 {
		t.Errorf("warnings: %q", cfg.Warnings())
	}
	if cfg.Provider != nil {
		t.Error("a mix has a Provider")
	}
	if cfg.Logging != (Logging{Level: LevelNotice}) {
		t.Errorf("Logging = %+v", cfg.Logging)
	}
	if cfg.Management != (Management{Path: "/var/lib/splitmix/management_sock"}) {
		t.Errorf("Management = %+v", cfg.Management)
	}
	wantDebug := Debug{
		NumSphinxWorkers: min(runtime.NumCPU(), MaxWorkers), NumProviderWorkers: 1, NumKaetzchenWorkers: 3,
		SchedulerQueueSize: 10000, SchedulerMaxBurst: 16, UnwrapDelay: 250, ProviderDelay: 500,
		KaetzchenDelay: 750, SchedulerSlack: 150, SendSlack: 50, DecoySlack: 15000,
		ConnectTimeout: 60000, HandshakeTimeout: 30000, ReauthInterval: 30000,
	}
	if cfg.Debug != wantDebug {
		t.Errorf("Debug = %+v\nwant    %+v", cfg.Debug, wantDebug)
	}
	d := &cfg.Debug
	for _, c := range []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"UnwrapDelay", d.UnwrapDelayDuration(), 250 * time.Millisecond},
		{"ProviderDelay", d.ProviderDelayDuration(), 500 * time.Millisecond},
		{"KaetzchenDelay", d.KaetzchenDelayDuration(), 750 * time.Millisecond},
		{"SchedulerSlack", d.SchedulerSlackDuration(), 150 * time.Millisecond},
		{"SendSlack", d.SendSlackDuration(), 50 * time.Millisecond},
		{"DecoySlack", d.DecoySlackDuration(), 15 * time.Second},
		{"ConnectTimeout", d.ConnectTimeoutDuration(), time.Minute},
		{"HandshakeTimeout", d.HandshakeTimeoutDuration(), 30 * time.Second},
		{"ReauthInterval", d.ReauthIntervalDuration(), 30 * time.Second},
	} {
		if c.got != c.want {
			t.Errorf("%sDuration() = %v, want %v", c.name, c.got, c.want)
		}
	}
	wantPrivsep := Privsep{
		RuntimeDir:       "/var/lib/splitmix/run",
		KeyDir:           "/var/lib/splitmix/keyd",
		KeydSocket:       "/var/lib/splitmix/run/keyd.sock",
		SpooldSocket:     "/var/lib/splitmix/run/spoold.sock",
		PluginhostSocket: "/var/lib/splitmix/run/pluginhost.sock",
		EpochPeriod:      20 * time.Minute,
	}
	if cfg.Privsep != wantPrivsep {
		t.Errorf("Privsep = %+v\nwant      %+v", cfg.Privsep, wantPrivsep)
	}
	if got := cfg.AdvertiseAddresses(); len(got) != 1 || got[0] != (Address{Scheme: "tcp", Network: "tcp", Host: "127.0.0.1", Port: 29483, URL: "tcp://127.0.0.1:29483"}) {
		t.Errorf("AdvertiseAddresses = %+v", got)
	}
}

// TestFullProvider checks that every key of full-provider.toml, each set
// to a value other than its default, is read.
func TestFullProvider(t *testing.T) {
	cfg := loadTestdata(t, "full-provider.toml")
	if len(cfg.Warnings()) != 0 {
		t.Errorf("warnings: %q", cfg.Warnings())
	}
	var listen, advertise []string
	for _, a := range cfg.ListenAddresses() {
		listen = append(listen, a.Network+" "+a.HostPort())
	}
	for _, a := range cfg.AdvertiseAddresses() {
		advertise = append(advertise, a.URL)
	}
	if want := []string{"tcp 0.0.0.0:29483", "udp 0.0.0.0:29484"}; !slices.Equal(listen, want) {
		t.Errorf("ListenAddresses = %v, want %v", listen, want)
	}
	if want := []string{"tcp4://192.0.2.10:29483", "tcp6://[2001:db8::10]:29483", "http://192.0.2.10:29484"}; !slices.Equal(advertise, want) {
		t.Errorf("AdvertiseAddresses = %v, want %v", advertise, want)
	}
	wantKey, _ := keys.ParseIdentityPublicKey(specAuthorityKey)
	if cfg.PKI.Nonvoting != (Nonvoting{Address: "authority.example.net:2323", PublicKey: wantKey}) {
		t.Errorf("PKI = %+v", cfg.PKI)
	}
	if cfg.Logging != (Logging{File: "/var/lib/splitmix/log/splitmix.log", Level: LevelInfo}) {
		t.Errorf("Logging = %+v", cfg.Logging)
	}
	if cfg.Management != (Management{Path: "/run/splitmix/management.sock"}) {
		t.Errorf("Management = %+v", cfg.Management)
	}
	wantDebug := Debug{
		NumSphinxWorkers: 3, NumProviderWorkers: 2, NumKaetzchenWorkers: 4, SchedulerExternalMemoryQueue: true,
		SchedulerQueueSize: 20000, SchedulerMaxBurst: 32, UnwrapDelay: 200, ProviderDelay: 600,
		KaetzchenDelay: 800, SchedulerSlack: 100, SendSlack: 75, DecoySlack: 20000,
		ConnectTimeout: 10000, HandshakeTimeout: 5000, ReauthInterval: 15000, SendDecoyTraffic: true,
	}
	if cfg.Debug != wantDebug {
		t.Errorf("Debug = %+v\nwant    %+v", cfg.Debug, wantDebug)
	}
	p := cfg.Provider
	if !p.EnableEphemeralClients || !p.TrustOnFirstUse {
		t.Errorf("Provider flags = %+v", p)
	}
	if got := p.AltAddresses["tcp4"]; !slices.Equal(got, []string{"198.51.100.7:443"}) {
		t.Errorf("AltAddresses = %v", p.AltAddresses)
	}
	if len(p.Kaetzchen) != 2 || !p.Kaetzchen[1].Disable || p.Kaetzchen[0].Disable {
		t.Errorf("Kaetzchen = %+v", p.Kaetzchen)
	}
	if len(p.CBORPluginKaetzchen) != 1 {
		t.Fatalf("CBORPluginKaetzchen = %+v", p.CBORPluginKaetzchen)
	}
	plugin := p.CBORPluginKaetzchen[0]
	wantArgs := []string{"-f", "/etc/splitmix/currency_zec.toml", "-log_dir", "/var/log/splitmix/zec", "-retries", "3", "-verbose", "true"}
	if got := plugin.Args(); !slices.Equal(got, wantArgs) || plugin.MaxConcurrency != 4 || plugin.Command != "/usr/lib/splitmix/plugins/currency" {
		t.Errorf("plugin = %+v, Args = %q", plugin, got)
	}
	if p.UserDB.Backend != BackendBolt || p.UserDB.Bolt.UserDB != "/var/lib/splitmix/db/users.db" {
		t.Errorf("UserDB = %+v", p.UserDB)
	}
	if p.SpoolDB.Backend != BackendSQL || p.SQLDB.DataSourceName == "" {
		t.Errorf("SpoolDB = %+v SQLDB = %+v", p.SpoolDB, p.SQLDB)
	}
	wantPrivsep := Privsep{
		RuntimeDir: "/run/splitmix", KeyDir: "/var/lib/splitmix-keyd",
		KeydSocket: "/run/splitmix/keyd.socket", SpooldSocket: "/run/splitmix/spoold.socket",
		PluginhostSocket: "/run/splitmix/pluginhost.socket",
		MixdUser:         "splitmix-mixd", AdminGroup: "splitmix-admin", EpochPeriod: 5 * time.Minute,
	}
	if cfg.Privsep != wantPrivsep {
		t.Errorf("Privsep = %+v\nwant      %+v", cfg.Privsep, wantPrivsep)
	}
}
