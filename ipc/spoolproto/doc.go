// Package spoolproto is the protocol between mixd and spoold (PROTOCOL.md
// beside this file), and the contract both sides share: the Store
// interface of the user database and spool, its errors and its limits.
//
// Store is implemented by the embedded bolt store inside spoold
// (internal/spoold/boltstore) and by Client, which mixd uses over spoold's
// socket; NewServer serves any Store. One file per message family, request
// beside reply: users.go (§3.1–§3.3), identity.go (§3.4), spool.go
// (§3.5–§3.7), ephemeral.go (§3.8). Client methods are named after the
// messages (Client.StoreMessage); the server's handlers are answerX
// (answerStoreMessage).
//
// The package imports only ipc and internal/keys: mixd links it without
// linking the database.
package spoolproto
