// Package ipc is the transport every splitmix daemon uses on its UNIX
// sockets: keyd, spoold and pluginhost serve it to mixd, and the daemons
// serve it to mixctl. It carries CBOR messages in length-prefixed frames
// and knows nothing about any daemon; each protocol (ipc/keyproto,
// ipc/spoolproto, ...) defines its name, version, message catalog and
// routes on top of it. The wire format is specified in ipc/PROTOCOL.md.
//
// # Connections
//
// A client Dials a socket path and exchanges a hello naming the protocol
// and its version; a mismatch on either side fails with CodeUnsupported,
// naming both versions. Calls are then multiplexed over the connection by
// request id: Client.Call is safe for concurrent use, each call is bounded
// by its ctx, and a reply that comes after its caller gave up is
// discarded. When the connection breaks (the daemon restarted), new calls
// redial; calls in flight are resent if their message type is idempotent
// (ClientConfig.Idempotent) and otherwise fail with ErrOutcomeUnknown.
//
// A Server serves one protocol on any number of listeners. Dispatch is a
// table (Routes): for each message type, the roles that may send it and
// the handler. Handle wraps a typed handler with strict decoding of its
// request. Handlers of one connection run concurrently, at most
// ServerConfig.MaxInFlight at a time.
//
// # Files and sockets
//
// The package opens no files. Servers take a net.Listener (made by
// internal/daemon.ListenUnix, which sets the socket file's mode and
// group); clients dial the path they are given.
//
// # Logging
//
// Refused callers, bad frames, unknown message types, messages from the
// wrong role and handler failures are logged at WARNING with the caller's
// uid, gid and pid (local process identities); handler panics at ERROR
// with the stack. Nothing from a message body is logged above DEBUG.
//
// # SECURITY
//
// Callers are authorised twice: by the socket file's permissions, and at
// accept by the kernel's record of the connecting process (SO_PEERCRED),
// given to the server's Authorizer, which assigns a Role or refuses. The
// identity of a caller never comes from a message. Everything a peer sends
// is bounded before it is allocated (frame length, hello size, CBOR
// nesting, array and map sizes) and decoded strictly: unknown fields,
// duplicate keys, indefinite lengths, tags and trailing bytes are errors.
// A peer that breaks the protocol loses its connection, never the server;
// a panicking handler loses its connection, not the daemon. Internal error
// details stay in the server's log: callers see CodeInternal and a generic
// message.
package ipc
