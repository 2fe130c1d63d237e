//go:build unix

package providers

import (
	"net"
	"syscall"
)

// peekSupported: connAlive can tell a live idle connection.
const peekSupported = true

// connAlive reports whether an idle connection is still open, with one
// non-blocking peek: a server that closed it (its idle timeout, a restart)
// left an EOF to read. A pooled connection has no reader of its own to
// notice that, as http.Transport's have.
func connAlive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		// The descriptor is non-blocking (the runtime's poller owns it),
		// so an empty socket answers EAGAIN at once.
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		// Nothing to read is the only answer of a live idle connection:
		// EOF means closed, and data means the server sent something
		// unasked (out of step).
		alive = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && alive
}
