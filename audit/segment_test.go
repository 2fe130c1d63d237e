package audit

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkSegmentAppend is the cost of one ~1.2 KB journal line: a copy
// into a mapped segment (Linux), new or reused, versus write(2), rotations
// included.
func BenchmarkSegmentAppend(b *testing.B) {
	line := make([]byte, 1200)
	// mapped-new starts each segment from a new file (its first touch of
	// every page is in the appends); mapped-reused is the journal's steady
	// state, a settled segment zeroed and written again.
	for _, kind := range []string{"mapped-new", "mapped-reused", "write"} {
		b.Run(kind, func(b *testing.B) {
			dir := b.TempDir()
			var seg segment
			n, off := 0, int64(0)
			next := func() {
				n++
				p := filepath.Join(dir, fmt.Sprintf("seg%d", n))
				var err error
				if kind != "write" {
					seg, err = createSegment(p, 2<<20)
				} else {
					seg, err = createFileSegment(p, 2<<20)
				}
				if err != nil {
					b.Fatal(err)
				}
				off = 0
			}
			next()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if off+int64(len(line)) > seg.capacity() && kind == "mapped-reused" {
					if err := seg.reset(off); err != nil {
						b.Fatal(err)
					}
					off = 0
				}
				if off+int64(len(line)) > seg.capacity() {
					if err := seg.close(off); err != nil {
						b.Fatal(err)
					}
					next()
				}
				if err := seg.append(off, line); err != nil {
					b.Fatal(err)
				}
				off += int64(len(line))
			}
			if err := seg.close(off); err != nil {
				b.Fatal(err)
			}
		})
	}
}
