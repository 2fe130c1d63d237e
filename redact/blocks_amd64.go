//go:build amd64 && !purego

package redact

import "golang.org/x/sys/cpu"

// haveSIMD: blockMasks has an AVX2 body here.
var haveSIMD = cpu.X86.HasAVX2

// blockMasks is byteSet.masks for n blocks from p into out.
//
//go:noescape
func blockMasks(p *byte, n int, s *byteSet, out *uint64)
