package contextpack

import "syscall"

// staticBytes returns n zeroed bytes from an anonymous private mapping
// (mapped true), or from the heap if the mapping fails.
func staticBytes(n int) (b []byte, mapped bool) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]byte, n), false
	}
	return b, true
}

func freeStatic(mapped [][]byte) {
	for _, b := range mapped {
		_ = syscall.Munmap(b)
	}
}
