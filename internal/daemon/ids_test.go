package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookupUID(t *testing.T) {
	own, err := LookupUID("")
	if err != nil || own != uint32(os.Getuid()) {
		t.Errorf(`LookupUID("") = %d, %v; want %d`, own, err, os.Getuid())
	}
	if id, err := LookupUID("root"); err != nil || id != 0 {
		t.Errorf(`LookupUID("root") = %d, %v`, id, err)
	}
	if id, err := LookupUID("1234"); err != nil || id != 1234 {
		t.Errorf(`LookupUID("1234") = %d, %v`, id, err)
	}
	for _, bad := range []string{"no-such-user-splitmix", "4294967295", "99999999999"} {
		if _, err := LookupUID(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("LookupUID(%q): %v, want an error naming it", bad, err)
		}
	}
}

func TestLookupGID(t *testing.T) {
	own, err := LookupGID("")
	if err != nil || own != uint32(os.Getgid()) {
		t.Errorf(`LookupGID("") = %d, %v; want %d`, own, err, os.Getgid())
	}
	if id, err := LookupGID("root"); err != nil || id != 0 {
		t.Errorf(`LookupGID("root") = %d, %v`, id, err)
	}
	if _, err := LookupGID("no-such-group-splitmix"); err == nil || !strings.Contains(err.Error(), "unknown group") {
		t.Errorf("unknown group: %v", err)
	}
}

func TestVisibleID(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	overflow := write("overflow", "65534\n")
	cases := []struct {
		name    string
		uidMap  string
		id, out uint32
	}{
		{"initial namespace", "         0          0 4294967295\n", 991, 991},
		// systemd PrivateUsers=yes for keyd (uid 990): root and itself are mapped, mixd is not.
		{"PrivateUsers, own uid", "0 0 1\n990 990 1\n", 990, 990},
		{"PrivateUsers, root", "0 0 1\n990 990 1\n", 0, 0},
		{"PrivateUsers, another user", "0 0 1\n990 990 1\n", 991, 65534},
		// a container whose /etc/passwd holds namespace ids
		{"container", "0 100000 65536\n", 1000, 1000},
		{"container, outside", "0 100000 65536\n", 70000, 65534},
	}
	for _, c := range cases {
		m := write("map", c.uidMap)
		if got := visibleID(c.id, m, overflow); got != c.out {
			t.Errorf("%s: visibleID(%d) = %d, want %d", c.name, c.id, got, c.out)
		}
	}
	if got := visibleID(991, filepath.Join(dir, "absent"), overflow); got != 991 {
		t.Errorf("without a map file: %d, want the id unchanged", got)
	}
}
