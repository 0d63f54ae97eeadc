package daemon

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestParseFlagsDefaults(t *testing.T) {
	f, err := ParseFlags("keyd", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.ConfigPath != "katzenpost.toml" || f.Generate {
		t.Errorf("defaults %+v, want -f katzenpost.toml without -g", f)
	}
}

func TestParseFlagsValues(t *testing.T) {
	f, err := ParseFlags("keyd", []string{"-f", "/etc/splitmix/node.toml", "-g"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.ConfigPath != "/etc/splitmix/node.toml" || !f.Generate {
		t.Errorf("parsed %+v", f)
	}
	f, err = ParseFlags("mixd", []string{"-f=x.toml"}, false)
	if err != nil || f.ConfigPath != "x.toml" {
		t.Errorf("-f=x.toml: %+v, %v", f, err)
	}
}

func TestParseFlagsGenerateOnlyWhereAllowed(t *testing.T) {
	_, err := ParseFlags("mixd", []string{"-g"}, false)
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("-g for mixd: %v, want a UsageError", err)
	}
	if !strings.Contains(err.Error(), "-g") || strings.Contains(ue.Usage, "Generate") {
		t.Errorf("error %q / usage %q", err, ue.Usage)
	}
	if ExitCode(err) != 2 {
		t.Errorf("exit code %d, want 2", ExitCode(err))
	}
}

func TestParseFlagsHelp(t *testing.T) {
	_, err := ParseFlags("keyd", []string{"-h"}, true)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v, want flag.ErrHelp", err)
	}
	want := "Usage of keyd:\n" +
		"  -f string\n" +
		"    \tPath to the server config file. (default \"katzenpost.toml\")\n" +
		"  -g\tGenerate the keys and exit immediately.\n"
	if err.Error() != want {
		t.Errorf("usage:\n%q\nwant:\n%q", err.Error(), want)
	}
	if ExitCode(err) != 0 {
		t.Errorf("exit code %d for -h, want 0", ExitCode(err))
	}
}

func TestParseFlagsRejects(t *testing.T) {
	for _, args := range [][]string{
		{"-x"},
		{"extra"},
		{"-f"},
		{"-f", ""},
		{"-f", "a.toml", "b.toml"},
	} {
		_, err := ParseFlags("spoold", args, false)
		if err == nil || ExitCode(err) != 2 {
			t.Errorf("%q: %v (exit %d), want a usage error", args, err, ExitCode(err))
			continue
		}
		if !strings.Contains(err.Error(), "Usage of spoold:") {
			t.Errorf("%q: error lacks the usage text: %q", args, err)
		}
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != 0 || ExitCode(errors.New("config broken")) != 1 {
		t.Error("ExitCode(nil) must be 0 and of a plain error 1")
	}
}
