package main

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are packages keyd must not link: it has no network (no HTTP,
// TLS, QUIC or link protocol) and parses no packets (no Sphinx), and it is
// not mixd, spoold or pluginhost.
var forbidden = map[string]string{
	"github.com/splitmix/splitmix/internal/link":       "the link protocol is mixd's",
	"github.com/splitmix/splitmix/internal/sphinx":     "keyd parses no packets",
	"github.com/splitmix/splitmix/internal/mixd":       "keyd is not mixd",
	"github.com/splitmix/splitmix/internal/spoold":     "keyd is not spoold",
	"github.com/splitmix/splitmix/internal/pluginhost": "keyd is not pluginhost",
	"net/http":                   "keyd has no network",
	"net/rpc":                    "keyd has no network",
	"net/smtp":                   "keyd has no network",
	"crypto/tls":                 "keyd has no network",
	"golang.org/x/net":           "keyd has no network",
	"github.com/quic-go/quic-go": "keyd has no network",
	"github.com/jackc/pgx":       "keyd opens no database",
	"go.etcd.io/bbolt":           "keyd opens no database",
}

func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages: %q", len(deps), out)
	}
	for _, d := range deps {
		for f, why := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("keyd links %s: %s", d, why)
			}
		}
	}
}
