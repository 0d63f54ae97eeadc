package daemon

import (
	"strings"
	"testing"
)

// The command line and the id maps are not attacker-controlled, but a malformed one must still
// produce an error or a clean answer, never a panic.

func FuzzParseFlags(f *testing.F) {
	f.Add("-f\x00/etc/splitmix/splitmix.toml\x00-g", true)
	f.Add("-h", false)
	f.Add("-f=\x00--g=false\x00x", true)
	f.Fuzz(func(t *testing.T, joined string, allowGenerate bool) {
		args := strings.Split(joined, "\x00")
		fl, err := ParseFlags("keyd", args, allowGenerate)
		if err == nil && fl.ConfigPath == "" {
			t.Fatalf("%q: accepted with an empty config path", args)
		}
		if err == nil && fl.Generate && !allowGenerate {
			t.Fatalf("%q: -g accepted where it does not exist", args)
		}
		if err != nil && ExitCode(err) == 1 {
			t.Fatalf("%q: command-line error %v not reported as a usage error", args, err)
		}
	})
}

func FuzzIDMapped(f *testing.F) {
	f.Add(uint32(991), "0 0 1\n990 990 1\n")
	f.Add(uint32(0), "         0          0 4294967295\n")
	f.Add(uint32(1000), "0 100000 65536\n")
	f.Add(uint32(5), "4294967295 0 4294967295\n")
	f.Fuzz(func(t *testing.T, id uint32, m string) {
		if idMapped(id, []byte(m)) && m == "" {
			t.Fatal("an empty map maps nothing")
		}
	})
}
