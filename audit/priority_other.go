//go:build !linux

package audit

// background leaves the writer where it is: Linux's setpriority(2) takes a
// thread id, which is how priority_linux.go lowers the writer alone; other
// systems would need an API of their own.
func background() *priority { return nil }
