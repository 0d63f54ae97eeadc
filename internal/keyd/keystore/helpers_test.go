package keystore

import (
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/pki"
)

func descriptorFor(pk *keys.PublicKeys, epoch uint64, mix map[uint64][32]byte) *pki.Descriptor {
	return &pki.Descriptor{
		Version:     pki.DescriptorVersion,
		Name:        pk.Identifier,
		Epoch:       epoch,
		IdentityKey: pk.Identity,
		LinkKey:     &pk.Link,
		MixKeys:     mix,
		Addresses:   map[string][]string{pki.TransportTCP: {"mix1.example:29483"}},
	}
}
