//go:build !linux

package main

import "syscall"

// childAttr: only Linux can tie a child's life to its parent's; elsewhere
// the driver's own cleanup must do.
func childAttr() *syscall.SysProcAttr { return nil }
