// Package dirauth is the client side of the directory authority
// (docs/spec/dirauth.md): what a node or a client needs to reach the
// authority, check the link certificate it presents (§2), post a signed
// descriptor (§4) and fetch and verify documents (§5).
//
// The authority itself (cmd/dirauth) is package dirauth/authority. The two are
// apart so that mixd, which links this package, never links the authority's
// key files and in-memory private keys (internal/boundary enforces it).
package dirauth
