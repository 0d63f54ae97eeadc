package authority

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
)

func TestKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := LoadKeys(dir); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("LoadKeys without keys: %v", err)
	}
	k, err := GenerateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %v, %v", fi.Mode(), err)
	}
	for _, name := range []string{identityKeyFile, linkKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v", name, fi.Mode(), err)
		}
	}
	if _, err := GenerateKeys(dir); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second GenerateKeys: %v", err)
	}
	l, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !l.IdentityPublic.Equal(k.IdentityPublic) || !l.Link.Public().Equal(k.Link.Public()) {
		t.Fatal("loaded keys differ from the generated ones")
	}
	var out strings.Builder
	if err := k.PrintPublicKeys(&out); err != nil {
		t.Fatal(err)
	}
	if got := printedKey(t, out.String()); !got.Equal(k.IdentityPublic) {
		t.Fatal("printed key differs")
	}
	// Loose permissions are refused.
	if err := os.Chmod(filepath.Join(dir, linkKeyFile), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeys(dir); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("group-readable key file: %v", err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeys(dir); err == nil || !strings.Contains(err.Error(), "0700") {
		t.Fatalf("group-accessible key dir: %v", err)
	}
}

// printedKey finds the PublicKey = "..." line -g prints and parses it as
// a node's configuration would.
func printedKey(t testing.TB, out string) keys.IdentityPublicKey {
	t.Helper()
	for line := range strings.SplitSeq(out, "\n") {
		if v, ok := strings.CutPrefix(line, "PublicKey = "); ok {
			k, err := keys.ParseIdentityPublicKey(strings.Trim(v, `"`))
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
	}
	t.Fatalf("no PublicKey line in %q", out)
	return keys.IdentityPublicKey{}
}
