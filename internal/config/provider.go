package config

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Database backends. UserDB accepts bolt, extern and sql; SpoolDB accepts
// bolt and sql; SQLDB.Backend accepts pgx (PostgreSQL).
const (
	BackendBolt   = "bolt"
	BackendExtern = "extern"
	BackendSQL    = "sql"
	SQLBackendPGX = "pgx"
)

// Default bolt database names under DataDir.
const (
	DefaultUserDBFile  = "users.db"
	DefaultSpoolDBFile = "spool.db"
)

// AltAddressTransports are the transports accepted as keys of
// Provider.AltAddresses.
var AltAddressTransports = []string{"tcp", "tcp4", "tcp6", "quic"}

// Provider is the [Provider] section; every key has a default, so the
// section may be omitted on a Provider. See docs/spec/mix-server.md, "Provider
// section".
type Provider struct {
	// AltAddresses maps a transport (tcp, tcp4, tcp6, quic) to extra
	// "host:port" addresses at which clients reach the Provider.
	AltAddresses map[string][]string
	// EnableEphemeralClients creates a user on first contact.
	EnableEphemeralClients bool
	// TrustOnFirstUse trusts a client's link key on first use.
	TrustOnFirstUse bool
	// Kaetzchen are the built-in services (echo, keyserver).
	Kaetzchen []Kaetzchen
	// CBORPluginKaetzchen are the external plugin services.
	CBORPluginKaetzchen []CBORPluginKaetzchen
	UserDB              UserDB
	SpoolDB             SpoolDB
	SQLDB               SQLDB
}

// UserDB is [Provider.UserDB]. After Load, Backend is bolt, extern or sql;
// it defaults to extern when only ExternUserDB.ProviderURL is given (the
// spec's example) and to bolt otherwise.
type UserDB struct {
	Backend      string
	Bolt         BoltUserDB
	ExternUserDB ExternUserDB
}

// BoltUserDB is [Provider.UserDB.Bolt].
type BoltUserDB struct {
	// UserDB is the bolt file; default DataDir/users.db; a relative path
	// is taken relative to DataDir. Filled in only for the bolt backend.
	UserDB string
}

// ExternUserDB is [Provider.UserDB.ExternUserDB]: users checked over HTTP.
type ExternUserDB struct {
	// ProviderURL is the base http(s) URL of the authentication API.
	ProviderURL string
}

// SpoolDB is [Provider.SpoolDB]. After Load, Backend is bolt or sql.
type SpoolDB struct {
	Backend string
	Bolt    BoltSpoolDB
}

// BoltSpoolDB is [Provider.SpoolDB.Bolt].
type BoltSpoolDB struct {
	// SpoolDB is the bolt file; default DataDir/spool.db; a relative path
	// is taken relative to DataDir. Filled in only for the bolt backend.
	SpoolDB string
}

// SQLDB is [Provider.SQLDB], used by a UserDB or SpoolDB backend "sql".
type SQLDB struct {
	// Backend is the driver: pgx (the default when empty).
	Backend string
	// DataSourceName is the PostgreSQL URI or key=value string.
	DataSourceName string
}

type fileProvider struct {
	AltAddresses           map[string][]string
	EnableEphemeralClients bool
	TrustOnFirstUse        bool
	Kaetzchen              []fileKaetzchen
	CBORPluginKaetzchen    []filePlugin
	// PluginKaetzchen holds the stray [Provider.PluginKaetzchen.Config]
	// table of the spec's plugin example; see applyStrayPluginConfig.
	PluginKaetzchen *filePluginKaetzchen
	UserDB          UserDB
	SpoolDB         SpoolDB
	SQLDB           SQLDB
}

func convertProvider(ck *checker, p *fileProvider, isProvider bool, dataDir string) *Provider {
	if !isProvider {
		if p != nil {
			ck.errorf("Provider", "section present but Server.IsProvider is false; a mix has no Provider section")
		}
		return nil
	}
	if p == nil {
		p = &fileProvider{}
	}
	out := &Provider{
		AltAddresses:           p.AltAddresses,
		EnableEphemeralClients: p.EnableEphemeralClients,
		TrustOnFirstUse:        p.TrustOnFirstUse,
	}
	checkAltAddresses(ck, p.AltAddresses)
	out.Kaetzchen, out.CBORPluginKaetzchen = convertKaetzchen(ck, p)
	out.SQLDB = p.SQLDB
	out.UserDB = convertUserDB(ck, p.UserDB, dataDir)
	out.SpoolDB = convertSpoolDB(ck, p.SpoolDB, dataDir)
	checkSQLDB(ck, out)
	return out
}

func checkAltAddresses(ck *checker, m map[string][]string) {
	for _, transport := range sortedKeys(m) {
		key := "Provider.AltAddresses." + transport
		if !slices.Contains(AltAddressTransports, transport) {
			ck.errorf(key, "unknown transport %q (want one of %s)", transport, strings.Join(AltAddressTransports, ", "))
			continue
		}
		for i, a := range m[transport] {
			if err := checkHostPort(a); err != nil {
				ck.errorf(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			}
		}
	}
}

func convertUserDB(ck *checker, u UserDB, dataDir string) UserDB {
	u.Backend = strings.ToLower(u.Backend)
	if u.Backend == "" {
		u.Backend = BackendBolt
		if u.ExternUserDB.ProviderURL != "" {
			u.Backend = BackendExtern
		}
	}
	switch u.Backend {
	case BackendBolt:
		u.Bolt.UserDB = resolvePath(dataDir, cmp.Or(u.Bolt.UserDB, DefaultUserDBFile))
	case BackendExtern:
		if u.ExternUserDB.ProviderURL == "" {
			ck.errorf("Provider.UserDB.ExternUserDB.ProviderURL", "missing: required by Provider.UserDB.Backend = %q", BackendExtern)
		} else {
			checkProviderURL(ck, u.ExternUserDB.ProviderURL)
		}
	case BackendSQL:
	default:
		ck.errorf("Provider.UserDB.Backend", "unknown backend %q (want %q, %q or %q)", u.Backend, BackendBolt, BackendExtern, BackendSQL)
	}
	if u.Backend != BackendBolt && u.Bolt.UserDB != "" {
		ck.warnf("Provider.UserDB.Bolt.UserDB", "ignored: Provider.UserDB.Backend is %q", u.Backend)
	}
	if u.Backend != BackendExtern && u.ExternUserDB.ProviderURL != "" {
		ck.warnf("Provider.UserDB.ExternUserDB.ProviderURL", "ignored: Provider.UserDB.Backend is %q", u.Backend)
	}
	return u
}

func checkProviderURL(ck *checker, s string) {
	const key = "Provider.UserDB.ExternUserDB.ProviderURL"
	u, err := url.Parse(s)
	switch {
	case err != nil:
		ck.errorf(key, "%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		ck.errorf(key, "%q: want an http:// or https:// URL", s)
	case u.Host == "":
		ck.errorf(key, "%q: missing host", s)
	case u.RawQuery != "" || u.Fragment != "":
		ck.errorf(key, "%q: a query or fragment is not allowed in the base URL", s)
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		ck.warnf(key, "user checks go over plain http to a non-local host; use https")
	}
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func convertSpoolDB(ck *checker, s SpoolDB, dataDir string) SpoolDB {
	s.Backend = strings.ToLower(s.Backend)
	if s.Backend == "" {
		s.Backend = BackendBolt
	}
	switch s.Backend {
	case BackendBolt:
		s.Bolt.SpoolDB = resolvePath(dataDir, cmp.Or(s.Bolt.SpoolDB, DefaultSpoolDBFile))
	case BackendSQL:
		if s.Bolt.SpoolDB != "" {
			ck.warnf("Provider.SpoolDB.Bolt.SpoolDB", "ignored: Provider.SpoolDB.Backend is %q", s.Backend)
		}
	case BackendExtern:
		ck.errorf("Provider.SpoolDB.Backend", "unknown backend %q (want %q or %q; %q exists only for Provider.UserDB)", s.Backend, BackendBolt, BackendSQL, BackendExtern)
	default:
		ck.errorf("Provider.SpoolDB.Backend", "unknown backend %q (want %q or %q)", s.Backend, BackendBolt, BackendSQL)
	}
	return s
}

func checkSQLDB(ck *checker, p *Provider) {
	if p.SQLDB.Backend == "" {
		p.SQLDB.Backend = SQLBackendPGX
	}
	if p.SQLDB.Backend != SQLBackendPGX {
		ck.errorf("Provider.SQLDB.Backend", "unknown SQL driver %q (want %q, PostgreSQL)", p.SQLDB.Backend, SQLBackendPGX)
	}
	var users []string
	if p.UserDB.Backend == BackendSQL {
		users = append(users, "Provider.UserDB.Backend")
	}
	if p.SpoolDB.Backend == BackendSQL {
		users = append(users, "Provider.SpoolDB.Backend")
	}
	switch {
	case len(users) > 0 && p.SQLDB.DataSourceName == "":
		ck.errorf("Provider.SQLDB.DataSourceName", "missing: required by %s = %q", strings.Join(users, " and "), BackendSQL)
	case len(users) == 0 && p.SQLDB.DataSourceName != "":
		ck.warnf("Provider.SQLDB", "ignored: neither Provider.UserDB.Backend nor Provider.SpoolDB.Backend is %q", BackendSQL)
	}
}

// dsnHasPassword reports whether a data source name carries a password,
// in URI form (user:pass@) or key=value form (password=...).
func dsnHasPassword(dsn string) bool {
	if dsn == "" {
		return false
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return true
		}
	}
	return strings.Contains(strings.ToLower(dsn), "password=")
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
