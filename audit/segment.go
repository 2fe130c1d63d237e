package audit

import (
	"errors"
	"fmt"
	"os"
)

// segment is one journal file being appended to. append writes p at off
// (the segment's current size, kept by the journal) and is durable against
// a crash of this process when it returns; close(size) ends the segment at
// size bytes; reset makes a settled segment whose first used bytes were
// written read as empty again, keeping it open to be reused (see
// keeper.go), and fails where that cannot be done. prefault does ahead, off
// the request path, what the first append to each page would otherwise pay
// for. view returns n bytes appended at off, still in the segment's
// mapping (valid until the segment is reset or closed), or nil for a
// segment that is not mapped.
type segment interface {
	capacity() int64
	append(off int64, p []byte) error
	view(off, n int64) []byte
	close(size int64) error
	reset(used int64) error
	prefault()
}

// fileSegment appends with write(2): the portable form.
type fileSegment struct {
	f   *os.File
	cap int64
}

func createFileSegment(path string, size int64) (*fileSegment, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &fileSegment{f: f, cap: size}, nil
}

func (s *fileSegment) capacity() int64 { return s.cap }

func (s *fileSegment) append(_ int64, p []byte) error {
	_, err := s.f.Write(p)
	return err
}

func (s *fileSegment) prefault() {}

func (s *fileSegment) view(int64, int64) []byte { return nil }

// reset fails: a written file is only as long as its lines, so there is
// nothing to reuse.
func (s *fileSegment) reset(int64) error { return errNotReusable }

var errNotReusable = errors.New("segment cannot be reused")

func (s *fileSegment) close(int64) error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("close segment: %w", err)
	}
	return nil
}
