//go:build !unix

package providers

import "net"

// peekSupported: without a peek no idle connection could be trusted, so
// plain HTTP goes through http.Transport here.
const peekSupported = false

// connAlive cannot peek here.
func connAlive(net.Conn) bool { return false }
