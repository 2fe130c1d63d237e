// Package catalog owns the definitions of customer and account fields and
// events: for each, its type, description, owner, source, classification and
// the default visibility (show, mask or hide) per use (support, ai,
// reporting, automation). It reads configs/catalog.yaml strictly, reports
// every problem with its file:line, lints the definitions and diffs two
// versions so a review can see when a change widens what AI may see.
//
// The catalog is the default the policy package starts from; policy field
// statements may override it. Anything the catalog does not name resolves
// to hidden for every use (see Catalog.Resolve), and the zero Visibility is
// Hide, so a gap in the definitions fails closed.
//
// This package must never hold or see field values: it describes data and
// never touches it. It keeps no state beyond an immutable *Catalog.
package catalog
