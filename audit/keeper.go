package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The journal's keeper goroutine does the file work of segments, so that
// no request pays for it: it makes the next segment ahead (the spare),
// and closes and deletes the ones left behind.
//
// Making a segment from nothing costs a new file, allocation of its blocks
// (fallocate) and a page fault per page that allocates a page and converts
// its block; deleting one frees its pages and blocks. Under load that was
// a twentieth of crisp's CPU. So settled segments' files are kept (up to
// maxFree, renamed out of the journal's view) and become later spares: a
// file is mapped again, zeroed through the mapping, and only then renamed
// to its new number, so a crash at any point leaves either a file replay
// ignores or an empty segment.

// freePrefix names the settled segment files kept for reuse. They lack
// journalSuffix, so replay never reads them.
const freePrefix = "free-"

// maxFree bounds the files kept: about the segments written while the
// writer gathers and commits one batch at full load (~100 ms), so that
// most spares are reused files.
const maxFree = 24

// keeperState is the keeper goroutine's own (and closeFile's once the
// keeper has stopped).
type keeperState struct {
	detached map[uint64]bool // retired segments whose files can be reused
	free     []string        // files kept for reuse, paths
	named    uint64          // free files named so far
}

// wakeKeeper is called with mu held.
func (j *journal) wakeKeeper() {
	if j.closed {
		return // closeFile's caller replays or deletes what is left
	}
	select {
	case j.chores <- struct{}{}:
	default:
	}
}

// idle reports that the keeper has nothing left to do (for tests, which
// look at the folder). Called with mu held.
func (j *journal) idle() bool {
	return !j.working && len(j.chores) == 0 && len(j.retired) == 0 && len(j.doomed) == 0
}

// keep is the keeper goroutine: it closes retired segments, then deletes
// doomed ones (a segment is always closed before it is deleted: both lists
// are taken together and closes run first), then makes the spare. It stops
// once closeFile closes chores, having done what was queued.
func (j *journal) keep() {
	defer close(j.kept)
	for range j.chores {
		j.mu.Lock()
		ret, doomed := j.retired, j.doomed
		j.retired, j.doomed = nil, nil
		makeSpare := j.cur != nil && j.spare == nil && !j.closed && j.err == nil
		next := j.seg + 1
		j.making, j.working = makeSpare, true
		j.mu.Unlock()

		err := errors.Join(j.retire(ret), j.drop(doomed))
		var spare segment
		if makeSpare {
			spare = j.makeSpare(next)
		}

		j.mu.Lock()
		if err != nil && j.err == nil {
			j.err = fmt.Errorf("audit journal: %w", err)
		}
		if makeSpare {
			j.making = false
			j.spare = spare
			j.made.Broadcast()
		}
		j.working = false
		j.mu.Unlock()
	}
}

// retire closes segments no longer written to. A full-size mapped one is
// only unmapped: its file may be reused once settled. Others are trimmed.
func (j *journal) retire(ret []retired) error {
	var errs []error
	for _, r := range ret {
		if r.seg.capacity() == j.maxSize && r.seg.detach() == nil {
			j.keeper.detached[r.num] = true
			continue
		}
		errs = append(errs, r.seg.close(r.size))
	}
	return errors.Join(errs...)
}

// drop deletes settled segments, keeping up to maxFree reusable files.
func (j *journal) drop(doomed []uint64) error {
	var errs []error
	for _, s := range doomed {
		reusable := j.keeper.detached[s]
		delete(j.keeper.detached, s)
		if reusable && len(j.keeper.free) < maxFree {
			j.keeper.named++
			free := filepath.Join(j.dir, fmt.Sprintf("%s%d", freePrefix, j.keeper.named))
			if err := os.Rename(j.path(s), free); err == nil {
				j.keeper.free = append(j.keeper.free, free)
				continue
			}
		}
		if err := os.Remove(j.path(s)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// makeSpare returns segment next, from a free file when there is one, or
// nil when it cannot be made: rotate then makes it itself and reports what
// goes wrong.
func (j *journal) makeSpare(next uint64) segment {
	if n := len(j.keeper.free); n > 0 {
		free := j.keeper.free[n-1]
		j.keeper.free = j.keeper.free[:n-1]
		seg, err := reuseSegment(free, j.maxSize)
		if err == nil {
			if err = os.Rename(free, j.path(next)); err == nil {
				return seg
			}
			seg.close(0)
		}
		os.Remove(free)
	}
	seg, err := createSegment(j.path(next), j.maxSize)
	if err != nil {
		return nil
	}
	seg.prefault()
	return seg
}

// removeFree deletes files kept for reuse: at closeFile, and at open those
// a stopped run left (their lines are all in the database).
func removeFree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), freePrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
