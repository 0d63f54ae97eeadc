package keystore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keyd/oracletest"
	"github.com/splitmix/splitmix/internal/keys"
)

// testClock is a clock whose time the test moves.
type testClock struct{ now atomic.Int64 }

func newTestClock(period time.Duration) (*testClock, epochtime.Clock) {
	tc := &testClock{}
	tc.now.Store(epochtime.Genesis.Add(1000*period + period/2).UnixNano())
	return tc, epochtime.Clock{Period: period, Now: func() time.Time { return time.Unix(0, tc.now.Load()) }}
}

func (c *testClock) advance(d time.Duration) { c.now.Add(int64(d)) }

func testOptions(t *testing.T) (Options, *testClock) {
	t.Helper()
	tc, clock := newTestClock(time.Hour)
	return Options{Dir: filepath.Join(t.TempDir(), "keyd"), Identifier: "mix1.example", Clock: clock}, tc
}

func mustOpen(t *testing.T, o Options) *Store {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	for _, provider := range []bool{false, true} {
		o, _ := testOptions(t)
		o.IsProvider = provider
		if _, err := Generate(o); err != nil {
			t.Fatal(err)
		}
		s := mustOpen(t, o)
		name := "mix"
		if provider {
			name = "provider"
		}
		t.Run(name, func(t *testing.T) {
			oracletest.Run(t, oracletest.Harness{Oracle: s, Identifier: o.Identifier, Provider: provider, Clock: o.Clock})
		})
	}
}

func TestGenerateFilesAndModes(t *testing.T) {
	o, _ := testOptions(t)
	pk, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode %04o, want 0700", fi.Mode().Perm())
	}
	for name, size := range map[string]int64{identityFile: 32, linkFile: 96} {
		fi, err := os.Stat(filepath.Join(o.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 || fi.Size() != size {
			t.Errorf("%s: mode %04o size %d, want 0600 %d", name, fi.Mode().Perm(), fi.Size(), size)
		}
	}
	entries, _ := os.ReadDir(o.Dir)
	if len(entries) != 2 {
		t.Errorf("key dir holds %d entries, want 2 (no temporary files left)", len(entries))
	}
	s := mustOpen(t, o)
	got, _ := s.PublicKeys(context.Background())
	if !got.Identity.Equal(pk.Identity) || !got.Link.Equal(&pk.Link) {
		t.Fatal("opened keys differ from generated ones")
	}
	seed, _ := os.ReadFile(filepath.Join(o.Dir, identityFile))
	if !bytes.Equal(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), pk.Identity[:]) {
		t.Fatal("identity.key is not the seed of the reported identity key")
	}
}

func TestGenerateRefusesOverwrite(t *testing.T) {
	o, _ := testOptions(t)
	if _, err := Generate(o); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, o.Dir)
	_, err := Generate(o)
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second Generate: %v", err)
	}
	if after := snapshot(t, o.Dir); after != before {
		t.Fatal("refused Generate changed the key directory")
	}
	// Only one of the two present: still refused, nothing written.
	if err := os.Remove(filepath.Join(o.Dir, identityFile)); err != nil {
		t.Fatal(err)
	}
	before = snapshot(t, o.Dir)
	if _, err := Generate(o); err == nil {
		t.Fatal("Generate with link.key present succeeded")
	}
	if after := snapshot(t, o.Dir); after != before {
		t.Fatal("refused Generate changed the key directory")
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b.WriteString(e.Name() + "=" + hex.EncodeToString(data) + "\n")
	}
	return b.String()
}

func TestOpenErrors(t *testing.T) {
	o, _ := testOptions(t)
	if _, err := Open(o); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("Open of missing dir: %v, want ErrNoKeys", err)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(o); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("Open of empty dir: %v, want ErrNoKeys", err)
	}
	if _, err := Generate(o); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(o.Dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "0700") {
		t.Fatalf("Open of a 0750 dir: %v", err)
	}
	_ = os.Chmod(o.Dir, 0o700)
	id := filepath.Join(o.Dir, identityFile)
	if err := os.Chmod(id, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("Open with a 0640 key file: %v", err)
	}
	_ = os.Chmod(id, 0o600)
	if err := os.WriteFile(id, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "bytes, want 32") {
		t.Fatalf("Open with a damaged identity key: %v", err)
	}
	if err := os.Remove(filepath.Join(o.Dir, linkFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "link.key is missing") {
		t.Fatalf("Open without link.key: %v", err)
	}
	bad := o
	bad.Dir = "relative/dir"
	if _, err := Open(bad); err == nil {
		t.Fatal("Open with a relative dir succeeded")
	}
}

func TestIdentityKeyFromConfig(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	var want keys.IdentityPublicKey
	copy(want[:], priv.Public().(ed25519.PublicKey))
	texts := map[string]string{
		"hex seed":       hex.EncodeToString(seed),
		"HEX seed":       strings.ToUpper(hex.EncodeToString(seed)),
		"base64 seed":    base64.StdEncoding.EncodeToString(seed),
		"hex 64 bytes":   hex.EncodeToString(priv),
		"base64 64":      base64.RawURLEncoding.EncodeToString(priv),
		"spaces trimmed": "  " + hex.EncodeToString(seed) + "\n",
	}
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			o, _ := testOptions(t)
			o.IdentityKeyText = text
			pk, err := Generate(o)
			if err != nil {
				t.Fatal(err)
			}
			if !pk.Identity.Equal(want) {
				t.Fatal("generated public keys do not show the configured identity")
			}
			if ok, _ := exists(filepath.Join(o.Dir, identityFile)); ok {
				t.Fatal("identity.key written although Debug.IdentityKey is set")
			}
			s := mustOpen(t, o)
			got, _ := s.PublicKeys(context.Background())
			if !got.Identity.Equal(want) {
				t.Fatal("opened store does not use the configured identity")
			}
		})
	}
	bad := append(bytes.Clone(priv[:32]), bytes.Repeat([]byte{1}, 32)...)
	for name, text := range map[string]string{
		"too short":          hex.EncodeToString(seed[:31]),
		"not key text":       "correct horse battery staple",
		"mismatched 64-byte": hex.EncodeToString(bad),
	} {
		o, _ := testOptions(t)
		o.IdentityKeyText = text
		if _, err := Generate(o); err == nil || !strings.Contains(err.Error(), "Debug.IdentityKey") {
			t.Errorf("%s: Generate error %v", name, err)
		}
	}
}

func TestSphinxKeysPersistAndSweep(t *testing.T) {
	o, tc := testOptions(t)
	if _, err := Generate(o); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, o)
	cur, _, _ := o.Clock.Current()
	first, err := s.SphinxKeys(context.Background(), []uint64{cur, cur + 1})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(o.Dir, sphinxDir, sphinxName(cur)))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("sphinx key file: %v %v", fi, err)
	}
	// Same keys after reopening.
	_ = s.Close()
	if _, err := s.SphinxKeys(context.Background(), []uint64{cur}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
	s = mustOpen(t, o)
	again, err := s.SphinxKeys(context.Background(), []uint64{cur, cur + 1})
	if err != nil {
		t.Fatal(err)
	}
	if again[0] != first[0] || again[1] != first[1] {
		t.Fatal("Sphinx keys changed across reopen")
	}
	// Two epochs later, cur is before current-1: erased by Sweep.
	tc.advance(2 * time.Hour)
	erased, err := s.Sweep()
	if err != nil {
		t.Fatal(err)
	}
	if len(erased) != 1 || erased[0] != cur {
		t.Fatalf("erased %v, want [%d]", erased, cur)
	}
	if ok, _ := exists(filepath.Join(o.Dir, sphinxDir, sphinxName(cur))); ok {
		t.Fatal("expired key file still present")
	}
	if ok, _ := exists(filepath.Join(o.Dir, sphinxDir, sphinxName(cur+1))); !ok {
		t.Fatal("key of current-1 erased too early")
	}
	// A stale file planted while keyd was down, and a leftover temporary
	// file, are erased at Open; unknown files are left alone.
	_ = s.Close()
	plant := func(name string) string {
		p := filepath.Join(o.Dir, sphinxDir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte{9}, 32), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := plant(sphinxName(cur - 5))
	tmp := plant(tmpPrefix + "42.key-abcd")
	other := plant("README")
	mustOpen(t, o)
	for _, p := range []string{old, tmp} {
		if ok, _ := exists(p); ok {
			t.Errorf("%s survived Open", p)
		}
	}
	if ok, _ := exists(other); !ok {
		t.Error("unknown file removed")
	}
}

func TestSignNeedsGeneratedSphinxKey(t *testing.T) {
	o, _ := testOptions(t)
	if _, err := Generate(o); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, o)
	cur, _, _ := o.Clock.Current()
	sk, err := s.SphinxKeys(context.Background(), []uint64{cur})
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := s.PublicKeys(context.Background())
	// A descriptor announcing a key for cur+1 that keyd never generated,
	// even though it is the right size and the epoch is in the window.
	d := descriptorFor(pk, cur, map[uint64][32]byte{cur: sk[0].Public, cur + 1: {5}})
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignDescriptor(context.Background(), b); !errors.Is(err, keys.ErrRefused) ||
		!strings.Contains(err.Error(), "has not generated") {
		t.Fatalf("SignDescriptor: %v", err)
	}
	if ok, _ := exists(filepath.Join(o.Dir, sphinxDir, sphinxName(cur+1))); ok {
		t.Fatal("SignDescriptor generated a Sphinx key")
	}
}

func TestContextAndClose(t *testing.T) {
	o, _ := testOptions(t)
	if _, err := Generate(o); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.LinkECDH(ctx, bytes.Repeat([]byte{9}, 32)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.PublicKeys(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
