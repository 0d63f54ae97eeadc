package config

import (
	"errors"
	"strings"
	"testing"
)

// base is a valid mix; cases edit it or append sections to it.
const base = `[Server]
  Identifier = "mix.example.net"
  Addresses = ["tcp://192.0.2.1:29483"]
  DataDir = "/var/lib/splitmix"
[PKI.Nonvoting]
  Address = "192.0.2.2:2323"
  PublicKey = "kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="
`

// provider is base turned into a Provider.
var provider = strings.Replace(base, `DataDir = "/var/lib/splitmix"`, "DataDir = \"/var/lib/splitmix\"\n  IsProvider = true", 1)

func edit(old, new string) string { return strings.Replace(base, old, new, 1) }

// errorCase is a file that must be rejected with every one of want in the
// error text.
type errorCase struct {
	name string
	file string
	want []string
}

func runErrorCases(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := LoadBytes("test.toml", []byte(c.file))
			if err == nil {
				t.Fatalf("loaded, want an error containing %q; config %+v", c.want, cfg)
			}
			if cfg != nil {
				t.Error("non-nil Config returned with an error")
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "test.toml" || len(ce.Problems) == 0 {
				t.Errorf("error %T %v is not a *Error for test.toml with problems", err, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	file := edit(`Identifier =`, `Identifer =`) + `
[Debug]
  NumSphinxWorker = 3
  Unrelated = 1
[Frobnicate]
  a = 1
  [Frobnicate.b]
    c = 2
[Management]
  Pth = "x"
`
	runErrorCases(t, []errorCase{{"all", file, []string{
		"test.toml: Server.Identifer: unknown key (did you mean Identifier?)",
		"test.toml: Debug.NumSphinxWorker: unknown key (did you mean NumSphinxWorkers?)",
		"test.toml: Debug.Unrelated: unknown key\n",
		"test.toml: Frobnicate: unknown section\n",
		"test.toml: Management.Pth: unknown key (did you mean Path?)",
		// The misspelling also leaves Identifier unset.
		"test.toml: Server.Identifier: missing",
	}}})
	// Keys inside an unknown section are not repeated.
	_, err := LoadBytes("test.toml", []byte(file))
	if strings.Contains(err.Error(), "Frobnicate.a") || strings.Contains(err.Error(), "Frobnicate.b") {
		t.Errorf("keys inside an unknown section reported:\n%v", err)
	}
	// A misspelt key in an array of tables is found too.
	runErrorCases(t, []errorCase{{"array of tables", provider + `
[[Provider.Kaetzchen]]
  Capabilty = "echo"
  Endpoint = "+echo"
`, []string{"Provider.Kaetzchen.Capabilty: unknown key (did you mean Capability?)"}}})
}

func TestTypeErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"string wanted", edit(`Identifier = "mix.example.net"`, `Identifier = 5`),
			[]string{"test.toml:2: Server.Identifier: wrong type: the value is an integer, want a string"}},
		{"array wanted", edit(`Addresses = ["tcp://192.0.2.1:29483"]`, `Addresses = "tcp://192.0.2.1:29483"`),
			[]string{"test.toml:3: Server.Addresses: wrong type: the value is a string, want an array"}},
		{"integer wanted", base + "[Debug]\n  NumSphinxWorkers = \"4\"\n",
			[]string{"test.toml:9: Debug.NumSphinxWorkers: wrong type: the value is a string, want an integer"}},
		{"boolean wanted", edit(`DataDir = "/var/lib/splitmix"`, "DataDir = \"/var/lib/splitmix\"\n  IsProvider = \"yes\""),
			[]string{"test.toml:5: Server.IsProvider: wrong type: the value is a string, want a boolean"}},
		{"table wanted", "Server = 3\n", []string{"test.toml:1: Server: wrong type: the value is an integer, want a table"}},
		{"in array of tables", provider + "[[Provider.Kaetzchen]]\n  Capability = 1\n",
			[]string{"Provider.Kaetzchen.Capability: wrong type: the value is an integer, want a string"}},
	})
}

func TestSyntaxErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"unterminated string", edit(`"mix.example.net"`, `"mix.example.net`), []string{"test.toml:2:", "syntax error:"}},
		{"duplicate key", base + "[Server]\n", []string{"test.toml:8:2: syntax error: Key 'Server' has already been defined"}},
		{"bad value", edit(`DataDir = "/var/lib/splitmix"`, `DataDir = /var`), []string{"test.toml:4:13: syntax error:"}},
	})
}

func TestServerErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"no Server", "[PKI" + strings.SplitN(base, "[PKI", 2)[1],
			[]string{"test.toml: Server: missing section"}},
		{"relative DataDir", edit(`"/var/lib/splitmix"`, `"var/lib"`), []string{`test.toml: Server.DataDir: "var/lib" is not an absolute path`}},
		{"missing DataDir", edit(`DataDir = "/var/lib/splitmix"`, ``), []string{`test.toml: Server.DataDir: missing`}},
		{"missing Identifier", edit(`Identifier = "mix.example.net"`, ``), []string{"test.toml: Server.Identifier: missing"}},
		{"Identifier with space", edit(`"mix.example.net"`, `"mix example"`), []string{"Server.Identifier: \"mix example\" contains white space"}},
		{"missing Addresses", edit(`Addresses = ["tcp://192.0.2.1:29483"]`, ``), []string{"test.toml: Server.Addresses: missing"}},
		{"empty Addresses", edit(`["tcp://192.0.2.1:29483"]`, `[]`), []string{"test.toml: Server.Addresses: missing"}},
		{"bad address", edit(`["tcp://192.0.2.1:29483"]`, `["udp://192.0.2.1:1", "tcp://192.0.2.1"]`), []string{
			`test.toml: Server.Addresses[0]: address "udp://192.0.2.1:1": unknown scheme "udp"`,
			`test.toml: Server.Addresses[1]: address "tcp://192.0.2.1": missing port`,
		}},
		{"duplicate address", edit(`["tcp://192.0.2.1:29483"]`, `["tcp://192.0.2.1:29483", "TCP://192.0.2.1:29483"]`),
			[]string{`Server.Addresses[1]: "TCP://192.0.2.1:29483" repeats Server.Addresses[0]`}},
		{"bad bind address", edit(`DataDir =`, "BindAddresses = [\"tcp://0.0.0.0:0\"]\n  DataDir ="),
			[]string{`Server.BindAddresses[0]: address "tcp://0.0.0.0:0": port "0" is not in 1..65535`}},
		{"Provider on a mix", base + "[Provider]\n", []string{"test.toml: Provider: section present but Server.IsProvider is false"}},
	})
}

func TestPKIErrors(t *testing.T) {
	noPKI := strings.SplitN(base, "[PKI", 2)[0]
	runErrorCases(t, []errorCase{
		{"missing PKI", noPKI, []string{"test.toml: PKI: missing section"}},
		{"missing Nonvoting", noPKI + "[PKI]\n", []string{"test.toml: PKI.Nonvoting: missing section"}},
		{"key not base64 or hex", edit(`"kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="`, `"not a key!"`),
			[]string{"test.toml: PKI.Nonvoting.PublicKey: key is neither hex nor base64"}},
		{"key of 31 bytes", edit(`"kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="`, `"kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBeg=="`),
			[]string{"test.toml: PKI.Nonvoting.PublicKey: key is neither hex nor base64 of the right length: base64 of 31 bytes, want 32"}},
		{"missing key", edit(`PublicKey = "kAiVchOBwHVtKJVFJLsdCQ9UyN2SlfhLHYqT8ePBetg="`, ``), []string{"PKI.Nonvoting.PublicKey: missing"}},
		{"address not host:port", edit(`"192.0.2.2:2323"`, `"192.0.2.2"`), []string{`test.toml: PKI.Nonvoting.Address: "192.0.2.2" is not host:port`}},
		{"address with bad port", edit(`"192.0.2.2:2323"`, `"192.0.2.2:99999"`), []string{`PKI.Nonvoting.Address: "192.0.2.2:99999": port "99999" is not in 1..65535`}},
		{"address as URL", edit(`"192.0.2.2:2323"`, `"tcp://192.0.2.2:2323"`), []string{`PKI.Nonvoting.Address: "tcp://192.0.2.2:2323"`}},
	})
}

func TestLoggingErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"unknown level", base + "[Logging]\n  Level = \"VERBOSE\"\n",
			[]string{`test.toml: Logging.Level: unknown log level "VERBOSE" (want one of ERROR, WARNING, NOTICE, INFO, DEBUG)`}},
		{"Debug alias conflicts with Level", base + "[Logging]\n  Level = \"INFO\"\n  Debug = \"ERROR\"\n",
			[]string{"test.toml: Logging.Debug: conflicts with Logging.Level"}},
		{"unknown level via alias", base + "[Logging]\n  Debug = \"LOUD\"\n", []string{`test.toml: Logging.Debug: unknown log level "LOUD"`}},
	})
}

func TestManagementErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"Enable conflicts with Disable", base + "[Management]\n  Enable = true\n  Disable = true\n",
			[]string{"test.toml: Management.Enable: conflicts with Management.Disable"}},
	})
}

func TestDebugErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"negative workers", base + "[Debug]\n  NumSphinxWorkers = -1\n  NumProviderWorkers = -2\n  NumKaetzchenWorkers = -3\n", []string{
			"test.toml: Debug.NumSphinxWorkers: -1 is negative",
			"test.toml: Debug.NumProviderWorkers: -2 is negative",
			"test.toml: Debug.NumKaetzchenWorkers: -3 is negative",
		}},
		{"too many workers", base + "[Debug]\n  NumSphinxWorkers = 100000\n", []string{"Debug.NumSphinxWorkers: 100000 is larger than the maximum 1024"}},
		{"negative delay", base + "[Debug]\n  UnwrapDelay = -5\n", []string{"test.toml: Debug.UnwrapDelay: -5 is negative"}},
		{"huge delay", base + "[Debug]\n  ConnectTimeout = 9223372036854775807\n", []string{"Debug.ConnectTimeout: 9223372036854775807 ms is larger than the maximum 86400000 ms"}},
		{"queue too large", base + "[Debug]\n  SchedulerQueueSize = 1000001\n", []string{"Debug.SchedulerQueueSize: 1000001 is larger than the maximum 1000000"}},
	})
}

func TestProviderErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"Kaetzchen without Capability and Endpoint", provider + "[[Provider.Kaetzchen]]\n  Disable = false\n", []string{
			"test.toml: Provider.Kaetzchen[0].Capability: missing",
			"test.toml: Provider.Kaetzchen[0].Endpoint: missing",
		}},
		{"plugin without Capability and Endpoint", provider + "[[Provider.CBORPluginKaetzchen]]\n  Command = \"/bin/true\"\n", []string{
			"test.toml: Provider.CBORPluginKaetzchen[0].Capability: missing",
			"test.toml: Provider.CBORPluginKaetzchen[0].Endpoint: missing",
		}},
		{"duplicate capability and endpoint", provider + `
[[Provider.Kaetzchen]]
  Capability = "echo"
  Endpoint = "+echo"
[[Provider.CBORPluginKaetzchen]]
  Capability = "echo"
  Endpoint = "+echo"
  Command = "/bin/echo-plugin"
`, []string{
			`test.toml: Provider.CBORPluginKaetzchen[0].Capability: "echo" is also the capability of Provider.Kaetzchen[0]`,
			`test.toml: Provider.CBORPluginKaetzchen[0].Endpoint: "+echo" is also the endpoint of Provider.Kaetzchen[0]`,
		}},
		{"endpoint not lower-case", provider + "[[Provider.Kaetzchen]]\n  Capability = \"echo\"\n  Endpoint = \"+Echo\"\n",
			[]string{`test.toml: Provider.Kaetzchen[0].Endpoint: "+Echo" is not lower-case`}},
		{"endpoint not a local-part", provider + "[[Provider.Kaetzchen]]\n  Capability = \"echo\"\n  Endpoint = \"echo@example.com\"\n",
			[]string{`Provider.Kaetzchen[0].Endpoint: "echo@example.com" is not a lower-case e-mail local-part: "@" is not allowed`}},
		{"endpoint with leading dot", provider + "[[Provider.Kaetzchen]]\n  Capability = \"echo\"\n  Endpoint = \".echo\"\n",
			[]string{`Provider.Kaetzchen[0].Endpoint: ".echo" is not an e-mail local-part`}},
		{"endpoint too long", provider + "[[Provider.Kaetzchen]]\n  Capability = \"echo\"\n  Endpoint = \"+" + strings.Repeat("e", 32) + "\"\n",
			[]string{"is longer than 32 bytes"}},
		{"unknown built-in", provider + "[[Provider.Kaetzchen]]\n  Capability = \"zec\"\n  Endpoint = \"+zec\"\n",
			[]string{`test.toml: Provider.Kaetzchen[0].Capability: "zec" is not a built-in service (echo, keyserver)`}},
		{"plugin command", provider + `
[[Provider.CBORPluginKaetzchen]]
  Capability = "a"
  Endpoint = "+a"
[[Provider.CBORPluginKaetzchen]]
  Capability = "b"
  Endpoint = "+b"
  Command = "bin/plugin"
  MaxConcurrency = -1
`, []string{
			"test.toml: Provider.CBORPluginKaetzchen[0].Command: missing",
			`test.toml: Provider.CBORPluginKaetzchen[1].Command: "bin/plugin" is not an absolute path`,
			"test.toml: Provider.CBORPluginKaetzchen[1].MaxConcurrency: -1 is negative",
		}},
		{"plugin config values", provider + `
[[Provider.CBORPluginKaetzchen]]
  Capability = "a"
  Endpoint = "+a"
  Command = "/bin/plugin"
  [Provider.CBORPluginKaetzchen.Config]
    list = [1, 2]
    "-e" = "x"
    "when" = 1979-05-27
    [Provider.CBORPluginKaetzchen.Config.sub]
      deep = 1
`, []string{
			"test.toml: Provider.CBORPluginKaetzchen[0].Config.list: an array cannot be passed as -list value",
			"test.toml: Provider.CBORPluginKaetzchen[0].Config.sub: a table cannot be passed as -sub value",
			`test.toml: Provider.CBORPluginKaetzchen[0].Config.-e: "-e" is not a valid argument name`,
			"test.toml: Provider.CBORPluginKaetzchen[0].Config.when: a datetime cannot be passed as -when value",
		}},
		{"alt addresses", provider + "[Provider.AltAddresses]\n  smtp = [\"a:1\"]\n  tcp = [\"nohost\"]\n", []string{
			`test.toml: Provider.AltAddresses.smtp: unknown transport "smtp"`,
			`test.toml: Provider.AltAddresses.tcp[0]: "nohost" is not host:port`,
		}},
	})
}

func TestStrayPluginConfigErrors(t *testing.T) {
	plugin := func(c, cfg string) string {
		return "[[Provider.CBORPluginKaetzchen]]\n  Capability = \"" + c + "\"\n  Endpoint = \"+" + c + "\"\n  Command = \"/bin/p\"\n" + cfg
	}
	stray := "[Provider.PluginKaetzchen.Config]\n  x = \"1\"\n"
	ownConfig := "  [Provider.CBORPluginKaetzchen.Config]\n    y = \"2\"\n"
	runErrorCases(t, []errorCase{
		{"two plugins without Config", provider + plugin("a", "") + plugin("b", "") + stray,
			[]string{"test.toml: Provider.PluginKaetzchen.Config: ambiguous: 2 [[Provider.CBORPluginKaetzchen]] entries ([0], [1]) have no Config"}},
		{"every plugin has a Config", provider + plugin("a", ownConfig) + stray,
			[]string{"test.toml: Provider.PluginKaetzchen.Config: ambiguous: every [[Provider.CBORPluginKaetzchen]] entry has its own Config"}},
		{"no plugin", provider + stray,
			[]string{"test.toml: Provider.PluginKaetzchen.Config: there is no [[Provider.CBORPluginKaetzchen]] entry"}},
		{"section without Config", provider + "[Provider.PluginKaetzchen]\n",
			[]string{"test.toml: Provider.PluginKaetzchen: not a section of its own"}},
	})
	// One plugin with and one without: the stray table is the latter's.
	cfg, err := LoadBytes("test.toml", []byte(provider+plugin("a", ownConfig)+plugin("b", "")+stray))
	if err != nil {
		t.Fatal(err)
	}
	ps := cfg.Provider.CBORPluginKaetzchen
	if ps[0].Config["y"] != "2" || ps[1].Config["x"] != "1" || len(ps[0].Config) != 1 || len(ps[1].Config) != 1 {
		t.Errorf("configs = %v, %v", ps[0].Config, ps[1].Config)
	}
}

func TestDatabaseErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"unknown UserDB backend", provider + "[Provider.UserDB]\n  Backend = \"mysql\"\n",
			[]string{`test.toml: Provider.UserDB.Backend: unknown backend "mysql" (want "bolt", "extern" or "sql")`}},
		{"unknown SpoolDB backend", provider + "[Provider.SpoolDB]\n  Backend = \"mysql\"\n",
			[]string{`test.toml: Provider.SpoolDB.Backend: unknown backend "mysql" (want "bolt" or "sql")`}},
		{"extern SpoolDB", provider + "[Provider.SpoolDB]\n  Backend = \"extern\"\n",
			[]string{`test.toml: Provider.SpoolDB.Backend: unknown backend "extern" (want "bolt" or "sql"; "extern" exists only for Provider.UserDB)`}},
		{"sql without DataSourceName", provider + "[Provider.UserDB]\n  Backend = \"sql\"\n[Provider.SpoolDB]\n  Backend = \"sql\"\n",
			[]string{`test.toml: Provider.SQLDB.DataSourceName: missing: required by Provider.UserDB.Backend and Provider.SpoolDB.Backend = "sql"`}},
		{"SQL driver not pgx", provider + "[Provider.SQLDB]\n  Backend = \"sqlite\"\n  DataSourceName = \"x\"\n[Provider.SpoolDB]\n  Backend = \"sql\"\n",
			[]string{`test.toml: Provider.SQLDB.Backend: unknown SQL driver "sqlite" (want "pgx", PostgreSQL)`}},
		{"extern without URL", provider + "[Provider.UserDB]\n  Backend = \"extern\"\n",
			[]string{"test.toml: Provider.UserDB.ExternUserDB.ProviderURL: missing"}},
		{"extern URL scheme", provider + "[Provider.UserDB.ExternUserDB]\n  ProviderURL = \"ftp://auth.example/\"\n",
			[]string{`Provider.UserDB.ExternUserDB.ProviderURL: "ftp://auth.example/": want an http:// or https:// URL`}},
	})
}

func TestPrivsepErrors(t *testing.T) {
	long := "/" + strings.Repeat("d", 100)
	runErrorCases(t, []errorCase{
		{"socket path too long", base + "[Privsep]\n  RuntimeDir = \"" + long + "\"\n",
			[]string{`test.toml: Privsep.KeydSocket: socket path "` + long + `/keyd.sock" is 111 bytes, longer than the 107 a UNIX socket allows`}},
		{"management socket too long", base + "[Management]\n  Path = \"" + long + "/management\"\n",
			[]string{"test.toml: Management.Path: socket path", "is 112 bytes"}},
		{"sockets share a path", base + "[Privsep]\n  SpooldSocket = \"run/keyd.sock\"\n",
			[]string{`test.toml: Privsep.SpooldSocket: socket path "/var/lib/splitmix/run/keyd.sock" is also Privsep.KeydSocket`}},
		{"EpochPeriod not a duration", base + "[Privsep]\n  EpochPeriod = \"twenty minutes\"\n",
			[]string{`test.toml:9: Privsep.EpochPeriod: "twenty minutes" is not a duration`}},
		{"EpochPeriod bare number", base + "[Privsep]\n  EpochPeriod = 1200\n",
			[]string{`Privsep.EpochPeriod: "1200" is not a duration: want a string such as "20m" or "5s"`}},
		{"EpochPeriod zero", base + "[Privsep]\n  EpochPeriod = \"0s\"\n", []string{"Privsep.EpochPeriod: 0s is shorter than the minimum 1s"}},
		{"EpochPeriod negative", base + "[Privsep]\n  EpochPeriod = \"-5m\"\n", []string{"Privsep.EpochPeriod: -5m0s is shorter than the minimum 1s"}},
		{"EpochPeriod fractional", base + "[Privsep]\n  EpochPeriod = \"1500ms\"\n", []string{"Privsep.EpochPeriod: 1.5s is not a whole number of seconds"}},
		{"EpochPeriod huge", base + "[Privsep]\n  EpochPeriod = \"10000h\"\n", []string{"Privsep.EpochPeriod: 10000h0m0s is longer than the maximum"}},
		{"EpochPeriod table", base + "[Privsep.EpochPeriod]\n  m = 20\n", []string{"Privsep.EpochPeriod: wrong type: the value is a table, want a string"}},
		{"KeyDir is DataDir", base + "[Privsep]\n  KeyDir = \"/var/lib/splitmix/\"\n", []string{`test.toml: Privsep.KeyDir: "/var/lib/splitmix" is Server.DataDir`}},
		{"KeyDir is RuntimeDir", base + "[Privsep]\n  KeyDir = \"run\"\n", []string{`Privsep.KeyDir: "/var/lib/splitmix/run" is Privsep.RuntimeDir`}},
		{"bad MixdUser", base + "[Privsep]\n  MixdUser = \"mix d\"\n", []string{`test.toml: Privsep.MixdUser: "mix d" is neither a user name nor a numeric uid`}},
		{"bad AdminGroup", base + "[Privsep]\n  AdminGroup = \"-x\"\n", []string{`test.toml: Privsep.AdminGroup: "-x" is neither a group name nor a numeric gid`}},
	})
}

func TestFileTooLarge(t *testing.T) {
	runErrorCases(t, []errorCase{{"large", base + "#" + strings.Repeat("x", MaxFileSize), []string{"test.toml: file is larger than"}}})
}

// TestErrorProblems checks the structured form of an error.
func TestErrorProblems(t *testing.T) {
	_, err := LoadBytes("k.toml", []byte(edit(`"/var/lib/splitmix"`, `"var/lib"`)+"[Debug]\n  SendSlack = -1\n"))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("%T is not *Error", err)
	}
	keys := []string{}
	for _, p := range ce.Problems {
		keys = append(keys, p.Key)
	}
	if len(keys) != 2 || keys[0] != "Server.DataDir" || keys[1] != "Debug.SendSlack" {
		t.Errorf("problem keys = %q", keys)
	}
	want := "k.toml: Server.DataDir: \"var/lib\" is not an absolute path\nk.toml: Debug.SendSlack: -1 is negative"
	if err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err, want)
	}
}
