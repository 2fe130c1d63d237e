package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The journal is the audit's local write-ahead log. With it, making a use's
// "about to send" note and its outcome durable is one append each to a
// segment file (a copy into its shared mapping on Linux, see segment.go;
// write(2) elsewhere), and the group-commit writer chains the outcomes into
// the database behind the request instead of in front of it.
//
// An append that returned is in the kernel's page cache, so it survives the
// process being killed (SIGKILL, OOM, panic) exactly as a SQLite commit in
// WAL mode with synchronous=NORMAL does; neither survives the machine losing
// power before the next sync. After a crash, the next Open replays the
// journal: outcomes not yet in the chain are appended (records already there
// are recognised by id), and uses that began but never ended become
// "interrupted" records.
//
// The journal is a folder of segments (0000000000000001.journal, …), each a
// sequence of lines "<op> <record JSON>\n" with op b (a use began), e (a use
// ended: the whole record) or a (a record with no intent). A segment is
// deleted once every line in it is committed to the database (or, for a
// begin, its use's outcome is); the newest segment is the one written to.
// One process owns a journal at a time (an advisory lock on the folder's
// lock file); another process on the same database writes straight to it.

const (
	journalBegin  = 'b'
	journalEnd    = 'e'
	journalAppend = 'a'

	journalSuffix = ".journal"
	// defaultSegmentSize bounds one segment before the next is started.
	// A mapped segment's written pages count as this process's resident
	// memory until it is closed, so it is kept small: 512 KiB is ~400
	// records, a few rotations a second under heavy load (each well under
	// a millisecond).
	defaultSegmentSize = 512 << 10
)

// errJournalBusy reports a journal folder another live process owns.
var errJournalBusy = errors.New("audit journal in use by another process")

// journal is safe for concurrent use.
type journal struct {
	dir     string
	lock    *os.File // holds the folder's advisory lock while open
	maxSize int64

	mu   sync.Mutex
	cur  segment        // the segment written to, nil before the first write
	seg  uint64         // its number
	size int64          // its size
	refs map[uint64]int // lines per segment not yet committed
	buf  []byte
	err  error // the first write error: the journal is unusable after it
}

// openJournal locks dir (creating it) and returns the journal with the
// segments a previous owner left, oldest first, to replay before the first
// write. It returns errJournalBusy when another process holds the lock.
func openJournal(dir string, maxSize int64) (*journal, []uint64, error) {
	if maxSize <= 0 {
		maxSize = defaultSegmentSize
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("audit journal: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("audit journal: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, nil, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		unlockFile(lock)
		lock.Close()
		return nil, nil, err
	}
	j := &journal{dir: dir, lock: lock, maxSize: maxSize, refs: map[uint64]int{}}
	if len(segs) > 0 {
		j.seg = segs[len(segs)-1]
	}
	return j, segs, nil
}

func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit journal: %w", err)
	}
	var segs []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), journalSuffix)
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(name, 10, 64); err == nil {
			segs = append(segs, n)
		}
	}
	slices.Sort(segs)
	return segs, nil
}

func (j *journal) path(seg uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%016d%s", seg, journalSuffix))
}

// write appends one line and returns the segment it went to, which the
// caller releases once the line no longer matters. The line is durable
// against a crash of this process when write returns nil.
func (j *journal) write(op byte, rec []byte) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, j.err
	}
	n := int64(len(rec)) + 3
	if j.cur == nil || j.size+n > j.cur.capacity() {
		if err := j.rotate(n); err != nil {
			j.err = err
			return 0, err
		}
	}
	j.buf = append(append(append(j.buf[:0], op, ' '), rec...), '\n')
	if err := j.cur.append(j.size, j.buf); err != nil {
		// A short write leaves a torn last line, which replay ignores: its
		// use was never acknowledged. Nothing after it can be trusted.
		j.err = fmt.Errorf("audit journal: %w", err)
		return 0, j.err
	}
	j.size += n
	j.refs[j.seg]++
	if cap(j.buf) > 64<<10 {
		j.buf = nil // one huge record must not pin its buffer
	}
	return j.seg, nil
}

// rotate starts the next segment, with room for at least need bytes; the
// one it leaves goes once its lines are all released.
func (j *journal) rotate(need int64) error {
	if j.cur != nil {
		err := j.cur.close(j.size)
		j.cur = nil
		if err != nil {
			return fmt.Errorf("audit journal: %w", err)
		}
		j.dropIfDone(j.seg)
	}
	seg, err := createSegment(j.path(j.seg+1), max(j.maxSize, need))
	if err != nil {
		return fmt.Errorf("audit journal: %w", err)
	}
	j.seg++
	j.cur, j.size = seg, 0
	return nil
}

// release marks one line of each segment as committed.
func (j *journal) release(segs ...uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, s := range segs {
		j.refs[s]--
		j.dropIfDone(s)
	}
}

// dropIfDone deletes a finished segment that is no longer written to.
func (j *journal) dropIfDone(seg uint64) {
	if j.refs[seg] > 0 || (seg == j.seg && j.cur != nil) {
		return
	}
	delete(j.refs, seg)
	if err := os.Remove(j.path(seg)); err != nil && !errors.Is(err, os.ErrNotExist) && j.err == nil {
		j.err = fmt.Errorf("audit journal: %w", err)
	}
}

// settled reports that every line written has been released.
func (j *journal) settled() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, n := range j.refs {
		if n > 0 {
			return false
		}
	}
	return true
}

// closeFile stops writing, so that every segment can be replayed and
// removed. The lock stays until unlock.
func (j *journal) closeFile() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cur == nil {
		return nil
	}
	err := j.cur.close(j.size)
	j.cur = nil
	if j.err == nil {
		j.err = ErrClosed
	}
	return err
}

// remove deletes replayed segments.
func (j *journal) remove(segs []uint64) error {
	var errs []error
	for _, s := range segs {
		if err := os.Remove(j.path(s)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (j *journal) unlock() error {
	return errors.Join(unlockFile(j.lock), j.lock.Close())
}

// replayed is what a journal says once read: the records to chain, in the
// order their final line was written, and the uses that began and never
// ended, as their intents.
type replayed struct {
	records     []Record
	interrupted []Record
	torn        int // lines that could not be read (a write cut short)
}

// readJournal reads segments in order.
func readJournal(dir string, segs []uint64) (replayed, error) {
	var out replayed
	begun := map[string]int{} // id -> index in intents
	var intents []Record
	done := map[string]bool{}
	for _, seg := range segs {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%016d%s", seg, journalSuffix)))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return replayed{}, fmt.Errorf("audit journal: %w", err)
		}
		// A mapped segment a crash left open ends in the zeros it was
		// allocated with.
		data = bytes.TrimRight(data, "\x00")
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, len(data)+1)
		for sc.Scan() {
			line := sc.Bytes()
			r, op, ok := parseJournalLine(line)
			if !ok {
				out.torn++
				continue
			}
			switch op {
			case journalBegin:
				if !done[r.ID] {
					begun[r.ID] = len(intents)
					intents = append(intents, r)
				}
			case journalEnd, journalAppend:
				if !done[r.ID] {
					done[r.ID] = true
					out.records = append(out.records, r)
				}
			}
		}
	}
	for _, r := range intents {
		if !done[r.ID] {
			out.interrupted = append(out.interrupted, r)
		}
	}
	return out, nil
}

func parseJournalLine(line []byte) (Record, byte, bool) {
	if len(line) < 3 || line[1] != ' ' {
		return Record{}, 0, false
	}
	op := line[0]
	if op != journalBegin && op != journalEnd && op != journalAppend {
		return Record{}, 0, false
	}
	var r Record
	if err := json.Unmarshal(line[2:], &r); err != nil || r.ID == "" || r.Workspace == "" {
		return Record{}, 0, false
	}
	return r, op, true
}
