// Package keyproto is the protocol between mixd and keyd (PROTOCOL.md
// beside this file): the message catalog, request and reply bodies, the
// client mixd uses (Client, a keys.Oracle) and the dispatch table keyd
// serves any keys.Oracle with (NewServer).
//
// One file per message family, request beside reply: pubkeys.go (§3.1),
// sign.go (§3.2), link.go (§3.3, §3.4), sphinx.go (§3.5). Client methods are
// named after the messages (Client.SignDescriptor); the server's handlers
// are answerX (answerSignDescriptor).
//
// The package imports only ipc and internal/keys: mixd links it without
// linking anything that holds a private key.
package keyproto
