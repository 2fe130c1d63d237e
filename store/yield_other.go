//go:build !linux

package store

import "runtime"

// yieldCPU lets other goroutines run; elsewhere than Linux there is no
// cheap way to offer the core to other processes.
func yieldCPU() { runtime.Gosched() }
