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
// its block; deleting one frees its pages and blocks; unmapping a written
// one and mapping it again costs nearly as much. Under load each was a
// twentieth of crisp's CPU or more. So a full segment stays mapped after it
// is left, and once settled its file is kept (up to maxFree, renamed out of
// the journal's view) to become a later spare: its written bytes are zeroed
// through the mapping and only then is it renamed to its new number, so a
// crash at any point leaves either a file replay ignores or an empty
// segment.

// freePrefix names the settled segment files kept for reuse. They lack
// journalSuffix, so replay never reads them.
const freePrefix = "free-"

// maxFree bounds the files kept, each still mapped: a mapped segment's pages
// count as resident memory, so this is a few more than the segments written
// while the writer gathers and commits one batch at full load (1,024 uses,
// a begin and an end line each, about 2.7 MB: 21 segments), enough that
// nearly every spare is a reused file. They settle together when the batch
// commits, so the files kept replace the batch's, adding nothing at the
// peak. With 16, under non-stream c=32 load the keeper made and unmapped
// five segments a batch and cost 6.5 µs of CPU a request; with 32, 2.2
// (perf), and peak RSS stayed as it was with 24.
const maxFree = 24

// keeperState is the keeper goroutine's own (and closeFile's once the
// keeper has stopped).
type keeperState struct {
	left  map[uint64]kept // retired segments still mapped, to reuse once settled
	free  []kept          // settled segments kept for reuse
	named uint64          // free files named so far
}

// kept is a segment no longer written to, still open: its file's path (for a
// free one) and the bytes written to it.
type kept struct {
	seg  segment
	path string
	used int64
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

// keep is the keeper goroutine. It makes the spare a rotation used first,
// since a writer may be waiting for it, then closes retired segments, then
// deletes doomed ones (a segment is always closed before it is deleted:
// both lists are taken together and closes run first). It stops once
// closeFile closes chores, having done what was queued.
func (j *journal) keep() {
	defer close(j.kept)
	for range j.chores {
		j.mu.Lock()
		ret, doomed := j.retired, j.doomed
		j.retired, j.doomed = nil, nil
		makeSpare := j.owed && j.spare == nil && !j.closed && j.err == nil
		next := j.seg + 1
		j.working = true
		if !makeSpare {
			j.deliver(nil)
		}
		j.mu.Unlock()

		if makeSpare {
			spare := j.makeSpare(next)
			j.mu.Lock()
			j.deliver(spare)
			j.mu.Unlock()
		}
		err := errors.Join(j.retire(ret), j.drop(doomed))

		j.mu.Lock()
		if err != nil && j.err == nil {
			j.err = fmt.Errorf("audit journal: %w", err)
		}
		j.working = false
		j.mu.Unlock()
	}
	// A rotation may still wait for a spare that will not come.
	j.mu.Lock()
	j.deliver(nil)
	j.mu.Unlock()
}

// deliver hands rotate the spare it is owed (nil: rotate makes it). Called
// with mu held.
func (j *journal) deliver(spare segment) {
	if !j.owed {
		return
	}
	j.owed = false
	if spare != nil {
		j.spare = spare
	}
	j.made.Broadcast()
}

// retire closes segments no longer written to, except mapped ones, which
// stay open until settled: the writer seals queued records from their
// mapping (chainJournaled), and full-size ones' files may be reused.
// (reset(0) changes nothing, and fails for a segment that is not mapped.)
func (j *journal) retire(ret []retired) error {
	var errs []error
	for _, r := range ret {
		if r.seg.reset(0) == nil {
			j.keeper.left[r.num] = kept{seg: r.seg, used: r.size}
			continue
		}
		errs = append(errs, r.seg.close(r.size))
	}
	return errors.Join(errs...)
}

// drop deletes settled segments, keeping up to maxFree for reuse.
func (j *journal) drop(doomed []uint64) error {
	var errs []error
	for _, s := range doomed {
		k, open := j.keeper.left[s]
		delete(j.keeper.left, s)
		if open && len(j.keeper.free) < maxFree && k.seg.capacity() == j.maxSize {
			j.keeper.named++
			k.path = filepath.Join(j.dir, fmt.Sprintf("%s%d", freePrefix, j.keeper.named))
			if err := renameFile(j.path(s), k.path); err == nil {
				j.keeper.free = append(j.keeper.free, k)
				continue
			}
		}
		if open {
			errs = append(errs, k.seg.close(k.used))
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
		k := j.keeper.free[n-1]
		j.keeper.free = j.keeper.free[:n-1]
		if err := k.seg.reset(k.used); err == nil {
			if err = renameFile(k.path, j.path(next)); err == nil {
				return k.seg
			}
		}
		k.seg.close(0)
		os.Remove(k.path)
	}
	seg, err := createSegment(j.path(next), j.maxSize)
	if err != nil {
		return nil
	}
	seg.prefault()
	return seg
}

// closeKept closes what the keeper holds open, once it has stopped: segments
// left but not settled are cut to what was written, for replay; free ones
// are deleted.
func (j *journal) closeKept() error {
	var errs []error
	for _, k := range j.keeper.left {
		errs = append(errs, k.seg.close(k.used))
	}
	clear(j.keeper.left)
	for _, k := range j.keeper.free {
		errs = append(errs, k.seg.close(0))
	}
	if len(j.keeper.free) > 0 {
		errs = append(errs, removeFree(j.dir))
		j.keeper.free = nil
	}
	return errors.Join(errs...)
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
