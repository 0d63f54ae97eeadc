// Command mixd is the network-facing daemon of a mix node: links, Sphinx
// processing, the scheduler and the PKI client. It holds no long-term
// private key (keyd does). See internal/mixd for what it does.
//
//	mixd -f FILE
package main

import (
	"os"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/mixd"
)

func main() {
	os.Exit(daemon.Main(program, os.Args[1:], os.Stdout, os.Stderr))
}

var program = daemon.Program[*config.Config]{
	Name:  "mixd",
	Load:  config.Load,
	Serve: daemon.ServeNew(mixd.New),
}
