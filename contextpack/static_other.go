//go:build !linux

package contextpack

// staticBytes returns n zeroed bytes, from the heap on this platform.
func staticBytes(n int) (b []byte, mapped bool) { return make([]byte, n), false }

func freeStatic([][]byte) {}
