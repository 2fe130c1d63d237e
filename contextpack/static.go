package contextpack

import (
	"runtime"
	"unsafe"
)

// The vocabulary's tables (~2 MB, built once per process) live outside the
// Go heap where the platform allows. On the heap they would count as live
// data, and the collector lets the heap grow to twice the live data before
// it runs (GOGC=100): 2 MB of tables that hold no pointers would let
// another 2 MB of garbage gather at every peak.

// statics hands out zeroed memory outside the heap and releases it once
// the owner it is attached to is unreachable.
type statics struct{ mapped [][]byte }

func (s *statics) bytes(n int) []byte {
	b, mapped := staticBytes(n)
	if mapped {
		s.mapped = append(s.mapped, b)
	}
	return b
}

func (s *statics) uint32s(n int) []uint32 {
	if n == 0 {
		return nil
	}
	b := s.bytes(4 * n)
	// A mapping is page-aligned; make's memory is aligned for its size.
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// attach frees the memory handed out once owner is unreachable (the one
// process-wide vocabulary never is; a test or benchmark's are).
func (s *statics) attach(owner *vocab) {
	if len(s.mapped) > 0 {
		runtime.AddCleanup(owner, freeStatic, s.mapped)
	}
}
