// Package identity owns who a request is about: customers, accounts, their
// traits and events, and the signed customer identity that proves a caller
// may name that customer.
//
// Signed identity (signed.go) answers one question: did someone holding an
// active identity secret (or an RSA signing key) vouch for this user id? It
// returns an Assurance that says yes or no and why, and never anything that
// would let a reader rebuild a secret.
//
// This package must never store identities (that is the store package's
// job), never log or echo a secret, a user hash or a token, and never treat a
// request as verified because verification could not run: any doubt is
// "not verified".
package identity
