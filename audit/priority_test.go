package audit

import (
	"errors"
	"slices"
	"testing"
)

// TestPriorityPace walks a queue of 64 up and down and checks when the
// writer is raised to the process's priority and lowered again.
func TestPriorityPace(t *testing.T) {
	var calls []int
	fail := false
	p := &priority{tid: 7, base: 2, low: true, set: func(tid, n int) error {
		if tid != 7 {
			t.Fatalf("set on thread %d, want 7", tid)
		}
		if fail {
			return errors.New("refused")
		}
		calls = append(calls, n)
		return nil
	}}
	steps := []struct {
		queued int
		low    bool
		calls  []int
	}{
		{0, true, nil},
		{31, true, nil},         // below half: still lowered
		{32, false, []int{2}},   // half full: the process's priority
		{50, false, []int{2}},   // stays raised
		{9, false, []int{2}},    // above an eighth: still raised
		{8, true, []int{2, 12}}, // an eighth: lowered again
		{20, true, []int{2, 12}},
		{64, false, []int{2, 12, 2}},
	}
	for i, s := range steps {
		p.pace(s.queued, 64)
		if p.low != s.low || !slices.Equal(calls, s.calls) {
			t.Fatalf("step %d (queued %d): low %v, set %v; want low %v, set %v", i, s.queued, p.low, calls, s.low, s.calls)
		}
	}

	// A refused change leaves the state as it was, to be tried next batch.
	fail = true
	p.pace(0, 64)
	if p.low {
		t.Fatal("a refused lowering marked the writer lowered")
	}
	fail = false
	p.pace(0, 64)
	if !p.low {
		t.Fatal("the next batch did not lower the writer")
	}

	// The lowered value stops at 19, nice(2)'s lowest priority.
	if got := (&priority{base: 15}).lowered(); got != 19 {
		t.Fatalf("lowered from 15 = %d, want 19", got)
	}
	var none *priority
	none.pace(64, 64) // no thread of its own: nothing to do, no panic
	if none.thread() != 0 {
		t.Fatal("a nil priority reports a thread")
	}
}
