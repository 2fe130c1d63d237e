package store

import "syscall"

// yieldCPU lets the kernel run another thread waiting for this core, if
// any; the calling thread keeps its place otherwise.
func yieldCPU() {
	syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
}
