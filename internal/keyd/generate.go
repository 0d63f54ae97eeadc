package keyd

import (
	"fmt"
	"io"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/keyd/keystore"
	"github.com/splitmix/splitmix/internal/logging"
)

// Generate makes the node's keys as `keyd -g` does and prints the public
// keys to out. It returns an error, having changed nothing, when the keys
// exist already.
func Generate(cfg *config.Config, out io.Writer) error {
	backend, err := newLogging(cfg)
	if err != nil {
		return err
	}
	defer backend.Close()
	log := backend.Logger("keyd")
	logWarnings(cfg, log)

	opts, err := storeOptions(cfg, log)
	if err != nil {
		return err
	}
	pk, err := keystore.Generate(opts)
	if err != nil {
		log.Error("key generation failed", "error", err)
		return err
	}
	fp := pk.Link.Fingerprint()
	log.Notice("generated keys", "dir", opts.Dir, "identity", pk.Identity.String(),
		"link_fingerprint", fmt.Sprintf("%X", fp[:]), "identity_from_config", opts.IdentityKeyText != "")
	_, err = fmt.Fprintf(out, "Server identifier is: '%s'\nServer identity public key is: %s\nServer link public key is: %s\n",
		pk.Identifier, pk.Identity, pk.Link.String())
	return err
}

func newLogging(cfg *config.Config) (*logging.Backend, error) {
	return logging.New(logging.Options{Disable: cfg.Logging.Disable, File: cfg.Logging.File, Level: cfg.Logging.Level})
}

func logWarnings(cfg *config.Config, log *logging.Logger) {
	for _, w := range cfg.Warnings() {
		log.Warning(w)
	}
}
