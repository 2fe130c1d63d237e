package audit

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// mapSegment appends by copying into a shared mapping of the file: no
// system call per line. A store to a MAP_SHARED page is in the page cache
// at once, exactly as a write(2) is, so it survives this process being
// killed (the kernel writes the page back) and, like write(2) without
// fsync, not the machine losing power. The file's blocks are allocated up
// front (fallocate), so a full disk fails the rotation, never a store (which
// would be SIGBUS). Unused space reads as zeros; close trims it, and replay
// ignores it when a crash left it.
type mapSegment struct {
	f   *os.File
	mem []byte
}

func createSegment(path string, size int64) (segment, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		f.Close()
		os.Remove(path)
		if errors.Is(err, syscall.EOPNOTSUPP) {
			// A filesystem without fallocate (some network ones): a
			// sparse mapping could fault on a full disk, so write instead.
			return createFileSegment(path, size)
		}
		return nil, fmt.Errorf("allocate segment: %w", err)
	}
	seg, err := mapFile(f, size)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return seg, nil
}

// mapFile maps f's first size bytes, closing f on failure.
func mapFile(f *os.File, size int64) (*mapSegment, error) {
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("map segment: %w", err)
	}
	return &mapSegment{f: f, mem: mem}, nil
}

func (s *mapSegment) capacity() int64 { return int64(len(s.mem)) }

func (s *mapSegment) append(off int64, p []byte) error {
	if off < 0 || off+int64(len(p)) > int64(len(s.mem)) {
		return fmt.Errorf("segment full")
	}
	copy(s.mem[off:], p)
	return nil
}

func (s *mapSegment) view(off, n int64) []byte { return s.mem[off : off+n : off+n] }

// prefault writes a zero to each page (the file reads as zeros already), so
// that the page faults of a first store, allocation of the page and its
// block, are taken here and not by a request.
func (s *mapSegment) prefault() {
	page := os.Getpagesize()
	for i := 0; i < len(s.mem); i += page {
		s.mem[i] = 0
	}
}

// reset zeroes the used bytes through the mapping. The pages stay mapped
// and, until the kernel writes them back, writable without a fault, so a
// reused segment costs no system call and no page fault: unmapping a
// written segment and mapping it again cost a tenth of crisp's CPU under
// load.
func (s *mapSegment) reset(used int64) error {
	if used < 0 || used > int64(len(s.mem)) {
		return errNotReusable
	}
	clear(s.mem[:used])
	return nil
}

// close unmaps the segment and cuts it to size, so a clean close leaves no
// zeros behind.
func (s *mapSegment) close(size int64) error {
	errs := []error{syscall.Munmap(s.mem)}
	s.mem = nil
	errs = append(errs, s.f.Truncate(size), s.f.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close segment: %w", err)
	}
	return nil
}
