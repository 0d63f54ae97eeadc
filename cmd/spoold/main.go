// Command spoold is the spool daemon of a Provider: it owns the user
// database and the message spool and serves mixd over a UNIX socket. See
// internal/spoold for what it does and ipc/spoolproto/PROTOCOL.md for what
// it answers.
//
//	spoold -f FILE     serve
package main

import (
	"os"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/spoold"
)

func main() {
	os.Exit(daemon.Main(program, os.Args[1:], os.Stdout, os.Stderr))
}

var program = daemon.Program[*config.Config]{
	Name:  "spoold",
	Load:  config.Load,
	Serve: daemon.ServeNew(spoold.New),
}
