package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

func TestEventsDedupeAndJourney(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		received := t0.Add(time.Hour)
		store.SetClock(db, func() time.Time { return received })
		journey := []store.Event{
			{ID: "m1", CustomerID: "usr_2481", Name: "Visited pricing", Timestamp: t0,
				Properties: map[string]any{"path": "/pricing"}, Source: "segment"},
			{ID: "m2", CustomerID: "usr_2481", Name: "Read seat limits", Timestamp: t0.Add(time.Minute)},
			{ID: "m3", CustomerID: "usr_2481", AccountID: "acc_acme", Name: "Opened billing", Timestamp: t0.Add(2 * time.Minute)},
			{ID: "m4", CustomerID: "usr_other", Name: "Asked chat", Timestamp: t0.Add(3 * time.Minute)},
		}
		n, err := db.AppendEvents(ctx, "acme", journey)
		must(t, err)
		if n != 4 {
			t.Errorf("first append inserted %d, want 4", n)
		}

		tests := []struct {
			name   string
			events []store.Event
			want   int
		}{
			{name: "all seen", events: journey[:2], want: 0},
			{name: "mixed", events: []store.Event{journey[0], {ID: "m5", CustomerID: "usr_2481", Name: "Asked chat", Timestamp: t0.Add(4 * time.Minute)}}, want: 1},
			{name: "duplicate inside one call", events: []store.Event{{ID: "m6", CustomerID: "x", Name: "a"}, {ID: "m6", CustomerID: "x", Name: "b"}}, want: 1},
			{name: "empty", events: nil, want: 0},
		}
		for _, tt := range tests {
			got, err := db.AppendEvents(ctx, "acme", tt.events)
			if err != nil || got != tt.want {
				t.Errorf("%s: AppendEvents = %d, %v; want %d", tt.name, got, err, tt.want)
			}
		}
		// The same ids are new in another workspace.
		if n, err := db.AppendEvents(ctx, "beta", journey); err != nil || n != 4 {
			t.Errorf("append into beta = %d, %v", n, err)
		}

		got, err := db.Journey(ctx, "acme", "usr_2481", 3)
		must(t, err)
		var names []string
		for _, e := range got {
			names = append(names, e.Name)
		}
		if want := []string{"Asked chat", "Opened billing", "Read seat limits"}; !reflect.DeepEqual(names, want) {
			t.Errorf("Journey names = %q, want %q", names, want)
		}
		all, err := db.Journey(ctx, "acme", "usr_2481", 0)
		must(t, err)
		first := all[len(all)-1]
		want := store.Event{WorkspaceID: "acme", ID: "m1", CustomerID: "usr_2481", Name: "Visited pricing",
			Properties: map[string]any{"path": "/pricing"}, Timestamp: t0, Source: "segment", ReceivedAt: received}
		if !reflect.DeepEqual(first, want) {
			t.Errorf("oldest event =\n %+v\nwant\n %+v", first, want)
		}
		if got[1].AccountID != "acc_acme" || got[0].Properties == nil {
			t.Errorf("event fields lost: %+v", got[:2])
		}
		if _, err := db.AppendEvents(ctx, "acme", []store.Event{{ID: "", Name: "x"}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("event without id: err = %v", err)
		}
	})
}

func TestJourneyLimit(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		evs := make([]store.Event, 60)
		for i := range evs {
			evs[i] = store.Event{ID: fmt.Sprintf("e%03d", i), CustomerID: "usr", Name: "tick", Timestamp: t0.Add(time.Duration(i) * time.Second)}
		}
		_, err := db.AppendEvents(ctx, "acme", evs)
		must(t, err)
		for _, tt := range []struct {
			name       string
			limit      int
			want       int
			wantNewest string
		}{
			{name: "default", limit: 0, want: store.DefaultJourney, wantNewest: "e059"},
			{name: "small", limit: 5, want: 5, wantNewest: "e059"},
			{name: "more than stored", limit: 5000, want: 60, wantNewest: "e059"},
		} {
			got, err := db.Journey(ctx, "acme", "usr", tt.limit)
			must(t, err)
			if len(got) != tt.want || got[0].ID != tt.wantNewest {
				t.Errorf("%s: %d events, newest %s", tt.name, len(got), got[0].ID)
			}
		}
	})
}
