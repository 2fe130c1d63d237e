//go:build !linux

package audit

// background does nothing where threads have no priority of their own
// that Go can set (see priority_linux.go).
func background() int { return 0 }
