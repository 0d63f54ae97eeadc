package keystore

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/secmem"
)

// loadIdentityText decodes Debug.IdentityKey (see the package
// documentation) into dst, a 64-byte secret buffer, in Go's ed25519 form.
func loadIdentityText(text string, dst []byte) error {
	seed, err := keys.DecodeKeyText(text, ed25519.SeedSize)
	if err != nil {
		var err64 error
		seed, err64 = keys.DecodeKeyText(text, ed25519.PrivateKeySize)
		if err64 != nil {
			return fmt.Errorf("Debug.IdentityKey: %w", errors.Join(err, err64))
		}
	}
	defer clear(seed)
	if err := expandIdentity(seed[:ed25519.SeedSize], dst); err != nil {
		return err
	}
	if len(seed) == ed25519.PrivateKeySize && !bytes.Equal(seed[ed25519.SeedSize:], dst[ed25519.SeedSize:]) {
		clear(dst)
		return fmt.Errorf("Debug.IdentityKey: the public half of the 64-byte key does not match its seed")
	}
	return nil
}

// expandIdentity writes the 64-byte Go form of the Ed25519 key with the
// given seed into dst and wipes the heap copy Go's API makes.
func expandIdentity(seed, dst []byte) error {
	if len(seed) != ed25519.SeedSize || len(dst) != ed25519.PrivateKeySize {
		return fmt.Errorf("identity key: bad sizes %d/%d", len(seed), len(dst))
	}
	full := ed25519.NewKeyFromSeed(seed)
	copy(dst, full)
	clear(full)
	return nil
}

// identityPublic returns the public half of a 64-byte Go-form private key.
func identityPublic(priv *secmem.Buffer) keys.IdentityPublicKey {
	var pub keys.IdentityPublicKey
	copy(pub[:], priv.Bytes()[ed25519.SeedSize:])
	return pub
}
