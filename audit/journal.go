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
	// A mapped segment's pages count as this process's resident memory
	// until it is closed, and two are mapped (the one written and the spare
	// made ahead), so it is kept small: 128 KiB is ~50 requests.
	defaultSegmentSize = 128 << 10
)

// errJournalBusy reports a journal folder another live process owns.
var errJournalBusy = errors.New("audit journal in use by another process")

// journal is safe for concurrent use.
//
// A request that fills a segment must not pay for the file work of starting
// the next (create, fallocate, map, first touch of each page) or of ending
// the last (unmap, trim, close, delete): together over half a millisecond.
// A keeper goroutine does it: it makes the next segment ahead (the spare),
// and closes and deletes the ones left behind.
type journal struct {
	dir     string
	lock    *os.File // holds the folder's advisory lock while open
	maxSize int64

	mu     sync.Mutex
	cur    segment        // the segment written to, nil before the first write
	seg    uint64         // its number
	size   int64          // its size
	refs   map[uint64]int // lines per segment not yet committed
	buf    []byte
	err    error // the first write error: the journal is unusable after it
	closed bool  // closeFile ran: the keeper makes no more spares

	spare   segment    // segment seg+1, made ahead by the keeper; nil if none
	owed    bool       // the keeper is to make the spare: rotate waits for it
	made    *sync.Cond // on mu: the spare is made (or failed)
	retired []retired  // segments left, for the keeper to close
	doomed  []uint64   // settled segments, for the keeper to delete
	working bool       // the keeper is doing what it took
	chores  chan struct{}
	kept    chan struct{} // closed when the keeper has stopped
	keeper  keeperState   // the keeper goroutine's own (closeFile's once it stopped)
}

// retired is a segment no longer written to, its number and final size.
type retired struct {
	seg  segment
	num  uint64
	size int64
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
	// Segment files kept for reuse by a run that stopped: their lines are
	// all in the database.
	if err := removeFree(dir); err != nil {
		unlockFile(lock)
		lock.Close()
		return nil, nil, fmt.Errorf("audit journal: %w", err)
	}
	j := &journal{dir: dir, lock: lock, maxSize: maxSize, refs: map[uint64]int{},
		chores: make(chan struct{}, 1), kept: make(chan struct{}), keeper: keeperState{left: map[uint64]kept{}}}
	j.made = sync.NewCond(&j.mu)
	if len(segs) > 0 {
		j.seg = segs[len(segs)-1]
	}
	go j.keep()
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
// caller releases once the line no longer matters, and rec's copy in the
// segment's mapping (nil when it is not mapped), which stays as written
// until then. The line is durable against a crash of this process when
// write returns nil.
func (j *journal) write(op byte, rec []byte) (uint64, []byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, nil, j.err
	}
	n := int64(len(rec)) + 3
	// rotate may wait for the keeper, letting other writers in: one of them
	// may rotate meanwhile, so the room is looked at again.
	for j.cur == nil || j.size+n > j.cur.capacity() {
		if err := j.rotate(n); err != nil {
			j.err = err
			return 0, nil, err
		}
	}
	j.buf = append(append(append(j.buf[:0], op, ' '), rec...), '\n')
	if err := j.cur.append(j.size, j.buf); err != nil {
		// A short write leaves a torn last line, which replay ignores: its
		// use was never acknowledged. Nothing after it can be trusted.
		j.err = fmt.Errorf("audit journal: %w", err)
		return 0, nil, j.err
	}
	line := j.cur.view(j.size+2, int64(len(rec)))
	j.size += n
	j.refs[j.seg]++
	if cap(j.buf) > 64<<10 {
		j.buf = nil // one huge record must not pin its buffer
	}
	return j.seg, line, nil
}

// rotate starts the next segment, with room for at least need bytes: the
// spare the keeper made (waiting while it owes one). The
// one it leaves goes to the keeper to close, and to delete once its lines
// are all released.
func (j *journal) rotate(need int64) error {
	if j.cur != nil {
		j.retired = append(j.retired, retired{seg: j.cur, num: j.seg, size: j.size})
		j.cur = nil
		j.dropIfDone(j.seg)
	}
	for j.owed {
		j.made.Wait()
	}
	if j.cur != nil {
		return nil // a writer that came in while this one waited rotated
	}
	if j.err != nil {
		return j.err
	}
	if j.spare != nil && j.spare.capacity() < need {
		// A record larger than a segment: the spare makes way.
		if err := j.dropSpare(); err != nil {
			return fmt.Errorf("audit journal: %w", err)
		}
	}
	next := j.spare
	j.spare = nil
	if next == nil {
		seg, err := createSegment(j.path(j.seg+1), max(j.maxSize, need))
		if err != nil {
			return fmt.Errorf("audit journal: %w", err)
		}
		next = seg
	}
	j.seg++
	j.cur, j.size = next, 0
	if !j.closed {
		// The keeper makes the next spare now; the next rotation waits
		// for it rather than paying for a new segment itself.
		j.owed = true
		j.wakeKeeper()
	}
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

// dropSpare deletes the spare (never written to) if there is one. Called
// with mu held and no spare being made, or once the keeper has stopped.
func (j *journal) dropSpare() error {
	if j.spare == nil {
		return nil
	}
	err := errors.Join(j.spare.close(0), os.Remove(j.path(j.seg+1)))
	j.spare = nil
	return err
}

// dropIfDone hands a finished segment that is no longer written to to the
// keeper to delete.
func (j *journal) dropIfDone(seg uint64) {
	if j.refs[seg] > 0 || (seg == j.seg && j.cur != nil) {
		return
	}
	delete(j.refs, seg)
	j.doomed = append(j.doomed, seg)
	j.wakeKeeper()
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
// removed: it closes the segment written to, waits for the keeper to finish
// its queue and stop, and deletes the spare. The lock stays until unlock.
func (j *journal) closeFile() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	var errs []error
	if j.cur != nil {
		errs = append(errs, j.cur.close(j.size))
		j.cur = nil
	}
	if j.err == nil {
		j.err = ErrClosed
	}
	close(j.chores)
	j.mu.Unlock()
	<-j.kept
	// The keeper has stopped: what it holds is this goroutine's now.
	errs = append(errs, j.dropSpare(), j.closeKept())
	return errors.Join(errs...)
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
	return errors.Join(j.closeFile(), unlockFile(j.lock), j.lock.Close())
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
