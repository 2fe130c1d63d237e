//go:build !linux

package residency

// ReleaseExecutable does nothing here: it is Linux's /proc and madvise.
func ReleaseExecutable() (int64, error) { return 0, nil }
