// Package configs holds the example workspace (Acme) as version-controlled
// definitions: the server configuration, the catalog, the policies and the
// example data. They are embedded so `crisp serve` works from any directory
// with no set-up.
package configs

import "embed"

// FS is the example workspace's definitions, rooted at this folder.
//
//go:embed crisp.yaml catalog.yaml policies seed
var FS embed.FS
