package main

import "syscall"

// childAttr makes the kernel kill a child if the driver dies without
// cleaning up (kill -9, a crash): no server outlives its benchmark.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
