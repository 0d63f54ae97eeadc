// Command keyd is the key daemon: it holds the node's identity and link
// private keys and its Sphinx key store, and serves mixd over a UNIX socket.
// See internal/keyd for what it does and ipc/keyproto/PROTOCOL.md for what it
// answers.
//
//	keyd -f FILE -g    generate the keys, print the public keys, exit
//	keyd -f FILE       serve
package main

import (
	"os"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/keyd"
)

func main() {
	os.Exit(daemon.Main(program, os.Args[1:], os.Stdout, os.Stderr))
}

var program = daemon.Program[*config.Config]{
	Name:         "keyd",
	Load:         config.Load,
	Generate:     keyd.Generate,
	GenerateOnly: func(cfg *config.Config) bool { return cfg.Debug.GenerateOnly },
	Serve:        daemon.ServeNew(keyd.New),
}
