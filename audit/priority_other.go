//go:build !linux

package audit

// background leaves the writer where it is: elsewhere Go cannot give a
// goroutine's thread a priority of its own (see priority_linux.go).
func background() *priority { return nil }
