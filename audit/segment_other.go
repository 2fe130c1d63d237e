//go:build !linux

package audit

func createSegment(path string, size int64) (segment, error) {
	return createFileSegment(path, size)
}
