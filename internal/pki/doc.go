// Package pki holds the objects of the directory authority protocol: the
// node descriptor (docs/spec/pki.md §1: descriptor.go, codec.go, signed.go)
// and the authority's document (docs/spec/dirauth.md: document*.go).
//
// A descriptor is what a mix or Provider tells the authority about itself
// for an epoch: its name, identity and link public keys, Sphinx public keys,
// addresses and services. This package gives its canonical CBOR encoding,
// strict decoding, validation and the signed form posted to the authority.
// The descriptor is built by mixd, signed by keyd (which parses it with Parse
// and signs only what its policy allows; internal/keyd/keystore) and checked
// by the authority with SignedDescriptor.Open or Verify.
package pki
