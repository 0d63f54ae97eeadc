// Package config loads the one TOML file that every daemon of the suite
// (mixd, keyd, spoold, pluginhost; mixctl for the socket path) reads: the
// format of docs/spec/mix-server.md ("Configuration" and the sections
// after it), plus a [Privsep] section of our own. A file written only from
// the spec loads unchanged and runs all daemons under one unprivileged
// user.
//
// Load and LoadBytes return a validated *Config with every default filled
// in, or an *Error listing every problem, one per line, as
//
//	FILE: Key.Path: what is wrong
//	FILE:LINE: Key.Path: what is wrong          (type errors)
//	FILE:LINE:COLUMN: syntax error: ...         (TOML syntax)
//
// for example `katzenpost.toml: Server.DataDir: "var/lib" is not an
// absolute path` or `katzenpost.toml: Server.Identifer: unknown key (did
// you mean Identifier?)`. Unknown keys are errors: a misspelt key must not
// silently leave a default in place. Things that are accepted but deserve
// attention (a quirk of the spec interpreted, a limit substituted, an
// unsafe setting) are returned by Config.Warnings for the daemon to log.
//
// # Paths
//
// One rule for every path in the file (Logging.File, Management.Path, the
// bolt databases, the Privsep directories and sockets): an absolute path is
// used as written; a relative one is taken relative to Server.DataDir. A
// UNIX socket path may be at most 107 bytes (MaxSocketPathLen), and no two
// sockets may share a path.
//
// # Sections and keys
//
// Key names match case-insensitively, as in the baseline server.
//
// [Server] (required)
//   - Identifier: the node's name, e.g. its FQDN. Required; at most 255
//     bytes, no white space.
//   - Addresses: address URLs advertised in the PKI, and bound unless
//     BindAddresses is set. Required, at least one, no duplicates.
//     Schemes: tcp://, tcp4://, tcp6:// (TCP) and http:// (QUIC over UDP).
//     A URL is scheme://host:port and nothing more; the host is an IP
//     literal (IPv6 in brackets) or a DNS name, which resolves at bind
//     time. See ParseAddress; the spec's own example
//     "http://192.168.0.2.1:15242" loads as a host name, with a warning.
//   - BindAddresses: URLs bound instead of Addresses and never advertised.
//   - DataDir: absolute path of the state directory. Required.
//   - IsProvider: true for a Provider. Default false (a mix).
//
// [PKI] (required), [PKI.Nonvoting] (required): the only supported PKI.
//   - Address: the directory authority's host:port. Required.
//   - PublicKey: its identity key, base64 or hex of 32 bytes. Required;
//     available typed as Config.PKI.Nonvoting.PublicKey.
//
// [Logging]
//   - Disable: no logging at all. Default false.
//   - File: the log file. Default empty: standard error. (The spec says
//     standard output; we log to standard error so that standard output
//     stays clean for what -g prints.)
//   - Level: ERROR, WARNING, NOTICE, INFO or DEBUG, any case; normalised to
//     upper case. Default NOTICE. DEBUG is unsafe in production and draws a
//     warning. The spec's text calls this key "Debug"; Logging.Debug is
//     accepted as an alias, with a warning (both set and different: error).
//
// [Management]: the operator's control socket (text protocol; mixctl).
//   - Disable: turn the socket off. Default false: the socket is served.
//   - Enable: the key the spec's example uses, the negation of Disable.
//     Both may be given only if they agree.
//   - Path: the socket. Default DataDir/management_sock.
//
// [Debug]: advanced tuning. A key that is absent or 0 takes its default; a
// negative value is an error (except SchedulerQueueSize). The millisecond
// keys stay ints, as in the file; each has a time.Duration accessor
// (Debug.UnwrapDelayDuration and so on). Counts are at most 1024
// (MaxWorkers), delays at most one day.
//   - IdentityKey: the identity private key; read by keyd only. Draws a
//     warning, and another if the file is readable by group or others.
//   - NumSphinxWorkers: default runtime.NumCPU().
//   - NumProviderWorkers: default 1.
//   - NumKaetzchenWorkers: default 3.
//   - SchedulerExternalMemoryQueue: disk-backed scheduler queue. Default
//     false.
//   - SchedulerQueueSize: default 10000. The spec says <= 0 means
//     unlimited; every queue here is bounded, so an explicit value <= 0
//     becomes UnlimitedSchedulerQueueSize (1,000,000 packets) with a
//     warning, and larger values are errors.
//   - SchedulerMaxBurst: default 16.
//   - UnwrapDelay: default 250 ms (the baseline's 10 ms drops packets under
//     ordinary scheduling jitter).
//   - ProviderDelay: default 500 ms.
//   - KaetzchenDelay: default 750 ms.
//   - SchedulerSlack: default 150 ms; values below 10 ms are raised to it.
//   - SendSlack: default 50 ms, which is also the minimum.
//   - DecoySlack: default 15000 ms.
//   - ConnectTimeout: default 60000 ms.
//   - HandshakeTimeout: default 30000 ms.
//   - ReauthInterval: default 30000 ms.
//   - SendDecoyTraffic: default false.
//   - DisableRateLimit: default false; true draws a warning.
//   - GenerateOnly: generate the long-term keys and exit, like -g.
//   - MaxIncomingConnections (not in the spec): mixd's bound on incoming
//     connections, peers and clients. Default 0: the open-file limit
//     less a reserve for links, sockets and files, at most 65536.
//
// [Provider]: only with Server.IsProvider = true (on a mix it is an
// error); every key has a default, so a Provider may omit the section,
// and Config.Provider is then a Provider with defaults.
//   - AltAddresses: table of transport (tcp, tcp4, tcp6, quic) to
//     "host:port" lists where clients also reach the Provider.
//   - EnableEphemeralClients, TrustOnFirstUse: default false.
//   - [[Provider.Kaetzchen]]: built-in services. Capability (echo or
//     keyserver) and Endpoint required; Config (table), Disable.
//   - [[Provider.CBORPluginKaetzchen]]: plugin programs. Capability,
//     Endpoint and Command (absolute path) required; MaxConcurrency
//     (default 1); Disable; Config, a table whose values are passed to the
//     program as "-key value" arguments (see CBORPluginKaetzchen.Args):
//     strings, or numbers and booleans rendered as strings; tables and
//     arrays are errors; keys are letters, digits, '_', '.', '-'.
//     Capabilities and Endpoints are unique across both lists. An Endpoint
//     is a lower-case e-mail local-part of at most 32 bytes, by convention
//     starting with "+".
//   - [Provider.PluginKaetzchen.Config]: the spec's plugin example writes
//     the plugin's Config under this name after the plugin's entry. It is
//     taken as the Config of the one CBORPluginKaetzchen entry without a
//     Config of its own, with a warning; if there is no such entry or more
//     than one, the file is rejected as ambiguous.
//   - [Provider.UserDB] Backend: bolt, extern or sql. Default extern when
//     only ExternUserDB.ProviderURL is given (the spec's example), bolt
//     otherwise. [Provider.UserDB.Bolt] UserDB: default DataDir/users.db.
//     [Provider.UserDB.ExternUserDB] ProviderURL: http(s) base URL,
//     required for extern.
//   - [Provider.SpoolDB] Backend: bolt or sql; default bolt.
//     [Provider.SpoolDB.Bolt] SpoolDB: default DataDir/spool.db.
//   - [Provider.SQLDB] Backend: pgx (the default, the only driver);
//     DataSourceName: required when either database is sql.
//
// [Privsep]: our addition, how the split daemons meet.
//   - RuntimeDir: directory of the IPC sockets. Default DataDir/run.
//   - KeyDir: keyd's private key directory. Default DataDir/keyd; must be
//     neither DataDir nor RuntimeDir.
//   - KeydSocket, SpooldSocket, PluginhostSocket: default keyd.sock,
//     spoold.sock and pluginhost.sock in RuntimeDir.
//   - MixdUser: user name or numeric uid that mixd runs as; keyd, spoold
//     and pluginhost accept only it. Default "": the daemon's own uid.
//   - AdminGroup: group name or numeric gid allowed on the management
//     socket besides its owner. Default "": the owner only.
//   - EpochPeriod: PKI epoch length as a duration string ("20m", "5s"),
//     whole seconds, 1s to 7 days. Default 20m. A bare number is an error
//     (it would otherwise be read as nanoseconds).
package config
