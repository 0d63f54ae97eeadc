package testnet

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleManifest(dir string) *Manifest {
	return &Manifest{
		Dir:         dir,
		EpochPeriod: Duration(2 * time.Minute),
		Authority:   Authority{Address: "127.0.0.1:30000", PublicKey: "k"},
		Nodes: []Node{
			{Name: "mix-1", Layer: 0, Address: "127.0.0.1:30001"},
			{Name: "provider-a", Provider: true, Layer: -1, Address: "127.0.0.1:30002"},
		},
		Users: []User{{Name: "you-a", Provider: "provider-a", KeyFile: "/k", Spare: true}},
	}
}

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := sampleManifest(dir)
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, filepath.Join(dir, ManifestName)} {
		got, err := LoadManifest(path)
		if err != nil {
			t.Fatalf("LoadManifest(%s): %v", path, err)
		}
		if got.EpochPeriod != m.EpochPeriod || len(got.Nodes) != 2 || !got.Users[0].Spare {
			t.Fatalf("round trip changed the manifest: %+v", got)
		}
		if n, ok := got.Node("provider-a"); !ok || !n.Provider {
			t.Fatalf("Node(provider-a) = %+v, %v", n, ok)
		}
		if p := got.Providers(); len(p) != 1 || p[0].Name != "provider-a" {
			t.Fatalf("Providers() = %+v", p)
		}
	}
}

func TestParseManifestRejects(t *testing.T) {
	good, err := json.Marshal(sampleManifest("/d"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m *Manifest)) []byte {
		m := sampleManifest("/d")
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"garbage", []byte("{"), "unexpected end"},
		{"bad duration", []byte(strings.Replace(string(good), `"2m0s"`, `"soon"`, 1)), "duration"},
		{"no authority", edit(func(m *Manifest) { m.Authority.Address = "" }), "no authority"},
		{"no epoch", edit(func(m *Manifest) { m.EpochPeriod = 0 }), "epoch_period"},
		{"nameless node", edit(func(m *Manifest) { m.Nodes[1].Name = "" }), "node 1"},
		{"user without Provider", edit(func(m *Manifest) { m.Users[0].Provider = "" }), "user 0"},
	} {
		if _, err := ParseManifest(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := LoadManifest(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing manifest loaded")
	}
}

func FuzzParseManifest(f *testing.F) {
	good, err := json.Marshal(sampleManifest("/d"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"authority":{"address":"a","public_key":"k"},"epoch_period":"1s"}`))
	f.Add([]byte(`{"epoch_period":"-5s"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		if m.Authority.Address == "" || m.EpochPeriod <= 0 {
			t.Fatalf("accepted a manifest without authority or epoch: %+v", m)
		}
		// What parses must survive its own encoding.
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseManifest(again); err != nil {
			t.Fatalf("re-encoded manifest refused: %v", err)
		}
	})
}
