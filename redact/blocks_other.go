//go:build !amd64 || purego

package redact

// haveSIMD: no vector body for blockMasks on this platform.
const haveSIMD = false

func blockMasks(p *byte, n int, s *byteSet, out *uint64) {
	panic("redact: blockMasks without SIMD")
}
