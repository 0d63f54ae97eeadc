package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustLoad(t *testing.T, file string) *Config {
	t.Helper()
	cfg, err := LoadBytes("test.toml", []byte(file))
	if err != nil {
		t.Fatalf("does not load:\n%v", err)
	}
	return cfg
}

func wantWarning(t *testing.T, cfg *Config, substr string) {
	t.Helper()
	if !hasWarning(cfg, substr) {
		t.Errorf("no warning containing %q; warnings: %q", substr, cfg.Warnings())
	}
}

func TestSchedulerQueueSizeUnlimited(t *testing.T) {
	for _, v := range []string{"0", "-1"} {
		cfg := mustLoad(t, base+"[Debug]\n  SchedulerQueueSize = "+v+"\n")
		if cfg.Debug.SchedulerQueueSize != UnlimitedSchedulerQueueSize {
			t.Errorf("SchedulerQueueSize = %s gave %d, want %d", v, cfg.Debug.SchedulerQueueSize, UnlimitedSchedulerQueueSize)
		}
		wantWarning(t, cfg, "test.toml: Debug.SchedulerQueueSize: "+v+" means unlimited in the spec; the queue is bounded at 1000000 packets")
	}
	cfg := mustLoad(t, base+"[Debug]\n  SchedulerQueueSize = 5\n")
	if cfg.Debug.SchedulerQueueSize != 5 || len(cfg.Warnings()) != 0 {
		t.Errorf("SchedulerQueueSize = 5 gave %d, warnings %q", cfg.Debug.SchedulerQueueSize, cfg.Warnings())
	}
}

func TestZeroTakesDefault(t *testing.T) {
	cfg := mustLoad(t, base+"[Debug]\n  NumProviderWorkers = 0\n  UnwrapDelay = 0\n  SchedulerMaxBurst = 0\n")
	if cfg.Debug.NumProviderWorkers != DefaultNumProviderWorkers || cfg.Debug.UnwrapDelay != DefaultUnwrapDelay || cfg.Debug.SchedulerMaxBurst != DefaultSchedulerMaxBurst {
		t.Errorf("Debug = %+v", cfg.Debug)
	}
}

func TestSlackMinimums(t *testing.T) {
	cfg := mustLoad(t, base+"[Debug]\n  SchedulerSlack = 1\n  SendSlack = 20\n")
	if cfg.Debug.SchedulerSlack != MinSchedulerSlack || cfg.Debug.SendSlack != MinSendSlack {
		t.Errorf("SchedulerSlack %d SendSlack %d", cfg.Debug.SchedulerSlack, cfg.Debug.SendSlack)
	}
	wantWarning(t, cfg, "Debug.SchedulerSlack: 1 ms raised to the minimum 10 ms")
	wantWarning(t, cfg, "Debug.SendSlack: 20 ms raised to the minimum 50 ms")
}

func TestManagementEnableDisable(t *testing.T) {
	for _, c := range []struct {
		section string
		disable bool
	}{
		{"", false},
		{"Enable = true", false},
		{"Enable = false", true},
		{"Disable = true", true},
		{"Disable = false", false},
		{"Enable = false\n  Disable = true", true},
		{"Enable = true\n  Disable = false", false},
	} {
		cfg := mustLoad(t, base+"[Management]\n  "+c.section+"\n")
		if cfg.Management.Disable != c.disable || cfg.Management.Enabled() == c.disable {
			t.Errorf("%q: Disable = %t, want %t", c.section, cfg.Management.Disable, c.disable)
		}
	}
	// A disabled socket's path is not checked against the others.
	cfg := mustLoad(t, base+"[Management]\n  Disable = true\n  Path = \"run/keyd.sock\"\n")
	if cfg.Management.Path != "/var/lib/splitmix/run/keyd.sock" {
		t.Errorf("Path = %q", cfg.Management.Path)
	}
}

func TestLoggingLevelAndAlias(t *testing.T) {
	cfg := mustLoad(t, base+"[Logging]\n  Level = \"warning\"\n  File = \"/var/log/x.log\"\n")
	if cfg.Logging.Level != LevelWarning || cfg.Logging.File != "/var/log/x.log" || len(cfg.Warnings()) != 0 {
		t.Errorf("Logging = %+v, warnings %q", cfg.Logging, cfg.Warnings())
	}
	cfg = mustLoad(t, base+"[Logging]\n  Debug = \"info\"\n")
	if cfg.Logging.Level != LevelInfo {
		t.Errorf("Level via the Debug alias = %q", cfg.Logging.Level)
	}
	wantWarning(t, cfg, "test.toml: Logging.Debug: taken as Logging.Level")
	cfg = mustLoad(t, base+"[Logging]\n  Debug = \"INFO\"\n  Level = \"info\"\n")
	if cfg.Logging.Level != LevelInfo {
		t.Errorf("Level with agreeing alias = %q", cfg.Logging.Level)
	}
	// DEBUG with logging disabled is not a risk.
	cfg = mustLoad(t, base+"[Logging]\n  Level = \"DEBUG\"\n  Disable = true\n")
	if hasWarning(cfg, "unsafe") {
		t.Errorf("DEBUG warning with logging disabled: %q", cfg.Warnings())
	}
}

func TestIgnoredSettingsWarn(t *testing.T) {
	cfg := mustLoad(t, provider+`[Provider.UserDB]
  Backend = "sql"
  [Provider.UserDB.Bolt]
    UserDB = "u.db"
  [Provider.UserDB.ExternUserDB]
    ProviderURL = "https://auth.example/"
[Provider.SQLDB]
  DataSourceName = "host=/run/postgresql dbname=k"
`)
	wantWarning(t, cfg, `Provider.UserDB.Bolt.UserDB: ignored: Provider.UserDB.Backend is "sql"`)
	wantWarning(t, cfg, `Provider.UserDB.ExternUserDB.ProviderURL: ignored: Provider.UserDB.Backend is "sql"`)
	if cfg.Provider.SQLDB.Backend != SQLBackendPGX {
		t.Errorf("SQLDB.Backend default = %q", cfg.Provider.SQLDB.Backend)
	}
	cfg = mustLoad(t, provider+"[Provider.SQLDB]\n  DataSourceName = \"x\"\n")
	wantWarning(t, cfg, `Provider.SQLDB: ignored: neither Provider.UserDB.Backend nor Provider.SpoolDB.Backend is "sql"`)
	cfg = mustLoad(t, provider+"[Provider.UserDB.ExternUserDB]\n  ProviderURL = \"http://auth.example.net/\"\n")
	wantWarning(t, cfg, "Provider.UserDB.ExternUserDB.ProviderURL: user checks go over plain http to a non-local host")
	cfg = mustLoad(t, base+"[Debug]\n  DisableRateLimit = true\n")
	wantWarning(t, cfg, "Debug.DisableRateLimit: the per-client rate limiter is off")
}

func TestProviderSectionOptional(t *testing.T) {
	cfg := mustLoad(t, provider)
	p := cfg.Provider
	if p == nil || p.UserDB.Backend != BackendBolt || p.UserDB.Bolt.UserDB != "/var/lib/splitmix/users.db" ||
		p.SpoolDB.Bolt.SpoolDB != "/var/lib/splitmix/spool.db" || p.SQLDB.Backend != SQLBackendPGX {
		t.Errorf("Provider = %+v", p)
	}
	// Absolute bolt paths are kept.
	cfg = mustLoad(t, provider+"[Provider.SpoolDB.Bolt]\n  SpoolDB = \"/srv/spool//s.db\"\n")
	if cfg.Provider.SpoolDB.Bolt.SpoolDB != "/srv/spool/s.db" {
		t.Errorf("SpoolDB = %q", cfg.Provider.SpoolDB.Bolt.SpoolDB)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "katzenpost.toml")
	secret := base + "[Debug]\n  IdentityKey = \"" + strings.Repeat("00", 32) + "\"\n"
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File() != path || cfg.Debug.IdentityKey != strings.Repeat("00", 32) {
		t.Errorf("File %q IdentityKey %q", cfg.File(), cfg.Debug.IdentityKey)
	}
	wantWarning(t, cfg, "Debug.IdentityKey: an identity private key is set in the configuration file")
	if hasWarning(cfg, "readable by group or others") {
		t.Errorf("mode warning for a 0600 file: %q", cfg.Warnings())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	wantWarning(t, cfg, path+": Debug.IdentityKey: the file holds a private key but is readable by group or others (mode 0644)")

	// Errors name the file as given.
	if err := os.WriteFile(path, []byte(edit(`"/var/lib/splitmix"`, `"rel"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+": Server.DataDir:") {
		t.Errorf("Load error = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestDSNHasPassword(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgresql://provider:s3cr3t@127.0.0.1/k": true,
		"postgresql://provider@127.0.0.1/k":        false,
		"host=/run/postgresql password=x":          true,
		"host=/run/postgresql dbname=k":            false,
		"":                                         false,
	} {
		if got := dsnHasPassword(dsn); got != want {
			t.Errorf("dsnHasPassword(%q) = %t", dsn, got)
		}
	}
}
