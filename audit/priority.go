package audit

// writerNice is how much less CPU priority the writer's thread gets than
// the rest of the process while it keeps up.
const writerNice = 10

// priority is the writer thread's CPU priority (see background). The
// writer runs below requests while it keeps up, and at the process's own
// priority while a backlog builds: a lowered writer on a busy host must not
// fall so far behind that requests wait on a full queue.
type priority struct {
	tid  int // the writer's thread
	base int // the nice value of the process when the writer started
	low  bool
	// set gives thread tid the nice value n.
	set func(tid, n int) error
}

// lowered is the nice value of the writer while it keeps up.
func (p *priority) lowered() int { return min(p.base+writerNice, 19) }

// pace raises the writer to the process's priority once queued reaches
// half of capacity, and lowers it again once the queue is down to an
// eighth: two marks, so a queue hovering near one does not flip it every
// batch. A nil priority (no thread of its own) does nothing.
func (p *priority) pace(queued, capacity int) {
	switch {
	case p == nil:
	case p.low && queued >= capacity/2:
		if p.set(p.tid, p.base) == nil {
			p.low = false
		}
	case !p.low && queued <= capacity/8:
		if p.set(p.tid, p.lowered()) == nil {
			p.low = true
		}
	}
}

// thread is the writer's thread id, 0 when it has none of its own.
func (p *priority) thread() int {
	if p == nil {
		return 0
	}
	return p.tid
}
